"""Fills the jsc_mapbench database with N synthetic reports over Jakarta (default 1,000,000) for the map benchmark.

Run it with the bench stack's environment loaded (JSC_DATABASE_URL names jsc_bench; this script uses a database
of its own, jsc_mapbench, on the same cluster, and leaves jsc_bench alone):

    .venv/bin/python scripts/stack.py up --profile bench
    set -a; . .stack/bench/env; set +a
    .venv/bin/python bench/map_vs_postgraphile/generate.py [--reports 1000000] [--force]

What happens: jsc_mapbench is created if missing, migrated (`alembic upgrade head`) and Jakarta loaded
(`jsc load-jakarta`), both idempotent. If it already holds exactly N reports nothing is generated (`--force`
regenerates); otherwise the reports are replaced, generated inside PostgreSQL (one INSERT ... SELECT per batch of
kelurahan, so nothing crosses the wire):

- points: ST_GeneratePoints inside each kelurahan polygon; the number per kelurahan follows its area times a
  density that falls with the distance to the centre (Monas) and varies at random per kelurahan;
- kelurahan, kecamatan, kota and unit (the kelurahan office, `kel-<code>`) are those of the polygon, routing
  distance 0, escalation level 0;
- created_at over the last two years (more in the recent months); statuses mostly COMPLETED for old reports,
  mostly open for the last two weeks; closing and response times, deadlines (calendar days, not the SLA's
  working hours) consistent with the status;
- categories weighted like a real city's (garbage, flood, traffic, ... common; terrorism rare and confidential);
- 95 % of the reports belong to 3,000 generated citizens (the rest as if their account were deleted).

Each batch is one transaction with the per-row triggers of `reports` off (`DISABLE TRIGGER USER`: the map's
cells, cityStats' counts, the tiles' change counters, the live events; the foreign keys stay checked): the
batch's report_cells (migrations 0004, 0006) and public_report_counts (migration 0029) are counted in the
statement that inserts it, from the rows it inserted, and the city-wide tile counter (-1, -1) is bumped once,
which renews every tile's ETag (migration 0022). That is what the triggers would have left
(tests/integration/test_mapbench_generate.py) in a sixth of the time: with them on, a batch of 50,000 took 85-115 s
(0.4 ms a report in the triggers, the foreign keys and the events' NOTIFY), this way 16 s, 1,000,000 reports in
330 s. The generated reports have no live events: nothing listens while the database is filled.

The run ends with VACUUM ANALYZE. Finally the function PostGraphile serves (postgraphile.sql, schema `pgl`) is
installed or replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from domain.public_map import CELL_LEVELS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DATABASE = "jsc_mapbench"
USERS = 3_000
USER_EMAILS = "mapbench-citizen-{}@example.id"
BATCH_REPORTS = 50_000  # per INSERT: progress every few seconds, and transactions of a sane size
# The client_request_id of the reports run.py's writer files during a run (and deletes after it): a database holding
# any of them is still the generated one.
WRITER_REQUEST_PREFIX = "mapbench-writer-"

# Monas, the centre the density falls off from.
CENTRE_LON, CENTRE_LAT = 106.8272, -6.1754

# Relative frequency by category code; a code not listed here (a catalogue change) gets DEFAULT_WEIGHT.
CATEGORY_WEIGHTS = {
    "garbage": 22.0,
    "flood": 14.0,
    "traffic": 12.0,
    "damaged-road": 9.0,
    "illegal-parking": 8.0,
    "street-vendors": 7.0,
    "street-light": 5.0,
    "rule-violation": 4.0,
    "public-facilities": 4.0,
    "utilities": 3.5,
    "fallen-tree": 3.0,
    "beggars": 2.0,
    "building-permit": 1.5,
    "unlicensed-ads": 1.0,
    "transjakarta": 1.0,
    "crime": 1.0,
    "no-smoking": 0.5,
    "unhygienic-food": 0.5,
    "fire": 0.4,
    "terrorism": 0.02,
}
DEFAULT_WEIGHT = 0.5

# Status mix by age: the last two weeks are still being worked on, older reports are mostly closed.
RECENT_DAYS = 14
STATUS_WEIGHTS_RECENT = {
    "WAITING": 30,
    "COORDINATION": 12,
    "DISPOSITION": 4,
    "IN_PROGRESS": 28,
    "COMPLETED": 20,
    "REJECTED": 3,
    "DUPLICATE": 2,
    "REOPENED": 1,
}
STATUS_WEIGHTS_OLD = {
    "WAITING": 1.5,
    "COORDINATION": 1.5,
    "DISPOSITION": 1,
    "IN_PROGRESS": 4,
    "COMPLETED": 80,
    "REJECTED": 7,
    "DUPLICATE": 4,
    "REOPENED": 1,
}

DESCRIPTIONS = [
    "Tumpukan sampah di pinggir jalan",
    "Air setinggi lutut di depan sekolah",
    "Jalan berlubang, berbahaya untuk motor",
    "Lampu jalan mati sejak minggu lalu",
    "Saluran air tersumbat, air meluap ke jalan",
    "Parkir liar menutup trotoar",
    "Pedagang menutup jalur pejalan kaki",
    "Macet parah di persimpangan",
    "Pohon tumbang menghalangi jalan",
    "Pipa air bocor di depan rumah",
]

# Per kelurahan: how many reports and the seed of its points. The weights are random, but setseed() makes them
# the same in every run with the same --seed.
ALLOCATION_TABLE = """
CREATE UNLOGGED TABLE IF NOT EXISTS mapbench_allocation (kelurahan_id integer PRIMARY KEY, n integer, seed integer);
TRUNCATE mapbench_allocation;
"""
ALLOCATE = """
WITH weights AS (
    SELECT k.id,
           ST_Area(k.geom::geography) / 1e6
             * (0.25 + 1.75 * exp(-ST_Distance(ST_Centroid(k.geom)::geography,
                                               ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) / 6000.0))
             * (0.5 + random()) AS w
    FROM (SELECT id, geom FROM kelurahan ORDER BY id) k
), cumulative AS (
    SELECT id, sum(w) OVER (ORDER BY id) AS upto, sum(w) OVER () AS total, w FROM weights
)
INSERT INTO mapbench_allocation (kelurahan_id, n, seed)
SELECT id, (floor($3 * upto / total) - floor($3 * (upto - w) / total))::integer, id * 7919 + $4
FROM cumulative
"""

# One batch: the points of some kelurahan, then every column from a few random numbers per row.
# width_bucket(r, lower_bounds) picks index i with probability weight[i] (the bounds are cumulative, from 0).
INSERT_BATCH = """
WITH points AS (
    SELECT a.kelurahan_id, d.geom AS location
    FROM mapbench_allocation a
    JOIN kelurahan k ON k.id = a.kelurahan_id
    -- Over a kelurahan of many islands ST_GeneratePoints rounds per island and may come short: ask for one more
    -- point per island and keep n.
    CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(k.geom, a.n + ST_NumGeometries(k.geom) + 1, a.seed)) AS d
    WHERE a.kelurahan_id = ANY($1::integer[]) AND a.n > 0 AND d.path[1] <= a.n
), drawn AS (
    SELECT p.location, k.id AS kelurahan_id, k.kecamatan_id, k.kota_id, u.id AS unit_id,
           now() - interval '730 days' * power(random(), 1.3) AS created_at,
           random() AS r_category, random() AS r_status, random() AS r_user, random() AS r_text,
           random() AS r_anonymous, random() AS r_accuracy, random() AS r_response, random() AS r_close,
           gen_random_uuid()::text AS client_request_id
    FROM points p
    JOIN kelurahan k ON k.id = p.kelurahan_id
    JOIN units u ON u.code = 'kel-' || k.code
), typed AS (
    SELECT d.*,
           ($2::integer[])[width_bucket(d.r_category, $3::float8[])] AS category_id,
           CASE WHEN d.created_at > now() - make_interval(days => $9)
                THEN ($4::text[])[width_bucket(d.r_status, $5::float8[])]
                ELSE ($4::text[])[width_bucket(d.r_status, $6::float8[])]
           END AS status
    FROM drawn d
), timed AS (
    SELECT t.*,
           CASE WHEN t.status <> 'WAITING'
                THEN least(t.created_at + interval '1 hour' * (0.5 + 47.5 * t.r_response), now()) END
             AS first_response_at,
           CASE WHEN t.status IN ('COMPLETED', 'REJECTED', 'DUPLICATE')
                THEN least(t.created_at + interval '1 hour' * (4 + 330 * t.r_close), now()) END AS closed_at
    FROM typed t
)
INSERT INTO reports (
    id, reporter_id, client_request_id, fingerprint, category_id, description, location, accuracy_m,
    kelurahan_id, kecamatan_id, kota_id, routing_distance_m, unit_id, status, anonymous, confidential,
    response_due_at, completion_due_at, due_at, first_response_at, closed_at, escalation_level,
    created_at, updated_at
)
SELECT gen_random_uuid(),
       CASE WHEN t.r_user < 0.95 THEN ($7::uuid[])[1 + floor(t.r_user / 0.95 * cardinality($7::uuid[]))::integer] END,
       t.client_request_id,
       encode(sha256(convert_to(t.client_request_id, 'UTF8')), 'hex'),
       t.category_id,
       ($8::text[])[1 + floor(t.r_text * cardinality($8::text[]))::integer],
       t.location,
       round((3 + 27 * t.r_accuracy)::numeric, 1)::float8,
       t.kelurahan_id, t.kecamatan_id, t.kota_id, 0, t.unit_id, t.status,
       t.r_anonymous < 0.1,
       c.confidential,
       t.created_at + interval '1 day',
       t.created_at + interval '5 days',
       CASE WHEN t.closed_at IS NOT NULL THEN NULL
            WHEN t.status = 'WAITING' THEN t.created_at + interval '1 day'
            ELSE t.created_at + interval '5 days' END,
       t.first_response_at, t.closed_at, 0,
       t.created_at,
       coalesce(t.closed_at, t.first_response_at, t.created_at)
