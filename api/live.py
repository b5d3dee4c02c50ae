"""Live report events: one PostgreSQL LISTEN per API process, fanned out to its subscribers.

The events come from a trigger on reports (migrations 0005, 0014), so a report filed through any API process, or
changed by a worker, reaches the subscribers of every process.

A subscriber hears every event from the moment it is registered, or is told it did not: when it falls too far
behind, or the listener loses its connection (events committed meanwhile are never heard), its stream ends with
RESYNC_REQUIRED, and the client loads the current state again and subscribes again.
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

from api.errors import ClientError, ErrorCode
from domain.db import psycopg_dsn

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL = "report_events"
ALERT_CHANNEL = "cctv_alerts"  # migration 0008
# A category made sensitive or renamed (migration 0014): every public answer and every stream starts afresh.
RESET = "RESET"
RECONNECT_MAX_S = 30.0
HEALTH_CHECK_S = 15.0
HEALTH_CHECK_TIMEOUT_S = 5.0


class EventsMissed(ClientError):
    """What a subscriber gets instead of a silent gap in its stream."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.RESYNC_REQUIRED, "Some events could not be delivered: load the current state and subscribe again."
        )


class Subscription:
    """One subscriber's events, in order. Its queue is unbounded but never longer than `limit` events: the
    subscriber that far behind gets the gap instead of the next event, and nothing after it."""

    _GAP = None

    def __init__(self, limit: int) -> None:
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._limit = limit

    def offer(self, event: dict[str, Any]) -> bool:
        """Queues the event; False, and the gap queued instead, when the subscriber is too far behind."""
        if self._events.qsize() >= self._limit:
            self.lose()
            return False
        self._events.put_nowait(event)
        return True

    def lose(self) -> None:
        """Ends the stream with EventsMissed once the events queued before are read."""
        self._events.put_nowait(self._GAP)

    async def get(self) -> dict[str, Any]:
        event = await self._events.get()
        if event is self._GAP:
            raise EventsMissed
        return event


class ReportEventHub:
    """Listens on one channel: report_events (the map), or cctv_alerts (the command center's CCTV alerts)."""

    def __init__(self, database_url: str, *, channel: str = CHANNEL, queue_size: int = 256) -> None:
        self._dsn = psycopg_dsn(database_url)
        self._channel = channel
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
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
        """Called when the listener (re)connects or loses its connection (events may have been missed), and
        on a RESET event (what every answer was built from has changed)."""
        self._reconnect_callbacks.append(callback)

    def _lost_track(self) -> None:
        self.generation += 1
        for callback in self._reconnect_callbacks:
            callback()
        self._lose_subscribers()

    def _lose_subscribers(self) -> None:
        for subscription in self._subscribers:
            subscription.lose()
        self._subscribers.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="report-event-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        # Registered only while listening, in the same step as the check: a subscriber that joined while the
        # listener was down would miss what was committed meanwhile and never hear of it.
        while not self.listening.is_set():
            await self.listening.wait()
        subscription = Subscription(self._queue_size)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

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
        if event.get("kind") == RESET:
            log.info("report events: %s reset (%.200s)", self._channel, payload)
            self._lost_track()
            return
        self.generation += 1
        for callback in self._event_callbacks:
            callback(event)
        for subscription in list(self._subscribers):
            if not subscription.offer(event):
                self._subscribers.discard(subscription)
                log.info(
                    "report events: a subscriber of %s fell %d events behind; told to resync",
                    self._channel,
                    self._queue_size,
                )


class MapCache:
    """Answers of public map queries, dropped the moment a report event falls in their box.

    Every API process hears every report event (above), so an answer stays only while nothing in its box
    was filed, changed, moved or left the public views. While the listener is down nothing is cached (an event
    could be missed); a reconnect empties the cache. Entries also expire after `ttl_s` (and are dropped then),
    and the oldest go first beyond `max_entries`.
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
        self,
        key: Hashable,
        box: tuple[float, float, float, float],
        compute: Callable[[], Awaitable[T]],
        *,
        ttl_s: float | None = None,
    ) -> T:
        """The cached answer, or `compute`'s, kept for `ttl_s` (the cache's own when None) or until an event."""
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
            self._entries[key] = (box, stored_at + (self._ttl_s if ttl_s is None else min(ttl_s, self._ttl_s)), value)
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
        """Drops the answers whose box holds the report now or held it before (an UPDATED event's `previous`:
        a report moved away, or to another category or unit, is stale in its old box too)."""
        try:
            points = [(float(event["lon"]), float(event["lat"]))]
            if (previous := event.get("previous")) is not None:
                points.append((float(previous["lon"]), float(previous["lat"])))
        except (KeyError, TypeError, ValueError):
            self._entries.clear()
            return
        m = self.MARGIN_DEG
        stale = [
            key
            for key, ((west, south, east, north), _, _) in self._entries.items()
            if any(west - m <= lon <= east + m and south - m <= lat <= north + m for lon, lat in points)
        ]
        for key in stale:
            del self._entries[key]
