"""Benchmark: our map queries against PostGraphile v5 over the same 1,000,000 reports; prints requests/s, p50, p99.

Targets (the issue): our GeoJSON map query at least 1.5x PostGraphile's requests/s; our typed list query (100
nodes) at least 0.5x; the whole-city cluster view's p99 under 50 ms. One command, with the bench stack up and its
env loaded (or simply `make bench-map`):

    .venv/bin/python scripts/stack.py up --profile bench
    set -a; . .stack/bench/env; set +a
    .venv/bin/python bench/map_vs_postgraphile/run.py [--duration 20] [--scenarios a,b,c,d]

What happens: generate.py prepares the database jsc_mapbench on the bench cluster (created, migrated, Jakarta
loaded, 1,000,000 reports generated once and kept, PostGraphile's function `pgl.reports_in_bbox` installed);
`npm ci` runs here if node_modules is missing; PostGraphile (one node process, Node 22 from the `node` npm
package, amber preset, graphile.config.mjs) and our API (one uvicorn process) are started on free ports over
jsc_mapbench. Then, for each scenario: one request whose answer is checked, a warm-up and a timed phase at 10
keep-alive connections (a closed loop: each connection sends its next request when the answer is in), with the
CPU of every process measured over the timed phase. A scenario whose document our server does not know yet
(GRAPHQL_VALIDATION_FAILED) is skipped with a message. Both servers are stopped at the end, also on Ctrl-C.

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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
    percentile,
    spawn,
    stop,
)
from bench.map_vs_postgraphile.generate import libpq_dsn, prepare  # noqa: E402

# --- what is asked: edit here ------------------------------------------------------------------------------------

# About 2 x 2 km around Monas: the same box for both servers, well over 100 reports at 1,000,000.
BOX_CENTRE_LAT, BOX_CENTRE_LON = -6.1754, 106.8272
BOX_KM = 2.0  # --box-km
# Mainland Jakarta, what a phone shows at zoom 10 (Kepulauan Seribu, 100 km of sea to the north, left out).
CITY_BBOX = {"west": 106.68, "south": -6.38, "east": 106.98, "north": -6.07}
CITY_ZOOM = 10
FEATURES = 100

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
    ]


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
        if self.streams is None or self.streams[0].at_eof():
            reader, writer = await self.open()
        else:
            reader, writer = self.streams
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if start >= 0:
            end = lower.index(b"\r\n", start + 2)
            body = await reader.readexactly(int(lower[start + 17 : end]))
        elif b"transfer-encoding: chunked" in lower:
            body = await self._chunked(reader)
        else:
            raise ConnectionError("a response with neither Content-Length nor chunked encoding")
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body

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
    cpu: list[str] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per group, over the timed window


async def load(
    port: int, raw: bytes, *, connections: int, warmup_s: float, duration_s: float, groups: CpuGroups
) -> LoadResult:
    """A closed loop on `connections` connections: warm-up then the timed window, without a pause between them."""
    pool = [Connection(port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in pool))
    result = LoadResult(duration=duration_s)
    t0 = time.perf_counter() + warmup_s
    t1 = t0 + duration_s

    async def worker(conn: Connection) -> None:
        while (sent := time.perf_counter()) < t1:
            try:
                status, body = await conn.request(raw)
                problem = None if status == 200 and b'"errors"' not in body else f"HTTP {status}: {body[:120]!r}"
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
        await asyncio.gather(measure_cpu(), *(worker(c) for c in pool))
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


# --- main -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    reports: int
    regenerate: bool
    connections: int
    warmup_s: float
    duration_s: float
    only: tuple[str, ...]
    box_km: float
    log_dir: Path
    no_map_cache: bool = False


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


async def bench(opts: Options, app_url: str, ports: dict[str, int], procs: dict[str, subprocess.Popen[bytes]]) -> int:
    bbox = box(BOX_CENTRE_LAT, BOX_CENTRE_LON, opts.box_km)
    dsn = libpq_dsn(app_url)
    await wait_ready(ports["postgraphile"], procs["postgraphile"], "PostGraphile", within_s=90)
    await wait_ready(ports["ours"], procs["ours"], "our API", within_s=90)
    in_box, floor_ms = await database_floor(dsn, bbox)
    side = f"{opts.box_km:g} x {opts.box_km:g} km"
    print(f"box              {json.dumps(bbox)} (~{side} around Monas), {in_box:,} reports in it")
    for function, ms in floor_ms.items():
        print(f"database alone   {ms:.1f} ms for the newest {FEATURES} of them (pgl.{function}, median of 21)")
    print(f"whole city       {json.dumps(CITY_BBOX)} at zoom {CITY_ZOOM}")
    print(f"load             {opts.connections} connections, {opts.warmup_s:g} s warm-up, {opts.duration_s:g} s timed")
    print(f"code             {code_version()}")

    groups = CpuGroups(
        roots={
            "postgraphile": [procs["postgraphile"].pid],
            "api (ours)": [procs["ours"].pid],
            "load generator": [os.getpid()],
        }
    )
    if pg_dir := await data_directory(dsn):
        groups.matchers["postgres"] = f"-D {pg_dir}"

    outcomes = []
    for scenario in scenarios(bbox):
        if scenario.key not in opts.only:
            continue
        print(f"\n({scenario.key}) {scenario.title}")
        port = ports[scenario.server]
        outcome = Outcome(scenario)
        outcome.skipped, outcome.failed = await probe(port, scenario)
        outcomes.append(outcome)
        if outcome.skipped or outcome.failed:
            print(f"  {'skipped' if outcome.skipped else 'FAILED'}: {outcome.skipped or outcome.failed}")
            continue
        raw = http_request(port, scenario.document, scenario.variables)
        sample = await post_raw(port, raw)
        result = await load(
            port,
            raw,
            connections=opts.connections,
            warmup_s=opts.warmup_s,
            duration_s=opts.duration_s,
            groups=groups,
        )
        outcome.result = result
        errors = sum(result.errors.values())
        print(f"  requests       {result.completed} answered in {result.duration:g} s, {errors} errors")
        print(f"  throughput     {outcome.rps:.1f} requests/s")
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
            costs = (
                f"{label} {seconds / result.completed * 1000:.1f}" for label, seconds in result.cpu_seconds.items()
            )
            print(f"  cpu ms per request: {', '.join(c for c in costs if not c.endswith(' 0.0'))}")

    print_summary(outcomes)
    failed = any(o.failed or (o.result and o.result.errors) for o in outcomes)
    return 1 if failed else 0


def print_summary(outcomes: list[Outcome]) -> None:
    by_key = {o.scenario.key: o for o in outcomes}
    print("\nsummary")
    print(f"  {'scenario':<52} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for o in outcomes:
        if o.result:
            print(f"  ({o.scenario.key}) {o.scenario.title:<48} {o.rps:8.1f} {o.p(50):8.1f} {o.p(99):8.1f}")
        else:
            print(f"  ({o.scenario.key}) {o.scenario.title:<48} {'skipped' if o.skipped else 'FAILED':>8}")

    def ratio(key: str, target: float, what: str) -> None:
        ours = by_key.get(key)
        for against, whose in (("a", "(a) reportsInBbox"), ("e", "(e) publicReportsInBbox")):
            theirs = by_key.get(against)
            if not (ours and ours.result and theirs and theirs.result):
                print(f"  {what} vs {whose}: not measured")
                continue
            value = ours.rps / theirs.rps
            verdict = "met" if value >= target else "NOT met"
            print(f"  {what} vs {whose}: {value:.2f}x requests/s (target >= {target:g}x: {verdict})")

    print("targets")
    ratio("b", 1.5, "(b) GeoJSON map query")
    ratio("c", 0.5, "(c) typed list query ")
    city = by_key.get("d")
    if city and city.result:
        p99 = city.p(99)
        print(f"  (d) whole-city clusters: p99 {p99:.1f} ms (target < 50 ms: {'met' if p99 < 50 else 'NOT met'})")
    else:
        print("  (d) whole-city clusters: not measured")


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in jsc_mapbench (default 1000000)")
    parser.add_argument("--regenerate", action="store_true", help="generate the reports again even if present")
    parser.add_argument("--connections", type=int, default=10, help="concurrent keep-alive connections (default 10)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up per scenario (default 5)")
    parser.add_argument("--duration", type=float, default=20.0, help="timed seconds per scenario (default 20)")
    parser.add_argument("--scenarios", default="a,e,b,c,d", help="which of a,e,b,c,d to run (default all)")
    parser.add_argument("--box-km", type=float, default=BOX_KM, help="side of the box around Monas (default 2)")
    parser.add_argument(
        "--no-map-cache",
        action="store_true",
        help="run our server without its map cache (JSC_MAP_CACHE_ENTRIES=0): every request goes to PostgreSQL",
    )
    parser.add_argument("--log-dir", type=Path, help="where the servers' logs go (default: a new temp dir)")
    ns = parser.parse_args(argv)
    only = tuple(s.strip() for s in ns.scenarios.split(",") if s.strip())
    if not set(only) <= {"a", "b", "c", "d", "e"} or not only:
        parser.error("--scenarios takes a comma-separated subset of a,e,b,c,d")
    if ns.connections < 1 or ns.duration <= 0 or ns.warmup < 0:
        parser.error("--connections must be at least 1, --duration positive, --warmup not negative")
    log_dir = ns.log_dir or Path(tempfile.mkdtemp(prefix="jsc-bench-map-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    if ns.box_km <= 0:
        parser.error("--box-km must be positive")
    return Options(
        ns.reports, ns.regenerate, ns.connections, ns.warmup, ns.duration, only, ns.box_km, log_dir, ns.no_map_cache
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
    if opts.no_map_cache:
        os.environ["JSC_MAP_CACHE_ENTRIES"] = "0"
    os.environ["GRAPHILE_ENV"] = "production"  # grafast's development mode adds checks that cost planning time
    ports = {"postgraphile": free_port(), "ours": free_port()}
    node = [str(HERE / "node_modules" / ".bin" / "node"), str(HERE / "node_modules" / ".bin" / "postgraphile")]
    node += ["-C", str(HERE / "graphile.config.mjs"), "--host", "127.0.0.1", "--port", str(ports["postgraphile"])]
    uvicorn = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1"]
    uvicorn += ["--port", str(ports["ours"]), "--workers", "1", "--loop", "uvloop", "--http", "httptools"]
    uvicorn += ["--no-access-log"]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["postgraphile"] = spawn(node, opts.log_dir / "postgraphile.log")
        procs["ours"] = spawn(uvicorn, opts.log_dir / "api.log")
        return uvloop.run(bench(opts, app_url, ports, procs))
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        for proc in procs.values():
            stop(proc)
        print(f"logs             {opts.log_dir}")


if __name__ == "__main__":
    sys.exit(main())
