"""Admission control for the public: anonymous reads take a turn in a lane of their own.

A flood day sends ten times the usual crowd to the public map while citizens in the flooded streets file reports.
Every request shares one event loop, one CPU budget and, for most GraphQL operations, one pool of database
connections; unchecked, a crowd of map readers takes them all and the citizen pressing "send" waits behind it
(a soak with ten times the public users ran the write pool dry). So anonymous queries and report-tile renders run
at most `public_lane_size` at once per process, the rest wait in turn (up to `public_lane_wait_s`, then 503
OVERLOADED with Retry-After), while everything else (a logged-in user's operations, any mutation: signing up,
logging in, filing) never waits for the lane. A tile revalidation answered 304 costs one index lookup and skips
the lane, as does a tile kept from an earlier render (api/tile_cache.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import lru_cache

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

from api.errors import ErrorCode

RETRY_AFTER_S = 2


class Overloaded(Exception):
    """An anonymous read waited its whole turn's limit."""


class PublicLane:
    def __init__(self, size: int, wait_s: float) -> None:
        self.size = size
        self.wait_s = wait_s
        self._slots = asyncio.Semaphore(size)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_s)
        except TimeoutError:
            raise Overloaded from None
        try:
            yield
        finally:
            self._slots.release()


def overloaded_error() -> GraphQLError:
    return GraphQLError(
        "The public map is very busy; try again in a moment.",
        extensions={"code": ErrorCode.OVERLOADED.value, "retryAfter": RETRY_AFTER_S},
    )


def is_read(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation a request names is a query. Text that does not parse, or names no operation it
    holds, counts as one: strawberry answers it with its error, in the lane like any read."""
    if not query:
        return True
    return _is_query(query).get(operation_name, True)


@lru_cache(maxsize=1024)
def _is_query(query: str) -> dict[str | None, bool]:
    try:
        document = parse(query)
    except GraphQLError:
        return {}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    flags: dict[str | None, bool] = {
        o.name.value if o.name else None: o.operation == OperationType.QUERY for o in operations
    }
    if len(operations) == 1:
        flags[None] = operations[0].operation == OperationType.QUERY
    return flags
