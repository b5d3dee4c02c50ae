"""Turns at the CPU for the public's reads: a read does not count while it waits on PostgreSQL.

An API process has one event loop on one core. A lane that counted requests in flight counted a read through its
database wait too: with three turns and a 2.7 ms query, most turns were spent waiting and the core idled while a
queue of map readers stood outside (bench-map: 0.74x PostGraphile at three turns, 1.15x at six); with six, six
readers' Python stood between a citizen's "send" and the loop (the soak's createReport p99 doubled). Counting
reads on the CPU holds both: a new read starts only while fewer than `size` admitted reads are running Python;
a read stops counting around each statement (and the wait for a connection before it) and counts again when
its rows are back.

A read coming back never waits for a turn: it may be what the reads on the CPU are waiting for (the first read
after the reference data expired loads it under a lock the others queue on), and a turn it had to wait for
would be a deadlock. So `size` bounds who may start, not who may finish; a request that has begun goes before
any newcomer.

``CpuTurns`` is the count; ``holding`` marks the current request (a context variable, seen by the tasks it
starts) as counted; ``off_cpu`` brackets a wait (domain/db.py: PublicReads' statements and every ORM statement).
Outside ``holding`` both cost one context-variable read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar


class CpuTurns:
    """Reads on the CPU: a newcomer waits (in order) while `size` are; one coming back never does."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.running = 0
        self._arriving: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in self._arriving)

    async def take(self) -> None:
        """A newcomer's turn, once fewer than `size` are running and every newcomer before it has had its own."""
        if self.running < self.size and not self._arriving:
            self.running += 1
            return
        granted = asyncio.get_running_loop().create_future()
        self._arriving.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.give()  # handed over as the wait was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._arriving.remove(granted)
            raise

    def come_back(self) -> None:
        self.running += 1

    def give(self) -> None:
        self.running -= 1
        while self._arriving and self.running < self.size:
            granted = self._arriving.popleft()
            if not granted.done():
                self.running += 1
                granted.set_result(None)


class Holder:
    """One request's turn. Its tasks share it: the first to wait gives it up, the first back counts again."""

    def __init__(self, turns: CpuTurns) -> None:
        self.turns = turns
        self.held = True
        self.ended = False

    def leave(self) -> None:
        if self.held:
            self.held = False
            self.turns.give()

    def back(self) -> None:
        if not self.held and not self.ended:
            self.held = True
            self.turns.come_back()

    def end(self) -> None:
        self.leave()
        self.ended = True


_current: ContextVar[Holder | None] = ContextVar("cpu_turn", default=None)


@contextlib.contextmanager
def holding(turns: CpuTurns) -> Iterator[None]:
    """The current request holds a turn of `turns` (already taken) until the block ends, less its waits."""
    holder = Holder(turns)
    token = _current.set(holder)
    try:
        yield
    finally:
        _current.reset(token)
        holder.end()


def leave() -> None:
    """The current request stops counting: it waits on something else than this process's CPU."""
    holder = _current.get()
    if holder is not None:
        holder.leave()


def back() -> None:
    """The current request counts again (without waiting: see the module's docstring)."""
    holder = _current.get()
    if holder is not None:
        holder.back()


@contextlib.contextmanager
def off_cpu() -> Iterator[None]:
    """Around a wait on something else than this process's CPU: the turn is someone else's meanwhile."""
    leave()
    try:
        yield
    finally:
        back()
