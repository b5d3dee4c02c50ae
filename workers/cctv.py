"""CCTV tasks: match a report to cameras, collect one camera's clip, and the sweep that re-defers lost work.

The `cctv` queue is apart from the others so that video work, which takes seconds to minutes, never delays
photos or notifications; at scale it runs on machines of its own (`jsc worker --queue cctv`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from procrastinate import RetryStrategy

from domain import cctv, cctv_collect
from domain.jobs import JobBuffer
from workers.queue import defer_in_transaction, send_jobs
from workers.runtime import app, resources

MATCH_GRACE = timedelta(minutes=2)


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
