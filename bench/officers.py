"""Officers and citizens around the reports at 1,000,000 reports: workQueue for a camat's whole kecamatan with its
filters, similarReports and nearbyReports, through the API.

    make bench-officers                         # the bench stack, database jsc_perfbench (as bench-performance)
    make bench-officers BENCH_ARGS="--requests 300"

The database is the auditors' bench's (`jsc demo-data`, made once and kept; bench/performance.py). The camat is an
officer of the kecamatan office with the most open reports in its area; the points are where that area's reports
are. The API runs as `make run` starts it (`jsc api`) with production settings; each query is sent `--requests`
times one after the other after a warm-up, each time at another point or with another filter of its kind.

Targets (issue 18, section 4): p50 under 20 ms and p99 under 50 ms for each. The exit code is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import code_version, load_average, quiet_generator_heap, sign_up, stop  # noqa: E402
from bench.performance import LOG_IN, bench_url, ensure_database, start_api  # noqa: E402
from cli.demo import libpq_kwargs  # noqa: E402

P50_MS, P99_MS = 20.0, 50.0
CAMAT_PASSWORD = "bench-camat-password"
# The officer app's queue document (web/src/officer), as it sends it.
WORK_QUEUE = """query OfficerQueue($filter: WorkQueueFilter, $first: Int!, $after: String) {
  workQueue(filter: $filter, first: $first, after: $after) {
    edges { node { id status description createdAt updatedAt dueAt overdue escalationLevel supportCount
      category { code nameEn nameId } kelurahan { code name } location { lat lon } unit { code name }
      assignee { displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
# The citizens' app's question before filing (web/src/app).
SIMILAR = """query SimilarReports($lat: Float!, $lon: Float!, $category: String!) {
  similarReports(lat: $lat, lon: $lon, category: $category) {
    distanceM
    report { id description status createdAt supportCount supportedByMe filedByMe category { code nameId nameEn }
      photos { id thumbnailUrl } }
  }
}"""
NEARBY = """query NearbyReports($lat: Float!, $lon: Float!, $after: String) {
  nearbyReports(lat: $lat, lon: $lon, radiusM: 1000, first: 20, after: $after) {
    edges { cursor node { distanceM report { id description status createdAt category { code nameId nameEn } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@dataclass(frozen=True)
class Scenario:
    name: str
    document: str
    as_citizen: bool
    variables: Callable[[random.Random], dict[str, Any]]


@dataclass(frozen=True)
class Area:
    camat_unit: str
    kecamatan: str
    open_reports: int
    points: list[tuple[float, float]]
    categories: list[str]


async def busiest_area(url: str) -> Area:
    conn = await asyncpg.connect(**libpq_kwargs(url))  # type: ignore[arg-type]
    try:
        row = await conn.fetchrow(
            "SELECT u.code AS unit, k.name, count(*) AS open FROM reports r JOIN kecamatan k ON k.id = r.kecamatan_id"
            " JOIN units u ON u.kind = 'KECAMATAN' AND u.kecamatan_id = k.id"
            " WHERE r.status NOT IN ('COMPLETED', 'REJECTED', 'DUPLICATE') GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"
        )
        points = await conn.fetch(
            "SELECT ST_Y(r.location) AS lat, ST_X(r.location) AS lon FROM reports r JOIN units u"
            " ON u.kecamatan_id = r.kecamatan_id WHERE u.code = $1 ORDER BY r.created_at DESC LIMIT 400",
            row["unit"],
        )
        categories = await conn.fetch("SELECT code FROM categories WHERE active ORDER BY code")
    finally:
        await conn.close()
    return Area(row["unit"], row["name"], row["open"], [(p["lat"], p["lon"]) for p in points],
                [c["code"] for c in categories])  # fmt: skip


def create_camat(url: str, unit: str) -> str:
    """The camat's login: an officer of the kecamatan office, made once per database."""
    email = f"camat-{unit}@bench.example.id"
    env = {"JSC_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "cli.main", "create-user", "--role", "officer", "--email", email, "--name", "Camat",
         "--unit", unit, "--password", CAMAT_PASSWORD],
        cwd=ROOT, env=env, capture_output=True, check=False,
    )  # fmt: skip
    return email


def scenarios(area: Area) -> list[Scenario]:
    def point(rng: random.Random) -> dict[str, float]:
        lat, lon = rng.choice(area.points)
        return {"lat": lat, "lon": lon}

    def queue(flt: Callable[[random.Random], dict[str, Any]]) -> Callable[[random.Random], dict[str, Any]]:
        return lambda rng: {"first": 20, "filter": flt(rng)}

    return [
        Scenario("workQueue, whole kecamatan, open", WORK_QUEUE, False, queue(lambda _: {})),
        Scenario("workQueue, overdue only", WORK_QUEUE, False, queue(lambda _: {"overdue": True})),
        Scenario("workQueue, within deadline", WORK_QUEUE, False, queue(lambda _: {"overdue": False})),
        Scenario(
            "workQueue, one category", WORK_QUEUE, False, queue(lambda rng: {"category": rng.choice(area.categories)})
        ),
        Scenario("workQueue, IN_PROGRESS", WORK_QUEUE, False, queue(lambda _: {"status": ["IN_PROGRESS"]})),
        Scenario(
            "workQueue, changed in the last hour",
            WORK_QUEUE,
            False,
            queue(lambda _: {"changedSince": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}),
        ),
        Scenario(
            "similarReports, 250 m",
            SIMILAR,
            True,
            lambda rng: {**point(rng), "category": rng.choice(area.categories)},
        ),
        Scenario("nearbyReports, 1 km, first 20", NEARBY, True, point),
    ]


def summary(times: list[float]) -> str:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return f"p50 {statistics.median(times):6.1f} ms  p90 {q[89]:6.1f} ms  p99 {q[98]:6.1f} ms  max {max(times):6.1f} ms"


async def post(client: httpx.AsyncClient, payload: dict[str, Any], token: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.post("/graphql", json=payload, headers={"Authorization": f"Bearer {token}"})
    elapsed = (time.perf_counter() - started) * 1000
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"{response.status_code} {response.text[:300]}")
    return elapsed, body["data"]


async def run(opts: argparse.Namespace) -> int:
    base = os.environ.get("JSC_DATABASE_URL")
    if not base:
        raise SystemExit("bench: no JSC_DATABASE_URL; run through `make bench-officers`")
    url = bench_url(base)
    await ensure_database(url, reports=opts.reports, seed=opts.seed)
    area = await busiest_area(url)
    email = await asyncio.to_thread(create_camat, url, area.camat_unit)
    port = int(os.environ.get("JSC_API_PORT", "47480"))
    api = start_api(url, port, documents=(SIMILAR, NEARBY))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            body = (await client.post("/graphql", json={"query": LOG_IN, "variables": {
                "login": email, "password": CAMAT_PASSWORD}})).json()  # fmt: skip
            camat = body["data"]["logIn"]["session"]["accessToken"]
            citizen = await sign_up(client, f"officers{secrets.token_hex(3)}", 0)
            conn = await asyncpg.connect(**libpq_kwargs(url))  # type: ignore[arg-type]
            try:
                reports = await conn.fetchval("SELECT count(*) FROM reports")
            finally:
                await conn.close()
            print(f"\nbench: {reports:,} reports; code {code_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
            print(f"camat of {area.kecamatan} ({area.camat_unit}): {area.open_reports:,} open reports in the area")
            print(f"{opts.requests} requests per query, one at a time; machine load {load_average()}\n")
            quiet_generator_heap()
            rng = random.Random(opts.seed)
            all_met = True
            for scenario in scenarios(area):
                token = citizen if scenario.as_citizen else camat
                try:
                    for _ in range(5):
                        await post(client, {"query": scenario.document, "variables": scenario.variables(rng)}, token)
                    times, rows = [], 0
                    for _ in range(opts.requests):
                        payload = {"query": scenario.document, "variables": scenario.variables(rng)}
                        elapsed, data = await post(client, payload, token)
                        times.append(elapsed)
                        found = next(iter(data.values()))
                        rows += len(found["edges"]) if isinstance(found, dict) else len(found)
                except RuntimeError as exc:
                    print(f"bench: {scenario.name}: {exc}")
                    return 1
                q = statistics.quantiles(times, n=100, method="inclusive")
                met = statistics.median(times) < P50_MS and q[98] < P99_MS
                all_met &= met
                verdict = f"target p50 < {P50_MS:.0f}, p99 < {P99_MS:.0f} ms: {'met' if met else 'MISSED'}"
                print(f"{scenario.name:<38} {summary(times)}  {rows / len(times):4.1f} rows  {verdict}")
            print(f"\nmachine load     {load_average()}")
            print(f"verdict          {'every target met' if all_met else 'a target MISSED (exit code 1)'}")
            return 0 if all_met else 1
    finally:
        stop(api)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in the database (default 1000000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per query (default 200)")
    parser.add_argument("--seed", type=int, default=2026)
    opts = parser.parse_args(argv)
    return asyncio.run(run(opts))


if __name__ == "__main__":
    sys.exit(main())
