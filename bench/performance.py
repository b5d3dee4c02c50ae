"""Auditors' figures at 1,000,000 reports: unitPerformance, leaderboard and unitTimeSeries through the API.

    make bench-performance                      # the bench stack, database jsc_perfbench, 1,000,000 reports
    make bench-performance BENCH_ARGS="--reports 100000 --requests 30"

The database is made once with `jsc demo-data` (two years of simulated history for all of Jakarta; about ten
minutes for a million reports) and kept; a run that finds it holding the wanted number of reports reuses it.
The API runs as `make run` starts it (`jsc api`, its log in bench/out); the requests are sent one after the
other (an auditor's dashboard), after a warm-up. Besides the end-to-end latency it prints the time of the same
figures through domain/performance.py alone (the query and its rows, without GraphQL), so one can see where the
time goes.

Targets: all 267 kelurahan for 30 days p50 < 20 ms (issue 18) and for a year < 300 ms (issue 6), judged with one
auditor sending the queries one after the other; with `--auditors` (10) sending them at once, each going round the
six queries, while citizens file `--file-rate` reports a second through createReport, the same p50 targets and a
30-day p99 < 100 ms (issue 18). The exit code is 1 when a target is missed.

The API keeps figures per process while their units' cases are unchanged (FiguresCache, domain/performance.py):
the one-auditor run is judged on the API as it runs, and the same queries are shown beside it through a second
API process with the cache off (JSC_PERFORMANCE_CACHE_ENTRIES=0), not judged; the run with ten auditors has
reports filed throughout, so each of them moves the counters of the kelurahan it lands in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.trusted_documents import document_id  # noqa: E402
from bench.common import (  # noqa: E402
    KELURAHAN_AT,
    SIGN_UP,
    active_categories,
    check_create,
    code_version,
    create_report_body,
    deployed_api_command,
    deployed_api_env,
    kelurahan_centroids,
    load_average,
    quiet_generator_heap,
    raised_rate_limits,
    routable,
    sign_up,
    spawn,
    stop,
    with_retries,
)
from cli.demo import AUDITOR_EMAIL, generate, libpq_kwargs  # noqa: E402
from domain import performance  # noqa: E402
from domain.models import UnitKind  # noqa: E402
from domain.reference import load_reference  # noqa: E402
from domain.resources import Resources  # noqa: E402
from domain.settings import Settings  # noqa: E402
from domain.sla import JAKARTA  # noqa: E402

DATABASE = "jsc_perfbench"
PASSWORD = "bench-auditor-password"
LOG_IN = """mutation($login: String!, $password: String!) {
  logIn(login: $login, password: $password) { session { accessToken } errors { code } }
}"""
FIGURES = "received assessed completed completionRate medianResponseHours p90CompletionHours reopenRate meanRating"
UNIT_PERFORMANCE = f"""query($level: PerformanceLevel!, $since: Date!, $until: Date!) {{
  unitPerformance(level: $level, since: $since, until: $until) {{ unit {{ code }} figures {{ {FIGURES} }} }}
}}"""
LEADERBOARD = f"""query($level: PerformanceLevel!, $since: Date!, $until: Date!) {{
  leaderboard(level: $level, since: $since, until: $until) {{
    entries {{ rank score unit {{ code }} components {{ name value }} figures {{ {FIGURES} }} }}
  }}
}}"""
CREATE_REPORT = """mutation($input: CreateReportInput!) {
  createReport(input: $input) { report { id photos { id } } errors { code message field } }
}"""
SERIES = f"""query($unit: ID!, $since: Date!, $until: Date!) {{
  unitTimeSeries(unitId: $unit, interval: WEEK, since: $since, until: $until) {{
    points {{ start figures {{ {FIGURES} }} }}
  }}
}}"""


@dataclass(frozen=True)
class Scenario:
    name: str
    document: str
    variables: dict[str, Any]
    level: UnitKind | None  # for the SQL-only measurement
    days: int
    target_ms: float | None
    p99_target_ms: float | None = None  # judged with the auditors at once


def bench_url(database_url: str) -> str:
    head, _, _ = database_url.rpartition("/")
    return f"{head}/{DATABASE}"


async def ensure_database(database_url: str, *, reports: int, seed: int) -> None:
    kwargs = libpq_kwargs(database_url)
    admin = await asyncpg.connect(**{**kwargs, "database": "postgres"})  # type: ignore[arg-type]
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
            print(f"bench: created database {DATABASE}", flush=True)
    finally:
        await admin.close()
    await asyncio.to_thread(migrate_and_load, database_url)
    conn = await asyncpg.connect(**kwargs)  # type: ignore[arg-type]
    try:
        have = await conn.fetchval("SELECT count(*) FROM reports")
    finally:
        await conn.close()
    if have >= reports:
        print(f"bench: {DATABASE} holds {have:,} reports", flush=True)
        return
    settings = Settings(database_url=database_url)
    print(f"bench: {DATABASE} holds {have:,} reports; simulating {reports - have:,} more", flush=True)
    summary = await generate(settings, reports=reports - have, seed=seed, years=2, auditor_password=PASSWORD)
    print(f"bench: {summary.reports:,} reports, {summary.history:,} history rows in {summary.seconds:.0f} s")


def migrate_and_load(database_url: str) -> None:
    env = {**os.environ, "JSC_DATABASE_URL": database_url}
    for args in (["alembic", "upgrade", "head"], ["cli.main", "load-jakarta"]):
        subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def start_api(
    database_url: str,
    port: int,
    *,
    documents: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    # Production settings (no GraphiQL, no field suggestions, trusted documents only), as the city would run it.
    # What the bench sends as the public or as citizens are its trusted documents (staff may send any text), as
    # the apps' are in production.
    manifest = ROOT / "bench" / "out" / f"performance-trusted-documents-{port}.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    trusted = (LOG_IN, SIGN_UP, KELURAHAN_AT, CREATE_REPORT, *documents)
    manifest.write_text(json.dumps({document_id(text): text for text in trusted}))
    env = {
        "JSC_DATABASE_URL": database_url,
        "JSC_ENVIRONMENT": "production",
        "JSC_GRAPHIQL": "false",
        "JSC_GRAPHQL_FIELD_SUGGESTIONS": "false",
        "JSC_TRUSTED_DOCUMENTS_PATH": str(manifest),
        **raised_rate_limits(),
        **deployed_api_env(manifest.parent / f"api-{port}"),
        **(extra_env or {}),
    }
    # As `make run` starts it (`jsc api`: its heap frozen after start-up, its full collections rarer), logging to
    # a file beside the manifest.
    return spawn(deployed_api_command(port, workers), manifest.parent / f"api-{port}.log", env)


def scenarios(kelurahan_unit_id: int) -> list[Scenario]:
    day = datetime.now(UTC).astimezone(JAKARTA).date()

    def period(days: int) -> dict[str, str]:
        return {"since": (day - timedelta(days=days - 1)).isoformat(), "until": day.isoformat()}

    def level(name: str, days: int) -> dict[str, str]:
        return {"level": name, **period(days)}

    kel, kec, agency = UnitKind.KELURAHAN, UnitKind.KECAMATAN, UnitKind.AGENCY
    return [
        Scenario("unitPerformance, 267 kelurahan, 30 days", UNIT_PERFORMANCE, level("KELURAHAN", 30), kel, 30, 20, 100),
        Scenario("unitPerformance, 267 kelurahan, a year", UNIT_PERFORMANCE, level("KELURAHAN", 365), kel, 365, 300),
        Scenario("leaderboard, 267 kelurahan, a year", LEADERBOARD, level("KELURAHAN", 365), kel, 365, None),
        Scenario("leaderboard, 44 kecamatan, a year", LEADERBOARD, level("KECAMATAN", 365), kec, 365, None),
        Scenario("leaderboard, agencies, two years", LEADERBOARD, level("AGENCY", 730), agency, 730, None),
        Scenario(
            "unitTimeSeries, one kelurahan, weekly, a year",
            SERIES,
            {"unit": str(kelurahan_unit_id), **period(365)},
            None,
            365,
            None,
        ),
    ]


async def domain_only(
    settings: Settings, level: UnitKind, days: int, runs: int, parallel: int, *, cached: bool = False
) -> list[float]:
    """The same figures through domain/performance.py in this process (the read-only pool, as the API reads
    them), without GraphQL: the queries and their rows. ``cached``: through a FiguresCache filled by a first,
    untimed call (what a hit costs: the counters, and the overdue count of the groups whose deadlines passed since)."""
    res = Resources.create(settings)
    try:
        async with res.sessions() as session:
            reference = await load_reference(session)
        day = datetime.now(UTC).astimezone(JAKARTA).date()
        period = performance.Period(day - timedelta(days=days - 1), day)
        cache = performance.FiguresCache(10_000) if cached else None
        if cache is not None:
            await performance.figures_by_unit(
                res.public_reads, reference, level, period, category_id=None, now=now(), cache=cache
            )
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await performance.figures_by_unit(
                res.public_reads, reference, level, period, category_id=None, now=now(), parallel=parallel, cache=cache
            )
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        await res.close()


def now() -> datetime:
    return datetime.now(UTC)


def summary(times: list[float]) -> str:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return f"p50 {statistics.median(times):7.1f} ms  p90 {q[89]:7.1f} ms  p99 {q[98]:7.1f} ms  max {max(times):7.1f} ms"


def verdict(scenario: Scenario, times: list[float], *, tail: bool = False) -> tuple[bool, str]:
    """(met, what to print) for a scenario with a target; (True, "") for one without. ``tail``: the p99 target
    too, where the scenario has one."""
    said, met = [], True
    if scenario.target_ms is not None:
        ok = statistics.median(times) < scenario.target_ms
        met &= ok
        said.append(f"p50 < {scenario.target_ms:.0f} ms: {'met' if ok else 'MISSED'}")
    if tail and scenario.p99_target_ms is not None and len(times) > 1:
        ok = statistics.quantiles(times, n=100, method="inclusive")[98] < scenario.p99_target_ms
        met &= ok
        said.append(f"p99 < {scenario.p99_target_ms:.0f} ms: {'met' if ok else 'MISSED'}")
    return met, f"  target {', '.join(said)}" if said else ""


async def post(
    client: httpx.AsyncClient, payload: dict[str, Any], headers: dict[str, str], *, url: str = "/graphql"
) -> float:
    """One auditor's request, in ms; a transport error, an HTTP error or a GraphQL error stops the bench."""
    started = time.perf_counter()
    response = await client.post(url, json=payload, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    # Read with orjson: the stdlib's parser took a good part of the generator's core with ten auditors (answers
    # of 70 KB), and the generator's work delays the timing of every other request in flight.
    if response.status_code != 200 or "errors" in orjson.loads(response.content):
        raise RuntimeError(f"{response.status_code} {response.text[:300]}")
    return elapsed


@dataclass
class Filing:
    """Citizens filing reports (no photo: the auditors' figures read the history, which createReport writes) at a
    fixed schedule, the n-th at start + n / rate, whatever the API's latency."""

    rate: float
    sent: int = 0
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def file_reports(
    client: httpx.AsyncClient, tokens: list[str], points: list[tuple[float, float]], filing: Filing, until: float
) -> None:
    rng = random.Random(2026)
    categories = active_categories()
    started = time.perf_counter()
    in_flight: set[asyncio.Task[None]] = set()

    async def one(token: str, body: bytes) -> None:
        sent = time.perf_counter()
        try:
            response = await client.post(
                "/graphql",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError:
            filing.errors += 1
            return
        filing.latencies.append((time.perf_counter() - sent) * 1000)
        report_id, _ = check_create(response, photos=0)
        if report_id is None:
            filing.errors += 1
        else:
            filing.ok += 1

    n = 0
    while (now := time.perf_counter()) < until:
        due = started + n / filing.rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        body = create_report_body(rng, points, categories, [], CREATE_REPORT)
        task = asyncio.create_task(one(tokens[n % len(tokens)], body))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        n += 1
    filing.sent, filing.seconds = n, time.perf_counter() - started
    await asyncio.gather(*in_flight)


async def auditors_at_once(
    client: httpx.AsyncClient, headers: dict[str, str], all_scenarios: list[Scenario], opts: argparse.Namespace
) -> bool:
    """`opts.auditors` auditors at once, each going round the queries (each from a different one; they share one
    account, which changes nothing in what is computed), while 10 citizens file `opts.file_rate` reports a second;
    `opts.concurrent_warmup` seconds of that first, then `opts.concurrent` seconds timed. True when every target
    is met and every report was filed."""
    citizens = 10
    tokens = await asyncio.gather(
        *(with_retries(lambda n, i=i: sign_up(client, f"perf{int(time.time())}", i, n)) for i in range(citizens))
    )
    points = await routable(client, random.Random(1).sample(kelurahan_centroids(), 40), 8)
    filing = Filing(opts.file_rate)
    timed_from = time.perf_counter() + opts.concurrent_warmup
    until = timed_from + opts.concurrent
    filer = asyncio.create_task(file_reports(client, list(tokens), points, filing, until))
    times: dict[str, list[float]] = {s.name: [] for s in all_scenarios}

    async def auditor(first: int) -> None:
        n = first
        while time.perf_counter() < until:
            scenario = all_scenarios[n % len(all_scenarios)]
            n += 1
            sent = time.perf_counter()
            elapsed = await post(client, {"query": scenario.document, "variables": scenario.variables}, headers)
            if sent >= timed_from:
                times[scenario.name].append(elapsed)

    load_before = load_average()
    quiet_generator_heap()
    await asyncio.gather(*(auditor(i) for i in range(opts.auditors)))
    await filer
    load_after = load_average()
    print(
        f"\n{opts.auditors} auditors at once, each going round the six queries, for {opts.concurrent:g} s (after "
        f"{opts.concurrent_warmup:g} s of warm-up), while citizens filed reports"
    )
    lat = sorted(filing.latencies)
    print(
        f"filing           {filing.sent} createReport sent in {filing.seconds:.1f} s ({filing.rate:g}/s), {filing.ok} "
        f"filed, {filing.errors} errors; createReport p50 {statistics.median(lat) if lat else math.nan:.0f} ms"
    )
    print(f"machine load     before {load_before}; after {load_after}")
    all_met = filing.errors == 0 and filing.ok > 0
    for scenario in all_scenarios:
        got = times[scenario.name]
        if not got:
            print(f"{scenario.name:<48} API  no request completed in the timed window")
            all_met &= scenario.target_ms is None
            continue
        met, said = verdict(scenario, got, tail=True)
        all_met &= met
        print(
            f"{scenario.name:<48} API  {summary(got) if len(got) > 1 else f'{got[0]:.1f} ms (one)'}  n={len(got)}{said}"
        )
    return all_met


async def run(opts: argparse.Namespace) -> int:
    base = os.environ.get("JSC_DATABASE_URL")
    if not base:
        raise SystemExit("bench: no JSC_DATABASE_URL; run through `make bench-performance`")
    url = bench_url(base)
    await ensure_database(url, reports=opts.reports, seed=opts.seed)
    port = int(os.environ.get("JSC_API_PORT", "47480"))
    api = start_api(url, port, workers=opts.api_workers)
    uncached_api = start_api(url, port + 1, extra_env={"JSC_PERFORMANCE_CACHE_ENTRIES": "0"})
    try:
        limits = httpx.Limits(max_connections=opts.auditors + 32)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
            for target in (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"):
                for _ in range(300):
                    try:
                        if (await client.get(f"{target}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            body = (await client.post("/graphql", json={"query": LOG_IN, "variables": {
                "login": AUDITOR_EMAIL, "password": PASSWORD}})).json()  # fmt: skip
            token = body["data"]["logIn"]["session"]["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            conn = await asyncpg.connect(**libpq_kwargs(url))  # type: ignore[arg-type]
            try:
                reports = await conn.fetchval("SELECT count(*) FROM reports")
                cases = await conn.fetchval("SELECT count(*) FROM report_cases")
                busiest = await conn.fetchval(
                    "SELECT c.unit_id FROM report_cases c JOIN units u ON u.id = c.unit_id "
                    "WHERE u.kind = 'KELURAHAN' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                )
            finally:
                await conn.close()
            quiet_generator_heap()
            at = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            print(f"\nbench: {reports:,} reports, {cases:,} cases; code {code_version()}; {at}")
            print(f"one auditor: {opts.requests} requests per query, one at a time; machine load {load_average()}")
            print(f"API: {opts.api_workers} uvicorn process(es) with the figures cache, one without\n")
            all_met = True
            every = scenarios(busiest)
            for scenario in every:
                payload = {"query": scenario.document, "variables": scenario.variables}
                try:
                    for _ in range(3):
                        await post(client, payload, headers)
                    times = [await post(client, payload, headers) for _ in range(opts.requests)]
                except RuntimeError as exc:
                    print(f"bench: {scenario.name}: {exc}")
                    return 1
                met, said = verdict(scenario, times)
                all_met &= met
                print(f"{scenario.name:<48} API  {summary(times)}{said}")
                try:
                    uncached = [
                        await post(client, payload, headers, url=f"http://127.0.0.1:{port + 1}/graphql")
                        for _ in range(3 + opts.requests)
                    ][3:]
                except RuntimeError as exc:
                    print(f"bench: {scenario.name} (uncached): {exc}")
                    return 1
                print(f"{'':<48} API  {summary(uncached)}  (cache off, not judged)")
                if scenario.level is not None:
                    settings = Settings(database_url=url)
                    split = settings.performance_parallel_queries
                    alone = await domain_only(settings, scenario.level, scenario.days, opts.requests, split)
                    print(f"{'':<48} DB   {summary(alone)}  ({split} queries at once, as the API)")
                    single = await domain_only(settings, scenario.level, scenario.days, opts.requests, 1)
                    print(f"{'':<48} DB   {summary(single)}  (one query)")
                    hits = await domain_only(settings, scenario.level, scenario.days, opts.requests, 1, cached=True)
                    print(f"{'':<48} DB   {summary(hits)}  (through a FiguresCache, nothing changed)")
            print(f"machine load     {load_average()}")
            if opts.auditors:
                try:
                    met = await auditors_at_once(client, headers, every, opts)
                except RuntimeError as exc:
                    print(f"bench: with {opts.auditors} auditors at once: {exc}")
                    return 1
                all_met &= met
            print(f"\nverdict          {'every target met' if all_met else 'a target MISSED (exit code 1)'}")
            return 0 if all_met else 1
    finally:
        for process in (api, uncached_api):
            stop(process)


def main(argv: list[str] | None = None) -> int:
    # A SIGTERM unwinds like Ctrl-C, so the API process started here is stopped too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in the database (default 1000000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per query, one auditor (default 50)")
    parser.add_argument("--auditors", type=int, default=10, help="auditors at once in the second run (0: none)")
    parser.add_argument("--file-rate", type=float, default=5.0, help="reports/s filed during that run (default 5)")
    parser.add_argument("--concurrent", type=float, default=60.0, help="timed seconds of that run (default 60)")
    parser.add_argument("--concurrent-warmup", type=float, default=5.0, help="its untimed start (default 5)")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn processes of the judged API (default 1)")
    parser.add_argument("--seed", type=int, default=2026)
    opts = parser.parse_args(argv)
    if opts.auditors < 0 or opts.file_rate <= 0 or opts.concurrent <= 0 or opts.concurrent_warmup < 0:
        parser.error("--auditors must not be negative; --file-rate and --concurrent must be positive")
    return asyncio.run(run(opts))


if __name__ == "__main__":
    sys.exit(main())
