"""Live report events: one PostgreSQL LISTEN per API process, fanned out to its subscribers.

The events come from a trigger on reports (migration 0005), so a report filed through any API process, or
changed by a worker, reaches the subscribers of every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, TypeVar

import asyncpg

from domain.db import psycopg_dsn

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL = "report_events"
ALERT_CHANNEL = "cctv_alerts"  # migration 0008
QUEUE_SIZE = 256  # a subscriber this far behind loses events (the map refreshes its tiles anyway)
RECONNECT_MAX_S = 30.0
HEALTH_CHECK_S = 15.0
HEALTH_CHECK_TIMEOUT_S = 5.0


class ReportEventHub:
    """Listens on one channel: report_events (the map), or cctv_alerts (the command center's CCTV alerts)."""

    def __init__(self, database_url: str, *, channel: str = CHANNEL) -> None:
        self._dsn = psycopg_dsn(database_url)
        self._channel = channel
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._event_callbacks: list[Callable[[dict[str, Any]], None]] = []
        self._reconnect_callbacks: list[Callable[[], None]] = []
        self.listening = asyncio.Event()
        # Bumped by every event and every (re)connection: lets a reader tell that something happened meanwhile.
        self.generation = 0

    @property
    def channel(self) -> str:
        return self._channel

    def on_event(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self._event_callbacks.append(callback)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Called when the listener (re)connects or loses its connection: events may have been missed."""
        self._reconnect_callbacks.append(callback)

    def _lost_track(self) -> None:
        self.generation += 1
        for callback in self._reconnect_callbacks:
            callback()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="report-event-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _run(self) -> None:
        wait = 0.5
        while True:
            try:
                # Named, so operators (and tests) can tell the listeners apart in pg_stat_activity.
                connection = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": f"jsc-listen-{self._channel}"}
                )
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("report events: cannot connect (%s); again in %.1fs", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECONNECT_MAX_S)
                continue
            closed = asyncio.Event()
            connection.add_termination_listener(lambda _conn, done=closed: done.set())  # type: ignore[misc]
            try:
                await connection.add_listener(self._channel, self._deliver)
                self._lost_track()
                self.listening.set()
                wait = 0.5
                await self._watch(connection, closed)
                log.warning("report events: connection lost; reconnecting")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("report events: listener failed (%s); reconnecting in %.1fs", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECONNECT_MAX_S)
            finally:
                self.listening.clear()
                self._lost_track()
                if not connection.is_closed():
                    connection.terminate()

    @staticmethod
    async def _watch(connection: asyncpg.Connection, closed: asyncio.Event) -> None:
        """Returns when the connection closes, or raises when it stops answering (a silent network failure
        never closes it, and the cache would go on trusting a listener that hears nothing)."""
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), HEALTH_CHECK_S)
                return
            await asyncio.wait_for(connection.fetchval("SELECT 1"), HEALTH_CHECK_TIMEOUT_S)

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            log.warning("report events: not JSON: %.200s", payload)
            return
        self.generation += 1
        for callback in self._event_callbacks:
            callback(event)
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)


class MapCache:
    """Answers of public map queries, dropped the moment a report event falls in their box.

    Every API process hears every report event (above), so an answer stays only while nothing in its box
    was filed or changed status. While the listener is down nothing is cached (an event could be missed);
    a reconnect empties the cache. Entries also expire after `ttl_s` (and are dropped then), and the oldest go
    first beyond `max_entries`.
    """

    # Sensitive reports' events carry a rounded position: a box is hit by events this close to it too.
    MARGIN_DEG = 0.001

    def __init__(
        self,
        hub: ReportEventHub,
        *,
        max_entries: int = 512,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hub = hub
        self._clock = clock
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[tuple[float, float, float, float], float, Any]] = {}
        self.hits = self.misses = 0
        hub.on_event(self._invalidate)
        hub.on_reconnect(self._entries.clear)

    async def get_or_compute(
        self, key: Hashable, box: tuple[float, float, float, float], compute: Callable[[], Awaitable[T]]
    ) -> T:
        if self._max_entries <= 0 or not self._hub.listening.is_set():
            return await compute()
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and found[1] > now:
            self.hits += 1
            value: T = found[2]
            return value
        self.misses += 1
        generation = self._hub.generation
        value = await compute()
        # Only if no event and no reconnect came while computing: the answer could predate them.
        if generation == self._hub.generation and self._hub.listening.is_set():
            # Stored last, so the entries stay in the order they expire, and the expired ones go now rather than
            # when max_entries pushes them out: kept, they were answers no one could be served, up to 500
            # points each, and the API's memory grew for minutes until 512 of them were held (bench/soak.py).
            # Stamped now, not when the compute began: computes overlap and end in any order.
            stored_at = self._clock()
            self._entries.pop(key, None)
            self._drop_expired(stored_at)
            if len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (box, stored_at + self._ttl_s, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def _drop_expired(self, now: float) -> None:
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest][1] > now:
                return
            del self._entries[oldest]

    def _invalidate(self, event: dict[str, Any]) -> None:
        try:
            lon, lat = float(event["lon"]), float(event["lat"])
        except (KeyError, TypeError, ValueError):
            self._entries.clear()
            return
        m = self.MARGIN_DEG
        stale = [
            key
            for key, ((west, south, east, north), _, _) in self._entries.items()
            if west - m <= lon <= east + m and south - m <= lat <= north + m
        ]
        for key in stale:
            del self._entries[key]
