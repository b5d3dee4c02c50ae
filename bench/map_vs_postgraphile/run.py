"""Benchmark: our map queries against PostGraphile v5 over the same 1,000,000 reports; prints requests/s, p50, p99.

Targets (the issue): our GeoJSON map query at least 1.5x PostGraphile's requests/s; our typed list query (100
nodes) at least 1.0x (issue 18; it was 0.5x); the whole-city cluster view's p99 under 50 ms. Like for like: the
ratios are judged against PostGraphile's `publicReportsInBbox` (e), which asks PostgreSQL what our server asks,
through the same partial index and with the same database-wide settings (custom plans, no JIT); `reportsInBbox`
(a) is printed beside it. Every
pass judges the targets; the exit code is 1 when one is missed in any pass. One command, with the bench stack up
and its env loaded (or simply `make bench-map`):

    .venv/bin/python scripts/stack.py up --profile bench
    set -a; . .stack/bench/env; set +a
    .venv/bin/python bench/map_vs_postgraphile/run.py [--duration 20] [--scenarios a,e,b,c,d,t,r] [--passes uncached]

Three passes by default, each with our API started afresh: `uncached` (our map cache off: every request goes to
PostgreSQL), `cached` (the default settings, nothing written: after the first request every answer comes from
memory) and `writes` (the default settings while a writer files new reports inside the box at `--write-rate` a
second; each one drops the cached answers it falls in, in every API process, as createReport's do).

What happens: generate.py prepares the database jsc_mapbench on the bench cluster (created, migrated, Jakarta
loaded, 1,000,000 reports generated once and kept, PostGraphile's function `pgl.reports_in_bbox` installed);
`npm ci` runs here if node_modules is missing; PostGraphile (one node process, Node 22 from the `node` npm
package, amber preset, graphile.config.mjs) and our API (one uvicorn process) are started on free ports over
jsc_mapbench. Then, for each scenario: one request whose answer is checked, a warm-up and a timed phase at 10
keep-alive connections (a closed loop: each connection sends its next request when the answer is in), with the
CPU of every process measured over the timed phase. A scenario whose document our server does not know yet
(GRAPHQL_VALIDATION_FAILED) is skipped with a message. Both servers are stopped at the end, also on Ctrl-C.

Two more scenarios measure our report tiles (issue 18 section 2; no comparator, figures only): (t) the tiles covering
the box at zoom 15, asked in turn without an ETag: each is rendered in the uncached pass (the rendered-tile cache off
too, JSC_TILE_CACHE_BYTES=0), served as kept in the cached pass, rendered again after each change in the writes
pass; (r) the same tiles asked with the ETag just received, so each must answer 304 from the change counters
alone, without rendering (any other answer is an error).

The load generator is raw asyncio streams on uvloop, with the requests serialised before the clock starts; its
CPU is printed with the rest so a saturated client would show.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import uvloop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    CpuGroups,
    code_version,
    cpu_report,
    data_directory,
    free_port,
    load_average,
    percentile,
    raised_rate_limits,
    spawn,
    stop,
)
from bench.map_vs_postgraphile.generate import (  # noqa: E402
    CATEGORY_WEIGHTS,
    DEFAULT_WEIGHT,
    NEW_REPORT,
    WRITER_REQUEST_PREFIX,
    libpq_dsn,
    prepare,
)

# --- what is asked: edit here ------------------------------------------------------------------------------------

# About 2 x 2 km around Monas: the same box for both servers, well over 100 reports at 1,000,000.
BOX_CENTRE_LAT, BOX_CENTRE_LON = -6.1754, 106.8272
BOX_KM = 2.0  # --box-km
# Mainland Jakarta, what a phone shows at zoom 10 (Kepulauan Seribu, 100 km of sea to the north, left out).
CITY_BBOX = {"west": 106.68, "south": -6.38, "east": 106.98, "north": -6.07}
CITY_ZOOM = 10
FEATURES = 100
TILE_ZOOM = 15  # points, not clusters (those end at 14): what a phone shows of the box's streets
# The writer's default: the box's share (about 2 %) of the 100 createReport/s the API is sized for, city-wide.
WRITE_RATE = 2.0
PASSES = ("uncached", "cached", "writes")

# PostGraphile v5 names the function pgl.reports_in_bbox `reportsInBbox` (a connection of ReportsInBboxRecord).
POSTGRAPHILE_BBOX = """
query Map($west: Float!, $south: Float!, $east: Float!, $north: Float!, $lim: Int!) {
  reportsInBbox(west: $west, south: $south, east: $east, north: $north, lim: $lim) {
    nodes { id category status createdAt geometry }
  }
}
"""

# The same function leaving out confidential reports, as our public map does (postgraphile.sql says why).
POSTGRAPHILE_PUBLIC_BBOX = POSTGRAPHILE_BBOX.replace("reportsInBbox(", "publicReportsInBbox(")

OURS_GEOJSON = """
query Map($bbox: BBoxInput!, $first: Int!) {
  mapGeoJSON(bbox: $bbox, first: $first)
}
"""

OURS_LIST = """
query Map($bbox: BBoxInput!, $first: Int!) {
  reportsInBbox(bbox: $bbox, first: $first) { id category status createdAt lat lon }
}
"""

OURS_CITY = """
query City($bbox: BBoxInput!, $zoom: Int!) {
  mapReports(bbox: $bbox, zoom: $zoom) { clusters { lat lon count } points { id } }
}
"""


def box(lat: float, lon: float, km: float) -> dict[str, float]:
    half_lat = km / 2 / 111.32
    half_lon = km / 2 / (111.32 * math.cos(math.radians(lat)))
    return {
        "west": round(lon - half_lon, 6),
        "south": round(lat - half_lat, 6),
        "east": round(lon + half_lon, 6),
        "north": round(lat + half_lat, 6),
    }


# --- checks of one answer: None when it is what was asked, else why not -------------------------------------------


def check_postgraphile(data: dict[str, Any]) -> str | None:
    field = "reportsInBbox" if "reportsInBbox" in data else "publicReportsInBbox"
    nodes = ((data.get(field) or {}).get("nodes")) or []
    if len(nodes) != FEATURES:
        return f"{len(nodes)} nodes instead of {FEATURES}"
    if not isinstance(nodes[0].get("geometry"), dict) or nodes[0]["geometry"].get("type") != "Point":
        return f"the geometry is not a GeoJSON point: {nodes[0].get('geometry')!r}"
    return None


def check_geojson(data: dict[str, Any]) -> str | None:
    collection = data.get("mapGeoJSON")
    if isinstance(collection, str):  # a JSON scalar may come as text
        collection = json.loads(collection)
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        return "not a GeoJSON FeatureCollection"
    features = collection.get("features") or []
    return None if len(features) == FEATURES else f"{len(features)} features instead of {FEATURES}"


def check_list(data: dict[str, Any]) -> str | None:
    nodes = data.get("reportsInBbox") or []
    return None if len(nodes) == FEATURES else f"{len(nodes)} nodes instead of {FEATURES}"


def check_city(data: dict[str, Any]) -> str | None:
    clusters = (data.get("mapReports") or {}).get("clusters") or []
    return None if clusters else "no clusters for the whole city"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    server: str  # "postgraphile" or "ours"
    document: str
    variables: dict[str, Any]
    check: Callable[[dict[str, Any]], str | None]
    tiles: str | None = None  # a report-tile scenario instead of a query: "fresh" (rendered) or "revalidated" (304)


def scenarios(bbox: dict[str, float]) -> list[Scenario]:
    return [
        Scenario(
            "a",
            f"PostGraphile reportsInBbox, {FEATURES} features",
            "postgraphile",
            POSTGRAPHILE_BBOX,
            {**bbox, "lim": FEATURES},
            check_postgraphile,
        ),
        Scenario(
            "e",
            f"PostGraphile publicReportsInBbox, {FEATURES} features",
            "postgraphile",
            POSTGRAPHILE_PUBLIC_BBOX,
            {**bbox, "lim": FEATURES},
            check_postgraphile,
        ),
        Scenario(
            "b",
            f"ours mapGeoJSON, {FEATURES} features",
            "ours",
            OURS_GEOJSON,
            {"bbox": bbox, "first": FEATURES},
            check_geojson,
        ),
        Scenario(
            "c",
            f"ours reportsInBbox typed list, {FEATURES} nodes",
            "ours",
            OURS_LIST,
            {"bbox": bbox, "first": FEATURES},
            check_list,
        ),
        Scenario(
            "d",
            f"ours mapReports whole city, zoom {CITY_ZOOM}",
            "ours",
            OURS_CITY,
            {"bbox": CITY_BBOX, "zoom": CITY_ZOOM},
            check_city,
        ),
        Scenario("t", f"ours report tiles, zoom {TILE_ZOOM}, rendered", "ours", "", {}, check_none, "fresh"),
        Scenario(
            "r", f"ours report tiles, zoom {TILE_ZOOM}, 304 (If-None-Match)", "ours", "", {}, check_none, "revalidated"
        ),
    ]


def check_none(data: dict[str, Any]) -> str | None:
    return None


def box_tiles(bbox: dict[str, float], zoom: int) -> list[tuple[int, int, int]]:
    """The web-mercator tiles covering the box at this zoom, as a map showing it asks for them."""
    n = 2**zoom

    def tile(lat: float, lon: float) -> tuple[int, int]:
        return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    (x0, y0), (x1, y1) = tile(bbox["north"], bbox["west"]), tile(bbox["south"], bbox["east"])
    return [(zoom, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def tile_request(port: int, z: int, x: int, y: int, etag: str | None = None) -> bytes:
    revalidate = f"If-None-Match: {etag}\r\n" if etag else ""
    return (
        f"GET /tiles/reports/{z}/{x}/{y}.pbf HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Accept: application/vnd.mapbox-vector-tile\r\n{revalidate}\r\n"
    ).encode()


async def tile_requests(port: int, bbox: dict[str, float], *, revalidated: bool) -> tuple[list[bytes], str | None]:
    """The box's tile requests, each checked once (a tile with reports, an ETag); revalidations carry the ETag just
    received, so each must answer 304 without being rendered. (requests, why they cannot run)."""
    raws = []
    conn = Connection(port)
    try:
        for z, x, y in box_tiles(bbox, TILE_ZOOM):
            status, body, etag = await conn.request_with_etag(tile_request(port, z, x, y))
            if status != 200 or not body or etag is None:
                return [], f"tile {z}/{x}/{y}: HTTP {status}, {len(body)} bytes, ETag {etag}"
            raws.append(tile_request(port, z, x, y, etag if revalidated else None))
    finally:
        conn.close()
    return raws, None


# --- a small HTTP/1.1 keep-alive client: the load generator must cost far less than the servers ------------------


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.close()
        self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        return self.streams

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
        self.streams = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Sends one prepared request; returns (status, body). Reconnects first if the server closed the socket."""
        status, body, _ = await self.request_with_etag(raw)
        return status, body

    async def request_with_etag(self, raw: bytes) -> tuple[int, bytes, str | None]:
        if self.streams is None or self.streams[0].at_eof():
            reader, writer = await self.open()
        else:
            reader, writer = self.streams
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if status in (204, 304):  # no body, by definition
            body = b""
        elif start >= 0:
            end = lower.index(b"\r\n", start + 2)
            body = await reader.readexactly(int(lower[start + 17 : end]))
        elif b"transfer-encoding: chunked" in lower:
            body = await self._chunked(reader)
        else:
            raise ConnectionError("a response with neither Content-Length nor chunked encoding")
        if b"\r\nconnection: close" in lower:
            self.close()
        etag = None
        if (start := lower.find(b"\r\netag:")) >= 0:
            etag = head[start + 7 : head.index(b"\r\n", start + 2)].strip().decode()
        return status, body, etag

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)