FROM timed t JOIN categories c ON c.id = t.category_id
"""


# One batch in one statement: INSERT_BATCH, then what the per-row triggers of `reports` would have counted for the
# reports it inserted (and only those: the kelurahan may hold others): the map's cells at each of their sizes
# (CELL_LEVELS, $10) as jsc_report_cells_apply does (migrations 0004 and 0006: confidential reports left out,
# sensitive categories at a point rounded to 0.001 degrees), and cityStats' counters as jsc_count_public_report does
# (migration 0029). Returns the reports inserted.
BATCH = f"""
WITH inserted AS (
{INSERT_BATCH.strip()}
RETURNING id, location, category_id, status, confidential, kota_id, kecamatan_id, kelurahan_id, unit_id
), public AS (
    SELECT r.*, c.sensitive FROM inserted r JOIN categories c ON c.id = r.category_id WHERE NOT r.confidential
), cells AS (
    INSERT INTO report_cells AS rc (level, cell_x, cell_y, category_id, status, count, sum_lon, sum_lat)
    SELECT l.level, floor(p.lon / l.size)::integer, floor(p.lat / l.size)::integer, p.category_id, p.status,
           count(*), sum(p.lon), sum(p.lat)
    FROM (
        SELECT r.category_id, r.status,
               CASE WHEN r.sensitive THEN round(ST_X(r.location)::numeric, 3)::float8 ELSE ST_X(r.location) END AS lon,
               CASE WHEN r.sensitive THEN round(ST_Y(r.location)::numeric, 3)::float8 ELSE ST_Y(r.location) END AS lat
        FROM public r
    ) p
    CROSS JOIN (SELECT (n - 1)::smallint AS level, size FROM unnest($10::float8[]) WITH ORDINALITY AS l(size, n)) l
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (level, cell_x, cell_y, category_id, status) DO UPDATE
        SET count = rc.count + excluded.count, sum_lon = rc.sum_lon + excluded.sum_lon,
            sum_lat = rc.sum_lat + excluded.sum_lat
    RETURNING 1
), counts AS (
    INSERT INTO public_report_counts AS c (kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status, reports)
    SELECT kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status::text, count(*)
    FROM public
    GROUP BY kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status
    ON CONFLICT (kelurahan_id, category_id, unit_id, status, kecamatan_id, kota_id)
        DO UPDATE SET reports = c.reports + excluded.reports
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS reports, (SELECT count(*) FROM cells) AS cells,
       (SELECT count(*) FROM counts) AS counts
"""
# Every tile's ETag renewed at once (the counter of city-wide changes), instead of one count per report.
EVERY_TILE_CHANGED = """
INSERT INTO map_tile_versions AS v (tx, ty) VALUES (-1, -1) ON CONFLICT (tx, ty) DO UPDATE SET changes = v.changes + 1
"""


# One new report as createReport files it (WAITING, now), at a given point, in the kelurahan there: the writer's
# stream during a run. Its INSERT fires the same triggers as createReport's (report_cells, and the NOTIFY every API
# process drops its cached map answers on). No row when the point is in no kelurahan.
NEW_REPORT = """
WITH here AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS location),
area AS (
    SELECT k.id, k.kecamatan_id, k.kota_id, u.id AS unit_id
    FROM kelurahan k JOIN units u ON u.code = 'kel-' || k.code, here
    WHERE ST_Intersects(k.geom, here.location)
    LIMIT 1
)
INSERT INTO reports (
    id, reporter_id, client_request_id, fingerprint, category_id, description, location, accuracy_m,
    kelurahan_id, kecamatan_id, kota_id, routing_distance_m, unit_id, status, anonymous, confidential,
    response_due_at, completion_due_at, due_at, escalation_level, created_at, updated_at
)
SELECT gen_random_uuid(), NULL, $3::text, encode(sha256(convert_to($3::text, 'UTF8')), 'hex'), c.id, $5::text,
       here.location, 10,
       area.id, area.kecamatan_id, area.kota_id, 0, area.unit_id, 'WAITING', false, c.confidential,
       now() + interval '1 day', now() + interval '5 days', now() + interval '1 day', 0, now(), now()
