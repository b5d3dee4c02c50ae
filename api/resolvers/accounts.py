from __future__ import annotations

import enum
import uuid
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.resolvers.common import error_code, now, rate_limit
from api.schema.accounts import AuthSession, Me, RoleEnum, StaffAccount
from domain import accounts, staff
from domain.errors import DomainError
from domain.models import Role, User


@strawberry.enum(description="Why signUp failed.")
class SignUpErrorCode(enum.Enum):
    LOGIN_REQUIRED = "LOGIN_REQUIRED"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_NAME = "INVALID_NAME"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"


@strawberry.type(description="A signUp problem.")
class SignUpError:
    code: SignUpErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type(description="Result of signUp: a logged-in session, or errors.")
class SignUpPayload:
    session: AuthSession | None = strawberry.field(description="The new session; null on error.")
    errors: list[SignUpError] = strawberry.field(description="Empty on success.")


@strawberry.enum(description="Why logIn failed.")
class LogInErrorCode(enum.Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


@strawberry.type(description="A logIn problem.")
class LogInError:
    code: LogInErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="Result of logIn.")
class LogInPayload:
    session: AuthSession | None = strawberry.field(description="The new session; null on error.")
    errors: list[LogInError] = strawberry.field(description="Empty on success.")


@strawberry.enum(description="Why refreshToken failed.")
class RefreshTokenErrorCode(enum.Enum):
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


@strawberry.type(description="A refreshToken problem.")
class RefreshTokenError:
    code: RefreshTokenErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="Result of refreshToken.")
