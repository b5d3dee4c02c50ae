"""Accounts: sign-up, login, refresh-token rotation with reuse detection, staff creation (closing and moving staff
accounts: domain/staff.py)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import Photo, PhotoStatus, RefreshToken, Report, Role, Unit, User
from domain.security import (
    AccessClaims,
    hash_password,
    in_password_lane,
    issue_access_token,
    needs_rehash,
    new_refresh_token,
    refresh_token_hash,
    verify_password,
)
from domain.settings import Settings

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Numbers written without a country code are Indonesian: this city's citizens type 0812-… or 812-….
PHONE_REGION = "ID"
# What a person types for a number: digits, one leading +, and the usual separators. Letters are refused before the
# library sees them, which would otherwise read them as a keypad (0812-FLOOD) or an extension ("ext 12").
PHONE_SPELLING = re.compile(r"\+?[\d\s\-().]{1,40}")
MIN_PASSWORD = 10
MAX_PASSWORD = 200


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise DomainError("INVALID_EMAIL", "This is not a valid e-mail address.", field="email")
    return value


def normalize_phone(phone: str) -> str:
    """A phone number in any usual spelling (0812-…, 812-…, 62812…, +62 812 …, other scripts' digits) in E.164,
    the one form it is stored, looked up and counted under; INVALID_PHONE for what is not a valid number."""
    spelling = phone.strip()
    invalid = DomainError("INVALID_PHONE", "This is not a valid phone number.", field="phone")
    if not PHONE_SPELLING.fullmatch(spelling):
        raise invalid
    try:
        number = phonenumbers.parse(spelling, PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise invalid from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def canonical_login(login: str) -> str | None:
    """The one spelling of a login: an e-mail in lower case, a phone in E.164; None when it is neither. Accounts
    are found, and logins counted, under it, so that 0812…, +62812… and 62 812-… are one phone."""
    value = login.strip()
    try:
        return normalize_email(value) if "@" in value else normalize_phone(value)
    except DomainError:
        return None


def counted_login(login: str) -> str:
    """What the rate limits count a login under: its canonical form, or for what is neither an e-mail nor a phone
    (it finds no account, but guessing with it still counts) the string as typed, trimmed and in lower case."""
    return canonical_login(login) or login.strip().lower()[:100]


def check_password_strength(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DomainError(
            "WEAK_PASSWORD",
            f"A password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            field="password",
        )


async def sign_up(
    session: AsyncSession,
    *,
    email: str | None,
    phone: str | None,
    password: str,
    display_name: str,
    role: Role = Role.CITIZEN,
    unit_id: int | None = None,
) -> User:
    if not email and not phone:
        raise DomainError("LOGIN_REQUIRED", "Give an e-mail address or a phone number.", field="email")
    name = display_name.strip()
    if not 1 <= len(name) <= 80:
        raise DomainError("INVALID_NAME", "A name needs 1 to 80 characters.", field="displayName")
    check_password_strength(password)
    if (role == Role.OFFICER) != (unit_id is not None):
        raise DomainError(
            "UNIT_REQUIRED",
            "Officers, and only officers, belong to a unit.",
            field="unit",
        )
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise DomainError("UNKNOWN_UNIT", "No such unit.", field="unit")
    user = User(
        email=normalize_email(email) if email else None,
        phone=normalize_phone(phone) if phone else None,
        password_hash=await in_password_lane(hash_password, password),
        display_name=name,
        role=role,
        unit_id=unit_id,
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:
        raise DomainError("ACCOUNT_EXISTS", "An account with this e-mail or phone already exists.") from exc
    return user


async def find_by_login(session: AsyncSession, login: str) -> User | None:
    canonical = canonical_login(login)
    if canonical is None:
        return None
    column = User.email if "@" in canonical else User.phone
    return await session.scalar(select(User).where(column == canonical))


async def log_in(
    session: AsyncSession,
    *,
    settings: Settings,
    login: str,
    password: str,
    now: datetime,
) -> TokenPair:
    user = await find_by_login(session, login)
    if not await in_password_lane(verify_password, user.password_hash if user else None, password) or user is None:
        raise DomainError("INVALID_CREDENTIALS", "Wrong login or password.")
    if user.closed_at is not None:
        raise DomainError("ACCOUNT_CLOSED", "This account was closed by an admin.")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await in_password_lane(hash_password, password)
    return await _issue(session, settings=settings, user=user, family_id=uuid.uuid4(), now=now)


async def refresh(session: AsyncSession, *, settings: Settings, refresh_token: str, now: datetime) -> TokenPair:
    """Rotates the token; presenting one that was already used revokes its whole family (theft signal)."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == refresh_token_hash(refresh_token)).with_for_update()
    )
    if row is None or row.expires_at <= now:
        raise DomainError("INVALID_REFRESH_TOKEN", "This refresh token is not valid; log in again.")
    user = await session.get(User, row.user_id)
    if user is None:
        raise DomainError("INVALID_REFRESH_TOKEN", "This refresh token is not valid; log in again.")
    if user.closed_at is not None:
        # Said before "revoked" (closing revokes them all), so the app shows why rather than a login screen; and it
        # holds for a token issued by a refresh that ran while the account was being closed.
        raise DomainError("ACCOUNT_CLOSED", "This account was closed by an admin.")
    if row.revoked_at is not None:
        raise DomainError("INVALID_REFRESH_TOKEN", "This refresh token is not valid; log in again.")
    if row.used_at is not None:
        await revoke_family(session, family_id=row.family_id, now=now)
        raise DomainError(
            "REFRESH_TOKEN_REUSED",
            "This refresh token was already used; every session of it ended.",
            keep_changes=True,
        )
    row.used_at = now
    return await _issue(session, settings=settings, user=user, family_id=row.family_id, now=now)


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def log_out(session: AsyncSession, *, refresh_token: str, now: datetime) -> None:
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == refresh_token_hash(refresh_token)))
    if row is not None:
        await revoke_family(session, family_id=row.family_id, now=now)


