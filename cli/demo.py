"""`jsc demo-data`: years of simulated reports for all of Jakarta (domain/demo.py), written in batches.

Each batch is one transaction: the rows are copied into temporary tables and moved into reports and the history
in filing order, so the history trigger builds report_cases exactly as the workflow's own writes would. The
live-map NOTIFY trigger is switched off inside each batch: a million reports are not news for the wall.
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.engine import make_url
from tqdm import tqdm

from domain import demo, workflow
from domain.accounts import hash_password
from domain.reference import ReferenceData
from domain.resources import Resources
from domain.routing import Area
from domain.settings import Settings, get_settings

BATCH = 10_000
DEMO_DOMAIN = "demo.jsc.invalid"
AUDITOR_EMAIL = f"auditor@{DEMO_DOMAIN}"

STAGING = """
CREATE TEMP TABLE IF NOT EXISTS demo_reports (
    id uuid, reporter_id uuid, client_request_id text, fingerprint text, category_id int, description text,
    lon float8, lat float8, kelurahan_id int, kecamatan_id int, kota_id int, unit_id int, status text,
    anonymous bool, confidential bool, created_at timestamptz, updated_at timestamptz, duplicate_of_id uuid,
    response_due_at timestamptz, completion_due_at timestamptz, due_at timestamptz,
    first_response_at timestamptz, closed_at timestamptz, escalation_level smallint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS demo_history (
    seq bigint, report_id uuid, from_status text, to_status text, actor_id uuid, at timestamptz,
    public_note text, internal_note text, kind text, from_unit_id int, to_unit_id int, escalation_level smallint,
    response_due_at timestamptz, completion_due_at timestamptz, rating smallint
) ON COMMIT DELETE ROWS;
"""

MOVE_REPORTS = """
INSERT INTO reports (id, reporter_id, client_request_id, fingerprint, category_id, description, location,
    accuracy_m, kelurahan_id, kecamatan_id, kota_id, routing_distance_m, unit_id, status, anonymous, confidential,
    created_at, updated_at, duplicate_of_id, response_due_at, completion_due_at, due_at, first_response_at,
    closed_at, escalation_level, cctv_matched_at)
SELECT id, reporter_id, client_request_id, fingerprint, category_id, description,
    ST_SetSRID(ST_MakePoint(lon, lat), 4326), 10, kelurahan_id, kecamatan_id, kota_id, 0, unit_id, status,
    anonymous, confidential, created_at, updated_at, duplicate_of_id, response_due_at, completion_due_at, due_at,
    first_response_at, closed_at, escalation_level, created_at
FROM demo_reports ORDER BY created_at
"""

MOVE_HISTORY = """
INSERT INTO report_status_changes (report_id, from_status, to_status, actor_id, at, public_note, internal_note,
    kind, from_unit_id, to_unit_id, escalation_level, response_due_at, completion_due_at, rating)
SELECT report_id, from_status, to_status, actor_id, at, public_note, internal_note, kind, from_unit_id,
    to_unit_id, escalation_level, response_due_at, completion_due_at, rating
FROM demo_history ORDER BY seq
"""

# The batch's reports as they stand once their history is in, counted as the cityStats trigger would have.
COUNT_PUBLIC_REPORTS = """
INSERT INTO public_report_counts AS c (kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status, reports)
SELECT r.kota_id, r.kecamatan_id, r.kelurahan_id, r.category_id, r.unit_id, r.status::text, count(*)
FROM reports r WHERE r.id IN (SELECT id FROM demo_reports) AND NOT r.confidential
GROUP BY r.kota_id, r.kecamatan_id, r.kelurahan_id, r.category_id, r.unit_id, r.status
ON CONFLICT (kelurahan_id, category_id, unit_id, status, kecamatan_id, kota_id)
    DO UPDATE SET reports = c.reports + excluded.reports
"""

# Random points inside each kelurahan, drawn once; reports are filed at points of this pool.
POINT_POOL = """
SELECT k.id, ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat
FROM kelurahan k
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(k.geom, $1 + ST_NumGeometries(k.geom), $2)) AS d
"""
AREAS = "SELECT id, ST_Area(geom::geography) / 1e6 AS km2 FROM kelurahan ORDER BY id"


@dataclass(frozen=True)
class Summary:
    reports: int
    history: int
    seconds: float
    auditor_created: bool


def libpq_kwargs(database_url: str) -> dict[str, object]:
    url = make_url(database_url)
    return {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "database": url.database,
    }


async def _cast(conn: asyncpg.Connection, reference: ReferenceData, *, citizens: int) -> demo.Cast:
    """Demo citizens (who cannot log in: their hash is no password's) and one officer per unit."""
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, display_name, role) "
        "SELECT gen_random_uuid(), format('warga%s@' || $2, i), '!demo', 'Warga ' || i, 'CITIZEN' "
        "FROM generate_series(1, $1) AS i ON CONFLICT (email) DO NOTHING",
        citizens,
        DEMO_DOMAIN,
    )
    people = await conn.fetch(
        "SELECT id FROM users WHERE email LIKE 'warga%@' || $1 ORDER BY email LIMIT $2", DEMO_DOMAIN, citizens
    )
    units = sorted(reference.units.values(), key=lambda u: u.code)
    await conn.executemany(
        "INSERT INTO users (id, email, password_hash, display_name, role, unit_id) "
        "VALUES (gen_random_uuid(), $1, '!demo', $2, 'OFFICER', $3) ON CONFLICT (email) DO NOTHING",
        [(f"petugas.{u.code}@{DEMO_DOMAIN}", f"Petugas {u.name}"[:80], u.id) for u in units],
    )
    officers = await conn.fetch("SELECT id, unit_id FROM users WHERE email LIKE 'petugas.%@' || $1", DEMO_DOMAIN)
    return demo.Cast(
        citizens=[r["id"] for r in people], officers={r["unit_id"]: r["id"] for r in officers if r["unit_id"]}
    )


