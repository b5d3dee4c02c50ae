"""Push delivery tasks: notifications.deliver (drains the outbox) and notifications.sweep (every minute)."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from functools import cache

from procrastinate import exceptions as procrastinate_errors
from sqlalchemy import exists, select

from domain import push_delivery
from domain.adapters.push import PushSender, create_push_sender
from domain.notifications import DELIVER_TASK, claimable
from workers.queue import QUEUES
from workers.runtime import app, resources

log = logging.getLogger(__name__)
# One run delivers until nothing is due or this many rounds were made, then hands over to a new job, so a
# long backlog does not pin one job (and a worker slot) forever.
MAX_ROUNDS = 200


@cache
def sender() -> PushSender:
    settings = resources().settings
    return create_push_sender(settings.firebase_credentials_file, settings.fcm_endpoint)


async def _defer_delivery(schedule_at: datetime | None = None) -> None:
    # A wake-up scheduled for later has a lock of its own: holding DELIVER_TASK's, it would keep a new
    # notification from being delivered at once until then.
    lock = DELIVER_TASK if schedule_at is None else f"{DELIVER_TASK}.later"
    task = app.configure_task(
        name=DELIVER_TASK, queue=QUEUES[DELIVER_TASK], queueing_lock=lock, schedule_at=schedule_at
    )
    with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):  # a run is waiting already
        await task.defer_async()


@app.task(name=DELIVER_TASK, queue=QUEUES[DELIVER_TASK], pass_context=False)
async def deliver_notifications() -> int:
    """Pushes every due notification; returns how many were handled. Safe to run twice at once."""
    res = resources()
    handled = 0
    for _ in range(MAX_ROUNDS):
        batch = await push_delivery.deliver_batch(res.sessions, sender(), res.settings, now=datetime.now(UTC))
        handled += batch.claimed
        if batch.claimed < res.settings.push_batch_size:
            break
    else:
        await _defer_delivery()
        return handled
    async with res.sessions() as session:
        due = await push_delivery.next_due(session)
    if due is not None:
        # Retries waiting out a backoff: come back when the first one is due (the sweep is the safety net).
        await _defer_delivery(schedule_at=max(due, datetime.now(UTC)))
    return handled


@app.periodic(cron="* * * * *", periodic_id="notifications.sweep")
@app.task(name="notifications.sweep", queue="maintenance", queueing_lock="notifications.sweep")
async def sweep_notifications(timestamp: int) -> bool:
    """Defers a delivery run when notifications are due and none is queued: after a crash, a lost defer, or
    a backoff that ended. Returns whether anything was due."""
    res = resources()
    async with res.sessions() as session:
        due = bool(await session.scalar(select(exists().where(claimable(datetime.now(UTC))))))
    if due:
        await _defer_delivery()
    return due