class RefreshTokenPayload:
    session: AuthSession | None = strawberry.field(description="The rotated session; null on error.")
    errors: list[RefreshTokenError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Result of logOut.")
class LogOutPayload:
    ok: bool = strawberry.field(description="Always true: the token, if it was valid, no longer is.")


@strawberry.input(description="A new citizen account: an e-mail address or a phone number (or both) and a password.")
class SignUpInput:
    email: str | None = strawberry.field(default=None, description="E-mail address used to log in.")
    phone: str | None = strawberry.field(default=None, description="Phone number used to log in, e.g. 0812 3456 7890.")
    password: str = strawberry.field(description="10 to 200 characters.")
    display_name: str = strawberry.field(description="Name shown on reports that are not anonymous.")


def _session(pair: accounts.TokenPair) -> AuthSession:
    return AuthSession(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=Me.from_model(pair.user),
    )


@strawberry.enum(description="Why deleteAccount failed.")
class DeleteAccountErrorCode(enum.Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    FORBIDDEN = "FORBIDDEN"


@strawberry.type(description="A deleteAccount problem.")
class DeleteAccountError:
    code: DeleteAccountErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="Result of deleteAccount.")
class DeleteAccountPayload:
    deleted: bool = strawberry.field(description="Whether the account is gone.")
    errors: list[DeleteAccountError] = strawberry.field(description="Empty on success.")


@strawberry.enum(description="Why closeStaffAccount failed.")
class CloseStaffAccountErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    NOT_STAFF = "NOT_STAFF"
    SELF = "SELF"
    ALREADY_CLOSED = "ALREADY_CLOSED"
    INVALID_REASON = "INVALID_REASON"


@strawberry.type(description="A closeStaffAccount problem.")
class CloseStaffAccountError:
    code: CloseStaffAccountErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The argument at fault, if one is.")


@strawberry.type(description="Result of closeStaffAccount.")
class CloseStaffAccountPayload:
    account: StaffAccount | None = strawberry.field(description="The closed account; null on error.")
    errors: list[CloseStaffAccountError] = strawberry.field(description="Empty on success.")


@strawberry.enum(description="Why moveStaffAccount failed.")
class MoveStaffAccountErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    NOT_STAFF = "NOT_STAFF"
    SELF = "SELF"
    ALREADY_CLOSED = "ALREADY_CLOSED"
    INVALID_REASON = "INVALID_REASON"
    INVALID_ROLE = "INVALID_ROLE"
    UNIT_REQUIRED = "UNIT_REQUIRED"
    UNKNOWN_UNIT = "UNKNOWN_UNIT"


@strawberry.type(description="A moveStaffAccount problem.")
class MoveStaffAccountError:
    code: MoveStaffAccountErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type(description="Result of moveStaffAccount.")
class MoveStaffAccountPayload:
    account: StaffAccount | None = strawberry.field(description="The account as it is now; null on error.")
    errors: list[MoveStaffAccountError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A staff account's new role and unit.")
class MoveStaffAccountInput:
    user_id: strawberry.ID = strawberry.field(description="The account.")
    role: RoleEnum = strawberry.field(description="OFFICER, AUDITOR or ADMIN.")  # type: ignore[valid-type]
    unit: str | None = strawberry.field(
        default=None, description="Unit code for an officer, e.g. kel-31.73.04.1001; null for the other roles."
    )
    reason: str = strawberry.field(description="Why, for the audit trail (1 to 500 characters).")


def _require_admin(context: Context) -> uuid.UUID:
    viewer = context.require_viewer()
    if viewer.role != Role.ADMIN:
        raise DomainError("FORBIDDEN", "Only admins close or move staff accounts.")
    return viewer.user_id


def _user_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise DomainError("NOT_FOUND", "No such account.", field="userId") from exc


def _forget_on_commit(context: Context, user_id: uuid.UUID) -> None:
    """This process drops the account's cached state as soon as the change is in; the others on its NOTIFY."""
    context.on_commit.append(lambda: context.resources.account_states.forget(user_id))


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The logged-in account; null without a valid access token.")
    async def me(self, info: Info) -> Me | None:
        viewer = info.context.viewer
        if viewer is None:
            return None

        async def run(session: AsyncSession) -> User | None:
            return await session.get(User, viewer.user_id)

        user = await info.context.db(run)
        return Me.from_model(user) if user else None


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Create a citizen account and log in.")
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpPayload:
        context = info.context
        # Each sign-up hashes a password at 64 MiB: per address, and per e-mail or phone in its one spelling.
        await rate_limit(context, "signUp", login=accounts.counted_login(input.email or input.phone or ""))

        async def run(session: AsyncSession) -> accounts.TokenPair:
            await accounts.sign_up(
                session,
                email=input.email,
                phone=input.phone,
                password=input.password,
                display_name=input.display_name,
            )
            return await accounts.log_in(
                session,
                settings=context.settings,
                login=input.email or input.phone or "",
                password=input.password,
                now=now(),
            )

        try:
            return SignUpPayload(session=_session(await context.db(run)), errors=[])
        except DomainError as exc:
            code = error_code(context, exc, SignUpErrorCode)
            return SignUpPayload(
                session=None,
                errors=[SignUpError(code=code, message=exc.message, field=exc.field)],
            )

    @strawberry.mutation(description="Log in with an e-mail address or phone number and a password.")
    async def log_in(
        self,
        info: Info,
        login: Annotated[str, strawberry.argument(description="E-mail address or phone number.")],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
    ) -> LogInPayload:
        context = info.context
        # Per address and per login tried, in its one spelling: password guessing is slow from one place and on one
        # account, however the phone number is written.
        await rate_limit(context, "logIn", login=accounts.counted_login(login))

        async def run(session: AsyncSession) -> accounts.TokenPair:
            return await accounts.log_in(
                session,
                settings=context.settings,
                login=login,
                password=password,
                now=now(),
            )

        try:
            return LogInPayload(session=_session(await context.db(run)), errors=[])
        except DomainError as exc:
            code = error_code(context, exc, LogInErrorCode)
            return LogInPayload(session=None, errors=[LogInError(code=code, message=exc.message)])

    @strawberry.mutation(description="Trade a refresh token for a new access token and a new refresh token.")
    async def refresh_token(
        self,
        info: Info,
        refresh_token: Annotated[str, strawberry.argument(description="The latest refresh token.")],
    ) -> RefreshTokenPayload:
        context = info.context
        # Per address only: a refresh token is good once, and whose it is is known only after the lookup.
        await rate_limit(context, "refreshToken")

        async def run(session: AsyncSession) -> accounts.TokenPair:
            return await accounts.refresh(
                session,
                settings=context.settings,
                refresh_token=refresh_token,
                now=now(),
            )

        try:
            return RefreshTokenPayload(session=_session(await context.db(run)), errors=[])
        except DomainError as exc:
            code = error_code(context, exc, RefreshTokenErrorCode)
            return RefreshTokenPayload(session=None, errors=[RefreshTokenError(code=code, message=exc.message)])

    @strawberry.mutation(description="End the session the refresh token belongs to (every token of its family).")
    async def log_out(
        self,
        info: Info,
        refresh_token: Annotated[str, strawberry.argument(description="The session's refresh token.")],
    ) -> LogOutPayload:
        async def run(session: AsyncSession) -> None:
            await accounts.log_out(session, refresh_token=refresh_token, now=now())

        await info.context.db(run)
        return LogOutPayload(ok=True)

    @strawberry.mutation(
        description="Delete your citizen account for good (your password again). Your reports stay, anonymous "
        "and without you; your comments stay without your name; everything else of yours goes."
    )
    async def delete_account(
        self,
        info: Info,
        password: Annotated[str, strawberry.argument(description="Your password, to confirm.")],
    ) -> DeleteAccountPayload:
        context: Context = info.context
        viewer = context.require_viewer()

        async def run(session: AsyncSession) -> None:
            await accounts.delete_account(
                session, context.settings, user_id=viewer.user_id, password=password, jobs=context.jobs, now=now()
            )

        try:
            await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, DeleteAccountErrorCode)
            return DeleteAccountPayload(deleted=False, errors=[DeleteAccountError(code=code, message=exc.message)])
        return DeleteAccountPayload(deleted=True, errors=[])

    @strawberry.mutation(
        description="Close a staff account for good (admins): it can no longer log in, its access tokens stop "
        "working on their next request, its sessions and devices end, its open reports go back to its unit."
    )
    async def close_staff_account(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The account to close.")],
        reason: Annotated[str, strawberry.argument(description="Why, for the audit trail (1 to 500 characters).")],
    ) -> CloseStaffAccountPayload:
        context: Context = info.context
        try:
            actor_id = _require_admin(context)
            target = _user_id(user_id)

            async def run(session: AsyncSession) -> User:
                return await staff.close_staff_account(
                    session, actor_id=actor_id, user_id=target, reason=reason, now=now()
                )

            user = await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, CloseStaffAccountErrorCode)
            return CloseStaffAccountPayload(
                account=None, errors=[CloseStaffAccountError(code=code, message=exc.message, field=exc.field)]
            )
        _forget_on_commit(context, user.id)
        return CloseStaffAccountPayload(account=StaffAccount.from_model(user), errors=[])

    @strawberry.mutation(
        description="Give a staff account another role or unit (admins). Its access tokens stop working on their "
        "next request (UNAUTHENTICATED, reason ACCOUNT_CHANGED); a refresh gives tokens with the new role and unit."
    )
    async def move_staff_account(self, info: Info, input: MoveStaffAccountInput) -> MoveStaffAccountPayload:
        context: Context = info.context
        try:
            actor_id = _require_admin(context)
            target = _user_id(input.user_id)
            unit_id = None
            if input.unit is not None:
                unit = (await context.resources.reference.get()).unit_codes.get(input.unit)
                if unit is None:
                    raise DomainError("UNKNOWN_UNIT", "No such unit.", field="unit")
                unit_id = unit.id

            async def run(session: AsyncSession) -> User:
                return await staff.move_staff_account(
                    session,
                    actor_id=actor_id,
                    user_id=target,
                    role=Role(input.role),
                    unit_id=unit_id,
                    reason=input.reason,
                    now=now(),
                )

            user = await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, MoveStaffAccountErrorCode)
            return MoveStaffAccountPayload(
                account=None, errors=[MoveStaffAccountError(code=code, message=exc.message, field=exc.field)]
            )
        _forget_on_commit(context, user.id)
        return MoveStaffAccountPayload(account=StaffAccount.from_model(user), errors=[])
