"""Staff accounts after their creation: an admin (or an operator with the `jsc` command) closes one, or moves an
officer to another unit or role. Each is an account_events row with its reason.

Either bumps the account's token_version, so its access tokens stop working on their next request
(domain/access.py), not when they expire. Reports the account was working on go back to its unit's pool.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import workflow
from domain.errors import DomainError
from domain.models import (
    AccountEvent,
    AccountEventKind,
    Device,
    HistoryKind,
    RefreshToken,
    Report,
    ReportStatusChange,
    Role,
    Unit,
    User,
)

STAFF_ROLES = frozenset({Role.OFFICER, Role.AUDITOR, Role.ADMIN, Role.ENFORCEMENT})
REASON_MAX = 500


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not 1 <= len(text) <= REASON_MAX:
        raise DomainError("INVALID_REASON", f"Say why, in 1 to {REASON_MAX} characters.", field="reason")
    return text


def check_move(role: Role, unit_id: int | None) -> None:
    """Staff only (a citizen account is the holder's, and signs up by itself); officers, and only they, in a unit."""
    if role not in STAFF_ROLES:
        raise DomainError("INVALID_ROLE", "Staff accounts are officers, auditors, admins or enforcement.", field="role")
    if (role == Role.OFFICER) != (unit_id is not None):
        raise DomainError("UNIT_REQUIRED", "Officers, and only officers, belong to a unit.", field="unit")


async def close_staff_account(
    session: AsyncSession, *, actor_id: uuid.UUID | None, user_id: uuid.UUID, reason: str, now: datetime
) -> User:
    """Closes the account for good: no login, no refresh, its access tokens refused, its devices forgotten (no more
    pushes), off its unit's officer list. Its history, reports and figures stay."""
    text = check_reason(reason)
    user = await _staff_for_update(session, actor_id=actor_id, user_id=user_id)
    user.closed_at = now
    user.token_version += 1
    session.add(_event(user, actor_id, AccountEventKind.CLOSED, text, user.role, user.unit_id, now))
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(delete(Device).where(Device.user_id == user.id))
    await _release_reports(session, user=user, keep_unit_id=None, actor_id=actor_id, now=now)
    await session.flush()
    return user


async def move_staff_account(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    user_id: uuid.UUID,
    role: Role,
    unit_id: int | None,
    reason: str,
    now: datetime,
) -> User:
    """Gives a staff account another role or unit; its sessions go on, and their next refresh carries the new ones."""
    text = check_reason(reason)
    check_move(role, unit_id)
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise DomainError("UNKNOWN_UNIT", "No such unit.", field="unit")
    user = await _staff_for_update(session, actor_id=actor_id, user_id=user_id)
    if (user.role, user.unit_id) == (role, unit_id):
        return user
    session.add(_event(user, actor_id, AccountEventKind.MOVED, text, role, unit_id, now))
    user.role, user.unit_id = role, unit_id
    user.token_version += 1
    await _release_reports(
        session, user=user, keep_unit_id=unit_id if role == Role.OFFICER else None, actor_id=actor_id, now=now
    )
    await session.flush()
    return user


async def _staff_for_update(session: AsyncSession, *, actor_id: uuid.UUID | None, user_id: uuid.UUID) -> User:
    user = await session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise DomainError("NOT_FOUND", "No such account.", field="userId")
    if user.role not in STAFF_ROLES:
        raise DomainError("NOT_STAFF", "Citizens delete their own accounts; this is for staff.", field="userId")
    if user.id == actor_id:
        raise DomainError("SELF", "Ask another admin to change your own account.", field="userId")
    if user.closed_at is not None:
        raise DomainError("ALREADY_CLOSED", "This account is closed.", field="userId")
    return user


def _event(
    user: User,
    actor_id: uuid.UUID | None,
    kind: AccountEventKind,
    reason: str,
    to_role: Role,
    to_unit_id: int | None,
    now: datetime,
) -> AccountEvent:
    return AccountEvent(
        user_id=user.id,
        actor_id=actor_id,
        kind=kind,
        reason=reason,
        from_role=user.role,
        to_role=to_role,
        from_unit_id=user.unit_id,
        to_unit_id=to_unit_id,
        at=now,
    )


async def _release_reports(
    session: AsyncSession, *, user: User, keep_unit_id: int | None, actor_id: uuid.UUID | None, now: datetime
) -> None:
    """Open reports assigned to the account, except those of `keep_unit_id`, are unassigned (an ASSIGNMENT history
    row each, as assignReport with no one writes), so its unit sees them as nobody's."""
    query = select(Report).where(Report.assignee_id == user.id, Report.status.in_(workflow.OPEN)).with_for_update()
    if keep_unit_id is not None:
        query = query.where(Report.unit_id != keep_unit_id)
    for report in await session.scalars(query):
        session.add(
            ReportStatusChange(
                report_id=report.id,
                actor_id=actor_id,
                at=now,
                kind=HistoryKind.ASSIGNMENT,
                from_status=report.status,
                to_status=report.status,
                assignee_id=None,
            )
        )
        report.assignee_id = None
        report.updated_at = now
