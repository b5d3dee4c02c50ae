from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TypeVar

from api.context import Context
from api.errors import ClientError, ErrorCode
from domain import rate_limits
from domain.errors import DomainError

E = TypeVar("E", bound=enum.Enum)

# The largest PostgreSQL integer and bigint: a number past them is no row's id, and sent as a parameter it fails
# in the driver, an internal error where the client only asked for something that does not exist.
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1


def now() -> datetime:
    return datetime.now(UTC)


def error_code(context: Context, exc: DomainError, codes: type[E]) -> E:
    """The payload code for an expected failure; the operation's writes are rolled back unless it says otherwise.

    A code the mutation does not declare is a bug, so it propagates and is masked as an internal error.
    """
    if not exc.keep_changes:
        context.rollback_only = True
    return codes(exc.code)


def row_id(value: str, *, largest: int) -> int | None:
    """The id a client sent as text, or None when no row of a column up to ``largest`` can have it."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= largest else None


async def rate_limit(context: Context, action: str, *, user: object = None, login: str | None = None) -> None:
    """Counts the request against the action's limits (domain/rate_limits.py), per the client's address as
    api/proxies.py found it; over one it is refused with HTTP 429, a Retry-After header and a RATE_LIMITED error,
    before anything is done."""
    client = context.request.client
    who = {"user": str(user) if user is not None else None, "ip": client.host if client else None, "login": login}
    try:
        await rate_limits.check(context.resources.engine, context.settings, action, who, now=now())
    except rate_limits.Limited as exc:
        if context.response is not None:
            context.response.status_code = 429
            context.response.headers["Retry-After"] = str(exc.retry_after)
        raise ClientError(
            ErrorCode.RATE_LIMITED,
            f"Too many requests; try again in {exc.retry_after} s.",
            retryAfter=str(exc.retry_after),
        ) from exc