FROM here, area JOIN categories c ON c.id = $4
"""


def mapbench_url(database_url: str) -> str:
    """The app's (SQLAlchemy) URL of the same cluster, with the database jsc_mapbench."""
    return make_url(database_url).set(database=DATABASE).render_as_string(hide_password=False)


def libpq_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def cumulative_bounds(weights: list[float]) -> list[float]:
    """Lower bounds in [0, 1) for width_bucket: index i is drawn with probability weights[i] / sum(weights)."""
    total = sum(weights)
    bounds, upto = [], 0.0
    for w in weights:
        bounds.append(upto / total)
        upto += w
    return bounds


async def ensure_database(database_url: str) -> None:
    """Creates jsc_mapbench on the cluster of `database_url` unless it exists (the stack's user may)."""
    conn = await asyncpg.connect(
        make_url(libpq_dsn(database_url)).set(database="postgres").render_as_string(hide_password=False)
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
            print(f"generate: created database {DATABASE}")
    finally:
        await conn.close()


def migrate(app_url: str) -> None:
    """`alembic upgrade head` and `jsc load-jakarta` against jsc_mapbench (both idempotent), as bench/submit.py does."""
    env = {**os.environ, "JSC_DATABASE_URL": app_url}
    for args in (["-m", "alembic", "upgrade", "head"], ["-m", "cli.main", "load-jakarta"]):
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"generate: `{' '.join(args[1:])}` failed with exit code {done.returncode}")


