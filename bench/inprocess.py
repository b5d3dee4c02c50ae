"""Where createReport's CPU goes: files N reports one after the other through the ASGI app in this process.

Prints the API-side CPU time per createReport (this process: the app and an in-memory httpx client, no
uvicorn, no contention), the SQL statements one createReport runs, and with `--profile` the functions with
the most cumulative time. A tool for finding and checking optimisations; the throughput figure that counts is
bench/submit.py's. Needs a stack's environment (see docs/benchmarks.md):

    set -a; . .stack/bench/env; set +a
    .venv/bin/python bench/inprocess.py --reports 300 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
import uuid
from pathlib import Path

import httpx

SORT = __import__("os").environ.get("SORT", "cumulative")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from bench.common import record_statements  # noqa: E402
from domain.settings import get_settings  # noqa: E402
from tests.factories import TOMANG, Api, jpeg_with_gps, report_input  # noqa: E402


async def run(reports: int, profile: bool) -> None:
    app = create_app(get_settings())
    async with app.router.lifespan_context(app):
        resources = app.state.resources
        statements = record_statements(resources.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
            api = Api(client)
            citizen = await api.sign_up()
            photo = jpeg_with_gps()
            keys = [await api.upload_photo(citizen, photo) for _ in range(reports + 20)]
            for key in keys[:20]:
                await api.create_report(citizen, photo_keys=[key], lat=TOMANG[0], lon=TOMANG[1])
            statements.clear()
            await api.create_report(citizen, photo_keys=[keys[20]])
            per_report = list(statements)
            inputs = [report_input(client_request_id=str(uuid.uuid4()), photo_keys=[k]) for k in keys[21:]]
            profiler = cProfile.Profile() if profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            from tests.factories import CREATE_REPORT

            for variables in inputs:
                body = await api.gql(CREATE_REPORT, {"input": variables}, token=citizen.token)
                assert body["data"]["createReport"]["errors"] == [], body
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = len(inputs)
    print(f"{n} createReport: {1000 * cpu / n:.1f} ms CPU and {1000 * wall / n:.1f} ms wall each")
    print(f"{len(per_report)} SQL statements per createReport:")
    for stmt in per_report:
        print("  ", " ".join(stmt.split())[:150])
    if profiler:
        pstats.Stats(profiler).sort_stats(SORT).print_stats(45)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="cProfile the timed phase")
    args = parser.parse_args()
    asyncio.run(run(args.reports, args.profile))


if __name__ == "__main__":
    main()