def http_request(port: int, document: str, variables: dict[str, Any]) -> bytes:
    body = json.dumps({"query": document, "variables": variables}, separators=(",", ":")).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class LoadResult:
    duration: float
    completed: int = 0  # answered within the timed window
    latencies: list[float] = field(default_factory=list)  # of the requests sent within the timed window
    errors: Counter[str] = field(default_factory=Counter)
    changed: int = 0  # revalidations answered 200: the tile had changed since its ETag
    cpu: list[str] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per group, over the timed window


async def load(
    port: int,
    raws: list[bytes],
    *,
    connections: int,
    warmup_s: float,
    duration_s: float,
    groups: CpuGroups,
    revalidate: Callable[[int, str], bytes] | None = None,
) -> LoadResult:
    """A closed loop on `connections` connections: warm-up then the timed window, without a pause between them.
    Each connection goes round ``raws`` from its own place; an answer other than 200 is an error. With
    ``revalidate`` (tiles asked with their ETag) a 304 is the answer, and a 200 (the tile changed, as the writer's
    new reports make it) is kept as a browser keeps it: its request carries the new ETag from then on
    (``revalidate(index, etag)`` makes it), so the next one is a 304 again until the tile changes again."""
    pool = [Connection(port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in pool))
    result = LoadResult(duration=duration_s)
    t0 = time.perf_counter() + warmup_s
    t1 = t0 + duration_s

    async def worker(conn: Connection, turn: int) -> None:
        mine = list(raws)  # a browser's cache of ETags is its own
        while (sent := time.perf_counter()) < t1:
            turn += 1
            index = turn % len(mine)
            try:
                status, body, etag = await conn.request_with_etag(mine[index])
                if revalidate is not None:
                    ok = status == 304 or (status == 200 and etag is not None)
                    if status == 200 and etag is not None:
                        mine[index] = revalidate(index, etag)
                        result.changed += 1
                else:
                    ok = status == 200 and not (raws[0].startswith(b"POST") and b'"errors"' in body)
                problem = None if ok else f"HTTP {status}: {body[:120]!r}"
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                conn.close()
                problem = type(exc).__name__
            done = time.perf_counter()
            if sent >= t0:
                result.latencies.append(done - sent)
                if problem:
                    result.errors[problem] += 1
            if t0 <= done <= t1 and not problem:
                result.completed += 1

    async def measure_cpu() -> None:
        await asyncio.sleep(max(t0 - time.perf_counter(), 0.0))
        before = groups.snapshot()
        await asyncio.sleep(max(t1 - time.perf_counter(), 0.0))
        after = groups.snapshot()
        result.cpu = cpu_report(before, after, duration_s)
        result.cpu_seconds = {
            label: sum(now - before[0].get(label, {}).get(pid, 0.0) for pid, now in pids.items())
            for label, pids in after[0].items()
        }

    try:
        await asyncio.gather(measure_cpu(), *(worker(c, i) for i, c in enumerate(pool)))
    finally:
        for conn in pool:
            conn.close()
    return result


