"""Each job as a span of its own and as the request id of the log lines it causes ("job-<id>")."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from procrastinate import JobContext
from procrastinate.middleware import AsyncCallNext
from procrastinate.worker import Worker

from domain.telemetry import REQUEST_ID, REQUEST_ID_ATTRIBUTE

_TRACER = trace.get_tracer(__name__)


async def traced_job(call_next: AsyncCallNext, context: JobContext, worker: Worker) -> Any:
    """procrastinate worker middleware: a span "job <task>" around the job (the SQL it runs below it; an
    exception marks it failed), with the job's id as the request id. A no-op span while tracing is off."""
    job = context.job
    request_id = f"job-{job.id}"
    token = REQUEST_ID.set(request_id)
    try:
        with _TRACER.start_as_current_span(
            f"job {job.task_name}",
            kind=trace.SpanKind.CONSUMER,
            attributes={
                REQUEST_ID_ATTRIBUTE: request_id,
                "messaging.system": "procrastinate",
                "messaging.destination.name": job.queue,
                "messaging.message.id": str(job.id),
                "jsc.job.attempts": job.attempts,
            },
        ):
            return await call_next()
    finally:
        REQUEST_ID.reset(token)
