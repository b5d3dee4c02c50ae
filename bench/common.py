"""What more than one benchmark needs: the GraphQL documents and client calls of a citizen, the photo, the child
processes (the API, the worker), the CPU accounting from /proc, percentiles and the conditions of a run.

Each benchmark in bench/ imports from here rather than keeping a copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from PIL import Image

from domain import heap
from domain.settings import DEFAULT_RATE_LIMITS

ROOT = Path(__file__).resolve().parent.parent
JAKARTA = ROOT / "data" / "jakarta"
T = TypeVar("T")
R = TypeVar("R")

# --- GraphQL documents -------------------------------------------------------------------------

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


# --- child processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(args: list[str], log_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child with our environment, plus `env` on top of it."""
    # A session of its own: Ctrl-C in the terminal reaches only us, and we stop the children in order.
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def deployed_api_command(port: int | str, workers: int) -> list[str]:
    """`jsc api` as `make run` (scripts/stack.py) and the systemd unit start it: uvicorn serving api.main:serve,
    with the app's own logging (access lines too), its heap frozen after start-up and its full collections made
    rarer (domain/heap.py), `workers` processes."""
    where = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return [sys.executable, "-m", "cli.main", "api", *where]


def deployed_api_env(log_dir: Path) -> dict[str, str]:
    """What `make run` gives the API besides the stack's settings: a fresh multiprocess folder for its metrics
    (every process writes its counters there, a cost production pays). And a keep-alive longer than the users'
    pauses: uvicorn's 5 s would close idle connections under them, and a request racing that close fails with a
    ReadError that is the client's, not the server's (a proxy in front is set the same way, JSC_API_KEEP_ALIVE_S)."""
    metrics_dir = log_dir / "metrics-api"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "JSC_API_KEEP_ALIVE_S": "120"}


def quiet_generator_heap() -> None:
    """The load generator's own set-up objects out of its full garbage collections, and those collections as rare
    as the API's (domain/heap.py): each stops the generator's loop, and every request in flight would be timed the
    longer for it, as if the API had been slow."""
    heap.freeze_startup_objects()
    heap.collect_fully_less_often()


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
    """Until /healthz answers; raises when one of `procs` (the API, the worker) exits first, or at the deadline."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("the API or the worker exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"/healthz did not answer within {within_s:.0f}s")


def raised_rate_limits() -> dict[str, str]:
    """The environment of an API whose rate limits are on, as in production, but raised out of a bench's reach: every
    limit is still counted on each request (their cost is part of the figures), none is ever reached from the one
    address and the few accounts a bench uses."""
    raised = {key: (1_000_000_000, seconds) for key, (_, seconds) in DEFAULT_RATE_LIMITS.items()}
    return {"JSC_RATE_LIMITS_ENABLED": "true", "JSC_RATE_LIMITS": json.dumps(raised)}


def load_average() -> str:
    """The machine's load averages (1, 5, 15 minutes): printed before and after a run, since others share the cores."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} cores"


def cpu_probe_ms(rounds: int = 3) -> float:
    """How long this machine takes for a fixed piece of pure-Python work, the best of `rounds`, in ms (lower is
    faster). The same code soaked an hour apart on one VM cost the API 1.6-1.9 times the CPU per request: printed
    beside a run, it says which hour the figures come from."""
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for n in range(2_000_000):
            total += n & 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


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


def _children(table: dict[int, tuple[int, float, str]]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    return children


def _descendants(children: dict[int, list[int]], roots: list[int], stop: set[int] | None = None) -> list[int]:
    """The roots and every process below them, not going into the trees of ``stop`` (other groups' roots)."""
    found: list[int] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            found.append(pid)
            stack += [c for c in children.get(pid, []) if not stop or c not in stop]
    return found


def process_tree(root: int) -> list[int]:
    """The process and its descendants as they are now: uvicorn's supervisor and the workers it started."""
    return _descendants(_children(_proc_table()), [root])


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
        children = _children(table)
        roots = {label: list(pids) for label, pids in self.roots.items()}
        for label, needle in self.matchers.items():
            roots.setdefault(label, []).extend(pid for pid, (_, _, cmd) in table.items() if needle in cmd)
        # The API and the worker are our children: a tree stops where another group's tree starts.
        all_roots = {pid for pids in roots.values() for pid in pids}
        out: dict[str, dict[int, float]] = {}
        for label, pids in roots.items():
            tree = _descendants(children, [pid for pid in pids if pid in table], stop=all_roots)
            out[label] = {pid: table[pid][1] for pid in tree}
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


# --- GraphQL calls -----------------------------------------------------------------------------


def graphql_body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":")).encode()


async def post_graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> httpx.Response:
    """One GraphQL request; what counts as a failure is the caller's to say."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    """The data of one GraphQL request; anything but a clean answer raises."""
    response = await post_graphql(client, query, variables, token)
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
    response = await post_photo(s3, upload, jpeg)
    if response.status_code not in (200, 201, 204):
        raise RuntimeError(f"S3 upload failed: HTTP {response.status_code} {response.text[:200]}")
    key: str = upload["key"]
    return key


async def post_photo(s3: httpx.AsyncClient, upload: Mapping[str, Any], jpeg: bytes) -> httpx.Response:
    """The file posted to an upload ticket of requestPhotoUpload (a presigned S3 POST)."""
    return await s3.post(upload["url"], data=upload["fields"], files={"file": ("photo.jpg", jpeg, "image/jpeg")})


def create_report_body(
    rng: random.Random,
    points: Sequence[tuple[float, float]],
    categories: Sequence[str],
    keys: Sequence[str],
    document: str,
) -> bytes:
    lat, lon = rng.choice(points)
    variables = {
        "input": {
            "clientRequestId": str(uuid.uuid4()),
            "category": rng.choice(categories),
            "description": rng.choice(DESCRIPTIONS),
            "location": {"lat": lat, "lon": lon, "accuracyM": round(rng.uniform(3, 30), 1)},
            "photoKeys": list(keys),
            "anonymous": rng.random() < 0.1,
        }
    }
    return graphql_body(document, variables)


def check_create(response: httpx.Response, photos: int = 1) -> tuple[str | None, str | None]:
    """(report id, None) on success with that many photos, else (None, a short reason to count)."""
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
    if not report or not report.get("id") or len(report.get("photos") or []) != photos:
        return None, "no report id or photo in the payload"
    return str(report["id"]), None


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


async def data_directory(dsn: str) -> str | None:
    # Needs the superuser the stack script creates; only used to find the postmaster for CPU accounting.
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW data_directory"))
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


def record_statements(engine: Any) -> list[str]:
    """Every SQL statement the engine (an AsyncEngine) sends from now on, in a list that fills as they go."""
    from sqlalchemy import event

    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: statements.append(stmt))
    return statements
