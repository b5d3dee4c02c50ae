"""The API's CPU per operation of the soak's mix, in this process: where a request's time goes, one kind at a time.

The soak (bench/soak.py) says how long people wait under load; this says what each kind of request costs the
API when it runs alone: CPU milliseconds per request (the app and an in-memory httpx client in this process,
no uvicorn, no contention), wall milliseconds, and the SQL statements one request runs. `--profile NAME`
prints the functions with the most cumulative time for that operation. A tool for finding and checking
optimisations against a stack that holds a city's reports (the soak's keeps 100,000 between runs):

    .venv/bin/python bench/soak.py --duration 5 --warmup 0 --spike-s 0 --keep-stack   # the soak stack, seeded
    set -a; . .stack/soak/env; set +a
    .venv/bin/python bench/operations.py [--n 300] [--only report,nearbyReports] [--profile report]

The documents are the soak's, so the figures describe the requests the soak sends.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from bench.common import record_statements  # noqa: E402
from bench.soak import (  # noqa: E402
    CITY_STATS,
    MAP_GEOJSON,
    MAP_REPORTS,
    MY_REPORTS,
    NEARBY,
    REPORT,
    REPORTS_IN_BBOX,
    TRENDING,
    viewport,
)
from domain.settings import get_settings  # noqa: E402
from tests.factories import Api  # noqa: E402

Variables = Callable[[random.Random], dict[str, Any]]


async def run(n: int, only: set[str], profile: str | None) -> None:
    app = create_app(get_settings())
    async with app.router.lifespan_context(app):
        resources = app.state.resources
        statements = record_statements(resources.engine)
        async with resources.engine.connect() as connection:
            ids = [
                str(r)
                for r in await connection.scalars(
                    text(
                        "SELECT id FROM reports WHERE NOT confidential AND hidden_at IS NULL "
                        "ORDER BY created_at DESC LIMIT 200"
                    )
                )
            ]
            centroids = [
                (float(lat), float(lon))
                for lat, lon in await connection.execute(
                    text(
                        "SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM kelurahan) k "
                        "WHERE ST_X(p) BETWEEN 106.68 AND 106.98 AND ST_Y(p) BETWEEN -6.37 AND -6.08"
                    )
                )
            ]
        if not ids or not centroids:
            raise SystemExit("operations: the stack holds no public reports or no kelurahan; seed it first")

        def box(rng: random.Random) -> dict[str, Any]:
            bbox, zoom = viewport(rng, centroids)
            return {"bbox": bbox, "zoom": zoom}

        def point(rng: random.Random) -> dict[str, Any]:
            lat, lon = rng.choice(centroids)
            return {"lat": lat, "lon": lon, "radiusM": rng.choice([500, 1000, 3000])}

        operations: dict[str, tuple[str, Variables]] = {
            "typename": ("query { __typename }", lambda rng: {}),
            "report": (REPORT, lambda rng: {"id": rng.choice(ids)}),
            "mapReports": (MAP_REPORTS, box),
            "mapGeoJSON": (MAP_GEOJSON, lambda rng: {"bbox": box(rng)["bbox"]}),
            "reportsInBbox": (REPORTS_IN_BBOX, lambda rng: {"bbox": box(rng)["bbox"]}),
            "cityStats": (
                CITY_STATS,
                lambda rng: {"groupBy": rng.choice(["KOTA", "KECAMATAN", "KELURAHAN", "CATEGORY", "UNIT"])},
            ),
            "nearbyReports": (NEARBY, point),
            "trendingReports": (TRENDING, lambda rng: {"days": rng.choice([1, 7, 30])}),
            "myReports": (MY_REPORTS, lambda rng: {"first": 20}),
        }
        unknown = (only | ({profile} if profile else set())) - set(operations)
        if unknown:
            raise SystemExit(f"operations: unknown {sorted(unknown)}; known: {', '.join(operations)}")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=60) as client:
            api = Api(client)
            citizen = await api.sign_up()
            print(f"{'operation':<16} {'CPU ms':>7} {'wall ms':>8} {'SQL':>4}")
            for name, (document, variables) in operations.items():
                if only and name not in only:
                    continue
                token = citizen.token if name == "myReports" else None
                rng = random.Random(18)
                for _ in range(20):
                    await api.gql(document, variables(rng), token=token)
                rng = random.Random(7)
                inputs = [variables(rng) for _ in range(n)]
                profiler = cProfile.Profile() if name == profile else None
                statements.clear()
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                for value in inputs:
                    body = await api.gql(document, value, token=token)
                    if body.get("errors"):
                        raise SystemExit(f"operations: {name} failed: {body['errors']}")
                if profiler:
                    profiler.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(f"{name:<16} {1000 * cpu / n:7.2f} {1000 * wall / n:8.2f} {len(statements) / n:4.1f}", flush=True)
                if profiler:
                    pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="requests per operation (after 20 not counted)")
    parser.add_argument("--only", default="", help="comma-separated operations to run (default: all)")
    parser.add_argument("--profile", help="cProfile this operation's timed requests")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    asyncio.run(run(args.n, only, args.profile))


if __name__ == "__main__":
    main()
