"""Admission control for the public: anonymous reads take a turn in a lane of their own.

A flood day sends ten times the usual crowd to the public map while citizens in the flooded streets file reports.
Every request shares one event loop, one CPU budget and, for most GraphQL operations, one pool of database
connections; unchecked, a crowd of map readers takes them all and the citizen pressing "send" waits behind it
(a soak with ten times the public users ran the write pool dry). So anonymous queries and report-tile renders are
admitted at most `public_lane_size` at once per process, and a new one starts only while fewer than
`public_lane_cpu` of the admitted are running Python: a read does not count while it waits on PostgreSQL, and
counts again (without waiting) when its rows are back (domain/cpu_turns.py). The rest wait their turn (up to
`public_lane_wait_s` in all, then 503 OVERLOADED with Retry-After), while everything else (a logged-in user's
operations, any mutation: signing up, logging in, filing) never waits for the lane. A tile revalidation answered
304 costs one index lookup and skips the lane, as does a tile kept from an earlier render (api/tile_cache.py).

Why two numbers: counting requests in flight alone could not hold both ends. Three in flight left the core idle
while their queries ran (bench-map: the typed list at 0.74x PostGraphile, 1.15x at six); six in flight put six
readers' Python between a citizen's "send" and the loop (the soak's createReport p99 1,158 ms at six, 480 at
three). The CPU count keeps the crowd's newcomers off a busy loop and lets them in while the admitted wait on
PostgreSQL; admission bounds the connections and the memory the crowd holds, and leaves connections of the
public pool to what skips the lane.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import lru_cache

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

from api.errors import ErrorCode
from domain import metrics
from domain.cpu_turns import CpuTurns, holding

RETRY_AFTER_S = 2


class Overloaded(Exception):
    """An anonymous read waited its whole turn's limit."""


class PublicLane:
    def __init__(self, size: int, wait_s: float, cpu: int) -> None:
        self.size = size
        self.wait_s = wait_s
        self._admitted = asyncio.Semaphore(size)
        self.cpu = CpuTurns(cpu)
        self._in_lane = metrics.PUBLIC_LANE.labels("admitted")
        self._waiting = metrics.PUBLIC_LANE.labels("waiting")

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Admitted, then a CPU turn, both within `wait_s`; the turn is given up around each database wait."""
        self._waiting.inc()
        try:
            async with asyncio.timeout(self.wait_s):
                await self._admitted.acquire()
                try:
                    await self.cpu.take()
                except BaseException:
                    self._admitted.release()
                    raise
        except TimeoutError:
            raise Overloaded from None
        finally:
            self._waiting.dec()
        self._in_lane.inc()
        try:
            with holding(self.cpu):
                yield
        finally:
            self._in_lane.dec()
            self._admitted.release()


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
