"""The worker's side of the metrics (domain/metrics.py): jobs counted from procrastinate's own log records as
they end, and a small /metrics server (JSC_WORKER_METRICS_PORT, with the token JSC_METRICS_TOKEN)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from domain import metrics
from domain.resources import Resources

log = logging.getLogger(__name__)

# procrastinate's worker logs each job's end with one of these actions (procrastinate/worker.py).
JOB_OUTCOMES = {
    "job_success": "succeeded",
    "job_error": "failed",
    "job_error_retry": "retried",
    "job_aborted": "aborted",
    "job_aborted_retry": "retried",
}
READ_TIMEOUT_S = 5.0
MAX_HEAD_BYTES = 16 * 1024


class JobOutcomes(logging.Handler):
    """Counts ended jobs by queue, task and outcome; the record's extra fields say which (no task is wrapped)."""

    def emit(self, record: logging.LogRecord) -> None:
        outcome = JOB_OUTCOMES.get(getattr(record, "action", ""))
        job: Any = getattr(record, "job", None)
        if outcome is None or not isinstance(job, dict):
            return
        start, end = getattr(record, "start_timestamp", None), getattr(record, "end_timestamp", None)
        seconds = end - start if isinstance(start, int | float) and isinstance(end, int | float) else None
        metrics.job_ended(str(job.get("queue")), str(job.get("task_name")), outcome, seconds)


def count_jobs() -> None:
    handler = JobOutcomes(level=logging.INFO)
    logger = logging.getLogger("procrastinate.worker")
    if not any(isinstance(h, JobOutcomes) for h in logger.handlers):
        logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


class MetricsServer:
    """GET /metrics over HTTP/1.1, one request per connection: enough for Prometheus, nothing else served."""

    def __init__(self, resources: Resources, queues: set[str]) -> None:
        self.settings = resources.settings
        self.database = metrics.DatabaseMetrics(resources.engine, resources.settings, queues=queues)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.settings.worker_metrics_host, self.settings.worker_metrics_port
        )
        log.info(
            "metrics on http://%s:%d/metrics", self.settings.worker_metrics_host, self.settings.worker_metrics_port
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            status, body, content_type = await self._answer(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            status, body, content_type = 400, b"Bad Request", "text/plain"
        with contextlib.suppress(ConnectionError):
            reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
            headers = [
                f"HTTP/1.1 {status} {reason.get(status, 'Error')}",
                f"Content-Type: {content_type}",
                f"Content-Length: {len(body)}",
                "Connection: close",
            ]
            if status == 401:
                headers.append('WWW-Authenticate: Bearer realm="metrics"')
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _answer(self, head: bytes) -> tuple[int, bytes, str]:
        if len(head) > MAX_HEAD_BYTES:
            return 400, b"Bad Request", "text/plain"
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return 400, b"Bad Request", "text/plain"
        method, target, _ = parts
        if target.split("?", 1)[0] != "/metrics":
            return 404, b"Not Found", "text/plain"
        if method != "GET":
            return 405, b"Method Not Allowed", "text/plain"
        authorization = next(
            (line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("authorization:")), None
        )
        allowed = metrics.authorized(self.settings, authorization)
        if allowed is None:
            return 404, b"Not Found", "text/plain"
        if not allowed:
            return 401, b"A bearer token is needed.", "text/plain"
        await self.database.refresh()
        return 200, metrics.exposition(self.database), metrics.CONTENT_TYPE
