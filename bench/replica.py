"""What the read replica buys: public map and auditor reads under load while citizens file reports, with the
reads on the replica and with everything on the primary, in the same run, on the same data.

    make bench-replica                                   # the bench stack with its replica, 100,000 reports
    make bench-replica BENCH_ARGS="--reports 20000 --seconds 10 --rounds 1"

The database (jsc_replicabench on the bench stack's primary, streamed to its replica) is simulated once with
`jsc demo-data`'s generator and kept. Two API processes serve it, started alike (production settings, the map and
figures caches off, so that each read reaches a database): one with JSC_READ_REPLICA_URL, one without. Each
round runs both, one after the other: `--readers` anonymous map readers and auditors at once, each going round
the read queries, while citizens file `--file-rate` reports a second through createReport on the primary. The
replica's own counters (/readyz, "replica") show that the reads were served there and how far it lagged.

On this machine the primary, the replica, the API and the load generator share two cores: the replica takes the
reads off the primary's connections and locks, not off the machine's CPU. Figures from here say what routing costs
and that nothing breaks; what a replica on its own machine buys is more than they show.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    code_version,
    kelurahan_centroids,
    load_average,
    percentile,
    routable,
    sign_up,
    with_retries,
)
from bench.performance import (  # noqa: E402
    LOG_IN,
    PASSWORD,
    UNIT_PERFORMANCE,
    Filing,
    file_reports,
    migrate_and_load,
    start_api,
)
from cli.demo import AUDITOR_EMAIL, generate, libpq_kwargs  # noqa: E402
from domain.replica import parse_lsn, record_start  # noqa: E402
from domain.settings import Settings  # noqa: E402

DATABASE = "jsc_replicabench"
MAP = """query($bbox: BBoxInput!, $zoom: Int!) {
  mapReports(bbox: $bbox, zoom: $zoom) { total truncated clusters { lat lon count } points { id lat lon status } }
}"""
STATS = "query { cityStats(groupBy: KOTA) { key total byStatus { status count } } }"
READY_TIMEOUT_S = 90


def with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def ensure_database(primary_url: str, *, reports: int, seed: int) -> None:
    kwargs = libpq_kwargs(primary_url)
    admin = await asyncpg.connect(**{**kwargs, "database": "postgres"})  # type: ignore[arg-type]
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    await asyncio.to_thread(migrate_and_load, primary_url)
    conn = await asyncpg.connect(**kwargs)  # type: ignore[arg-type]
    try:
        have = await conn.fetchval("SELECT count(*) FROM reports")
    finally:
        await conn.close()
    if have < reports:
        print(f"bench: {DATABASE} holds {have:,} reports; simulating {reports - have:,} more", flush=True)
        done = await generate(
            Settings(database_url=primary_url), reports=reports - have, seed=seed, years=1, auditor_password=PASSWORD
        )
        print(f"bench: {done.reports:,} reports in {done.seconds:.0f} s", flush=True)
    else:
        print(f"bench: {DATABASE} holds {have:,} reports", flush=True)


async def wait_replayed(primary_url: str, replica_url: str) -> None:
    """Until the replica has replayed what the primary has written (the generated data)."""
    primary = await asyncpg.connect(**libpq_kwargs(primary_url))  # type: ignore[arg-type]
    replica = await asyncpg.connect(**libpq_kwargs(replica_url))  # type: ignore[arg-type]
    try:
        target = record_start(parse_lsn(await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")) or 0)
        while (parse_lsn(await replica.fetchval("SELECT pg_last_wal_replay_lsn()::text")) or 0) < target:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        await primary.close()
        await replica.close()


async def wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("bench: the API did not get ready")


def read_queries(rng: random.Random, unit_level: str) -> list[dict[str, Any]]:
    """A fixed mix: map boxes of several sizes and zooms, city statistics, the auditors' unit figures."""
    queries: list[dict[str, Any]] = []
    for _ in range(40):
        lat, lon = rng.uniform(-6.35, -6.1), rng.uniform(106.7, 106.95)
        half = rng.choice((0.01, 0.03, 0.1))
        zoom = {0.01: 16, 0.03: 14, 0.1: 12}[half]
        bbox = {"west": lon - half, "south": lat - half, "east": lon + half, "north": lat + half}
        queries.append({"kind": "map", "query": MAP, "variables": {"bbox": bbox, "zoom": zoom}})
    queries.append({"kind": "stats", "query": STATS, "variables": {}})
    for days in (30, 365):
        until = time.strftime("%Y-%m-%d", time.gmtime())
        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))
        variables = {"level": unit_level, "since": since, "until": until}
        queries.append({"kind": f"auditor {days} d", "query": UNIT_PERFORMANCE, "variables": variables})
    return queries


