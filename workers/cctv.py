"""CCTV tasks: match a report to cameras, collect one camera's clip, and the sweep that re-defers lost work.

The `cctv` queue is apart from the others so that video work, which takes seconds to minutes, never delays
photos or notifications; at scale it runs on machines of its own (`jsc worker --queue cctv`). Continuous
watching has the `cctv-watch` queue (`jsc worker --queue cctv-watch`): its tick and its short sample jobs.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from procrastinate import RetryStrategy
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status
from sqlalchemy import text

from domain import cctv, cctv_collect, cctv_sample, cctv_watch, cctv_zones
from domain.adapters.plates import VehiclePlates
from domain.jobs import JobBuffer
from workers.queue import defer_in_transaction, send_jobs
from workers.runtime import app, resources
from workers.tasks import STALLED_AFTER_S

log = logging.getLogger(__name__)

MATCH_GRACE = timedelta(minutes=2)
# One per worker process; its OCR models load at its first plate read, never where no rule reads plates.
PLATES = VehiclePlates()


class TryAgain(Exception):
    """The clip could not be had this time; the evidence row counts the attempts and decides when to stop."""


@app.task(name="cctv.match", queue="cctv", retry=RetryStrategy(max_attempts=5, exponential_wait=2))
async def match_report(report_id: str) -> int:
    res = resources()
    reference = await res.reference.get()
    jobs = JobBuffer()
    async with res.unit_of_work() as session:
        made = await cctv.match_report(
            session, res.settings, reference, report_id=uuid.UUID(report_id), jobs=jobs, now=datetime.now(UTC)
        )
        await defer_in_transaction(session, jobs.drain())
    return len(made)


@app.task(
    name="cctv.collect",
    queue="cctv",
    retry=RetryStrategy(max_attempts=10, exponential_wait=5, retry_exceptions={TryAgain}),
)
async def collect_evidence(evidence_id: str) -> str | None:
    res, key = resources(), uuid.UUID(evidence_id)
    async with res.unit_of_work() as session:
        attempt = await cctv.start_attempt(session, evidence_id=key)
    if attempt is None:
        return None
    try:
        gathered = await cctv_collect.gather(res.storage, res.settings, attempt, now=datetime.now(UTC))
    except cctv_collect.EvidenceFailure as failure:
        async with res.unit_of_work() as session:
            again = await cctv.record_failure(session, res.settings, evidence_id=key, reason=failure.reason)
        if again:
            raise TryAgain(failure.reason) from failure
        return failure.reason
    jobs = JobBuffer()
    async with res.unit_of_work() as session:
        await cctv.record_evidence(session, evidence_id=key, gathered=gathered, jobs=jobs, now=datetime.now(UTC))
        await defer_in_transaction(session, jobs.drain())
    return "READY"


@app.task(name="cctv.read_plates", queue="cctv", retry=RetryStrategy(max_attempts=5, exponential_wait=2))
async def read_plates(alert_id: str, frame_width: int, frame_height: int) -> int:
    """The plates of a busway or no-stopping alert whose rule reads them, after the alert's transaction
    (domain.cctv_zones.read_alert_plates says why); on the `cctv` queue, apart from the short samples."""
    return await cctv_zones.read_alert_plates(
        resources(), alert_id=uuid.UUID(alert_id), frame_size=(frame_width, frame_height), reader=PLATES
    )


@app.periodic(cron="* * * * *", periodic_id="cctv.sweep")
@app.task(name="cctv.sweep", queue="maintenance", queueing_lock="cctv.sweep")
async def sweep_cctv(timestamp: int) -> int:
    """Re-defers camera matches and clip collections whose job was lost (a crash, a killed worker)."""
    res, now = resources(), datetime.now(UTC)
    jobs = JobBuffer()
    async with res.unit_of_work() as session:
        for report_id in await cctv.reports_left_unmatched(session, now=now, grace=MATCH_GRACE):
            jobs.add("cctv.match", queueing_lock=f"cctv-match:{report_id}", report_id=str(report_id))
        pending = await cctv.evidence_left_pending(session, now=now)
        for evidence, camera in pending:
            cctv.collect_job(jobs, res.settings, evidence, camera)
        await cctv.touch_pending(session, [evidence.id for evidence, _ in pending])
    return await send_jobs(app, jobs.drain())


# --- continuous watching (domain/cctv_watch.py) ----------------------------------------------------------------


@app.periodic(cron=f"* * * * * */{cctv_watch.TICK_S}", periodic_id="cctv.watch_tick")
@app.task(name="cctv.watch_tick", queue=cctv_watch.QUEUE, queueing_lock="cctv.watch_tick", priority=1)
async def watch_tick(timestamp: int) -> int:
    """Hands out the cameras due before the next tick (one sample job each, with the camera's lock, scheduled at
    its due time), after giving back the sample jobs of dead workers, whose locks would keep their cameras from
    being sampled. It goes before waiting samples (priority 1), so that a busy queue still hands out and frees."""
    res = resources()
    async with res.unit_of_work() as session:
        orphaned = await cctv_watch.orphaned_samples(session, now=datetime.now(UTC))
    for job_id in orphaned:
        log.warning("sample job %s lost its worker (its lease is gone); its camera is due again", job_id)
        await _give_back(job_id)
    for job in await app.job_manager.get_stalled_jobs(queue=cctv_watch.QUEUE, seconds_since_heartbeat=STALLED_AFTER_S):
        log.warning("sample job %s of a dead worker (%s) is dropped; its camera is due again", job.id, job.worker_id)
        await _give_back(job.id)
    if not res.settings.cctv_watch_enabled:
        return 0
    jobs = JobBuffer()
    async with res.unit_of_work() as session:
        now = datetime.now(UTC)
        horizon = max(datetime.fromtimestamp(timestamp, UTC) + timedelta(seconds=cctv_watch.HORIZON_S), now)
        due = await cctv_watch.claim_due(session, now=now, horizon=horizon, jobs=jobs)
        await defer_in_transaction(session, jobs.drain())
    return due


async def _give_back(job_id: int | None) -> None:
    """Ends a dead worker's sample job as failed, which frees its camera's lock; one that ended meanwhile (both
    checks found it, or its worker was only slow) is left as it is."""
    if job_id is None:
        return
    try:
        await app.job_manager.finish_job_by_id_async(job_id, status=Status.FAILED, delete_job=False)
    except ConnectorException:
        log.info("sample job %s had already ended", job_id)


@app.task(name="cctv.watch_sample", queue=cctv_watch.QUEUE)
async def watch_sample(camera_id: int, due_at: str) -> str:
    """One sample of one camera: read, look, detect when something moved, store, alert what starts; under the
    camera's lease, so that the tick sees at once when the worker running it is gone."""
    res = resources()
    async with cctv_watch.sample_lease(res.engine, camera_id) as lease:
        if lease is None:
            log.warning("camera %s is being sampled elsewhere; this sample (due %s) is skipped", camera_id, due_at)
            return "busy"
        return await cctv_sample.sample_camera(res, camera_id=camera_id, defer=defer_in_transaction, lease=lease)


