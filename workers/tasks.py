"""Tasks: ids in, the domain does the work. Names are dotted and stable (jobs in the queue refer to them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from procrastinate import RetryStrategy
from sqlalchemy.ext.asyncio import AsyncSession

from domain import photos, rate_limits, workflow
from domain.jobs import JobBuffer
from workers.queue import defer_in_transaction, send_jobs
from workers.runtime import app, resources

SWEEP_GRACE = timedelta(minutes=2)
ESCALATION_BATCH = 200


@app.task(
    name="photos.process",
    queue="photos",
    retry=RetryStrategy(max_attempts=8, exponential_wait=2),
    pass_context=False,
)
async def process_photo(photo_id: str) -> None:
    res = resources()
    async with res.unit_of_work() as session:
        await photos.process_photo(
            session,
            res.storage,
            res.settings,
            photo_id=uuid.UUID(photo_id),
            now=datetime.now(UTC),
        )
    # Only once the processed copy is committed; a storage outage here fails the job, whose retry finds the photo
    # processed and tries the deletion again (and photos.sweep_uploads is there if every retry fails).
    async with res.unit_of_work() as session:
        await photos.delete_original(session, res.storage, photo_id=uuid.UUID(photo_id), now=datetime.now(UTC))


@app.periodic(cron="* * * * *", periodic_id="photos.sweep")
@app.task(name="photos.sweep", queue="maintenance", queueing_lock="photos.sweep")
async def sweep_photos(timestamp: int) -> int:
    """Re-defers processing of photos whose job was lost (a crash between commit and defer, a dead worker)."""
    res = resources()
    async with res.unit_of_work() as session:
        ids = await photos.photos_left_behind(session, older_than=datetime.now(UTC) - SWEEP_GRACE)
    jobs = JobBuffer()
    for photo_id in ids:
        jobs.add("photos.process", queueing_lock=f"photo:{photo_id}", photo_id=str(photo_id))
    return await send_jobs(app, jobs.drain())


@app.task(
    name="photos.delete_owner_uploads",
    queue="photos",
    retry=RetryStrategy(max_attempts=8, exponential_wait=2),
    pass_context=False,
)
async def delete_owner_uploads(owner_id: str) -> int:
    """Deletes every file a deleted account uploaded."""
    res = resources()
    async with res.unit_of_work() as session:
        return await photos.delete_owner_uploads(
            session, res.storage, owner_id=uuid.UUID(owner_id), now=datetime.now(UTC)
        )


@app.periodic(cron="*/10 * * * *", periodic_id="photos.sweep_uploads")
@app.task(name="photos.sweep_uploads", queue="maintenance", queueing_lock="photos.sweep_uploads")
async def sweep_uploads(timestamp: int) -> int:
    """Deletes the uploads (EXIF, GPS and all) no photo needs any more: those the processing job could not delete,
    those no report claimed in time, those a deleted account or report left. A storage outage fails the run; the
    next one does the work."""
    res = resources()
    deleted = await _in_batches(lambda s: photos.delete_finished_originals(s, res.storage, now=datetime.now(UTC)))
    deleted += await _in_batches(lambda s: photos.expire_unclaimed(s, res.storage, res.settings, now=datetime.now(UTC)))
    start_after = None
    while True:
        async with res.unit_of_work() as session:
            done, start_after = await photos.sweep_uploads(
                session, res.storage, res.settings, now=datetime.now(UTC), start_after=start_after
            )
        deleted += done
        if start_after is None:
            return deleted


async def _in_batches(step: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Runs ``step`` in a transaction of its own until a batch comes back short."""
    total = 0
    while True:
        async with resources().unit_of_work() as session:
            done = await step(session)
        total += done
        if done < photos.SWEEP_BATCH:
            return total


@app.periodic(cron="* * * * *", periodic_id="reports.escalate")
@app.task(name="reports.escalate", queue="maintenance", queueing_lock="reports.escalate")
async def escalate_reports(timestamp: int) -> int:
    """Raises reports whose deadline passed to the camat, then the walikota office (see domain/workflow.py)."""
    res = resources()
    reference = await res.reference.get()
    total = 0
    while True:
        jobs = JobBuffer()
        async with res.unit_of_work() as session:
            raised = await workflow.escalate_overdue(session, reference, jobs=jobs, now=datetime.now(UTC))
            if jobs.requests:
                await defer_in_transaction(session, jobs.drain())
        total += raised
        if raised < ESCALATION_BATCH:
            return total


@app.periodic(cron="17 * * * *", periodic_id="rate_limits.sweep")
@app.task(name="rate_limits.sweep", queue="maintenance", queueing_lock="rate_limits.sweep")
async def sweep_rate_counters(timestamp: int) -> int:
    """Drops the rate-limit counters of windows that ended more than a day ago."""
    return await rate_limits.sweep(resources().engine, now=datetime.now(UTC))
