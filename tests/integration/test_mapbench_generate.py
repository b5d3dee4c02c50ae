"""The map benchmark's generator (bench/map_vs_postgraphile/generate.py) inserts its reports with the per-row triggers
of `reports` off and counts the map's cells and cityStats' counters per batch in one statement each. Those counts
must be what the triggers would have left: checked here by deleting the batch again with the triggers on, which
must take every cell and counter back to where it was. All in one transaction, rolled back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench.map_vs_postgraphile import generate
from domain.public_map import CELL_LEVELS
from domain.resources import Resources

REPORTS = 1_500

CELLS = "SELECT level, cell_x, cell_y, category_id, status, count, sum_lon, sum_lat FROM report_cells"
PUBLIC_COUNTS = (
    "SELECT kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status, reports FROM public_report_counts"
)
EVERY_TILE = "SELECT coalesce(max(changes), 0) FROM map_tile_versions WHERE tx = -1 AND ty = -1"


@pytest.fixture
async def conn(resources: Resources) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(generate.libpq_dsn(resources.settings.database_url))
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


async def cells(conn: asyncpg.Connection) -> dict[tuple[object, ...], tuple[int, float, float]]:
    """Each cell's count and sums; a cell counting nothing is the same as no cell."""
    return {
        (r["level"], r["cell_x"], r["cell_y"], r["category_id"], r["status"]): (r["count"], r["sum_lon"], r["sum_lat"])
        for r in await conn.fetch(CELLS)
        if r["count"] != 0
    }


async def public_counts(conn: asyncpg.Connection) -> dict[tuple[object, ...], int]:
    return {tuple(r)[:-1]: r["reports"] for r in await conn.fetch(PUBLIC_COUNTS) if r["reports"] != 0}


async def insert_generated_batch(conn: asyncpg.Connection) -> int:
    """REPORTS generated reports over every kelurahan in one batch, every category equally likely (so that the
    sensitive and the confidential ones are drawn too)."""
    await conn.execute(generate.ALLOCATION_TABLE)
    await conn.execute("SELECT setseed(0.5)")
    await conn.execute(generate.ALLOCATE, generate.CENTRE_LON, generate.CENTRE_LAT, REPORTS, 7)
    kelurahan_ids = [r["kelurahan_id"] for r in await conn.fetch("SELECT kelurahan_id FROM mapbench_allocation")]
    categories = [r["id"] for r in await conn.fetch("SELECT id FROM categories WHERE active ORDER BY id")]
    statuses = list(generate.STATUS_WEIGHTS_OLD)
    users = [r["id"] for r in await conn.fetch("SELECT id FROM users LIMIT 10")]
    return await generate.insert_batch(
        conn,
        kelurahan_ids,
        categories,
        generate.cumulative_bounds([1.0] * len(categories)),
        statuses,
        generate.cumulative_bounds([generate.STATUS_WEIGHTS_RECENT[s] for s in statuses]),
        generate.cumulative_bounds([generate.STATUS_WEIGHTS_OLD[s] for s in statuses]),
        users,
        generate.DESCRIPTIONS,
        generate.RECENT_DAYS,
    )


async def test_a_batch_counts_what_the_triggers_would_have(conn: asyncpg.Connection) -> None:
    cells_before, counts_before = await cells(conn), await public_counts(conn)
    tiles_before = await conn.fetchval(EVERY_TILE)
    await conn.execute("CREATE TEMPORARY TABLE earlier ON COMMIT DROP AS SELECT id FROM reports")

    assert await insert_generated_batch(conn) == REPORTS
    mine = "id NOT IN (SELECT id FROM earlier)"  # the batch's reports
    drawn = await conn.fetchrow(
        "SELECT count(*) AS reports, count(*) FILTER (WHERE r.confidential) AS confidential, "
        "count(*) FILTER (WHERE c.sensitive AND NOT r.confidential) AS sensitive "
        f"FROM reports r JOIN categories c ON c.id = r.category_id WHERE r.{mine}"
    )
    assert drawn["reports"] == REPORTS
    assert drawn["confidential"] > 0
    assert drawn["sensitive"] > 0
    assert await conn.fetchval(EVERY_TILE) == tiles_before + 1
    disabled = await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'reports'::regclass AND NOT tgisinternal AND tgenabled = 'D'"
    )
    assert disabled == []
    cells_after, counts_after = await cells(conn), await public_counts(conn)
    public = REPORTS - drawn["confidential"]
    for level in range(len(CELL_LEVELS)):  # each public report counted once at each cell size
        counted = sum(c[0] for k, c in cells_after.items() if k[0] == level)
        assert counted - sum(c[0] for k, c in cells_before.items() if k[0] == level) == public
    assert sum(counts_after.values()) - sum(counts_before.values()) == public

    # The triggers (on again) take each deleted report's share away, as they count it when it comes
    await conn.execute(f"DELETE FROM reports WHERE {mine}")
    await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # cityStats' counters are kept by a deferred trigger
    assert await public_counts(conn) == counts_before
    cells_again = await cells(conn)
    assert cells_again.keys() == cells_before.keys()
    for key, (count, sum_lon, sum_lat) in cells_again.items():
        assert count == cells_before[key][0], key
        assert sum_lon == pytest.approx(cells_before[key][1], abs=1e-7), key
        assert sum_lat == pytest.approx(cells_before[key][2], abs=1e-7), key
