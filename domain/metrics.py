"""Prometheus metrics, shared by the API and the workers: what each process counts as it happens, and what is
read from the database (queues, outbox, photos, cameras, SLA) when a scrape asks.

Several processes of one kind (uvicorn workers, worker processes) share one ``PROMETHEUS_MULTIPROC_DIR`` each:
prometheus-client then keeps every process's values in files there, and a scrape of any of them adds them up.
The variable must be set before the process starts (prometheus-client reads it at import) and the folder emptied
before the service starts (docs/operations.md). Without it each process reports only its own values.

Labels are bounded: a GraphQL operation is named by a trusted document's name or by its one root field (both known
when the schema and the web build are), a route by its template, a queue by name, an outcome by an error code.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.settings import Settings

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Request latencies from a cached map answer (a millisecond) to a slow export request (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# What a GraphQL operation that is neither a trusted document's nor one root field is counted as.
OTHER_OPERATION = "other"
OK = "ok"

# --- counted where it happens -----------------------------------------------------------------------------------

GRAPHQL_OPERATIONS = Counter(
    "jsc_graphql_operations",
    "GraphQL operations by operation (trusted name or type:rootField) and outcome (ok or the first error's code)",
    ["operation", "outcome"],
)
GRAPHQL_SECONDS = Histogram(
    "jsc_graphql_operation_duration_seconds",
    "GraphQL operation time from parsing to the commit",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "jsc_http_requests", "HTTP requests by route template, method and status code", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "jsc_http_request_duration_seconds",
    "HTTP request time until the response's last byte",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
DB_POOL_IN_USE = Gauge(
    "jsc_db_pool_connections_in_use",
    "database connections checked out of the process's pool",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "jsc_db_pool_size",
    "connections the pool keeps (more may open up to the overflow)",
    ["pool"],
    multiprocess_mode="livesum",
)
PUBLIC_LANE = Gauge(
    "jsc_public_lane_reads",
    "anonymous reads in the public lane (api/admission.py): admitted (running or waiting on PostgreSQL) and"
    " waiting (for admission or to start); a steady queue of waiting ones is a crowd more than the processes take",
    ["state"],
    multiprocess_mode="livesum",
)
TILE_CACHE = Counter(
    "jsc_tile_cache",
    "tile renders asked of the rendered-tile cache, by layer and outcome: hit (kept), joined (a render in flight"
    " for the same tile and version), miss (rendered)",
    ["layer", "outcome"],
)
GC_PAUSES = Histogram(
    "jsc_gc_pause_seconds",
    "time the cyclic garbage collector held the process (its event loop serves no one meanwhile), by generation;"
    " frequent full (generation 2) collections of tens of ms are every request's tail (domain/heap.py)",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
RATE_LIMIT_REFUSALS = Counter("jsc_rate_limit_refusals", "requests refused by a rate limit", ["action"])
PUSH_MESSAGES = Counter("jsc_push_messages", "push messages by FCM outcome", ["outcome"])
PUSH_NOTIFICATIONS = Counter(
    "jsc_push_notifications", "notifications by the push status they ended a round in", ["status"]
)
JOBS = Counter("jsc_jobs", "jobs that ended, by queue, task and outcome", ["queue", "task", "outcome"])
JOB_SECONDS = Histogram("jsc_job_duration_seconds", "time a job ran", ["queue"], buckets=JOB_BUCKETS)
REPLICA_LAG = Gauge(
    "jsc_replica_lag_seconds",
    "how far the read replica's replay is behind the primary, as the API saw it last",
    multiprocess_mode="livemax",
)
REPLICA_FALLBACK = Counter(
    "jsc_replica_fallback", "public reads sent to the primary instead of the replica, by reason", ["reason"]
)


def job_ended(queue: str, task: str, outcome: str, seconds: float | None) -> None:
    JOBS.labels(queue, task, outcome).inc()
    if seconds is not None:
        JOB_SECONDS.labels(queue).observe(seconds)


# --- read when a scrape asks --------------------------------------------------------------------------------------

_WAITING_JOBS = text(
    """
    WITH waiting AS (
        SELECT queue_name, count(*) AS depth, min(id) AS first_id
        FROM procrastinate_jobs
        WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
        GROUP BY queue_name
    )
    SELECT w.queue_name, w.depth,
           extract(epoch FROM now() - greatest(
               j.scheduled_at, (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = w.first_id)
           )) AS age_s
    FROM waiting w JOIN procrastinate_jobs j ON j.id = w.first_id
    """
)
_RUNNING_JOBS = text("SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'doing' GROUP BY queue_name")
_OUTBOX = text(
    """
    SELECT count(*), coalesce(extract(epoch FROM now() - min(push_next_at)), 0)
    FROM notifications
    WHERE push_status IN ('PENDING', 'SENDING') AND push_next_at <= now()
    """
)
_PHOTOS = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM photos WHERE status = 'ATTACHED'"
)
_CAMERAS = text(
    """
    SELECT coalesce(w.health, 'UNWATCHED') AS health, count(*),
           coalesce(max(greatest(0, extract(epoch FROM now() - coalesce(w.last_sample_at, c.created_at))
                                   - c.watch_interval_s)), 0)
    FROM cameras c LEFT JOIN camera_watch w ON w.camera_id = c.id
    WHERE c.active
    GROUP BY 1
    """
)
_OVERDUE = text(
    """
    SELECT k.name, coalesce(o.overdue, 0)
    FROM kota k
    LEFT JOIN (SELECT kota_id, count(*) AS overdue FROM reports WHERE due_at < now() GROUP BY kota_id) o
        ON o.kota_id = k.id
    """
)


@dataclass
class Snapshot:
    """What the database said at one scrape."""

    families: list[Metric] = field(default_factory=list)


def _family(name: str, documentation: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


async def read_snapshot(engine: AsyncEngine, *, queues: Iterable[str], timeout_s: float) -> Snapshot:
    """One read-only transaction, under a statement timeout; every query runs on an index or a small table."""
    depth = _family("jsc_job_queue_depth", "jobs waiting to run now, by queue", ["queue"])
    age = _family("jsc_job_queue_oldest_age_seconds", "how long the first job in line has waited, by queue", ["queue"])
    running = _family("jsc_job_queue_running", "jobs running, by queue", ["queue"])
    outbox = _family("jsc_outbox_pending", "notifications due for a push and not pushed yet")
    outbox_lag = _family("jsc_outbox_lag_seconds", "how long the oldest due notification has waited for its push")
    photos = _family("jsc_photos_pending", "photos attached to a report and not processed yet")
    photo_lag = _family("jsc_photo_processing_lag_seconds", "age of the oldest photo waiting to be processed")
    cameras = _family(
        "jsc_cctv_cameras", "active cameras by the health last seen (UNWATCHED: never sampled)", ["health"]
    )
    sample_lag = _family(
        "jsc_cctv_sample_lag_seconds", "the longest an active camera's sample is overdue (beyond its interval)"
    )
    overdue = _family("jsc_sla_overdue_reports", "open reports past their deadline, by kota", ["kota"])
    timeout_ms = max(1, int(timeout_s * 1000))
    async with engine.connect() as conn:
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        await conn.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        waiting = {row[0]: (int(row[1]), float(row[2] or 0)) for row in await conn.execute(_WAITING_JOBS)}
        busy = {row[0]: int(row[1]) for row in await conn.execute(_RUNNING_JOBS)}
        for queue in sorted({*queues, *waiting, *busy}):
            count, oldest = waiting.get(queue, (0, 0.0))
            depth.add_metric([queue], count)
            age.add_metric([queue], max(oldest, 0.0))
            running.add_metric([queue], busy.get(queue, 0))
        pending, lag = (await conn.execute(_OUTBOX)).one()
        outbox.add_metric([], int(pending))
        outbox_lag.add_metric([], max(float(lag), 0.0))
        waiting_photos, oldest_photo = (await conn.execute(_PHOTOS)).one()
        photos.add_metric([], int(waiting_photos))
        photo_lag.add_metric([], max(float(oldest_photo), 0.0))
        worst = 0.0
        for health, count, lagging in await conn.execute(_CAMERAS):
            cameras.add_metric([health], int(count))
            worst = max(worst, float(lagging))
        sample_lag.add_metric([], worst)
        for kota, count in await conn.execute(_OVERDUE):
            overdue.add_metric([kota], int(count))
        await conn.rollback()
    return Snapshot([depth, age, running, outbox, outbox_lag, photos, photo_lag, cameras, sample_lag, overdue])


def disk_families(paths: Iterable[Path]) -> list[Metric]:
    free = _family("jsc_disk_free_bytes", "bytes free to unprivileged users on the file system holding path", ["path"])
    size = _family("jsc_disk_size_bytes", "size of the file system holding path", ["path"])
    for path in paths:
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            continue
        free.add_metric([str(path)], usage.free)
        size.add_metric([str(path)], usage.total)
    return [free, size]


class DatabaseMetrics(Collector):
    """The database's figures, read at most once per ``cache_s`` whoever scrapes, within ``timeout_s``; a read
    that fails or times out leaves ``jsc_metrics_database_up`` at 0 and the figures out of that scrape."""

    def __init__(self, engine: AsyncEngine, settings: Settings, queues: Iterable[str] = ()) -> None:
        self.engine = engine
        self.queues = tuple(queues)
        self.cache_s = settings.metrics_cache_s
        self.timeout_s = settings.metrics_query_timeout_s
        self.disk_paths = tuple(settings.metrics_disk_paths)
        self._snapshot: Snapshot | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._read_at < self.cache_s:
                return
            try:
                self._snapshot = await asyncio.wait_for(
                    read_snapshot(self.engine, queues=self.queues, timeout_s=self.timeout_s), self.timeout_s + 0.5
                )
            except Exception as exc:  # noqa: BLE001 - a scrape reports the database down, it does not fail
                log.warning("metrics: the database did not answer (%s)", exc.__class__.__name__)
                self._snapshot = None
            self._read_at = time.monotonic()

    def collect(self) -> Iterator[Metric]:
        up = _family("jsc_metrics_database_up", "1 when the last read of the database's figures worked")
        up.add_metric([], 0 if self._snapshot is None else 1)
        yield up
        if self._snapshot is not None:
            yield from self._snapshot.families
        yield from disk_families(self.disk_paths)


def watch_pool(engine: AsyncEngine, pool_name: str, size: int) -> None:
    """Counts the engine's checked-out connections in the shared gauge (a file write per checkout and return)."""
    from sqlalchemy import event

    in_use = DB_POOL_IN_USE.labels(pool_name)
    DB_POOL_SIZE.labels(pool_name).set(size)

    def checkout(*_: object) -> None:
        in_use.inc()

    def checkin(*_: object) -> None:
        in_use.dec()

    event.listen(engine.sync_engine, "checkout", checkout)
    event.listen(engine.sync_engine, "checkin", checkin)


def exposition(extra: Collector | None = None) -> bytes:
    """The text a scrape gets: every process's values when multiprocess, else this process's own; and ``extra``
    (the database's figures), for this scrape alone."""
    if os.environ.get(MULTIPROC_ENV):
        base = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(base)
    else:
        base = REGISTRY
    body = generate_latest(base)
    if extra is not None:
        once = CollectorRegistry(auto_describe=False)
        once.register(extra)
        body += generate_latest(once)
    return body


def authorized(settings: Settings, authorization: str | None) -> bool | None:
    """None when /metrics is off (no token set); else whether the header carries the token."""
    if settings.metrics_token is None:
        return None
    expected = settings.metrics_token.get_secret_value().encode()
    header = (authorization or "").encode("latin-1", "replace")
    if header[:7].lower() != b"bearer ":
        return False
    return hmac.compare_digest(header[7:].strip(), expected)


def process_ended() -> None:
    """Drops this process's live gauges (pool use, replica lag) from the shared folder."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(os.getpid())