async def citizens(conn: asyncpg.Connection) -> list[object]:
    """The generated citizens' ids, creating the missing ones (they cannot log in: the hash is not argon2)."""
    await conn.execute(
        "INSERT INTO users (id, email, password_hash, display_name, role) "
        "SELECT gen_random_uuid(), format($1, i), '!generated', 'Warga ' || i, 'CITIZEN' "
        "FROM generate_series(1, $2) AS i ON CONFLICT (email) DO NOTHING",
        USER_EMAILS.replace("{}", "%s"),
        USERS,
    )
    rows = await conn.fetch("SELECT id FROM users WHERE email LIKE $1 ORDER BY email", USER_EMAILS.replace("{}", "%"))
    return [r["id"] for r in rows]


async def fill(conn: asyncpg.Connection, *, reports: int, seed: int) -> None:
    started = time.perf_counter()
    users = await citizens(conn)
    categories = await conn.fetch("SELECT id, code FROM categories WHERE active ORDER BY id")
    category_ids = [r["id"] for r in categories]
    category_bounds = cumulative_bounds([CATEGORY_WEIGHTS.get(r["code"], DEFAULT_WEIGHT) for r in categories])
    statuses = list(STATUS_WEIGHTS_OLD)
    recent_bounds = cumulative_bounds([STATUS_WEIGHTS_RECENT[s] for s in statuses])
    old_bounds = cumulative_bounds([STATUS_WEIGHTS_OLD[s] for s in statuses])

    # Everything that hangs off reports goes too (history, photos, notifications of this database only).
    await conn.execute("TRUNCATE reports, report_cells CASCADE")
    await conn.execute(ALLOCATION_TABLE)
    await conn.execute("SELECT setseed($1)", seed % 1000 / 1000)
    await conn.execute(ALLOCATE, CENTRE_LON, CENTRE_LAT, reports, seed)
    allocation = await conn.fetch("SELECT kelurahan_id, n FROM mapbench_allocation ORDER BY kelurahan_id")

    batches: list[list[int]] = [[]]
    in_batch = 0
    for row in allocation:
        if in_batch >= BATCH_REPORTS:
            batches.append([])
            in_batch = 0
        batches[-1].append(row["kelurahan_id"])
        in_batch += row["n"]
    print(f"generate: {reports:,} reports over {len(allocation)} kelurahan in {len(batches)} batches")

    await conn.execute("SELECT setseed($1)", (seed + 1) % 1000 / 1000)
    done = 0
    for kelurahan_ids in batches:
        done += await insert_batch(
            conn,
            kelurahan_ids,
            category_ids,
            category_bounds,
            statuses,
            recent_bounds,
            old_bounds,
            users,
            DESCRIPTIONS,
            RECENT_DAYS,
        )
        elapsed = time.perf_counter() - started
        print(f"generate: {done:>9,} / {reports:,} reports  {elapsed:6.1f} s  ({done / elapsed:,.0f}/s)", flush=True)
    if done != reports:
        raise SystemExit(f"generate: inserted {done} reports, expected {reports}")
    await conn.execute("DROP TABLE mapbench_allocation")
    print("generate: VACUUM ANALYZE")
    await conn.execute("VACUUM (ANALYZE) reports, report_cells, users")
    print(f"generate: done in {time.perf_counter() - started:.1f} s")


