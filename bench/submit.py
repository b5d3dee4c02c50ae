"""Benchmark: file N reports, each with one photo, through the HTTP API; prints reports/s and latency percentiles.

Requirement: at least 100 createReport/s on the 2-core machine with the API, the database and this load
generator all on it. Run it with a stack profile's environment loaded (see docs/benchmarks.md):

    .venv/bin/python scripts/stack.py up --profile bench
    set -a; . .stack/bench/env; set +a
    .venv/bin/python bench/submit.py --reports 2000 --concurrency 32 --api-workers 1

or simply `make bench BENCH_ARGS="--api-workers 2"`.

What happens: the database is migrated and Jakarta loaded (both idempotent); the API (uvicorn) and one
photo worker are started here as child processes; citizens are signed up and one real JPEG per report is
uploaded to S3 through a presigned POST (not timed); a warm-up batch of reports is filed (not timed); then
only the createReport mutations are timed. Both child processes are stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    CpuGroups,
    active_categories,
    bounded,
    check_create,
    code_version,
    cpu_report,
    create_report_body,
    data_directory,
    free_port,
    kelurahan_centroids,
    load_average,
    percentile,
    phone_jpeg,
    prepare_database,
    raised_rate_limits,
    routable,
    sign_up,
    spawn,
    stop,
    upload_photo,
    wait_healthy,
    with_retries,
)

# The same selection the app (and tests/factories.py) asks for: the whole confirmation screen in one round trip.
CREATE_REPORT = """
mutation Create($input: CreateReportInput!) {
  createReport(input: $input) {
    report {
      id status statusLabel description anonymous routingDistanceM
      location { lat lon accuracyM }
      category { code nameEn }
      kelurahan { name code kecamatan { name } kota { name } }
      kecamatan { name } kota { name }
      unit { code kind name }
      reporter { displayName }
      photos { id status url thumbnailUrl width height errorCode }
      history { fromStatus toStatus at }
    }
    errors { code message field }
  }
}
"""

# Only what the bench checks: shows how much of a createReport's cost is the response, not the filing.
CREATE_REPORT_MINIMAL = """
mutation Create($input: CreateReportInput!) {
  createReport(input: $input) { report { id photos { id status } } errors { code message field } }
}
"""
PAYLOADS = {"full": CREATE_REPORT, "minimal": CREATE_REPORT_MINIMAL}
TARGET_REPORTS_PER_S = 100

# --- input data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedReport:
    token: str
    photo_key: str
    body: bytes  # the request body, serialised before the clock starts so the load generator stays light


# --- child processes ---------------------------------------------------------------------------


# --- the load ----------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    elapsed: float
    latencies: list[float]
    errors: Counter[str]
    report_ids: list[str]


async def file_reports(client: httpx.AsyncClient, reports: Sequence[PreparedReport], concurrency: int) -> PhaseResult:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ids: list[str] = []

    async def one(report: PreparedReport) -> None:
        headers = {"Authorization": f"Bearer {report.token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            response = await client.post("/graphql", content=report.body, headers=headers)
        except httpx.HTTPError as exc:
            latencies.append(time.perf_counter() - started)
            errors[type(exc).__name__] += 1
            return
        latencies.append(time.perf_counter() - started)  # before our own checks, which are not the server's time
        report_id, problem = check_create(response)
        if report_id is not None:
            ids.append(report_id)
        else:
            errors[problem or "unknown"] += 1

    started = time.perf_counter()
    await bounded(concurrency, reports, one)
    return PhaseResult(time.perf_counter() - started, latencies, errors, ids)


async def photo_statuses(dsn: str, keys: Sequence[str]) -> Counter[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM photos WHERE upload_key = ANY($1::text[]) GROUP BY status", list(keys)
        )
    finally:
        await conn.close()
    return Counter({str(r["status"]): int(r["n"]) for r in rows})


async def queued_photo_jobs(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'photos' AND status IN ('todo', 'doing')"
        )
    finally:
        await conn.close()
    return int(count)


async def drain_photo_queue(dsn: str, worker: subprocess.Popen[bytes], within_s: float) -> int:
    """Waits until the photo queue is empty (or the time is up); returns the jobs still queued."""
    deadline = time.monotonic() + within_s
    left = await queued_photo_jobs(dsn)
    while left and time.monotonic() < deadline and worker.poll() is None:
        await asyncio.sleep(1.0)
        left = await queued_photo_jobs(dsn)
    return left


# --- main --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    reports: int
    concurrency: int
    citizens: int
    warmup: int
    api_workers: int
    worker: bool
    payload: str
    drain_timeout: float
    seed: int
    log_dir: Path


async def bench(
    opts: Options, api_proc: subprocess.Popen[bytes], worker_proc: subprocess.Popen[bytes] | None, port: int
) -> int:
    rng = random.Random(opts.seed)
    points, categories = kelurahan_centroids(), active_categories()
    jpeg = phone_jpeg()
    dsn = make_url(os.environ["JSC_DATABASE_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
    limits = httpx.Limits(max_connections=opts.concurrency, max_keepalive_connections=opts.concurrency)
    timeout = httpx.Timeout(120.0)
    procs = [p for p in (api_proc, worker_proc) if p is not None]
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=timeout) as api,
        httpx.AsyncClient(limits=limits, timeout=timeout) as s3,
    ):
        await wait_healthy(api, procs, within_s=60)

        total = opts.warmup + opts.reports
        print(f"setup: signing up {opts.citizens} citizens, uploading {total} photos ({len(jpeg) // 1024} KiB each)")
        setup_started = time.perf_counter()
        usable = await routable(api, points, opts.concurrency)
        print(f"setup: {len(usable)} of {len(points)} kelurahan centroids are inside the service area")
        points = usable
        run_id = uuid.uuid4().hex[:8]
        tokens = await bounded(
            opts.concurrency, range(opts.citizens), lambda i: with_retries(lambda n: sign_up(api, run_id, i, n))
        )
        owners = [tokens[i % len(tokens)] for i in range(total)]
        keys = await bounded(
            opts.concurrency, owners, lambda token: with_retries(lambda _: upload_photo(api, s3, token, jpeg))
        )
        prepared = [
            PreparedReport(token, key, create_report_body(rng, points, categories, [key], PAYLOADS[opts.payload]))
            for token, key in zip(owners, keys, strict=True)
        ]
        print(f"setup: done in {time.perf_counter() - setup_started:.1f}s")

        async def settle(what: str) -> None:
            # Queued photo jobs would be processed during the timed phase and take CPU from the API: start from an
            # empty queue, like a system that keeps up with its photos.
            if worker_proc is not None and (backlog := await queued_photo_jobs(dsn)):
                print(f"setup: waiting for {backlog} queued photo jobs ({what}) to be processed")
                if left := await drain_photo_queue(dsn, worker_proc, within_s=max(opts.drain_timeout, 60.0) * 10):
                    print(f"setup: {left} photo jobs still queued; the figures below include their processing")

        await settle("left by earlier runs")
        if opts.warmup:
            warm = await file_reports(api, prepared[: opts.warmup], opts.concurrency)
            print(f"warm-up: {opts.warmup} reports in {warm.elapsed:.1f}s, {sum(warm.errors.values())} errors")
            await settle("the warm-up's")
        timed = prepared[opts.warmup :]

        groups = CpuGroups(roots={"api": [api_proc.pid], "load generator": [os.getpid()]})
        if worker_proc is not None:
            groups.roots["photo worker"] = [worker_proc.pid]
        if pg_dir := await data_directory(dsn):
            groups.matchers["postgres"] = f"-D {pg_dir}"
        if s3_port := urlsplit(os.environ.get("JSC_S3_ENDPOINT_URL", "")).port:
            groups.matchers["seaweedfs"] = f"-s3.port={s3_port} "
        load_before = load_average()
        cpu_before = groups.snapshot()
        result = await file_reports(api, timed, opts.concurrency)
        cpu_after = groups.snapshot()
        load_after = load_average()
        done_at = time.perf_counter()
        timed_keys = [r.photo_key for r in timed]
        statuses_at_end = await photo_statuses(dsn, timed_keys)

        lat = sorted(result.latencies)
        failures = sum(result.errors.values())
        ok = len(result.report_ids)
        print()
        print(f"reports          {len(timed)} (one photo each), {ok} ok, {failures} errors")
        print(f"concurrency      {opts.concurrency} in flight, {opts.citizens} citizens")
        print(f"api workers      {opts.api_workers} uvicorn process(es); photo worker {'on' if worker_proc else 'off'}")
        print(f"payload          {opts.payload} createReport selection")
        print("rate limits      on, every limit counted, raised out of reach (JSC_RATE_LIMITS)")
        print(f"code             {code_version()}")
        print(f"machine load     before {load_before}; after {load_after}")
        print(f"elapsed          {result.elapsed:.2f} s")
        rate = ok / result.elapsed
        met = rate >= TARGET_REPORTS_PER_S
        print(f"throughput       {rate:.1f} reports/s (target >= {TARGET_REPORTS_PER_S}: {'met' if met else 'MISSED'})")
        print(
            "latency ms       "
            f"p50 {percentile(lat, 50) * 1000:.0f}  p90 {percentile(lat, 90) * 1000:.0f}  "
            f"p99 {percentile(lat, 99) * 1000:.0f}  max {lat[-1] * 1000 if lat else math.nan:.0f}"
        )
        for reason, count in result.errors.most_common(5):
            print(f"  error x{count}: {reason}")
        print("cpu during the timed phase")
        print("\n".join(cpu_report(cpu_before, cpu_after, result.elapsed)))
        print(f"photos at end    {dict(sorted(statuses_at_end.items()))}")

        if worker_proc is not None and opts.drain_timeout > 0:
            left = await drain_photo_queue(dsn, worker_proc, within_s=opts.drain_timeout)
            waited = time.perf_counter() - done_at
            statuses = await photo_statuses(dsn, timed_keys)
            finished = statuses.get("READY", 0) + statuses.get("FAILED", 0)
            print(
                f"photos later     {dict(sorted(statuses.items()))} {waited:.0f}s after the last report "
                f"({left} jobs still queued); {finished / (result.elapsed + waited):.1f} photos/s since the start"
            )
        elif worker_proc is None:
            print("photos later     not processed (--no-worker); their jobs stay queued for the next run's worker")
        return 1 if failures or not met else 0


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=2000, help="timed createReport calls (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--citizens", type=int, default=50, help="accounts the reports are spread over (default 50)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed reports filed first (default 100)")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--no-worker", action="store_true", help="do not run the photo worker alongside")
    parser.add_argument(
        "--payload",
        choices=sorted(PAYLOADS),
        default="full",
        help="createReport selection: the app's full confirmation screen (default) or just id and photo status",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=60.0,
        help="after the timed phase, wait up to this many seconds for the photo queue to empty (0: don't)",
    )
    parser.add_argument("--seed", type=int, default=20241123, help="seed for points, categories and texts")
    parser.add_argument("--log-dir", type=Path, help="where the API and worker logs go (default: a new temp dir)")
    ns = parser.parse_args(argv)
    if min(ns.reports, ns.concurrency, ns.citizens, ns.api_workers) < 1 or ns.warmup < 0:
        parser.error("--reports, --concurrency, --citizens and --api-workers must be at least 1")
    log_dir = ns.log_dir or Path(tempfile.mkdtemp(prefix="jsc-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    return Options(
        reports=ns.reports,
        concurrency=ns.concurrency,
        citizens=ns.citizens,
        warmup=ns.warmup,
        api_workers=ns.api_workers,
        worker=not ns.no_worker,
        payload=ns.payload,
        drain_timeout=ns.drain_timeout,
        seed=ns.seed,
        log_dir=log_dir,
    )


def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # Turn `kill` into the same clean path as Ctrl-C, so the children are stopped by the finally below.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    if "JSC_DATABASE_URL" not in os.environ:
        print(
            "bench: no JSC_DATABASE_URL; load a stack profile's env first:\n"
            "  .venv/bin/python scripts/stack.py up --profile bench && set -a; . .stack/bench/env; set +a",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, on_sigterm)
    prepare_database()
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1"]
    uvicorn += ["--port", str(port), "--workers", str(opts.api_workers), "--no-access-log"]
    uvicorn += ["--loop", "uvloop", "--http", "httptools"]
    # Our pool keeps its connections like a proxy in front of the API would; uvicorn's 5 s default would close
    # them during the untimed pauses, and a request racing that close fails with a ReadError.
    uvicorn += ["--timeout-keep-alive", "120"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        api_proc = spawn(uvicorn, opts.log_dir / "api.log", env=raised_rate_limits())
        procs.append(api_proc)
        worker_proc = None
        if opts.worker:
            worker_proc = spawn([sys.executable, "-m", "cli.main", "worker"], opts.log_dir / "worker.log")
            procs.append(worker_proc)
        return asyncio.run(bench(opts, api_proc, worker_proc, port))
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        for proc in reversed(procs):
            stop(proc)
        print(f"logs             {opts.log_dir}")


if __name__ == "__main__":
    sys.exit(main())
