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
import contextlib
import csv
import io
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
import httpx
from PIL import Image
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
JAKARTA = ROOT / "data" / "jakarta"
T = TypeVar("T")
R = TypeVar("R")

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { session { accessToken } errors { code message } }
}
"""

REQUEST_UPLOAD = """
mutation Upload($contentType: String!, $byteSize: Int!) {
  requestPhotoUpload(contentType: $contentType, byteSize: $byteSize) {
    upload { key url fields }
    errors { code message }
  }
}
"""

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

KELURAHAN_AT = """
query At($lat: Float!, $lon: Float!) { kelurahanAt(lat: $lat, lon: $lon) { distanceM } }
"""

DESCRIPTIONS = (
    "Tumpukan sampah di pinggir jalan",
    "Jalan berlubang cukup dalam, berbahaya untuk motor",
    "Lampu jalan mati sejak minggu lalu",
    "Saluran air tersumbat, air meluap ke jalan",
    "Parkir liar menutup trotoar",
    "Pohon tumbang menghalangi jalan",
)


# --- input data --------------------------------------------------------------------------------


def kelurahan_centroids() -> list[tuple[float, float]]:
    features = json.loads((JAKARTA / "jakarta_kelurahan.geojson").read_text())["features"]
    return [(float(f["properties"]["centroid_lat"]), float(f["properties"]["centroid_lng"])) for f in features]


def active_categories() -> list[str]:
    with (JAKARTA / "categories.csv").open(newline="") as f:
        return [row["code"] for row in csv.DictReader(f) if row["active"].strip().lower() == "true"]


def phone_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG shaped like a phone photo: EXIF with a camera model and GPS, and texture so it is not trivially small."""
    width, height = size
    base = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
            Image.effect_noise(size, 60),
        ),
    )
    base.paste((20, 20, 220), (0, 0, width // 2, height // 4))
    exif = Image.Exif()
    exif[0x0110] = "Jakarta Phone X"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (6.0, 10.0, 9.65)
    gps[3], gps[4] = "E", (106.0, 47.0, 22.5)
    out = io.BytesIO()
    base.save(out, format="JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


@dataclass(frozen=True)
class PreparedReport:
    token: str
    photo_key: str
    body: bytes  # the request body, serialised before the clock starts so the load generator stays light


# --- child processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C in the terminal reaches only us, and we stop the children in order.
    with log_path.open("ab") as log_file:
        return subprocess.Popen(args, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # uvicorn's worker processes share the group; make sure none outlives its supervisor.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def prepare_database() -> None:
    for args in (["-m", "alembic", "upgrade", "head"], ["-m", "cli.main", "load-jakarta"]):
        done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            # Their chatter is noise in a bench report, unless it explains why we stop here.
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"bench: `{' '.join(args[1:])}` failed with exit code {done.returncode}")


async def wait_healthy(client: httpx.AsyncClient, procs: Sequence[subprocess.Popen[bytes]], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("the API or the worker exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"/healthz did not answer within {within_s:.0f}s")


def code_version() -> str:
    """The commit measured, so a figure in docs/benchmarks.md can be traced to the code that made it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} + uncommitted changes" if dirty else commit


# --- CPU accounting (Linux /proc): where the two cores went during the timed phase -------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds used, command line) for every process we may read."""
    table: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after the last ')' are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, cmdline)
    return table


def _machine_busy_seconds() -> float:
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    del idle, iowait
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass
class CpuGroups:
    """Roots of the process trees to account for, by label; everything else on the machine is "other"."""

    roots: dict[str, list[int]]
    matchers: dict[str, str] = field(default_factory=dict)  # label -> substring of a root's command line

    def snapshot(self) -> tuple[dict[str, dict[int, float]], float]:
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        roots = {label: list(pids) for label, pids in self.roots.items()}
        for label, needle in self.matchers.items():
            roots.setdefault(label, []).extend(pid for pid, (_, _, cmd) in table.items() if needle in cmd)
        # The API and the worker are our children: a tree stops where another group's tree starts.
        all_roots = {pid for pids in roots.values() for pid in pids}
        out: dict[str, dict[int, float]] = {}
        for label, pids in roots.items():
            seen: dict[int, float] = {}
            stack = [pid for pid in pids if pid in table]
            while stack:
                pid = stack.pop()
                if pid not in seen:
                    seen[pid] = table[pid][1]
                    stack += [c for c in children.get(pid, []) if c not in all_roots]
            out[label] = seen
        return out, _machine_busy_seconds()


def cpu_report(
    before: tuple[dict[str, dict[int, float]], float],
    after: tuple[dict[str, dict[int, float]], float],
    elapsed: float,
) -> list[str]:
    groups_before, busy_before = before
    groups_after, busy_after = after
    lines = []
    accounted = 0.0
    for label in sorted(groups_after):
        old = groups_before.get(label, {})
        # A process born during the phase (a new DB connection) counts from zero.
        used = sum(now - old.get(pid, 0.0) for pid, now in groups_after[label].items())
        accounted += used
        lines.append(f"  {label:<15} {used / elapsed:5.2f} cores")
    total = busy_after - busy_before
    lines.append(f"  {'other':<15} {max(total - accounted, 0.0) / elapsed:5.2f} cores")
    lines.append(f"  {'machine':<15} {total / elapsed:5.2f} of {os.cpu_count()} cores busy")
    return lines


# --- the load ----------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    elapsed: float
    latencies: list[float]
    errors: Counter[str]
    report_ids: list[str]


def graphql_body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":")).encode()


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


async def bounded(concurrency: int, jobs: Sequence[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
    """Runs work(job) for every job with at most `concurrency` in flight; results in job order."""
    results: dict[int, R] = {}
    positions = iter(range(len(jobs)))

    async def runner() -> None:
        for i in positions:  # one shared iterator: each job is taken by exactly one runner
            results[i] = await work(jobs[i])

    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return [results[i] for i in range(len(jobs))]


async def with_retries(make: Callable[[int], Awaitable[R]], attempts: int = 3) -> R:
    """Setup calls only: a keep-alive connection the server closed while idle fails the next request on it."""
    for attempt in range(attempts - 1):
        try:
            return await make(attempt)
        except httpx.TransportError:
            await asyncio.sleep(0.2 * (attempt + 1))
    return await make(attempts - 1)


async def sign_up(client: httpx.AsyncClient, run_id: str, index: int, attempt: int = 0) -> str:
    # A new address per attempt: a retried request may have created the account before the connection broke.
    email = f"bench-{run_id}-{index}-{attempt}@example.id"
    variables = {"input": {"email": email, "password": "correct horse battery", "displayName": f"Warga {index}"}}
    payload = (await graphql(client, SIGN_UP, variables))["signUp"]
    if payload["errors"]:
        raise RuntimeError(f"signUp failed: {payload['errors']}")
    token: str = payload["session"]["accessToken"]
    return token


async def routable(
    client: httpx.AsyncClient, points: Sequence[tuple[float, float]], concurrency: int
) -> list[tuple[float, float]]:
    """The points the API routes to a kelurahan: a centroid can fall in the sea (islands, crescent shapes)."""

    async def check(point: tuple[float, float]) -> bool:
        data = await with_retries(lambda _: graphql(client, KELURAHAN_AT, {"lat": point[0], "lon": point[1]}))
        return data["kelurahanAt"] is not None

    found = await bounded(concurrency, points, check)
    return [point for point, ok in zip(points, found, strict=True) if ok]


async def upload_photo(api: httpx.AsyncClient, s3: httpx.AsyncClient, token: str, jpeg: bytes) -> str:
    """A new upload ticket and the file posted to it (a retry simply takes a new ticket)."""
    variables = {"contentType": "image/jpeg", "byteSize": len(jpeg)}
    payload = (await graphql(api, REQUEST_UPLOAD, variables, token))["requestPhotoUpload"]
    if payload["errors"]:
        raise RuntimeError(f"requestPhotoUpload failed: {payload['errors']}")
    upload = payload["upload"]
    response = await s3.post(upload["url"], data=upload["fields"], files={"file": ("photo.jpg", jpeg, "image/jpeg")})
    if response.status_code not in (200, 201, 204):
        raise RuntimeError(f"S3 upload failed: HTTP {response.status_code} {response.text[:200]}")
    key: str = upload["key"]
    return key


def create_report_body(
    rng: random.Random, points: Sequence[tuple[float, float]], categories: Sequence[str], key: str, document: str
) -> bytes:
    lat, lon = rng.choice(points)
    variables = {
        "input": {
            "clientRequestId": str(uuid.uuid4()),
            "category": rng.choice(categories),
            "description": rng.choice(DESCRIPTIONS),
            "location": {"lat": lat, "lon": lon, "accuracyM": round(rng.uniform(3, 30), 1)},
            "photoKeys": [key],
            "anonymous": rng.random() < 0.1,
        }
    }
    return graphql_body(document, variables)


def check_create(response: httpx.Response) -> tuple[str | None, str | None]:
    """(report id, None) on success, else (None, a short reason to count)."""
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return None, "the response is not JSON"
    if body.get("errors"):
        return None, f"GraphQL error: {body['errors'][0].get('message', '?')}"
    payload = (body.get("data") or {}).get("createReport")
    if not payload:
        return None, "no createReport in the response"
    if payload["errors"]:
        return None, f"createReport {payload['errors'][0]['code']}"
    report = payload["report"]
    if not report or not report.get("id") or len(report.get("photos") or []) != 1:
        return None, "no report id or photo in the payload"
    return str(report["id"]), None


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


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


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


async def data_directory(dsn: str) -> str | None:
    # Needs the superuser the stack script creates; only used to find the postmaster for CPU accounting.
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW data_directory"))
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


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
            PreparedReport(token, key, create_report_body(rng, points, categories, key, PAYLOADS[opts.payload]))
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
        cpu_before = groups.snapshot()
        result = await file_reports(api, timed, opts.concurrency)
        cpu_after = groups.snapshot()
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
        print(f"code             {code_version()}")
        print(f"elapsed          {result.elapsed:.2f} s")
        print(f"throughput       {ok / result.elapsed:.1f} reports/s")
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
        return 1 if failures else 0


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
        api_proc = spawn(uvicorn, opts.log_dir / "api.log")
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