async def insert_batch(conn: asyncpg.Connection, kelurahan_ids: list[int], *args: object) -> int:
    """BATCH for these kelurahan (``args`` are INSERT_BATCH's parameters after the first): the reports and what the
    per-row triggers would have counted for them, in one transaction with those triggers off. Returns the reports
    inserted."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE reports DISABLE TRIGGER USER")
        inserted = await conn.fetchval(BATCH, kelurahan_ids, *args, list(CELL_LEVELS))
        await conn.execute(EVERY_TILE_CHANGED)
        await conn.execute("ALTER TABLE reports ENABLE TRIGGER USER")
    return int(inserted)


async def install_postgraphile_function(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((HERE / "postgraphile.sql").read_text())
    finally:
        await conn.close()


async def prepare(database_url: str, *, reports: int, force: bool = False, seed: int = 42) -> str:
    """jsc_mapbench created, migrated, loaded, holding `reports` reports and PostGraphile's function.

    Returns the app's URL of jsc_mapbench (for JSC_DATABASE_URL).
    """
    app_url = mapbench_url(database_url)
    await ensure_database(database_url)
    migrate(app_url)
    dsn = libpq_dsn(app_url)
    conn = await asyncpg.connect(dsn)
    try:
        # What a run's writer left behind when it was killed before it could clean up.
        await conn.execute("DELETE FROM reports WHERE client_request_id LIKE $1", WRITER_REQUEST_PREFIX + "%")
        have = await conn.fetchval("SELECT count(*) FROM reports")
        if have == reports and not force:
            print(f"generate: {DATABASE} already holds {have:,} reports (--force to regenerate)")
        else:
            if have:
                print(f"generate: {DATABASE} holds {have:,} reports; replacing them")
            await fill(conn, reports=reports, seed=seed)
    finally:
        await conn.close()
    await install_postgraphile_function(dsn)
    return app_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports to generate (default 1000000)")
    parser.add_argument("--force", action="store_true", help="regenerate even if the count is already right")
    parser.add_argument("--seed", type=int, default=42, help="seed of the allocation and the random draws")
    opts = parser.parse_args(argv)
    if opts.reports < 1:
        parser.error("--reports must be at least 1")
    database_url = os.environ.get("JSC_DATABASE_URL")
    if not database_url:
        raise SystemExit("generate: no JSC_DATABASE_URL; load the bench stack's env first (see the docstring)")
    asyncio.run(prepare(database_url, reports=opts.reports, force=opts.force, seed=opts.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
