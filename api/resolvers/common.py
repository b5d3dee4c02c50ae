from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TypeVar

from api.context import Context
from domain.errors import DomainError

E = TypeVar("E", bound=enum.Enum)


def now() -> datetime:
    return datetime.now(UTC)


def error_code(context: Context, exc: DomainError, codes: type[E]) -> E:
    """The payload code for an expected failure; the operation's writes are rolled back unless it says otherwise.

    A code the mutation does not declare is a bug, so it propagates and is masked as an internal error.
    """
    if not exc.keep_changes:
        context.rollback_only = True
    return codes(exc.code)
