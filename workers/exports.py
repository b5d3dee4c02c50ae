"""Export tasks: make one CSV of performance figures, and the sweep that re-defers lost exports."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from procrastinate import RetryStrategy

from domain import exports
from domain.jobs import JobBuffer
from workers.queue import send_jobs
from workers.runtime import app, resources

log = logging.getLogger("workers.exports")


@app.task(name="exports.performance", queue="exports", retry=RetryStrategy(max_attempts=4, exponential_wait=5))
async def make_export(export_id: str) -> str | None:
    res, key = resources(), uuid.UUID(export_id)
    async with res.unit_of_work() as session:
        attempt = await exports.start_attempt(session, export_id=key)
    if attempt is None:
        return None
    reference = await res.reference.get()
    try:
        async with res.unit_of_work() as session:
            made = await exports.make(
                session,
                res.storage,
                reference,
                export_id=key,
                min_reports=res.settings.ranking_min_reports,
                now=datetime.now(UTC),
                reads=res.public_reads,
            )
    except Exception as exc:
        if attempt < exports.MAX_ATTEMPTS:
            raise
        log.exception("export %s failed for good after %d attempts", key, attempt)
        async with res.unit_of_work() as session:
            await exports.give_up(session, export_id=key, error=type(exc).__name__, now=datetime.now(UTC))
        return "FAILED"
    return made.status.value if made else None


@app.periodic(cron="* * * * *", periodic_id="exports.sweep")
@app.task(name="exports.sweep", queue="maintenance", queueing_lock="exports.sweep")
async def sweep_exports(timestamp: int) -> int:
    """Re-defers exports still PENDING after the grace period (their job was lost, or gave up retrying)."""
    res = resources()
    async with res.unit_of_work() as session:
        ids = await exports.left_pending(session, older_than=datetime.now(UTC) - exports.SWEEP_GRACE)
    jobs = JobBuffer()
    for export_id in ids:
        exports.job(jobs, export_id)
    return await send_jobs(app, jobs.drain())
