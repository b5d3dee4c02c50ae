"""How errors reach clients: expected ones carry a code, unexpected ones are masked with a request id."""

from __future__ import annotations

import enum
import logging
from typing import Any

from graphql import GraphQLError

from domain import access

log = logging.getLogger("api.errors")


class ErrorCode(enum.StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # The HTTP request itself: not JSON, no query, a batch too long, a method GraphQL does not take.
    BAD_REQUEST = "BAD_REQUEST"
    # A request named a document (documentId, Apollo's persistedQuery) the trusted documents do not hold.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    # Text that is not a trusted document, from a caller who is not staff, while only trusted documents run.
    UNTRUSTED_DOCUMENT = "UNTRUSTED_DOCUMENT"
    # A live subscription could not deliver every event (api/live.py): load the current state, subscribe again.
    RESYNC_REQUIRED = "RESYNC_REQUIRED"
    # The process is serving as many anonymous reads as it takes at once, and this one waited its limit (the
    # extension retryAfter, and the HTTP header Retry-After, say when to try again).
    OVERLOADED = "OVERLOADED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ClientError(GraphQLError):
    """An error the client caused and may see as it is."""

    def __init__(self, code: ErrorCode, message: str, **details: str | None) -> None:
        extras = {key: value for key, value in details.items() if value is not None}
        super().__init__(message, extensions={"code": code.value, **extras})


def unauthenticated(reason: str | None = None) -> ClientError:
    """Refused for want of a token that counts; the reason, when there is one, says what the client should do."""
    messages = {
        access.TOKEN_EXPIRED: "Your access token expired; refresh it.",
        access.ACCOUNT_CHANGED: "Your account's role or unit changed; refresh your token.",
        access.ACCOUNT_CLOSED: "This account was closed.",
    }
    return ClientError(ErrorCode.UNAUTHENTICATED, messages.get(reason or "", "Log in first."), reason=reason)


def present(error: GraphQLError, request_id: str) -> GraphQLError:
    """The form of ``error`` a client may see."""
    original = error.original_error
    if isinstance(original, ClientError):
        return _copy(error, original.message, dict(original.extensions or {}))
    if deleted_account(original):
        # A deleted account's access token lives on for its last minutes; what it tries to write refers to a
        # user that is gone.
        return _copy(error, "This account no longer exists.", {"code": ErrorCode.UNAUTHENTICATED.value})
    if original is None or isinstance(original, GraphQLError):
        # Syntax, validation and variable-coercion errors: the client's own query is at fault.
        code = error.extensions.get("code") if error.extensions else None
        if not code:
            code = (
                ErrorCode.BAD_USER_INPUT if "variable" in error.message.lower() else ErrorCode.GRAPHQL_VALIDATION_FAILED
            )
        return _copy(error, error.message, {**(error.extensions or {}), "code": str(code)})
    log.error("unexpected error in %s (request %s)", error.path, request_id, exc_info=original)
    return _copy(
        error,
        "Internal server error",
        {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
    )


def deleted_account(exc: BaseException | None) -> bool:
    """A foreign key to users violated: the row refers to an account deleted since its token was issued."""
    driver = getattr(exc, "orig", None)
    cause = getattr(driver, "__cause__", None)
    constraint = getattr(cause, "constraint_name", None) or ""
    return getattr(driver, "sqlstate", None) == "23503" and constraint.endswith("_users")


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )
