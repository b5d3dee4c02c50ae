"""Tasks: ids in, the domain does the work. Names are dotted and stable (jobs in the queue refer to them)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from procrastinate import JobContext, RetryStrategy, builtin_tasks
from procrastinate.jobs import Status
from sqlalchemy.ext.asyncio import AsyncSession

from domain import idempotency, photos, rate_limits, workflow
from domain.jobs import JobBuffer
from workers.queue import defer_in_transaction, send_jobs
from workers.runtime import app, resources

log = logging.getLogger(__name__)
SWEEP_GRACE = timedelta(minutes=2)
ESCALATION_BATCH = 200
# A worker that has sent no heartbeat for this long is dead (procrastinate's workers send one every 10 s and call a
# worker stalled after 30 s; the same figure here).
STALLED_AFTER_S = 30.0
# A job tried this often is not retried after a stall but failed: one that kills its worker each time (memory, a
# crash in native code) would otherwise take a worker down every minute for ever. Above any task's own retries.
STALLED_MAX_ATTEMPTS = 10


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
async def sweep_rate_limits(timestamp: int) -> int:
    """Drops the keys that are back to their full allowance (the same as having no row)."""
    return await rate_limits.sweep(resources().engine, now=datetime.now(UTC))


@app.periodic(cron="41 * * * *", periodic_id="idempotency.sweep")
@app.task(name="idempotency.sweep", queue="maintenance", queueing_lock="idempotency.sweep")
async def sweep_idempotency_keys(timestamp: int) -> int:
    """Forgets the clientRequestIds older than JSC_IDEMPOTENCY_KEEP_DAYS, in batches of their own transaction."""
    res = resources()
    before = datetime.now(UTC) - timedelta(days=res.settings.idempotency_keep_days)
    total = 0
    while True:
        async with res.unit_of_work() as session:
            deleted = await idempotency.sweep(session, before=before)
        total += deleted
        if deleted < idempotency.SWEEP_BATCH:
            return total


@app.periodic(cron="* * * * *", periodic_id="jobs.retry_stalled")
@app.task(name="jobs.retry_stalled", queue="maintenance", queueing_lock="jobs.retry_stalled")
async def retry_stalled_jobs(timestamp: int) -> int:
    """Gives the jobs of a dead worker (SIGKILL, a lost machine) back to the queue: procrastinate leaves them
    `doing` for ever (procrastinate#1518). Every task is idempotent, so running one again is safe."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S))
    for job in stalled:
        if job.attempts + 1 >= STALLED_MAX_ATTEMPTS:
            log.error("job %s (%s) stalled on its attempt %d; failed", job.id, job.task_name, job.attempts + 1)
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            continue
        log.warning("job %s (%s) of a dead worker (%s) goes back to the queue", job.id, job.task_name, job.worker_id)
        await app.job_manager.retry_job(job)
    return len(stalled)


@app.periodic(cron="23 * * * *", periodic_id="jobs.remove_old")
@app.task(name="jobs.remove_old", queue="maintenance", queueing_lock="jobs.remove_old", pass_context=True)
async def remove_old_jobs(context: JobContext, timestamp: int) -> None:
    """Deletes finished jobs older than JSC_JOBS_KEEP_FINISHED_HOURS: a queue table that only grows slows every
    worker's fetch. Failed ones too: the rows they worked on stay, and the sweeps find what they left undone."""
    await builtin_tasks.remove_old_jobs(
        context,
        max_hours=resources().settings.jobs_keep_finished_hours,
        remove_failed=True,
        remove_cancelled=True,
        remove_aborted=True,
    )
