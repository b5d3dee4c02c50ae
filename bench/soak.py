"""Soak test: a mixed workload against a real API and worker for ten minutes; errors, latency, memory.

Requirement (issue 8): with citizens filing reports with photos, officers moving them through the workflow and
the public browsing the map, for 10 minutes: **0 errors**, and the API process's memory (RSS) **flat within
10 %** between the end of the warm-up and the end of the run. Everything runs on this machine:

    make bench-soak                                  # BENCH_ARGS="--duration 60" for a short run
    .venv/bin/python bench/soak.py --duration 600    # the same

What happens: the `soak` stack is brought up (scripts/stack.py: its own PostgreSQL and SeaweedFS, ports 494xx,
rate limits off), migrated, loaded with Jakarta and, once, with 100,000 simulated reports (`jsc demo-data`, so
that the map, the statistics and the queues read a city's worth); the API (`jsc api`, as `make run` starts it,
with `--api-workers` processes) and one worker (`python -m cli.main worker`) are started as child processes.
Citizens sign up through the API; a lurah for each of a few kelurahan of one kecamatan, its camat and two Suku
Dinas officers are created as `jsc create-user` makes them and log in. Then a fixed number of virtual users run
for `--warmup` seconds (not counted; the memory baseline is taken at its end) and `--duration` seconds (counted):

- the public (most users): map views by box and zoom (`mapReports`, `mapGeoJSON`, `reportsInBbox`), vector
  tiles of reports and of the kelurahan base layer (revalidated with their ETag, as a browser does), report
  pages, `cityStats`, `nearbyReports`, `trendingReports`; a few keep a live `reportEvents` subscription open
  and reconnect now and then, as the web map does;
- citizens: an upload ticket, the JPEG (with EXIF and GPS) posted to S3 by the presigned POST, `createReport`
  with it, the report page again, `myReports`, rating completed work (sometimes reopening it); now and then a
  new citizen signs up;
- officers: their `workQueue`, the report, then the next step: Koordinasi, Proses, Selesai with an after-photo
  (uploaded like a citizen's), sometimes a rejection, and the lurah passes some floods and garbage to the Suku
  Dinas, whose officers take them on from there; the camat reads the kecamatan's queue, follows reports, and
  verifies the lurahs' completions in the verified categories (accepting most, sending some back).

On top of that, the flood day (issue 18): `--spikes` times (default 2, evenly spaced), `--spike-factor` (10) times
the public users for `--spike-s` (120 s). Outside the spikes and the 30 s after each, the steady targets hold;
during each, no errors and createReport's p99 under 1 s. The memory verdict with one spike or none is the slope
over the whole run; with two or more it is the slope inside the steady stretches between them and each later
spike's step, since Python's allocator keeps the arenas the first spike needed (a high-water mark, reused by the
next spike) while a leak would step again at every spike (`judge_memory`).

Each virtual user acts only on reports its own unit holds, so no two of them race for one report and every
payload error is a real one. An error is an HTTP status other than 200 (304 for a revalidated tile), a
transport failure or timeout, a GraphQL `errors` entry, or an `errors` list in a payload. Everything started
here is stopped at the end, also on failure and Ctrl-C (`--keep-stack` leaves the stack running).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import math
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import websockets
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import timeline  # noqa: E402
from bench.common import (  # noqa: E402
    DESCRIPTIONS,
    CpuGroups,
    active_categories,
    code_version,
    cpu_probe_ms,
    cpu_report,
    data_directory,
    deployed_api_command,
    deployed_api_env,
    percentile,
    prepare_database,
    process_tree,
    quiet_generator_heap,
    spawn,
    stop,
    wait_healthy,
)
from cli.main import API_WORKERS  # noqa: E402
from domain import heap  # noqa: E402
from tests.factories import jpeg_with_gps  # noqa: E402

PROFILE = "soak"
JAKARTA = ROOT / "data" / "jakarta"
PASSWORD = "correct horse battery"
OPEN = ["WAITING", "REOPENED", "DISPOSITION", "COORDINATION", "IN_PROGRESS"]
# The lurah passes these categories to the Suku Dinas of the kota (agency code, as in data/jakarta/agencies.csv).
DISPOSE_TO = {"flood": "sudin-sda", "garbage": "sudin-lingkungan-hidup"}
# Access tokens live 15 minutes (JSC_ACCESS_TOKEN_TTL_S); the app refreshes well before.
REFRESH_AFTER_S = 600.0
# Mainland Jakarta, for map views (Kepulauan Seribu is far out at sea and has few reports).
JAKARTA_BOX = (106.68, -6.37, 106.98, -6.08)
CITIZENS_AT_START = 20
LURAH_CATEGORIES = {
    "garbage",
    "flood",
    "damaged-road",
    "street-vendors",
    "fallen-tree",
    "illegal-parking",
    "street-light",
}
ZOOMS = {10: 1, 11: 2, 12: 3, 13: 3, 14: 3, 15: 3, 16: 2, 17: 1}

# --- GraphQL documents: the selections the app, the web map and the officers' console ask for ---------------

SESSION = "session { accessToken refreshToken } errors { code message }"
SIGN_UP = f"mutation SignUp($input: SignUpInput!) {{ signUp(input: $input) {{ {SESSION} }} }}"
LOG_IN = f"""
mutation LogIn($login: String!, $password: String!) {{ logIn(login: $login, password: $password) {{ {SESSION} }} }}
"""
REFRESH = f"mutation Refresh($token: String!) {{ refreshToken(refreshToken: $token) {{ {SESSION} }} }}"
REQUEST_UPLOAD = """
mutation Upload($contentType: String!, $byteSize: Int!) {
  requestPhotoUpload(contentType: $contentType, byteSize: $byteSize) {
    upload { key url fields } errors { code message }
  }
}
"""
REPORT_PAGE = """
  id status statusLabel description anonymous createdAt dueAt overdue escalationLevel supportCount
  location { lat lon }
  category { code nameId nameEn }
  kelurahan { name } kecamatan { name } kota { name } unit { code name }
  reporter { displayName }
  photos { id status url thumbnailUrl width height }
  afterPhotos { id status thumbnailUrl }
  history { kind fromStatus toStatus at publicNote }
  comments(first: 5) { edges { node { id body byStaff createdAt author { displayName } } } }