async def one_mode(
    name: str, client: httpx.AsyncClient, auditor_token: str, opts: argparse.Namespace
) -> dict[str, Any]:
    rng = random.Random(opts.seed)
    queries = read_queries(rng, "KECAMATAN")
    tokens = await asyncio.gather(
        *(with_retries(lambda n, i=i: sign_up(client, f"replica{int(time.time())}{name}", i, n)) for i in range(5))
    )
    points = await routable(client, random.Random(1).sample(kelurahan_centroids(), 30), 4)
    before = (await client.get("/readyz")).json().get("replica", {})
    filing = Filing(opts.file_rate)
    timed_from = time.perf_counter() + opts.warmup
    until = timed_from + opts.seconds
    filer = asyncio.create_task(file_reports(client, list(tokens), points, filing, until))
    times: dict[str, list[float]] = {}
    errors = 0

    async def reader(first: int) -> None:
        nonlocal errors
        n = first * 7
        while time.perf_counter() < until:
            q = queries[n % len(queries)]
            n += 1
            headers = {"Authorization": f"Bearer {auditor_token}"} if q["kind"].startswith("auditor") else {}
            sent = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": q["query"], "variables": q["variables"]}, headers=headers
            )
            elapsed = (time.perf_counter() - sent) * 1000
            if response.status_code != 200 or "errors" in response.json():
                errors += 1
                continue
            if sent >= timed_from:
                times.setdefault(q["kind"], []).append(elapsed)

    load_before = load_average()
    await asyncio.gather(*(reader(i) for i in range(opts.readers)))
    await filer
    after = (await client.get("/readyz")).json().get("replica", {})
    return {
        "name": name,
        "times": times,
        "errors": errors,
        "filing": filing,
        "load": (load_before, load_average()),
        "replica_reads": (after.get("replica_reads_total") or 0) - (before.get("replica_reads_total") or 0),
        "fallbacks": after.get("fallback_total"),
        "lag": after.get("lag_seconds"),
    }


def show(result: dict[str, Any], seconds: float) -> None:
    times: dict[str, list[float]] = result["times"]
    total = sum(len(v) for v in times.values())
    print(f"\n{result['name']}: {total} reads in {seconds:g} s ({total / seconds:.0f}/s), {result['errors']} errors")
    for kind, got in sorted(times.items()):
        got = sorted(got)
        print(
            f"  {kind:<16} n={len(got):>5}  p50 {statistics.median(got):7.1f} ms  p95 {percentile(got, 95):7.1f} ms"
            f"  p99 {percentile(got, 99):7.1f} ms"
        )
    filing: Filing = result["filing"]
    lat = sorted(filing.latencies)
    print(
        f"  createReport     {filing.ok}/{filing.sent} filed ({filing.errors} errors)"
        f"  p50 {statistics.median(lat):.0f} ms"
        f"  p99 {percentile(lat, 99):.0f} ms"
    )
    print(
        f"  replica          queries served there {result['replica_reads']}, fallbacks {result['fallbacks']}, "
        f"lag at the end {result['lag']}"
    )
    print(f"  load             before {result['load'][0]}; after {result['load'][1]}")