_REMOVE_SAMPLE_JOBS = text(
    """
    DELETE FROM procrastinate_jobs WHERE id IN (
        SELECT j.id FROM procrastinate_jobs j
        WHERE j.queue_name = :queue AND j.task_name = 'cctv.watch_sample'
          AND j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
          AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at > :before)
        ORDER BY j.id
        LIMIT :batch
    )
    """
)
CLEANUP_BATCH = 5000


@app.periodic(cron="* * * * *", periodic_id="cctv.watch_cleanup")
@app.task(name="cctv.watch_cleanup", queue=cctv_watch.QUEUE, queueing_lock="cctv.watch_cleanup")
async def watch_cleanup(timestamp: int) -> int:
    """Deletes finished sample jobs after JSC_CCTV_WATCH_KEEP_JOBS_S: a camera sampled every 10 s makes 8,640
    jobs a day, which jobs.remove_old's 72 hours would keep by the hundred million at a city's scale."""
    res = resources()
    before = datetime.now(UTC) - timedelta(seconds=res.settings.cctv_watch_keep_jobs_s)
    total = 0
    while True:
        async with res.unit_of_work() as session:
            result = await session.execute(
                _REMOVE_SAMPLE_JOBS, {"queue": cctv_watch.QUEUE, "before": before, "batch": CLEANUP_BATCH}
            )
        removed = int(result.rowcount or 0)  # type: ignore[attr-defined]
        total += removed
        if removed < CLEANUP_BATCH:
            return total
