"""The procrastinate app and the one way jobs are sent: by task name, after the commit that made them."""

from __future__ import annotations

import logging

import procrastinate
from procrastinate import exceptions as procrastinate_errors

from domain.db import psycopg_dsn
from domain.jobs import JobRequest
from domain.settings import Settings

log = logging.getLogger(__name__)

# Task name -> queue; one place so the API can defer a task it does not import.
QUEUES = {"photos.process": "photos", "photos.sweep": "maintenance"}


def create_queue_app(settings: Settings) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(conninfo=psycopg_dsn(settings.database_url), min_size=1, max_size=4)
    return procrastinate.App(connector=connector, import_paths=["workers.tasks"])


async def send_jobs(app: procrastinate.App, requests: list[JobRequest]) -> int:
    """Defers each job; returns how many were sent. A failure is logged and left to the periodic sweeps."""
    sent = 0
    for request in requests:
        task = app.configure_task(
            name=request.task,
            queue=QUEUES.get(request.task, "default"),
            queueing_lock=request.queueing_lock,
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