async def _auditor(conn: asyncpg.Connection, password: str) -> bool:
    """The demo auditor account; True when it was made now (its password is then the one given)."""
    made = await conn.fetchval(
        "INSERT INTO users (id, email, password_hash, display_name, role) "
        "VALUES (gen_random_uuid(), $1, $2, 'Auditor demo', 'AUDITOR') ON CONFLICT (email) DO NOTHING RETURNING id",
        AUDITOR_EMAIL,
        hash_password(password),
    )
    return made is not None


def _areas(reference: ReferenceData) -> dict[int, Area]:
    return {
        k.id: Area(k.id, k.kecamatan_id, k.kota_id, k.code, reference.kota[k.kota_id].code, 0.0)
        for k in reference.kelurahan.values()
    }


async def generate(
    settings: Settings,
    *,
    reports: int,
    seed: int,
    years: float,
    auditor_password: str | None = None,
    now: datetime | None = None,
    progress: bool = True,
) -> Summary:
    started = datetime.now(UTC)
    res = Resources.create(settings)
    try:
        reference = await res.reference.get()
    finally:
        await res.close()
    if not reference.kelurahan:
        raise SystemExit("jsc: no kelurahan loaded; run `jsc load-jakarta` (make run does) first")
    calendar = workflow.calendar_for(settings)
    conn = await asyncpg.connect(**libpq_kwargs(settings.database_url))  # type: ignore[arg-type]
    try:
        await conn.execute(STAGING)
        cast = await _cast(conn, reference, citizens=max(100, min(20_000, reports // 50)))
        auditor_created = auditor_password is not None and await _auditor(conn, auditor_password)
        rng = random.Random(seed)
        per_kelurahan = max(20, min(2_000, reports // 400))
        pool: dict[int, list[tuple[float, float]]] = {}
        for row in await conn.fetch(POINT_POOL, per_kelurahan, seed):
            pool.setdefault(row["id"], []).append((row["lon"], row["lat"]))
        # Busier kelurahan: their area (square root: dense small ones are busy too) times a factor of their own.
        kelurahan = [(r["id"], math.sqrt(r["km2"]) * rng.lognormvariate(0, 0.5)) for r in await conn.fetch(AREAS)]
        ids = [k for k, _ in kelurahan if k in pool]
        weights = [w for k, w in kelurahan if k in pool]
        areas = _areas(reference)
        at = now or datetime.now(UTC)
        simulator = demo.Simulator(reference, calendar, cast, seed=seed, now=at)
        start = at - timedelta(days=365.25 * years)
        batches = max(1, math.ceil(reports / BATCH))
        written = history = 0
        with tqdm(
            total=reports, unit="report", desc="Simulating reports", file=sys.stderr, disable=not progress
        ) as bar:

            def simulate(b: int) -> Awaitable[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
                n = min(BATCH, reports - b * BATCH)
                return asyncio.to_thread(_batch, simulator, rng, ids, weights, pool, areas, start, n, b, batches)

            # The next batch is simulated in a thread while the database takes this one (one simulation at a
            # time, so the random generator is never shared).
            upcoming = asyncio.ensure_future(simulate(0))
            for b in range(batches):
                report_rows, history_rows = await upcoming
                if b + 1 < batches:
                    upcoming = asyncio.ensure_future(simulate(b + 1))
                await _write(conn, report_rows, history_rows)
                written += len(report_rows)
                history += len(history_rows)
                bar.update(len(report_rows))
        # VACUUM too: the figures are read from index-only scans, which want the visibility map set.
        for table in ("reports", "report_status_changes", "report_cases"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return Summary(written, history, (datetime.now(UTC) - started).total_seconds(), auditor_created)


def _batch(
    simulator: demo.Simulator,
    rng: random.Random,
    ids: Sequence[int],
    weights: Sequence[float],
    pool: dict[int, list[tuple[float, float]]],
    areas: dict[int, Area],
    start: datetime,
    n: int,
    b: int,
    batches: int,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    report_rows: list[tuple[object, ...]] = []
    history_rows: list[tuple[object, ...]] = []
    places = rng.choices(ids, weights, k=n)
    times = simulator.filing_times(n, start, b / batches, (b + 1) / batches)
    for created_at, kelurahan_id in zip(times, places, strict=True):
        lon, lat = rng.choice(pool[kelurahan_id])
        made = simulator.simulate(lon=lon, lat=lat, area=areas[kelurahan_id], created_at=created_at)
        report_rows.append(made.report)
        for row in made.history:
            history_rows.append((len(history_rows), *row))
    return report_rows, history_rows


async def _write(
    conn: asyncpg.Connection, report_rows: list[tuple[object, ...]], history_rows: list[tuple[object, ...]]
) -> None:
    async with conn.transaction():
        # The per-row triggers that announce a report, count it in its map tile, count it for cityStats and count
        # each change to a unit's cases stay off for a batch; one city-wide count below renews every tile's ETag
        # instead (migration 0022), one per unit every unit's figures (migration 0026), and the batch's reports
        # are counted for cityStats in one statement (migration 0029).
        await conn.execute("ALTER TABLE reports DISABLE TRIGGER reports_events_insert")
        await conn.execute("ALTER TABLE reports DISABLE TRIGGER reports_tile_versions_insert")
        await conn.execute("ALTER TABLE reports DISABLE TRIGGER reports_public_counts_insert")
        await conn.execute("ALTER TABLE reports DISABLE TRIGGER reports_public_counts_update")
        await conn.execute("ALTER TABLE report_cases DISABLE TRIGGER report_cases_versions")
        await conn.copy_records_to_table("demo_reports", records=report_rows, columns=list(demo.REPORT_COLUMNS))
        await conn.copy_records_to_table("demo_history", records=history_rows, columns=["seq", *demo.HISTORY_COLUMNS])
        await conn.execute(MOVE_REPORTS)
        await conn.execute(MOVE_HISTORY)
        await conn.execute(
            "INSERT INTO map_tile_versions AS v (tx, ty) VALUES (-1, -1) "
            "ON CONFLICT (tx, ty) DO UPDATE SET changes = v.changes + 1"
        )
        await conn.execute(
            "INSERT INTO unit_case_versions AS v (unit_id) SELECT id FROM units "
            "ON CONFLICT (unit_id) DO UPDATE SET version = v.version + 1"
        )
        await conn.execute(COUNT_PUBLIC_REPORTS)
        await conn.execute("ALTER TABLE report_cases ENABLE TRIGGER report_cases_versions")
        await conn.execute("ALTER TABLE reports ENABLE TRIGGER reports_public_counts_update")
        await conn.execute("ALTER TABLE reports ENABLE TRIGGER reports_public_counts_insert")
        await conn.execute("ALTER TABLE reports ENABLE TRIGGER reports_tile_versions_insert")
        await conn.execute("ALTER TABLE reports ENABLE TRIGGER reports_events_insert")


async def demo_data_command(reports: int, seed: int, years: float, auditor_password: str | None) -> int:
    password = auditor_password or secrets.token_urlsafe(12)
    summary = await generate(get_settings(), reports=reports, seed=seed, years=years, auditor_password=password)
    print(
        f"jsc: {summary.reports:,} reports with {summary.history:,} history rows over {years:g} years "
        f"in {summary.seconds:.0f} s (seed {seed})"
    )
    if summary.auditor_created:
        shown = "the password given" if auditor_password else f"password {password}"
        print(f"jsc: created {AUDITOR_EMAIL}; log in to /dashboard with {shown}")
    return 0