async def run(opts: argparse.Namespace) -> int:
    primary_url = with_database(os.environ["JSC_DATABASE_URL"], DATABASE)
    if not os.environ.get("JSC_READ_REPLICA_URL"):
        raise SystemExit("bench: no JSC_READ_REPLICA_URL: start the bench stack with --replica (make bench-replica)")
    replica_url = with_database(os.environ["JSC_READ_REPLICA_URL"], DATABASE)
    print(f"bench: code {code_version()}, {opts.reports:,} reports, {opts.readers} readers, {opts.file_rate:g}/s filed")
    await ensure_database(primary_url, reports=opts.reports, seed=opts.seed)
    await wait_replayed(primary_url, replica_url)
    base_env = {"JSC_MAP_CACHE_ENTRIES": "0", "JSC_PERFORMANCE_CACHE_ENTRIES": "0", "JSC_READ_REPLICA_URL": ""}
    documents = (MAP, STATS, UNIT_PERFORMANCE)
    ports = {"replica": opts.port, "primary": opts.port + 1}
    procs = {
        "replica": start_api(
            primary_url,
            ports["replica"],
            documents=documents,
            extra_env={**base_env, "JSC_READ_REPLICA_URL": replica_url, "JSC_READ_REPLICA_MAX_LAG_S": "5"},
        ),
        "primary": start_api(primary_url, ports["primary"], documents=documents, extra_env=base_env),
    }
    try:
        clients = {
            name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) for name, port in ports.items()
        }
        for client in clients.values():
            await wait_ready(client)
        login = await clients["primary"].post(
            "/graphql", json={"query": LOG_IN, "variables": {"login": AUDITOR_EMAIL, "password": PASSWORD}}
        )
        token = login.json()["data"]["logIn"]["session"]["accessToken"]
        results: dict[str, list[dict[str, Any]]] = {"replica": [], "primary": []}
        for round_no in range(opts.rounds):
            order = ("replica", "primary") if round_no % 2 == 0 else ("primary", "replica")
            for name in order:
                result = await one_mode(name, clients[name], token, opts)
                results[name].append(result)
                print(f"\nround {round_no + 1}", end="")
                show(result, opts.seconds)
        print("\nmedian p50 over the rounds (ms):")
        kinds = sorted({k for rs in results.values() for r in rs for k in r["times"]})
        for kind in kinds:
            cells = []
            for name in ("replica", "primary"):
                p50s = [statistics.median(r["times"][kind]) for r in results[name] if r["times"].get(kind)]
                p99s = [percentile(sorted(r["times"][kind]), 99) for r in results[name] if r["times"].get(kind)]
                cells.append(
                    f"{name}: p50 {statistics.median(p50s):.1f} (runs {', '.join(f'{v:.1f}' for v in p50s)}), "
                    f"p99 {statistics.median(p99s):.1f}"
                )
            print(f"  {kind:<16} " + " | ".join(cells))
        for name in ("replica", "primary"):
            p50s = [statistics.median(sorted(r["filing"].latencies)) for r in results[name]]
            print(f"  createReport on {name}: p50 {statistics.median(p50s):.0f} ms (runs {p50s})")
        for client in clients.values():
            await client.aclose()
        served = sum(r["replica_reads"] for r in results["replica"])
        failed = sum(r["errors"] + r["filing"].errors for rs in results.values() for r in rs)
        if served == 0 or failed:
            print(f"bench: FAILED: {served} reads served by the replica, {failed} errors")
            return 1
        return 0
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=8, help="map readers and auditors at once")
    parser.add_argument("--file-rate", type=float, default=10.0, help="createReport a second during the run")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per mode and round")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2, help="each round runs both modes (order alternates)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--port", type=int, default=int(os.environ.get("JSC_API_PORT", "47480")) + 5)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