# --- the servers ----------------------------------------------------------------------------------------------------


def ensure_node_modules() -> None:
    if (HERE / "node_modules" / ".bin" / "postgraphile").exists() and (
        HERE / "node_modules" / ".bin" / "node"
    ).exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench: npm is needed once to install PostGraphile and Node 22 (`npm ci` in this folder)")
    print("setup: npm ci (PostGraphile and Node 22, from package-lock.json)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True)


async def post_raw(port: int, raw: bytes) -> bytes:
    conn = Connection(port)
    try:
        _, body = await conn.request(raw)
    finally:
        conn.close()
    return body


async def post_json(port: int, document: str, variables: dict[str, Any]) -> tuple[int, Any]:
    conn = Connection(port)
    try:
        status, body = await conn.request(http_request(port, document, variables))
    finally:
        conn.close()
    return status, json.loads(body) if body else None


async def wait_ready(port: int, proc: subprocess.Popen[bytes], what: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: {what} exited during start-up (exit code {proc.returncode}); see its log")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            status, _ = await post_json(port, "{ __typename }", {})
            if status == 200:
                return
        await asyncio.sleep(0.25)
    raise SystemExit(f"bench: {what} did not answer within {within_s:.0f}s")


async def database_floor(dsn: str, bbox: dict[str, float]) -> tuple[int, dict[str, float]]:
    """Reports in the box, and the median time PostgreSQL alone takes for the newest 100 of them (ms), through
    each of PostGraphile's two functions."""
    conn = await asyncpg.connect(dsn)
    try:
        args = (bbox["west"], bbox["south"], bbox["east"], bbox["north"])
        count = await conn.fetchval(
            "SELECT count(*) FROM reports WHERE location && ST_MakeEnvelope($1, $2, $3, $4, 4326)", *args
        )
        medians = {}
        for function in ("reports_in_bbox", "public_reports_in_bbox"):
            times = []
            for _ in range(21):
                started = time.perf_counter()
                await conn.fetch(f"SELECT * FROM pgl.{function}($1, $2, $3, $4, $5)", *args, FEATURES)
                times.append(time.perf_counter() - started)
            medians[function] = sorted(times)[len(times) // 2] * 1000
    finally:
        await conn.close()
    return int(count), medians


# --- the writer: new reports inside the box while a pass runs ---------------------------------------------------


@dataclass
class Writer:
    """Files new reports at random points of the box at a steady rate (one INSERT each, see NEW_REPORT), until told
    to stop. The schedule is fixed in advance (the n-th report at start + n / rate), so a slow insert does not lower
    the rate."""

    dsn: str
    bbox: dict[str, float]
    rate: float
    written: int = 0
    seconds: float = 0.0

    async def run(self, stopping: asyncio.Event) -> None:
        rng = random.Random(20261204)
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch("SELECT id, code FROM categories WHERE active AND NOT confidential ORDER BY id")
            ids = [r["id"] for r in rows]
            weights = [CATEGORY_WEIGHTS.get(r["code"], DEFAULT_WEIGHT) for r in rows]
            started = time.perf_counter()
            sent = 0
            while not stopping.is_set():
                lon = rng.uniform(self.bbox["west"], self.bbox["east"])
                lat = rng.uniform(self.bbox["south"], self.bbox["north"])
                request_id = f"{WRITER_REQUEST_PREFIX}{uuid.uuid4()}"
                category = rng.choices(ids, weights)[0]
                status = await conn.execute(NEW_REPORT, lon, lat, request_id, category, "Laporan baru dari warga")
                self.written += int(status.split()[-1])
                sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), max(started + sent / self.rate - time.perf_counter(), 0))
            self.seconds = time.perf_counter() - started
        finally:
            await conn.close()


async def delete_written(dsn: str) -> int:
    """The writer's reports go after its pass: generate.py keeps the database only while it holds exactly the
    generated reports (and deletes any a killed run left behind)."""
    conn = await asyncpg.connect(dsn)
    try:
        status = await conn.execute("DELETE FROM reports WHERE client_request_id LIKE $1", WRITER_REQUEST_PREFIX + "%")
    finally:
        await conn.close()
    return int(status.split()[-1])


async def database_settings(dsn: str) -> str:
    """What ALTER DATABASE set for every connection to jsc_mapbench (PostGraphile's and ours)."""
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval(
            "SELECT array_to_string(s.setconfig, ', ') FROM pg_db_role_setting s "
            "JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database() AND s.setrole = 0"
        )
    finally:
        await conn.close()
    return str(value or "none")


# --- main -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    reports: int
    regenerate: bool
    connections: int
    warmup_s: float
    duration_s: float
    only: tuple[str, ...]
    passes: tuple[str, ...]
    write_rate: float
    box_km: float
    log_dir: Path


@dataclass
class Outcome:
    scenario: Scenario
    result: LoadResult | None = None
    skipped: str | None = None
    failed: str | None = None

    @property
    def rps(self) -> float:
        return self.result.completed / self.result.duration if self.result else math.nan

    def p(self, q: float) -> float:
        return percentile(sorted(self.result.latencies), q) * 1000 if self.result else math.nan


@dataclass
class Pass:
    name: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    writer: Writer | None = None
    load_before: str = ""
    load_after: str = ""
    missed: list[str] = field(default_factory=list)


PASS_TITLES = {
    "uncached": "our map and tile caches off (JSC_MAP_CACHE_ENTRIES=0, JSC_TILE_CACHE_BYTES=0): every request goes"
    " to PostgreSQL",
    "cached": "our map cache on (the default), nothing written: after the first request answers come from memory",
    "writes": "our map cache on, while a writer files {rate:g} new reports/s inside the box",
}


async def probe(port: int, scenario: Scenario) -> tuple[str | None, str | None]:
    """(skipped, failed): why the scenario cannot run, from one request whose answer is checked in full."""
    status, body = await post_json(port, scenario.document, scenario.variables)
    errors = (body or {}).get("errors") if isinstance(body, dict) else None
    if errors:
        messages = "; ".join(str(e.get("message")) for e in errors[:3])
        if any((e.get("extensions") or {}).get("code") == "GRAPHQL_VALIDATION_FAILED" for e in errors):
            return f"the server does not know this query yet ({messages})", None
        return None, f"GraphQL errors: {messages}"
    if status != 200 or not isinstance(body, dict):
        return None, f"HTTP {status}"
    return None, scenario.check(body.get("data") or {})


async def run_scenario(
    opts: Options, scenario: Scenario, port: int, groups: CpuGroups, outcome: Outcome, bbox: dict[str, float]
) -> None:
    print(f"\n({scenario.key}) {scenario.title}")
    tiles = box_tiles(bbox, TILE_ZOOM)
    if scenario.tiles:
        raws, outcome.failed = await tile_requests(port, bbox, revalidated=scenario.tiles == "revalidated")
        if raws:
            print(f"  tiles          {len(raws)} tiles cover the box at zoom {TILE_ZOOM}, asked in turn")
    else:
        outcome.skipped, outcome.failed = await probe(port, scenario)
        raws = [http_request(port, scenario.document, scenario.variables)]
    if outcome.skipped or outcome.failed:
        print(f"  {'skipped' if outcome.skipped else 'FAILED'}: {outcome.skipped or outcome.failed}")
        return
    sample = await post_raw(port, raws[0])
    result = await load(
        port,
        raws,
        connections=opts.connections,
        warmup_s=opts.warmup_s,
        duration_s=opts.duration_s,
        groups=groups,
        revalidate=(lambda i, etag: tile_request(port, *tiles[i], etag)) if scenario.tiles == "revalidated" else None,
    )
    outcome.result = result
    errors = sum(result.errors.values())
    print(f"  requests       {result.completed} answered in {result.duration:g} s, {errors} errors")
    print(f"  throughput     {outcome.rps:.1f} requests/s")
    if scenario.tiles == "revalidated":
        print(f"  changed        {result.changed} answered 200 with a new ETag (the tile changed), the rest 304")
    print(
        f"  latency ms     p50 {outcome.p(50):.1f}  p90 {outcome.p(90):.1f}  p99 {outcome.p(99):.1f}  "
        f"max {max(result.latencies, default=math.nan) * 1000:.1f}"
    )
    print(f"  response       {len(sample) / 1024:.1f} KiB")
    for reason, count in result.errors.most_common(3):
        print(f"  error x{count}: {reason}")
    print("  cpu during the timed phase")
    print("\n".join("  " + line for line in result.cpu))
    if result.completed:
        costs = (f"{label} {seconds / result.completed * 1000:.1f}" for label, seconds in result.cpu_seconds.items())
        print(f"  cpu ms per request: {', '.join(c for c in costs if not c.endswith(' 0.0'))}")


async def run_pass(
    opts: Options, run: Pass, bbox: dict[str, float], dsn: str, postgraphile: tuple[subprocess.Popen[bytes], int]
) -> None:
    """Our API started for this pass alone (its cache setting), the writer during the writes pass, every scenario."""
    print(f"\n=== pass {run.name}: {PASS_TITLES[run.name].format(rate=opts.write_rate)}")
    port = free_port()
    env = raised_rate_limits()
    if run.name == "uncached":
        env["JSC_MAP_CACHE_ENTRIES"] = "0"
        env["JSC_TILE_CACHE_BYTES"] = "0"
    ours = spawn(our_api(port), opts.log_dir / f"api-{run.name}.log", env=env)
    stopping = asyncio.Event()
    writing = None
    try:
        await wait_ready(port, ours, "our API", within_s=90)
        groups = CpuGroups(
            roots={"postgraphile": [postgraphile[0].pid], "api (ours)": [ours.pid], "load generator": [os.getpid()]}
        )
        if pg_dir := await data_directory(dsn):
            groups.matchers["postgres"] = f"-D {pg_dir}"
        if run.name == "writes":
            run.writer = Writer(dsn, bbox, opts.write_rate)
            writing = asyncio.create_task(run.writer.run(stopping))
        run.load_before = load_average()
        print(f"machine load     {run.load_before}")
        for scenario in scenarios(bbox):
            if scenario.key in opts.only:
                port_of = postgraphile[1] if scenario.server == "postgraphile" else port
                run.outcomes[scenario.key] = outcome = Outcome(scenario)
                await run_scenario(opts, scenario, port_of, groups, outcome, bbox)
                if writing is not None and writing.done():
                    raise RuntimeError(f"the writer stopped during the pass: {writing.exception()!r}")
        run.load_after = load_average()
        print(f"\nmachine load     {run.load_after}")
    finally:
        stopping.set()
        stop(ours)
        if writing is not None and run.writer is not None:
            # Its reports are deleted whatever happened to it (an error was raised above already).
            (ended,) = await asyncio.gather(writing, return_exceptions=True)
            deleted = await delete_written(dsn)
            writer = run.writer
            print(
                f"writer           {writer.written} reports filed in the box in {writer.seconds:.1f} s "
                f"({writer.written / max(writer.seconds, 1e-9):.2f}/s, asked {writer.rate:g}/s); "
                f"{deleted} deleted after the pass{f'; it failed: {ended!r}' if ended else ''}"
            )


def our_api(port: int) -> list[str]:
    """The API as deployed (`jsc api`, as `make run` and the systemd unit start it: uvloop, httptools, the app's
    own logging, its start-up objects left out of full garbage collections), in one process."""
    return [sys.executable, "-m", "cli.main", "api", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]


def public_lane() -> str:
    """The public lane our API runs with (api/admission.py): its settings come from this environment, as the API's."""
    from domain.settings import Settings

    settings = Settings()
    return (
        f"{settings.public_lane_size} anonymous reads admitted at once, {settings.public_lane_cpu} of them on the CPU"
        " (JSC_PUBLIC_LANE_SIZE, JSC_PUBLIC_LANE_CPU)"
    )


async def bench(opts: Options, app_url: str, postgraphile: tuple[subprocess.Popen[bytes], int]) -> int:
    bbox = box(BOX_CENTRE_LAT, BOX_CENTRE_LON, opts.box_km)
    dsn = libpq_dsn(app_url)
    await wait_ready(postgraphile[1], postgraphile[0], "PostGraphile", within_s=90)
    in_box, floor_ms = await database_floor(dsn, bbox)
    side = f"{opts.box_km:g} x {opts.box_km:g} km"
    print(f"box              {json.dumps(bbox)} (~{side} around Monas), {in_box:,} reports in it")
    for function, ms in floor_ms.items():
        print(f"database alone   {ms:.1f} ms for the newest {FEATURES} of them (pgl.{function}, median of 21)")
    print(f"database         for every connection, PostGraphile's and ours: {await database_settings(dsn)}")
    print(f"whole city       {json.dumps(CITY_BBOX)} at zoom {CITY_ZOOM}")
    print(f"load             {opts.connections} connections, {opts.warmup_s:g} s warm-up, {opts.duration_s:g} s timed")
    print(f"our public lane  {public_lane()}")
    print(f"code             {code_version()}")
    print(f"date             {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")

    runs = []
    for name in opts.passes:
        run = Pass(name)
        runs.append(run)
        await run_pass(opts, run, bbox, dsn, postgraphile)
        judge(run)
    print_summary(runs)
    failed = any(o.failed or (o.result and o.result.errors) for run in runs for o in run.outcomes.values())
    missed = any(run.missed for run in runs)
    return 1 if failed or missed else 0


TARGETS = (("b", 1.5, "(b) GeoJSON"), ("c", 1.0, "(c) typed list"))  # issue 18 raised the list's from 0.5


def judge(run: Pass) -> None:
    """The targets of one pass, against (e) of the same pass; a target that could not be measured is missed."""
    theirs = run.outcomes.get("e")
    for key, target, what in TARGETS:
        ours = run.outcomes.get(key)
        if ours is None:
            continue
        if not (ours.result and theirs and theirs.result):
            run.missed.append(f"{what}: not measured against (e)")
        elif ours.rps / theirs.rps < target:
            run.missed.append(f"{what} {ours.rps / theirs.rps:.2f}x (e) < {target:g}x")
    city = run.outcomes.get("d")
    if city is not None and not (city.result and city.p(99) < 50):
        run.missed.append(f"(d) whole-city p99 {city.p(99):.1f} ms >= 50 ms")


def print_summary(runs: list[Pass]) -> None:
    print("\nsummary: requests/s, p50 ms, p99 ms")
    header = "".join(f"{run.name:>26}" for run in runs)
    print(f"  {'scenario':<52}{header}")
    for scenario in scenarios(box(BOX_CENTRE_LAT, BOX_CENTRE_LON, BOX_KM)):
        cells = []
        for run in runs:
            o = run.outcomes.get(scenario.key)
            if o is None:
                continue
            cells.append(
                f"{o.rps:9.1f} {o.p(50):7.1f} {o.p(99):7.1f}"
                if o.result
                else f"{'skipped' if o.skipped else 'FAILED':>25}"
            )
        if cells:
            print(f"  ({scenario.key}) {scenario.title:<48}" + "".join(f"{c:>26}" for c in cells))

    print("targets, judged against (e) publicReportsInBbox of the same pass (the same question, the same index):")
    for key, target, what in TARGETS:
        cells = []
        for run in runs:
            ours, theirs = run.outcomes.get(key), run.outcomes.get("e")
            if ours and ours.result and theirs and theirs.result:
                value = ours.rps / theirs.rps
                cells.append(f"{value:.2f}x {'met' if value >= target else 'MISSED'}")
            else:
                cells.append("not measured")
        print(f"  {what + f' >= {target:g}x (e)':<52}" + "".join(f"{c:>26}" for c in cells))
    cells = []
    for run in runs:
        city = run.outcomes.get("d")
        cells.append(
            f"p99 {city.p(99):.1f} ms {'met' if city.p(99) < 50 else 'MISSED'}"
            if city and city.result
            else "not measured"
        )
    print(f"  {'(d) whole-city p99 < 50 ms':<52}" + "".join(f"{c:>26}" for c in cells))
    print("not judged: against (a) reportsInBbox, which leaves nothing out and so cannot use the public index:")
    for key, _, what in TARGETS:
        cells = []
        for run in runs:
            ours, theirs = run.outcomes.get(key), run.outcomes.get("a")
            if ours and ours.result and theirs and theirs.result:
                cells.append(f"{ours.rps / theirs.rps:.2f}x")
            else:
                cells.append("not measured")
        print(f"  {what + ' / (a)':<52}" + "".join(f"{c:>26}" for c in cells))
    print("machine load (1, 5, 15 min) before and after each pass:")
    for run in runs:
        print(f"  {run.name:<10} {run.load_before}  ->  {run.load_after}")
    missed = [f"{run.name}: {m}" for run in runs for m in run.missed]
    print(f"verdict          {'every target met' if not missed else 'MISSED: ' + '; '.join(missed)}")


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in jsc_mapbench (default 1000000)")
    parser.add_argument("--regenerate", action="store_true", help="generate the reports again even if present")
    parser.add_argument("--connections", type=int, default=10, help="concurrent keep-alive connections (default 10)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up per scenario (default 5)")
    parser.add_argument("--duration", type=float, default=20.0, help="timed seconds per scenario (default 20)")
    parser.add_argument("--scenarios", default="a,e,b,c,d,t,r", help="which of a,e,b,c,d,t,r to run (default all)")
    parser.add_argument(
        "--passes", default=",".join(PASSES), help=f"which of {','.join(PASSES)} to run, in order (default all)"
    )
    parser.add_argument(
        "--write-rate",
        type=float,
        default=WRITE_RATE,
        help=f"new reports per second inside the box during the writes pass (default {WRITE_RATE:g})",
    )
    parser.add_argument("--box-km", type=float, default=BOX_KM, help="side of the box around Monas (default 2)")
    parser.add_argument("--log-dir", type=Path, help="where the servers' logs go (default: a new temp dir)")
    ns = parser.parse_args(argv)
    only = tuple(s.strip() for s in ns.scenarios.split(",") if s.strip())
    if not set(only) <= {"a", "b", "c", "d", "e", "t", "r"} or not only:
        parser.error("--scenarios takes a comma-separated subset of a,e,b,c,d,t,r")
    passes = tuple(s.strip() for s in ns.passes.split(",") if s.strip())
    if not set(passes) <= set(PASSES) or not passes or len(set(passes)) != len(passes):
        parser.error(f"--passes takes a comma-separated subset of {','.join(PASSES)}")
    if ns.connections < 1 or ns.duration <= 0 or ns.warmup < 0:
        parser.error("--connections must be at least 1, --duration positive, --warmup not negative")
    if ns.box_km <= 0 or ns.write_rate <= 0:
        parser.error("--box-km and --write-rate must be positive")
    log_dir = ns.log_dir or Path(tempfile.mkdtemp(prefix="jsc-bench-map-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    return Options(
        ns.reports,
        ns.regenerate,
        ns.connections,
        ns.warmup,
        ns.duration,
        only,
        passes,
        ns.write_rate,
        ns.box_km,
        log_dir,
    )


def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # Turn `kill` into the same clean path as Ctrl-C, so the servers are stopped by the finally below.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    database_url = os.environ.get("JSC_DATABASE_URL")
    if not database_url:
        print(
            "bench: no JSC_DATABASE_URL; load the bench stack's env first:\n"
            "  .venv/bin/python scripts/stack.py up --profile bench && set -a; . .stack/bench/env; set +a",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, on_sigterm)
    ensure_node_modules()
    app_url = asyncio.run(prepare(database_url, reports=opts.reports, force=opts.regenerate))
    # Both servers (our children) read their database from here: jsc_mapbench, never jsc_bench.
    os.environ["JSC_DATABASE_URL"] = app_url
    os.environ["MAPBENCH_PG_URL"] = libpq_dsn(app_url)
    os.environ["GRAPHILE_ENV"] = "production"  # grafast's development mode adds checks that cost planning time
    port = free_port()
    node = [str(HERE / "node_modules" / ".bin" / "node"), str(HERE / "node_modules" / ".bin" / "postgraphile")]
    node += ["-C", str(HERE / "graphile.config.mjs"), "--host", "127.0.0.1", "--port", str(port)]
    postgraphile = None
    try:
        postgraphile = spawn(node, opts.log_dir / "postgraphile.log")
        return uvloop.run(bench(opts, app_url, (postgraphile, port)))
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if postgraphile is not None:
            stop(postgraphile)
        print(f"logs             {opts.log_dir}")


if __name__ == "__main__":
    sys.exit(main())
