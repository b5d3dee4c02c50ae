from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.resolvers.common import error_code, now, rate_limit
from api.schema.accounts import AuthSession, Me
from domain import accounts
from domain.errors import DomainError
from domain.models import User


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
        # Per address and per login name tried: password guessing is slow from one place and on one account.
        await rate_limit(context, "logIn", login=login.strip().lower()[:100])

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