async def _issue(
    session: AsyncSession,
    *,
    settings: Settings,
    user: User,
    family_id: uuid.UUID,
    now: datetime,
) -> TokenPair:
    token, digest = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=digest,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    await session.flush()
    access = issue_access_token(settings, AccessClaims(user.id, user.role, user.unit_id, user.token_version), now)
    return TokenPair(access, token, settings.access_token_ttl_s, user)


async def delete_account(
    session: AsyncSession, settings: Settings, *, user_id: uuid.UUID, password: str, jobs: JobBuffer, now: datetime
) -> None:
    """A citizen deletes their own account: the account and everything personal go (sessions, devices, inbox,
    supports, follows, every photo file they uploaded); the reports stay, anonymous and without a reporter;
    comments stay without an author; the published copies of their photos stay with the reports.

    Staff accounts are closed by an admin, not by their holder: the figures and the history name their unit."""
    user = await session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or not await in_password_lane(verify_password, user.password_hash, password):
        raise DomainError("INVALID_CREDENTIALS", "Wrong password.", field="password")
    if user.role != Role.CITIZEN:
        raise DomainError("FORBIDDEN", "Staff accounts are closed by an admin.")
    await session.execute(update(Report).where(Report.reporter_id == user.id).values(anonymous=True))
    await session.execute(delete(Photo).where(Photo.owner_id == user.id, Photo.status == PhotoStatus.REQUESTED))
    await session.delete(user)
    await session.flush()
    # The files go after the commit (a rollback must not lose them). Once more when every upload ticket the
    # account had has expired: a ticket stays usable until then, with or without the account.
    later = now + timedelta(seconds=settings.upload_url_ttl_s + 1)
    for at in (None, later):
        jobs.add("photos.delete_owner_uploads", schedule_at=at, owner_id=str(user.id))
