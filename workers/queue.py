"""The procrastinate app and the two ways jobs are sent, by task name.

`defer_in_transaction` inserts the jobs in the transaction that made them (the API does this: a job exists
if and only if its report does). `send_jobs` defers through procrastinate's own connection, for code that
has no transaction of ours at hand (periodic tasks).
"""

from __future__ import annotations

import json
import logging

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import psycopg_dsn
from domain.jobs import JobRequest
from domain.settings import Settings

log = logging.getLogger(__name__)

# Task name -> queue; one place so the API can defer a task it does not import.
QUEUES = {
    "photos.process": "photos",
    "photos.sweep": "maintenance",
    "photos.delete_owner_uploads": "photos",
    "photos.sweep_uploads": "maintenance",
    "notifications.deliver": "notifications",
    "notifications.sweep": "maintenance",
    "reports.escalate": "maintenance",
    "cctv.match": "cctv",
    "cctv.collect": "cctv",
    "cctv.read_plates": "cctv",
    "cctv.sweep": "maintenance",
    "cctv.watch_tick": "cctv-watch",
    "cctv.watch_sample": "cctv-watch",
    "cctv.watch_cleanup": "cctv-watch",
    "idempotency.sweep": "maintenance",
    "jobs.retry_stalled": "maintenance",
    "jobs.remove_old": "maintenance",
}


def create_queue_app(settings: Settings) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(conninfo=psycopg_dsn(settings.database_url), min_size=1, max_size=4)
    return procrastinate.App(
        connector=connector, import_paths=["workers.tasks", "workers.notifications", "workers.cctv", "workers.exports"]
    )


_DEFER = text("SELECT jsc_defer_jobs(CAST(:jobs AS jsonb))")


async def defer_in_transaction(session: AsyncSession, requests: list[JobRequest]) -> int:
    """Inserts the jobs with the caller's transaction (migration 0002's jsc_defer_jobs); one round trip.

    A job whose queueing lock is held by a job still waiting is skipped, as `send_jobs` does.
    Returns how many were deferred.
    """
    jobs = [
        {
            "queue": QUEUES.get(r.task, "default"),
            "task": r.task,
            "queueing_lock": r.queueing_lock,
            "lock": r.lock,
            "args": r.kwargs,
            "scheduled_at": r.schedule_at.isoformat() if r.schedule_at else None,
        }
        for r in requests
    ]
    deferred: int = await session.scalar(_DEFER, {"jobs": json.dumps(jobs)})
    return deferred


async def send_jobs(app: procrastinate.App, requests: list[JobRequest]) -> int:
    """Defers each job; returns how many were sent. A failure is logged and left to the periodic sweeps."""
    sent = 0
    for request in requests:
        task = app.configure_task(
            name=request.task,
            queue=QUEUES.get(request.task, "default"),
            queueing_lock=request.queueing_lock,
            lock=request.lock,
            schedule_at=request.schedule_at,
        )
        try:
            await task.defer_async(**request.kwargs)
            sent += 1
        except procrastinate_errors.AlreadyEnqueued:
            sent += 1
        except Exception:
            log.exception(
                "could not defer %s %s; the sweep will pick it up",
                request.task,
                request.kwargs,
            )
    return sent
