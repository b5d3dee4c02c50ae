"""Live report events: one PostgreSQL LISTEN per API process, fanned out to its subscribers.

The events come from a trigger on reports (migration 0005), so a report filed through any API process, or
changed by a worker, reaches the subscribers of every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from domain.db import psycopg_dsn

log = logging.getLogger(__name__)
CHANNEL = "report_events"
QUEUE_SIZE = 256  # a subscriber this far behind loses events (the map refreshes its tiles anyway)
RECONNECT_MAX_S = 30.0


class ReportEventHub:
    def __init__(self, database_url: str) -> None:
        self._dsn = psycopg_dsn(database_url)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

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
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("report events: cannot connect (%s); again in %.1fs", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECONNECT_MAX_S)
                continue
            closed = asyncio.Event()
            connection.add_termination_listener(lambda _conn, done=closed: done.set())  # type: ignore[misc]
            try:
                await connection.add_listener(CHANNEL, self._deliver)
                self.listening.set()
                wait = 0.5
                await closed.wait()
                log.warning("report events: connection lost; reconnecting")
            finally:
                self.listening.clear()
                if not connection.is_closed():
                    await connection.close()

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            log.warning("report events: not JSON: %.200s", payload)
            return
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)