"""
CREATE_REPORT = f"""
mutation Create($input: CreateReportInput!) {{
  createReport(input: $input) {{ report {{ {REPORT_PAGE} }} errors {{ code message field }} }}
}}
"""
REPORT = f"query Report($id: ID!) {{ report(id: $id) {{ {REPORT_PAGE} }} }}"
MY_REPORTS = """
query Mine($first: Int!) {
  myReports(first: $first) {
    edges {
      node { id status statusLabel createdAt category { nameId } kelurahan { name } photos { status thumbnailUrl } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ACTION = "report { id status unit { code } } errors { code message field }"
RATE = f"mutation Rate($id: ID!, $rating: Int!) {{ rateReport(reportId: $id, rating: $rating) {{ {ACTION} }} }}"
REOPEN = (
    f"mutation Reopen($id: ID!, $reason: String!) {{ reopenReport(reportId: $id, reason: $reason) {{ {ACTION} }} }}"
)
VERIFY = f"mutation Verify($input: VerifyCompletionInput!) {{ verifyCompletion(input: $input) {{ {ACTION} }} }}"
WORK_QUEUE = """
query Queue($filter: WorkQueueFilter, $first: Int!) {
  workQueue(filter: $filter, first: $first) {
    edges { node { id status dueAt overdue escalationLevel category { code nameId } unit { code } kelurahan { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CHANGE_STATUS = f"""
mutation Change($input: ChangeReportStatusInput!) {{ changeReportStatus(input: $input) {{ {ACTION} }} }}
"""
DISPOSE = f"mutation Dispose($input: DisposeReportInput!) {{ disposeReport(input: $input) {{ {ACTION} }} }}"
FOLLOW = f"mutation Follow($id: ID!) {{ followReport(reportId: $id) {{ {ACTION} }} }}"
MAP_REPORTS = """
query Map($bbox: BBoxInput!, $zoom: Int!, $filter: MapFilterInput) {
  mapReports(bbox: $bbox, zoom: $zoom, filter: $filter) {
    zoom total truncated clusters { lat lon count } points { id lat lon category status createdAt }
  }
}
"""
MAP_GEOJSON = "query GeoJSON($bbox: BBoxInput!, $filter: MapFilterInput) { mapGeoJSON(bbox: $bbox, filter: $filter) }"
REPORTS_IN_BBOX = """
query InBox($bbox: BBoxInput!, $filter: MapFilterInput) {
  reportsInBbox(bbox: $bbox, filter: $filter) { id lat lon category status createdAt }
}
"""
CITY_STATS = """
query Stats($groupBy: StatsGroupBy!) { cityStats(groupBy: $groupBy) { key name total byStatus { status count } } }
"""
NEARBY = """
query Nearby($lat: Float!, $lon: Float!, $radiusM: Float!) {
  nearbyReports(lat: $lat, lon: $lon, radiusM: $radiusM) {
    edges { node { distanceM report { id status statusLabel category { nameId } photos { thumbnailUrl } } } }
  }
}
"""
TRENDING = """
query Trending($days: Int!) {
  trendingReports(days: $days) { supports comments report { id status statusLabel category { nameId } } }
}
"""
REPORT_EVENTS = """
subscription Live($bbox: BBoxInput) { reportEvents(bbox: $bbox) { kind report { id lat lon category status } } }
"""


# --- the stack and the processes -------------------------------------------------------------------------------


def stack(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "scripts/stack.py", command, "--profile", PROFILE], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"soak: `stack.py {command} --profile {PROFILE}` failed with exit code {done.returncode}")


def load_stack_env() -> None:
    for line in (ROOT / ".stack" / PROFILE / "env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key:
            os.environ[key] = value


def seed_demo_reports(target: int) -> None:
    """Simulated history (`jsc demo-data`) until the database holds `target` reports, once: the stack keeps its
    data between runs. The map, the statistics and the officers' queues then read a city's worth of reports."""
    if target <= 0:
        return
    have = asyncio.run(fetch_value(libpq_dsn(), "SELECT count(*) FROM reports"))
    if have >= target:
        return
    print(f"setup: {have} reports in the database; adding {target - have} with `jsc demo-data` (once)", flush=True)
    began = time.perf_counter()
    args = [sys.executable, "-m", "cli.main", "demo-data", "--reports", str(target - have)]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
        raise SystemExit(f"soak: `jsc demo-data` failed with exit code {done.returncode}")
    print(f"setup: demo reports added ({time.perf_counter() - began:.0f} s)", flush=True)


def rss_kib(pid: int) -> int | None:
    """The process's resident memory (VmRSS), in KiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def libpq_dsn() -> str:
    url = urlsplit(os.environ["JSC_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1))
    return url.geturl()


async def create_staff(accounts: list[tuple[str, str]]) -> None:
    """Officers (login, unit code), made as `jsc create-user` and the tests make them: accounts.sign_up with a
    role and a unit, in a unit of work of this process (seven CLI processes would take minutes of CPU here)."""
    from sqlalchemy import select

    from domain import accounts as domain_accounts
    from domain.models import Role, Unit
    from domain.resources import Resources
    from domain.settings import get_settings

    resources = Resources.create(get_settings())
    try:
        async with resources.unit_of_work() as session:
            for login, unit_code in accounts:
                unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit_code))
                if unit_id is None:
                    raise SystemExit(f"soak: no unit {unit_code}")
                await domain_accounts.sign_up(
                    session,
                    email=login,
                    phone=None,
                    password=PASSWORD,
                    display_name=f"Petugas {unit_code}",
                    role=Role.OFFICER,
                    unit_id=unit_id,
                )
    finally:
        await resources.close()


# --- places --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kelurahan:
    code: str
    kecamatan: str
    kota: str
    centroid: tuple[float, float]  # lat, lon
    area: BaseGeometry


def kelurahan_shapes() -> list[Kelurahan]:
    features = json.loads((JAKARTA / "jakarta_kelurahan.geojson").read_text())["features"]
    return [
        Kelurahan(
            p["kode_kel"],
            p["kode_kec"],
            p["kode_kota"],
            (float(p["centroid_lat"]), float(p["centroid_lng"])),
            shape(f["geometry"]),
        )
        for f in features
        for p in [f["properties"]]
    ]


def points_inside(rng: random.Random, area: BaseGeometry, n: int) -> list[tuple[float, float]]:
    """n random (lat, lon) inside a polygon, a little off its border so that routing is not a coin toss."""
    inner = area.buffer(-0.0003)
    inner = inner if not inner.is_empty else area
    west, south, east, north = inner.bounds
    found: list[tuple[float, float]] = []
    while len(found) < n:
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if inner.contains(Point(lon, lat)):
            found.append((round(lat, 6), round(lon, 6)))
    return found


def viewport(rng: random.Random, centroids: list[tuple[float, float]]) -> tuple[dict[str, float], int]:
    """A map window someone looks at: a zoom, and a 1024×600 px box around a busy place or anywhere."""
    zoom = rng.choices(list(ZOOMS), weights=list(ZOOMS.values()))[0]
    if rng.random() < 0.7:
        lat, lon = rng.choice(centroids)
        lat, lon = lat + rng.gauss(0, 0.005), lon + rng.gauss(0, 0.005)
    else:
        west, south, east, north = JAKARTA_BOX
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
    width = 360 / 2**zoom * 4  # four 256 px tiles
    height = width * 0.6
    bbox = {"west": lon - width / 2, "south": lat - height / 2, "east": lon + width / 2, "north": lat + height / 2}
    return {k: round(v, 6) for k, v in bbox.items()}, zoom


def tile_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


# --- recording -----------------------------------------------------------------------------------------------


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)  # the API's own time for the same requests (Server-Timing)
    errors: Counter[str] = field(default_factory=Counter)


class Recorder:
    """Per operation: latencies and errors, of the current phase (the warm-up's are kept apart); and every request
    on the phase's clock (its start and length), for the timeline of slow seconds and the spike's windows."""

    def __init__(self) -> None:
        self.ops: dict[str, OpStats] = {}
        self.events = 0  # live events received
        self.t0 = time.perf_counter()
        # Every request as plain tuples (op, start, seconds, failed), which the collector stops tracking: a run keeps
        # 150,000 of them, and as objects the generator's own full collections walked them all (~150 ms each).
        self._requests: list[tuple[str, float, float, bool]] = []
        self.loop_lags: list[float] = []  # the load generator's own loop: how late a short sleep wakes (probe_loop)
        self.full_gcs: list[float] = []  # the load generator's own full garbage collections, each a pause of its loop

    def add(self, op: str, seconds: float, problem: str | None = None, server_s: float | None = None) -> None:
        stats = self.ops.setdefault(op, OpStats())
        stats.latencies.append(seconds)
        if server_s is not None:
            stats.server.append(server_s)
        if problem is not None:
            stats.errors[problem] += 1
        started = time.perf_counter() - seconds - self.t0
        self._requests.append((op, started, seconds, problem is not None))

    @property
    def requests(self) -> list[timeline.Request]:
        return [timeline.Request(*request) for request in self._requests]

    def error_count(self) -> int:
        return sum(sum(s.errors.values()) for s in self.ops.values())

    def request_count(self) -> int:
        return sum(len(s.latencies) for s in self.ops.values())


def server_seconds(response: httpx.Response) -> float | None:
    """The API's own time to its answer, from its Server-Timing header (api/metrics.py)."""
    name, _, duration = response.headers.get("server-timing", "").partition(";dur=")
    try:
        return float(duration) / 1000 if name == "app" else None
    except ValueError:
        return None


def problem_of(response: httpx.Response, field_name: str | None) -> tuple[Any, str | None]:
    """(the field's data, None) or (None, a short reason to count)."""
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return None, "not JSON"
    if body.get("errors"):
        error = body["errors"][0]
        return None, f"GraphQL {(error.get('extensions') or {}).get('code', '')} {error.get('message', '?')[:80]}"
    data = body.get("data") or {}
    value = data.get(field_name) if field_name else data
    if isinstance(value, dict) and value.get("errors"):
        return None, f"payload {value['errors'][0].get('code')}"
    return value, None


@dataclass
class Account:
    login: str
    token: str
    refresh: str
    issued: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unit: str | None = None
    rated: set[str] = field(default_factory=set)


class Load:
    """What the virtual users share: the recorder, the accounts, the ids of public reports, the end of the run."""

    def __init__(self, base_url: str, s3: httpx.AsyncClient, seed: int) -> None:
        self.base_url, self.s3 = base_url, s3
        self.rec = Recorder()
        self.rng = random.Random(seed)
        self.stopping = asyncio.Event()
        self.citizens: list[Account] = []
        self.public_ids: deque[str] = deque(maxlen=2000)
        self.filed = 0
        self.hashing = 0  # signUp and logIn requests in flight (see run_load)
        self.run_id = uuid.uuid4().hex[:8]
        self.jpeg = jpeg_with_gps(size=(1280, 960))
        # httpx builds an SSL context for every client (≈ 0.1 s of CPU each) unless given one; all is plain HTTP.
        self.ssl = ssl.create_default_context()

    @contextlib.asynccontextmanager
    async def agent(self) -> AsyncIterator[Agent]:
        """A virtual user's own HTTP client, with a browser's six connections: one pool for everyone would be
        searched on every request (httpcore's pool is a list), and the load generator would eat a core."""
        limits = httpx.Limits(max_connections=6, max_keepalive_connections=6)
        timeout = httpx.Timeout(30.0)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=timeout, verify=self.ssl) as http:
            yield Agent(self, http)

    async def pause(self, mean_s: float) -> None:
        """Think time, exponential around its mean; returns early when the run ends."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.rng.expovariate(1 / mean_s))


class Agent:
    """A virtual user's client: every request timed and checked, and recorded under its operation's name."""

    def __init__(self, load: Load, http: httpx.AsyncClient) -> None:
        self.load, self.http = load, http

    async def call(self, op: str, query: str, variables: dict[str, Any], who: Account | None = None) -> Any:
        """One GraphQL request, timed and checked; the field's data, or None when it failed (recorded)."""
        headers = {"Authorization": f"Bearer {await self.token(who)}"} if who else {}
        started = time.perf_counter()
        try:
            response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        except httpx.HTTPError as exc:
            self.load.rec.add(op, time.perf_counter() - started, type(exc).__name__)
            return None
        elapsed = time.perf_counter() - started
        value, problem = problem_of(response, op.split(" ")[0])  # "report (officer)" is the field report
        self.load.rec.add(op, elapsed, problem, server_seconds(response))
        return value if problem is None else None

    async def get(self, op: str, url: str, etags: dict[str, str]) -> None:
        headers = {"If-None-Match": etags[url]} if url in etags else {}
        started = time.perf_counter()
        try:
            response = await self.http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            self.load.rec.add(op, time.perf_counter() - started, type(exc).__name__)
            return
        # A 304 answers the ETag sent, even when this user's bounded cache let the tile go meanwhile (another
        # tile of the same window, answered first, took its place).
        ok = response.status_code == 200 or (response.status_code == 304 and bool(headers))
        problem = None if ok else f"HTTP {response.status_code}"
        self.load.rec.add(op, time.perf_counter() - started, problem, server_seconds(response))
        if response.status_code == 200 and (etag := response.headers.get("etag")):
            if len(etags) > 500:  # a browser's cache is bounded too
                etags.pop(next(iter(etags)))
            etags[url] = etag

    async def token(self, who: Account) -> str:
        if time.monotonic() - who.issued < REFRESH_AFTER_S:
            return who.token
        async with who.lock:  # a refresh token is single-use: two at once would revoke the family
            if time.monotonic() - who.issued >= REFRESH_AFTER_S:
                payload = await self.call("refreshToken", REFRESH, {"token": who.refresh})
                if payload is not None:
                    who.token, who.refresh = payload["session"]["accessToken"], payload["session"]["refreshToken"]
                    who.issued = time.monotonic()
        return who.token

    async def upload(self, who: Account) -> str | None:
        """An upload ticket and the photo posted to S3 with it; the key, or None when either failed."""
        jpeg = self.load.jpeg
        ticket = await self.call(
            "requestPhotoUpload", REQUEST_UPLOAD, {"contentType": "image/jpeg", "byteSize": len(jpeg)}, who
        )
        if ticket is None:
            return None
        upload = ticket["upload"]
        started = time.perf_counter()
        try:
            response = await self.load.s3.post(
                upload["url"], data=upload["fields"], files={"file": ("photo.jpg", jpeg, "image/jpeg")}
            )
        except httpx.HTTPError as exc:
            self.load.rec.add("S3 upload", time.perf_counter() - started, type(exc).__name__)
            return None
        ok = response.status_code in (200, 201, 204)
        self.load.rec.add("S3 upload", time.perf_counter() - started, None if ok else f"HTTP {response.status_code}")
        return str(upload["key"]) if ok else None

    async def sign_up(self, index: str) -> Account | None:
        login = f"soak-{self.load.run_id}-{index}@example.id"
        variables = {"input": {"email": login, "password": PASSWORD, "displayName": f"Warga {index}"}}
        self.load.hashing += 1
        try:
            payload = await self.call("signUp", SIGN_UP, variables)
        finally:
            self.load.hashing -= 1
        if payload is None:
            return None
        session = payload["session"]
        return Account(login, session["accessToken"], session["refreshToken"])

    async def log_in(self, login: str, unit: str) -> Account:
        self.load.hashing += 1
        try:
            payload = await self.call("logIn", LOG_IN, {"login": login, "password": PASSWORD})
        finally:
            self.load.hashing -= 1
        if payload is None:
            raise RuntimeError(f"logIn {login} failed: {self.load.rec.ops['logIn'].errors}")
        session = payload["session"]
        return Account(login, session["accessToken"], session["refreshToken"], unit=unit)


# --- the virtual users ---------------------------------------------------------------------------------------

User = Callable[[Agent], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Places:
    centroids: list[tuple[float, float]]  # mainland kelurahan
    served: list[tuple[float, float]]  # points inside the kelurahan that have a lurah in this run
    anywhere: list[tuple[float, float]]  # points inside any mainland kelurahan
    lurah_categories: list[str]  # handled first by the kelurahan
    categories: list[str]


async def public_user(agent: Agent, places: Places, until: asyncio.Event | None = None) -> None:
    """A member of the public browsing the map, until the run ends (or ``until`` is set: a spike's extra users)."""
    load = agent.load
    rng = random.Random(load.rng.random())
    etags: dict[str, str] = {}

    async def tiles(layer: str, bbox: dict[str, float], zoom: int) -> None:
        # What a browser asks for one window: the tiles under it, at once (the centre and its neighbours).
        x, y = tile_of((bbox["south"] + bbox["north"]) / 2, (bbox["west"] + bbox["east"]) / 2, zoom)
        urls = [f"/tiles/{layer}/{zoom}/{x + dx}/{y + dy}.pbf" for dx in (-1, 0, 1) for dy in (0, 1)]
        await asyncio.gather(*(agent.get(f"tile {layer}", url, etags) for url in urls))

    while not load.stopping.is_set() and not (until is not None and until.is_set()):
        bbox, zoom = viewport(rng, places.centroids)
        flt = {"categories": [rng.choice(places.categories)]} if rng.random() < 0.15 else None
        roll = rng.random()
        if roll < 0.25:
            await agent.call("mapReports", MAP_REPORTS, {"bbox": bbox, "zoom": zoom, "filter": flt})
        elif roll < 0.45:
            await tiles("reports", bbox, zoom)
            if rng.random() < 0.3:
                await tiles("kelurahan", bbox, zoom)
        elif roll < 0.55:
            await agent.call("mapGeoJSON", MAP_GEOJSON, {"bbox": bbox, "filter": flt})
        elif roll < 0.65:
            found = await agent.call("reportsInBbox", REPORTS_IN_BBOX, {"bbox": bbox, "filter": flt})
            for point in (found or [])[:5]:
                load.public_ids.append(point["id"])
        elif roll < 0.85 and load.public_ids:
            await agent.call("report", REPORT, {"id": rng.choice(load.public_ids)})
        elif roll < 0.92:
            group = rng.choice(["KOTA", "KECAMATAN", "KELURAHAN", "CATEGORY", "UNIT"])
            await agent.call("cityStats", CITY_STATS, {"groupBy": group})
        elif roll < 0.97:
            lat, lon = rng.choice(places.anywhere)
            await agent.call(
                "nearbyReports", NEARBY, {"lat": lat, "lon": lon, "radiusM": rng.choice([500, 1000, 3000])}
            )
        else:
            await agent.call("trendingReports", TRENDING, {"days": rng.choice([1, 7, 30])})
        await load.pause(1.0)


async def live_user(agent: Agent, places: Places) -> None:
    """The web map's live panel: a reportEvents subscription held for a while, then a new one (another page)."""
    load = agent.load
    rng = random.Random(load.rng.random())
    url = load.base_url.replace("http://", "ws://", 1) + "/graphql"
    while not load.stopping.is_set():
        bbox, _ = viewport(rng, places.centroids) if rng.random() < 0.5 else (None, 0)
        started = time.perf_counter()
        try:
            # The same patience as the HTTP requests' (websockets gives up opening after 10 s by default).
            connecting = websockets.connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30)  # type: ignore[list-item]
            async with connecting as socket:
                await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                ack = json.loads(await asyncio.wait_for(socket.recv(), 30))
                if ack.get("type") != "connection_ack":
                    load.rec.add("reportEvents", time.perf_counter() - started, f"no ack: {ack.get('type')}")
                    await load.pause(5.0)
                    continue
                payload = {"query": REPORT_EVENTS, "variables": {"bbox": bbox}}
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                load.rec.add("reportEvents", time.perf_counter() - started)
                until = time.monotonic() + rng.uniform(20, 90)
                while time.monotonic() < until and not load.stopping.is_set():
                    try:
                        message = json.loads(await asyncio.wait_for(socket.recv(), min(1.0, until - time.monotonic())))
                    except TimeoutError:
                        continue
                    if message.get("type") == "next" and not message["payload"].get("errors"):
                        load.rec.events += 1
                    elif message.get("type") == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
                    else:
                        load.rec.add("reportEvents", 0.0, f"message {message.get('type')}")
                await socket.send(json.dumps({"id": "1", "type": "complete"}))
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            load.rec.add("reportEvents", time.perf_counter() - started, type(exc).__name__)
        await load.pause(2.0)


async def citizen_user(agent: Agent, places: Places) -> None:
    load = agent.load
    rng = random.Random(load.rng.random())
    while not load.stopping.is_set():
        if rng.random() < 0.05 or not load.citizens:
            if (account := await agent.sign_up(f"{len(load.citizens)}-{uuid.uuid4().hex[:6]}")) is not None:
                load.citizens.append(account)
            continue
        who = rng.choice(load.citizens)
        if rng.random() < 0.6:
            await file_report(agent, rng, who, places)
        else:
            await check_my_reports(agent, rng, who)
        await load.pause(3.0)


async def file_report(agent: Agent, rng: random.Random, who: Account, places: Places) -> None:
    load = agent.load
    key = await agent.upload(who)
    if key is None:
        return
    await load.pause(0.5)  # the citizen types the description
    if rng.random() < 0.75:
        (lat, lon), category = rng.choice(places.served), rng.choice(places.lurah_categories)
    else:
        (lat, lon), category = rng.choice(places.anywhere), rng.choice(places.categories)
    variables = {
        "input": {
            "clientRequestId": str(uuid.uuid4()),
            "category": category,
            "description": rng.choice(DESCRIPTIONS),
            "location": {"lat": lat, "lon": lon, "accuracyM": round(rng.uniform(3, 30), 1)},
            "photoKeys": [key],
            "anonymous": rng.random() < 0.2,
        }
    }
    payload = await agent.call("createReport", CREATE_REPORT, variables, who)
    if payload is None:
        return
    report_id = payload["report"]["id"]
    load.filed += 1
    if category != "terrorism":  # confidential by category: not on any public view
        load.public_ids.append(report_id)
    await load.pause(2.0)
    await agent.call("report (own)", REPORT, {"id": report_id}, who)  # the confirmation screen, photo processed by now


async def check_my_reports(agent: Agent, rng: random.Random, who: Account) -> None:
    load = agent.load
    found = await agent.call("myReports", MY_REPORTS, {"first": 20}, who)
    if not found or not found["edges"]:
        return
    nodes = [edge["node"] for edge in found["edges"]]
    node = next((n for n in nodes if n["status"] == "COMPLETED" and n["id"] not in who.rated), rng.choice(nodes))
    report = await agent.call("report (own)", REPORT, {"id": node["id"]}, who)
    if report is None or report["status"] != "COMPLETED" or node["id"] in who.rated:
        return
    # Claimed at once, before the pause: virtual users share the citizens' accounts, and another one playing this
    # citizen could pass the check above meanwhile and rate it too (ALREADY_RATED, the bench's error, not the API's).
    who.rated.add(node["id"])
    await load.pause(1.0)
    if rng.random() < 0.1:
        await agent.call("reopenReport", REOPEN, {"id": node["id"], "reason": "Masih belum diperbaiki"}, who)
    else:
        await agent.call("rateReport", RATE, {"id": node["id"], "rating": rng.randint(1, 5)}, who)


async def officer_user(agent: Agent, who: Account, *, lurah: bool, kota: str) -> None:
    """A lurah or a Suku Dinas officer: the soonest deadline among the reports the unit holds, one step on."""
    load = agent.load
    rng = random.Random(load.rng.random())
    while not load.stopping.is_set():
        queue = await agent.call("workQueue", WORK_QUEUE, {"filter": {"status": OPEN}, "first": 20}, who)
        mine = [e["node"] for e in (queue or {"edges": []})["edges"] if e["node"]["unit"]["code"] == who.unit]
        if not mine:
            await load.pause(3.0)
            continue
        node = rng.choice(mine[:3])
        if await agent.call("report (officer)", REPORT, {"id": node["id"]}, who) is None:
            await load.pause(1.0)
            continue
        await load.pause(1.0)  # reads it
        status, category = node["status"], node["category"]["code"]
        change: dict[str, Any] = {"reportId": node["id"]}
        if status in ("WAITING", "REOPENED", "DISPOSITION"):
            if lurah and category in DISPOSE_TO and rng.random() < 0.3:
                note = "Diteruskan ke Suku Dinas"
                dispose = {"reportId": node["id"], "toUnit": f"{DISPOSE_TO[category]}-{kota}", "publicNote": note}
                await agent.call("disposeReport", DISPOSE, {"input": dispose}, who)
                await load.pause(1.0)
                continue
            if rng.random() < 0.05:
                change |= {"to": "REJECTED", "reason": "Bukan kewenangan kelurahan, lokasi tidak ditemukan"}
            else:
                change |= {"to": rng.choice(["COORDINATION", "IN_PROGRESS"]), "publicNote": "Laporan diterima"}
        elif status == "COORDINATION":
            change |= {"to": "IN_PROGRESS", "publicNote": "Petugas menuju lokasi"}
        else:
            key = await agent.upload(who)
            if key is None:
                continue
            change |= {"to": "COMPLETED", "publicNote": "Sudah ditangani", "afterPhotoKeys": [key]}
        await agent.call("changeReportStatus", CHANGE_STATUS, {"input": change}, who)
        await load.pause(1.0)


async def camat_user(agent: Agent, who: Account) -> None:
    """The camat watches the kecamatan: overdue and new reports, opens some, follows a few, and verifies the
    completions waiting for the camat (the only verifier of these kelurahan, so no two verdicts race)."""
    load = agent.load
    rng = random.Random(load.rng.random())
    filters = [{"overdue": True}, {"status": ["WAITING"]}, {"status": OPEN}, None, {"awaitingMyVerification": True}]
    while not load.stopping.is_set():
        flt = rng.choice(filters)
        queue = await agent.call("workQueue", WORK_QUEUE, {"filter": flt, "first": 20}, who)
        nodes = [e["node"] for e in (queue or {"edges": []})["edges"]]
        if nodes:
            node = rng.choice(nodes)
            await agent.call("report (officer)", REPORT, {"id": node["id"]}, who)
            if node["status"] == "VERIFYING" and node["unit"]["code"].startswith("kel-"):
                verdict: dict[str, Any] = {"reportId": node["id"], "accept": rng.random() < 0.85}
                if not verdict["accept"]:
                    verdict["reason"] = "Foto hasil tidak sesuai dengan kondisi di lokasi"
                await agent.call("verifyCompletion", VERIFY, {"input": verdict}, who)
            elif rng.random() < 0.2:
                await agent.call("followReport", FOLLOW, {"id": node["id"]}, who)
        await load.pause(3.0)


# --- the run -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    public: int
    live: int
    citizens: int
    lurah: int
    kecamatan: str
    demo_reports: int
    seed: int
    max_memory_growth: float
    drain_timeout: float
    keep_stack: bool
    log_dir: Path
    min_rate: float = 150.0
    api_workers: int = API_WORKERS
    spike_starts: tuple[float, ...] = ()  # seconds into the timed phase
    spike_s: float = 0.0  # 0: no spike
    spike_factor: int = 10

    @property
    def spikes(self) -> list[tuple[float, float]]:
        return [(start, start + self.spike_s) for start in self.spike_starts] if self.spike_s > 0 else []


@dataclass
class Sampler:
    """The API's and the worker's RSS every few seconds, for the memory check and its timeline: each the sum over
    its process tree (`jsc api --workers N` is a supervisor and N workers), the last reading kept by process."""

    pids: dict[str, int]
    # Whether a password is being hashed: argon2 takes 64 MiB for each one (signUp, logIn) and gives them back
    # when it is done, so a sample taken meanwhile is marked, and not judged.
    hashing: Callable[[], bool] = lambda: False
    samples: list[tuple[float, dict[str, int | None]]] = field(default_factory=list)
    marked: set[int] = field(default_factory=set)  # indices of the samples taken while hashing
    by_process: dict[str, dict[int, int]] = field(default_factory=dict)

    def take(self, t: float) -> dict[str, int | None]:
        busy = self.hashing()
        now: dict[str, int | None] = {}
        for name, root in self.pids.items():
            found = {pid: kib for pid in process_tree(root) if (kib := rss_kib(pid)) is not None}
            self.by_process[name] = found
            now[name] = sum(found.values()) or None
        if busy or self.hashing():
            self.marked.add(len(self.samples))
        self.samples.append((t, now))
        return now

    def series(self, name: str, since: float) -> list[tuple[float, float]]:
        """(t - since, KiB) of every sample from `since` on that was not taken while a password was hashed."""
        return [
            (t - since, float(kib))
            for i, (t, s) in enumerate(self.samples)
            if t >= since and i not in self.marked and (kib := s[name])
        ]

    async def run(self, started: float, every_s: float = 5.0) -> None:
        while True:
            self.take(time.perf_counter() - started)
            await asyncio.sleep(every_s)


async def probe_loop(load: Load, every_s: float = 0.05) -> None:
    """How late the load generator's own event loop wakes a sleeper: every request it times waits that long too
    before its answer is read, so a late loop would be counted as the API's slowness."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(every_s)
        load.rec.loop_lags.append(time.perf_counter() - asked - every_s)


@contextlib.contextmanager
def timing_full_collections(load: Load) -> Iterator[None]:
    """The generator's full (generation 2) garbage collections, timed into the current recorder: each stops its
    loop, and every request in flight is timed the longer for it."""

    def observe(generation: int, seconds: float) -> None:
        if generation == 2:
            load.rec.full_gcs.append(seconds)

    timer = heap.CollectionTimer(observe)
    gc.callbacks.append(timer)
    try:
        yield
    finally:
        gc.callbacks.remove(timer)


async def fetch_value(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def backlog(dsn: str) -> int:
    """The worker's jobs waiting or running (the periodic ones included)."""
    return int(await fetch_value(dsn, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"))


async def photo_counts(dsn: str, run_id: str) -> Counter[str]:
    """The photos of this run's citizens and officers by status (REQUESTED: a ticket, not attached to a report)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT p.status, count(*) AS n FROM photos p JOIN users u ON u.id = p.owner_id"
            " WHERE u.email LIKE $1 GROUP BY p.status",
            f"soak-{run_id}-%",
        )
    finally:
        await conn.close()
    return Counter({str(r["status"]): int(r["n"]) for r in rows})


async def drain(dsn: str, within_s: float) -> int:
    """Waits until the worker has no job left to do (or the time is up); returns the jobs still to do."""
    deadline = time.monotonic() + within_s
    left = await backlog(dsn)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        left = await backlog(dsn)
    return left


async def database_connections(dsn: str) -> int:
    return int(await fetch_value(dsn, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))


def mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib is not None else "gone"


def print_table(rec: Recorder, elapsed: float) -> None:
    """Each operation as the load generator timed it, and (api p50, api p99) as the API timed the same requests to
    their answer's first byte: the difference is the sockets, uvicorn's reading, and the generator's own loop."""
    print(
        f"{'operation':<22} {'count':>8} {'per s':>8} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f" {'api p50':>8} {'api p99':>8}"
    )
    for op in sorted(rec.ops, key=lambda o: -len(rec.ops[o].latencies)):
        stats = rec.ops[op]
        lat, server = sorted(stats.latencies), sorted(stats.server)
        errors = sum(stats.errors.values())
        print(
            f"{op:<22} {len(lat):>8} {len(lat) / elapsed:>8.1f} {errors:>7} {percentile(lat, 50) * 1000:>8.1f}"
            f" {percentile(lat, 99) * 1000:>8.1f} {lat[-1] * 1000 if lat else math.nan:>8.1f}"
            f" {percentile(server, 50) * 1000:>8.1f} {percentile(server, 99) * 1000:>8.1f}"
        )
    for op, stats in rec.ops.items():
        for reason, count in stats.errors.most_common(5):
            print(f"  error in {op} x{count}: {reason}")
    lags = sorted(rec.loop_lags)
    print(
        f"generator loop   a 50 ms sleep woke late by p50 {percentile(lags, 50) * 1000:.1f} ms,"
        f" p99 {percentile(lags, 99) * 1000:.1f} ms, max {lags[-1] * 1000 if lags else math.nan:.1f} ms;"
        f" {len(rec.full_gcs)} full collections, longest {max(rec.full_gcs, default=0.0) * 1000:.0f} ms"
    )


async def set_up(load: Load, opts: Options) -> tuple[list[User], Places]:
    """The places and the accounts; one coroutine function per virtual user."""
    rng = random.Random(opts.seed)
    shapes = [k for k in kelurahan_shapes() if not k.code.startswith("31.01.")]  # mainland
    # The kecamatan's first kelurahan get a lurah each; three in four reports fall in them.
    served = sorted((k for k in shapes if k.kecamatan == opts.kecamatan), key=lambda k: k.code)[: opts.lurah]
    if len(served) < opts.lurah:
        raise SystemExit(f"soak: kecamatan {opts.kecamatan} has only {len(served)} kelurahan")
    kota = served[0].kota
    categories = active_categories()
    places = Places(
        centroids=[k.centroid for k in shapes],
        served=[p for k in served for p in points_inside(rng, k.area, 200)],
        anywhere=[p for k in shapes for p in points_inside(rng, k.area, 4)],
        lurah_categories=[c for c in categories if c in LURAH_CATEGORIES],
        categories=categories,
    )
    began = time.perf_counter()
    units = [f"kel-{k.code}" for k in served] + [f"kec-{opts.kecamatan}"]
    units += [f"{agency}-{kota}" for agency in DISPOSE_TO.values()]
    logins = [f"soak-{load.run_id}-{unit}@jakarta.go.id" for unit in units]
    await create_staff(list(zip(logins, units, strict=True)))
    async with load.agent() as agent:
        staff = [await agent.log_in(login, unit) for login, unit in zip(logins, units, strict=True)]
    print(
        f"setup: a lurah in {opts.lurah} kelurahan of kecamatan {opts.kecamatan}, the camat and 2 Suku Dinas officers"
        f" created and logged in ({time.perf_counter() - began:.0f} s)",
        flush=True,
    )
    began = time.perf_counter()
    signing_up = asyncio.Semaphore(4)

    async def sign_up(i: int) -> None:
        async with signing_up, load.agent() as agent:
            if (account := await agent.sign_up(f"{i}")) is not None:
                load.citizens.append(account)

    await asyncio.gather(*(sign_up(i) for i in range(CITIZENS_AT_START)))
    print(f"setup: {CITIZENS_AT_START} citizens signed up ({time.perf_counter() - began:.0f} s)", flush=True)
    if load.rec.error_count():
        print_table(load.rec, 1.0)
        raise SystemExit("soak: setup failed")

    lurahs, camat, agencies = staff[: opts.lurah], staff[opts.lurah], staff[opts.lurah + 1 :]
    users: list[User] = []
    users += [functools.partial(public_user, places=places)] * opts.public
    users += [functools.partial(live_user, places=places)] * opts.live
    users += [functools.partial(citizen_user, places=places)] * opts.citizens
    users += [functools.partial(officer_user, who=who, lurah=True, kota=kota) for who in lurahs]
    users += [functools.partial(officer_user, who=who, lurah=False, kota=kota) for who in agencies]
    users.append(functools.partial(camat_user, who=camat))
    return users, places


@dataclass
class Outcome:
    warm: Recorder
    timed: Recorder
    elapsed: float
    rss_start: dict[str, int | None]
    rss_end: dict[str, int | None]
    cpu: list[str]
    api_cores: dict[int, float]  # by process of the API's tree
    filed: int
    connections: tuple[int, int]
    epoch_from: float


async def run_load(
    load: Load,
    opts: Options,
    users: list[User],
    places: Places,
    sampler: Sampler,
    groups: CpuGroups,
    procs: list[subprocess.Popen[bytes]],
    dsn: str,
) -> Outcome:
    started = time.perf_counter()
    load.rec = Recorder()
    sampling = asyncio.create_task(sampler.run(started))
    probing = asyncio.create_task(probe_loop(load))

    async def run_user(user: User) -> None:
        async with load.agent() as agent:
            await user(agent)

    tasks = [asyncio.create_task(run_user(user)) for user in users]

    async def spikes() -> None:
        """Each flood day: (factor - 1) x the public users more, for the spike's length, then gone again."""
        for start, end in opts.spikes:
            await asyncio.sleep(start - (time.perf_counter() - timed_from))
            ended = asyncio.Event()
            extra = functools.partial(public_user, places=places, until=ended)
            crowd = [asyncio.create_task(run_user(extra)) for _ in range(opts.public * (opts.spike_factor - 1))]
            print(f"  spike: {len(crowd)} more public users for {opts.spike_s:.0f} s", flush=True)
            try:
                await asyncio.sleep(end - (time.perf_counter() - timed_from))
            finally:
                ended.set()
                await asyncio.gather(*crowd, return_exceptions=True)
            print("  spike: over", flush=True)

    async def rss_now() -> dict[str, int | None]:
        # Argon2 takes 64 MiB for each password it hashes (signUp, logIn) and gives it back at once: a sample
        # taken while one runs would count it as growth.
        for _ in range(100):
            if not load.hashing:
                break
            await asyncio.sleep(0.1)
        return sampler.take(time.perf_counter() - started)

    def check_alive() -> None:
        if any(proc.poll() is not None for proc in procs):
            raise RuntimeError("the API or the worker exited during the run")

    try:
        await asyncio.sleep(opts.warmup)
        check_alive()
        warm, load.rec = load.rec, Recorder()
        # The set-up's objects (accounts, clients, places) out of the generator's full collections, and those
        # collections as rare, as the API's (domain/heap.py): the generator's pauses are not the API's.
        quiet_generator_heap()
        rss_start = await rss_now()
        connections_start = await database_connections(dsn)
        timed_from, epoch_from, filed_before = time.perf_counter(), time.time(), load.filed
        load.rec.t0 = timed_from
        tasks.append(asyncio.create_task(spikes()))
        cpu_before = groups.snapshot()
        print(
            f"warm-up: {warm.request_count()} requests, {warm.error_count()} errors;"
            f" api {mib(rss_start['api'])}, worker {mib(rss_start['worker'])}"
        )
        next_line = 60.0
        while (done := time.perf_counter() - timed_from) < opts.duration:
            await asyncio.sleep(min(1.0, opts.duration - done))
            check_alive()
            if done >= next_line:
                now = sampler.samples[-1][1]
                print(
                    f"  {done:5.0f} s  {load.rec.request_count() / done:6.1f} req/s  errors {load.rec.error_count()}"
                    f"  api {mib(now['api'])}  worker {mib(now['worker'])}",
                    flush=True,
                )
                next_line += 60.0
        load.stopping.set()  # every user ends after its current request
        _, pending = await asyncio.wait(tasks, timeout=35.0)
        for task in pending:
            task.cancel()
        elapsed = time.perf_counter() - timed_from
        cpu_after = groups.snapshot()
        cpu = cpu_report(cpu_before, cpu_after, elapsed)
        api_before = cpu_before[0].get("api", {})
        api_cores = {pid: (s - api_before.get(pid, 0.0)) / elapsed for pid, s in cpu_after[0].get("api", {}).items()}
        rss_end = await rss_now()
    finally:
        load.stopping.set()
        sampling.cancel()
        probing.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, sampling, probing, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and (exc := task.exception()) is not None:
            raise exc
    connections = (connections_start, await database_connections(dsn))
    return Outcome(
        warm, load.rec, elapsed, rss_start, rss_end, cpu, api_cores, load.filed - filed_before, connections, epoch_from
    )


async def soak(opts: Options, api_proc: subprocess.Popen[bytes], worker_proc: subprocess.Popen[bytes]) -> int:
    dsn = libpq_dsn()
    base_url = f"http://127.0.0.1:{os.environ['JSC_API_PORT']}"
    async with httpx.AsyncClient(base_url=base_url) as probe:
        await wait_healthy(probe, [api_proc, worker_proc], within_s=60)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as s3:
        load = Load(base_url, s3, opts.seed)
        probe_before = cpu_probe_ms()
        users, places = await set_up(load, opts)

        groups = CpuGroups(roots={"api": [api_proc.pid], "worker": [worker_proc.pid], "load generator": [os.getpid()]})
        if pg_dir := await data_directory(dsn):
            groups.matchers["postgres"] = f"-D {pg_dir}"
        if s3_port := urlsplit(os.environ.get("JSC_S3_ENDPOINT_URL", "")).port:
            groups.matchers["seaweedfs"] = f"-s3.port={s3_port} "
        sampler = Sampler({"api": api_proc.pid, "worker": worker_proc.pid}, hashing=lambda: load.hashing > 0)
        print(
            f"load: {len(users)} virtual users ({opts.public} public, {opts.live} live map, {opts.citizens} citizens,"
            f" {opts.lurah} lurah, 2 Suku Dinas, 1 camat); warm-up {opts.warmup:.0f} s, then {opts.duration:.0f} s"
        )
        with timing_full_collections(load):
            out = await run_load(load, opts, users, places, sampler, groups, [api_proc, worker_proc], dsn)

        queued_at_end = await backlog(dsn)
        processed = await fetch_value(
            dsn, "SELECT count(*) FROM photos WHERE processed_at >= to_timestamp($1)", out.epoch_from
        )
        rec, elapsed = out.timed, out.elapsed
        total = rec.request_count()
        api_requests = sum(len(s.latencies) for op, s in rec.ops.items() if op not in ("S3 upload", "reportEvents"))
        print()
        print(f"soak             {opts.duration:.0f} s after a {opts.warmup:.0f} s warm-up; code {code_version()}")
        print(
            f"machine speed    a fixed loop took {probe_before:.0f} ms before the load, {cpu_probe_ms():.0f} ms"
            " after it (bench/common.cpu_probe_ms; lower is faster: compare runs only at a similar figure)"
        )
        print(f"virtual users    {len(users)}; logs in {opts.log_dir}")
        print(
            f"requests         {total} in {elapsed:.1f} s, {total / elapsed:.1f}/s"
            f" ({api_requests / elapsed:.1f}/s to the API, the rest S3 uploads and subscriptions)"
        )
        print(f"errors           {rec.error_count()} (warm-up: {out.warm.error_count()})")
        print(f"reports filed    {out.filed} ({out.filed / elapsed:.2f}/s); live events received {rec.events}")
        print_table(rec, elapsed)
        memory_failures = []
        for name in ("api", "worker"):
            series = [s[name] for t, s in sampler.samples if t >= opts.warmup]
            points = sampler.series(name, opts.warmup)
            start_kib, end_kib = out.rss_start[name], out.rss_end[name]
            if start_kib and end_kib:
                # Judged by the slope over every sample of the timed phase, extrapolated over the run, rather than
                # by two readings; samples taken while a password was hashed left out (Sampler).
                growth = timeline.slope_per_s(points) * elapsed / start_kib * 100
                print(
                    f"{name + ' rss':<16} start {mib(start_kib)} (after warm-up), end {mib(end_kib)},"
                    f" change {(end_kib - start_kib) / start_kib * 100:+.1f} %,"
                    f" peak {mib(max(v or 0 for v in series))};"
                    f" slope over {len(points)} samples: {growth:+.1f} % over the run"
                )
                memory_failures += judge_memory(opts, name, points, growth, start_kib, elapsed)
        rss_line = [f"{t - opts.warmup:.0f}s:{(s['api'] or 0) / 1024:.0f}" for t, s in sampler.samples]
        print(f"api rss MiB      {' '.join(rss_line[:: max(1, len(rss_line) // 24)])}")
        print_api_processes(api_proc.pid, sampler.by_process.get("api", {}), out.api_cores, opts.api_workers)
        print(f"db connections   {out.connections[0]} after warm-up, {out.connections[1]} at the end")
        print("cpu during the timed phase")
        print("\n".join(out.cpu))
        photos = await photo_counts(dsn, load.run_id)
        print(f"worker backlog   {queued_at_end} jobs waiting or running at the end of the load")
        print(
            f"photos           {processed} processed during the timed phase; this run's {dict(sorted(photos.items()))}"
        )
        if opts.drain_timeout > 0 and queued_at_end:
            left = await drain(dsn, opts.drain_timeout)
            photos = await photo_counts(dsn, load.run_id)
            print(f"                 after draining: {left} jobs left; this run's {dict(sorted(photos.items()))}")

        photo_lag = await photo_lags(dsn, load.run_id)
        requests = rec.requests
        print_stalls(requests)
        failures = []
        if errors := rec.error_count() + out.warm.error_count():
            failures.append(f"{errors} errors")
        if photos.get("FAILED"):
            failures.append(f"{photos['FAILED']} photos failed")
        failures += memory_failures
        failures += judge_targets(opts, requests, elapsed, photo_lag)
        print(f"verdict          {'FAIL: ' + '; '.join(failures) if failures else 'PASS (every target met)'}")
        return 1 if failures else 0


def print_api_processes(supervisor: int, rss: dict[int, int], cores: dict[int, float], workers: int) -> None:
    """Each of the API's processes at the end: what it used of the CPU over the timed phase, and its RSS."""
    parts = []
    for pid in sorted(rss.keys() | cores.keys(), key=lambda p: (p != supervisor, p)):
        role = "supervisor" if pid == supervisor and workers > 1 else "process" if pid == supervisor else "worker"
        parts.append(f"{role} {pid}: {cores.get(pid, 0.0):.2f} cores, {mib(rss.get(pid))}")
    print(f"api processes    `jsc api --workers {workers}`: " + "; ".join(parts))


# --- the targets (issue 18 section 3) -------------------------------------------------------------------------

MAP_OPS = frozenset({"mapReports", "mapGeoJSON", "reportsInBbox", "tile reports", "tile kelurahan"})
STEADY_P99_MS = {
    "createReport": (frozenset({"createReport"}), 300.0),
    "map queries and tiles": (MAP_OPS, 150.0),
    "workQueue": (frozenset({"workQueue"}), 200.0),
}
SPIKE_CREATE_P99_MS = 1000.0
RECOVERY_S = 30.0  # after the spike, the steady targets hold again from this long on
PHOTO_READY_S = 60.0
NOT_API = frozenset({"S3 upload", "reportEvents"})


def judge_memory(
    opts: Options, name: str, points: list[tuple[float, float]], growth: float, start_kib: int, elapsed: float
) -> list[str]:
    """Memory flat: no spike or one, by the slope over the whole run (a spike's step counts as growth: one spike
    cannot tell a leak from a high-water mark). Two spikes or more, by the slope inside the steady stretches
    between them, and by the steps: the first spike's is the allocator's high-water mark and is reported, a
    later one's must stay under a quarter of the limit, since a leak would step again at every spike."""
    limit = opts.max_memory_growth
    if len(opts.spikes) < 2:
        return [] if growth <= limit else [f"{name} memory grew {growth:.1f} % by its slope (limit {limit:g} %)"]
    steady = timeline.steady_memory(points, opts.spikes, RECOVERY_S)
    steady_growth = steady.slope_per_s * elapsed / start_kib * 100
    steps = [step / start_kib * 100 for step in steady.steps]
    print(
        f"{'':<16} outside the spikes and the {RECOVERY_S:.0f} s after each ({steady.points} samples): slope"
        f" {steady_growth:+.1f} % over the run (limit {limit:g} %); each spike's step: "
        + ", ".join(f"{step / 1024:+.1f} MiB ({pct:+.1f} %)" for step, pct in zip(steady.steps, steps, strict=True))
        + f" (after the first: limit {limit / 4:g} % each)"
    )
    failures = []
    if not steady_growth <= limit:
        failures.append(f"{name} memory grew {steady_growth:.1f} % by its slope between the spikes (limit {limit:g} %)")
    if again := [pct for pct in steps[1:] if not pct <= limit / 4]:
        failures.append(f"{name} memory stepped again at a later spike ({', '.join(f'{p:+.1f} %' for p in again)})")
    return failures


def judge_targets(
    opts: Options, requests: list[timeline.Request], elapsed: float, photo_lag: float | None
) -> list[str]:
    """The steady targets outside the spikes and their recoveries; each spike's own; photos READY in time."""
    missed = []
    spikes = opts.spikes
    quiet = [r for r in requests if not any(start <= r.start < end + RECOVERY_S for start, end in spikes)]
    quiet_s = elapsed - sum(min(end + RECOVERY_S, elapsed) - start for start, end in spikes)
    rate = sum(1 for r in quiet if r.op not in NOT_API) / max(quiet_s, 1e-9)
    outside = "the spike" if len(spikes) == 1 else "the spikes"
    heading = f"targets          outside {outside} and the {RECOVERY_S:.0f} s after each ({quiet_s:.0f} s):"
    print(heading if spikes else "targets")
    line = f"  API requests/s {rate:.1f}, target >= {opts.min_rate:g}"
    print(f"{line}: {'met' if rate >= opts.min_rate else 'NOT MET'}")
    if rate < opts.min_rate:
        missed.append(f"{rate:.1f} API requests/s < {opts.min_rate:g}")
    for what, (ops, limit) in STEADY_P99_MS.items():
        p99 = timeline.p99_ms(quiet, ops)
        print(f"  {what} p99 {p99:.1f} ms, target < {limit:g}: {'met' if p99 < limit else 'NOT MET'}")
        if not p99 < limit:
            missed.append(f"{what} p99 {p99:.0f} ms")
    for i, (start, end) in enumerate(spikes):
        which = f"spike {i + 1}" if len(spikes) > 1 else "spike"
        during = timeline.window(requests, start, end)
        # After it: until the next spike begins, or the run ends.
        after = timeline.window(requests, end + RECOVERY_S, spikes[i + 1][0] if i + 1 < len(spikes) else elapsed)
        create = timeline.p99_ms(during, frozenset({"createReport"}))
        public = sum(1 for r in during if r.op in MAP_OPS) / opts.spike_s
        failed = sum(1 for r in during if r.failed)
        print(
            f"  {which} ({opts.spike_factor}x public users, {start:.0f}-{end:.0f} s): {public:.1f} map and tile"
            f" requests/s, {failed} errors; createReport p99 {create:.1f} ms, target < {SPIKE_CREATE_P99_MS:g}:"
            f" {'met' if create < SPIKE_CREATE_P99_MS else 'NOT MET'}"
        )
        if not create < SPIKE_CREATE_P99_MS:
            missed.append(f"createReport p99 {create:.0f} ms during {which}")
        for what, (ops, limit) in STEADY_P99_MS.items():
            p99 = timeline.p99_ms(after, ops)
            ok = p99 < limit or (math.isnan(p99) and not after)
            print(f"  {RECOVERY_S:.0f} s after {which} on: {what} p99 {p99:.1f} ms: {'met' if ok else 'NOT MET'}")
            if not ok:
                missed.append(f"{what} p99 {p99:.0f} ms after {which}")
    if photo_lag is None:
        print("  photos: none of this run's photos was READY")
        missed.append("no photo READY")
    else:
        ok = photo_lag <= PHOTO_READY_S
        print(f"  photos READY at most {photo_lag:.1f} s after their report, target <= {PHOTO_READY_S:g} s: "
              f"{'met' if ok else 'NOT MET'}")  # fmt: skip
        if not ok:
            missed.append(f"a photo READY {photo_lag:.0f} s after its report")
    return missed


def print_stalls(requests: list[timeline.Request], slow_s: float = 0.25) -> None:
    """The seconds where several operations were slow at once, and whether password work ran in them."""
    seconds = timeline.by_second(requests, slow_s=slow_s, password_ops=frozenset({"signUp", "logIn"}))
    stalls, total, with_work, overall = timeline.stall_evidence(seconds)
    print(
        f"stalls           {stalls} of {total} s had >= 3 requests slower than {slow_s * 1000:.0f} ms in >= 2"
        " operations;"
        f" password work (signUp, logIn) ran in {100 * with_work:.0f} % of those and in {100 * overall:.0f} % of all"
        " seconds"
    )
    worst = sorted((s for s in seconds if s.is_stall), key=lambda s: -sum(s.slow.values()))[:5]
    for s in worst:
        ops = ", ".join(f"{op} {n}" for op, n in s.slow.most_common(4))
        print(f"  {s.second:5d} s: {sum(s.slow.values())} of {s.ended} slow ({ops}); password work: {s.password_work}")


async def photo_lags(dsn: str, run_id: str) -> float | None:
    """The longest time from a report of this run being filed to its photo being READY, in seconds (the reporters'
    photos: an officer's after-photo joins a report filed long before)."""
    value = await fetch_value(
        dsn,
        "SELECT max(extract(epoch FROM p.processed_at - r.created_at)) FROM photos p"
        " JOIN reports r ON r.id = p.report_id AND r.reporter_id = p.owner_id JOIN users u ON u.id = p.owner_id"
        " WHERE u.email LIKE $1 AND p.status = 'READY'",
        f"soak-{run_id}-%",
    )
    return float(value) if value is not None else None


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of counted load (default 600)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of load first, not counted (default 60)")
    parser.add_argument("--public", type=int, default=40, help="virtual users browsing the map (default 40)")
    parser.add_argument("--live", type=int, default=4, help="live reportEvents subscribers (default 4)")
    parser.add_argument(
        "--citizens", type=int, default=8, help="virtual users filing and following reports (default 8)"
    )
    parser.add_argument("--lurah", type=int, default=4, help="kelurahan with a lurah in this run (default 4)")
    parser.add_argument("--kecamatan", default="31.73.02", help="their kecamatan (default 31.73.02, Grogol Petamburan)")
    parser.add_argument(
        "--demo-reports",
        type=int,
        default=100_000,
        help="simulated reports the database holds before the run, added once with jsc demo-data (default 100000)",
    )
    parser.add_argument(
        "--max-memory-growth", type=float, default=10.0, help="allowed API and worker RSS growth, %% (default 10)"
    )
    parser.add_argument("--min-rate", type=float, default=150.0, help="API requests/s the mix must reach (default 150)")
    parser.add_argument(
        "--spikes",
        type=int,
        default=2,
        help="flood-day spikes in the run, evenly spaced (default 2: a second one tells a leak from a high-water"
        " mark; 0: none)",
    )
    parser.add_argument("--spike-s", type=float, default=120.0, help="length of each spike (default 120)")
    parser.add_argument(
        "--spike-at", type=float, help="with --spikes 1, its start, seconds into the timed phase (default: the middle)"
    )
    parser.add_argument(
        "--spike-factor", type=int, default=10, help="public users during the spike, times the usual (default 10)"
    )
    parser.add_argument(
        "--api-workers",
        type=int,
        default=API_WORKERS,
        help=f"API processes, as `jsc api --workers` (default {API_WORKERS}, what `make run` starts)",
    )
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="wait for the worker's backlog afterwards")
    parser.add_argument("--seed", type=int, default=20260801, help="seed of the places and the users' choices")
    parser.add_argument("--keep-stack", action="store_true", help="leave the soak stack running afterwards")
    parser.add_argument("--log-dir", type=Path, help="where the API and worker logs go (default: a new temp dir)")
    ns = parser.parse_args(argv)
    if ns.duration <= 0 or ns.warmup < 0 or min(ns.public, ns.citizens, ns.lurah) < 1 or ns.live < 0:
        parser.error("--duration, --public, --citizens and --lurah must be positive")
    if ns.spike_at is not None and ns.spikes != 1:
        parser.error("--spike-at goes with --spikes 1")
    starts = spike_starts(ns.duration, ns.spikes, ns.spike_s, ns.spike_at)
    if ns.spikes > 0 and ns.spike_s > 0 and not starts:
        print(f"soak: no spike (a {ns.duration:.0f} s run has no room for {ns.spikes} of {ns.spike_s:.0f} s, each"
              f" with its recovery and {ROOM_AFTER_S:.0f} s after)")  # fmt: skip
    if ns.api_workers < 1:
        parser.error("--api-workers must be at least 1")
    if ns.spike_factor < 2:
        parser.error("--spike-factor must be at least 2")
    log_dir = ns.log_dir or Path(tempfile.mkdtemp(prefix="jsc-soak-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    return Options(
        duration=ns.duration,
        warmup=ns.warmup,
        public=ns.public,
        live=ns.live,
        citizens=ns.citizens,
        lurah=ns.lurah,
        kecamatan=ns.kecamatan,
        demo_reports=ns.demo_reports,
        seed=ns.seed,
        max_memory_growth=ns.max_memory_growth,
        drain_timeout=ns.drain_timeout,
        keep_stack=ns.keep_stack,
        log_dir=log_dir,
        min_rate=ns.min_rate,
        api_workers=ns.api_workers,
        spike_starts=starts,
        spike_s=ns.spike_s if starts else 0.0,
        spike_factor=ns.spike_factor,
    )


ROOM_AFTER_S = 30.0  # of steady load after each spike's recovery, at least


def spike_starts(duration: float, count: int, length: float, at: float | None) -> tuple[float, ...]:
    """Where the spikes begin: each in the middle of its share of the run (or the one at `at`), or none when they
    do not fit with their recovery and some steady load after each."""
    if count <= 0 or length <= 0:
        return ()
    share = duration / count
    starts = (at,) if at is not None else tuple(i * share + max(0.0, (share - length) / 2) for i in range(count))
    ends = [*starts[1:], duration]
    if any(start + length + RECOVERY_S + ROOM_AFTER_S > end for start, end in zip(starts, ends, strict=True)):
        return ()
    return starts


def api_command(opts: Options) -> list[str]:
    return deployed_api_command(os.environ["JSC_API_PORT"], opts.api_workers)


def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        began = time.perf_counter()
        stack("up")
        load_stack_env()
        prepare_database()
        seed_demo_reports(opts.demo_reports)
        print(
            f"setup: the soak stack is up, migrated, Jakarta loaded ({time.perf_counter() - began:.0f} s)", flush=True
        )
        api_proc = spawn(api_command(opts), opts.log_dir / "api.log", deployed_api_env(opts.log_dir))
        procs.append(api_proc)
        worker_proc = spawn([sys.executable, "-m", "cli.main", "worker"], opts.log_dir / "worker.log")
        procs.append(worker_proc)
        return asyncio.run(soak(opts, api_proc, worker_proc))
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        return 130
    finally:
        for proc in reversed(procs):
            stop(proc)
        if not opts.keep_stack:
            stack("down")
        print(f"logs             {opts.log_dir}")


if __name__ == "__main__":
    sys.exit(main())
