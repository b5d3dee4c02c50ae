"""cityStats over all time reads public_report_counts (migration 0029), kept by a deferred trigger on reports: it
must equal grouping the reports themselves, whatever is written to them, and only what commits counts."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from cli.demo import generate
from domain import public_map
from domain.resources import Resources
from domain.settings import Settings
from tests.conftest import ROOT

GROUPINGS = tuple(public_map.GROUPINGS)

# Reports of every kelurahan's lurah unit, over a few categories and statuses, a tenth of them confidential.
INSERT_REPORTS = """
INSERT INTO reports (id, client_request_id, fingerprint, category_id, description, location, kelurahan_id,
                     kecamatan_id, kota_id, unit_id, status, confidential, routing_distance_m, anonymous)
SELECT gen_random_uuid(), 'counts-' || :run || '-' || n, 'f', c.id, 'counted', ST_PointOnSurface(k.geom),
       k.id, k.kecamatan_id, k.kota_id, u.id,
       (ARRAY['WAITING', 'IN_PROGRESS', 'COMPLETED', 'REJECTED'])[1 + n % 4], n % 10 = 0, 0, false
FROM generate_series(1, :n) AS n
JOIN LATERAL (SELECT * FROM kelurahan ORDER BY id OFFSET n % 25 LIMIT 1) AS k ON true
JOIN LATERAL (SELECT * FROM categories ORDER BY id OFFSET n % 5 LIMIT 1) AS c ON true
JOIN LATERAL (SELECT * FROM units WHERE kelurahan_id = k.id ORDER BY id LIMIT 1) AS u ON true
RETURNING id
"""


def answers(groups: Iterable[public_map.StatGroup]) -> dict[int, dict[str, int]]:
    return {g.key: {status.value: n for status, n in g.counts.items() if n} for g in groups if g.total}


async def plain_sql(resources: Resources, group_by: str) -> dict[int, dict[str, int]]:
    """The reports themselves, grouped: what cityStats answered before the counters."""
    column = public_map.GROUPINGS[group_by]
    found: dict[int, dict[str, int]] = {}
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            text(
                f"SELECT {column} AS key, r.status, count(*) AS n FROM reports r WHERE NOT r.confidential GROUP BY 1, 2"
            )
        )
        for row in rows:
            found.setdefault(row.key, {})[str(row.status)] = row.n
    return found


async def assert_counts_agree(resources: Resources) -> None:
    for group_by in GROUPINGS:
        counted = await public_map.city_stats(resources.public_reads, since=None, until=None, group_by=group_by)
        # A period reads the reports' own dates: the whole of time through that path as well.
        dated = await public_map.city_stats(
            resources.public_reads, since=datetime(2000, 1, 1, tzinfo=UTC), until=None, group_by=group_by
        )
        expected = await plain_sql(resources, group_by)
        assert answers(counted) == expected, group_by
        assert answers(dated) == expected, group_by


@pytest.fixture(scope="module")
async def seeded(resources: Resources) -> list[uuid.UUID]:
    async with resources.unit_of_work() as session:
        ids = list((await session.scalars(text(INSERT_REPORTS), {"run": uuid.uuid4().hex, "n": 200})).all())
    return ids


async def test_the_counters_equal_the_reports_grouped(resources: Resources, seeded: list[uuid.UUID]) -> None:
    async with resources.unit_of_work() as session:
        kept = await session.scalar(text("SELECT sum(reports) FROM public_report_counts"))
        public = await session.scalar(text("SELECT count(*) FROM reports WHERE NOT confidential"))

    assert kept == public >= 180
    await assert_counts_agree(resources)


async def test_every_change_that_moves_a_report_between_counters_is_counted(
    resources: Resources, seeded: list[uuid.UUID]
) -> None:
    first, second, third, fourth, fifth, sixth = seeded[1:7]
    async with resources.unit_of_work() as session:
        other = (
            await session.execute(
                text(
                    "SELECT k.id, k.kecamatan_id, k.kota_id, u.id AS unit_id FROM kelurahan k"
                    " JOIN units u ON u.kelurahan_id = k.id ORDER BY k.id DESC LIMIT 1"
                )
            )
        ).one()
        await session.execute(text("UPDATE reports SET status = 'VERIFYING' WHERE id = :id"), {"id": first})
        # Twice in one transaction: both steps count, at commit.
        await session.execute(text("UPDATE reports SET status = 'DISPOSITION' WHERE id = :id"), {"id": second})
        await session.execute(text("UPDATE reports SET status = 'COMPLETED' WHERE id = :id"), {"id": second})
        await session.execute(text("UPDATE reports SET confidential = NOT confidential WHERE id = :id"), {"id": third})
        await session.execute(
            text("UPDATE reports SET category_id = (SELECT max(id) FROM categories) WHERE id = :id"), {"id": fourth}
        )
        await session.execute(
            text(
                "UPDATE reports SET kelurahan_id = :k, kecamatan_id = :kec, kota_id = :kota, unit_id = :u"
                " WHERE id = :id"
            ),
            {"k": other.id, "kec": other.kecamatan_id, "kota": other.kota_id, "u": other.unit_id, "id": fifth},
        )
        await session.execute(text("DELETE FROM reports WHERE id = :id"), {"id": sixth})
        # A write that changes none of the counted columns moves nothing.
        await session.execute(text("UPDATE reports SET description = 'edited' WHERE id = :id"), {"id": first})

    await assert_counts_agree(resources)


async def test_what_rolls_back_is_not_counted(resources: Resources, seeded: list[uuid.UUID]) -> None:
    async with resources.unit_of_work() as session:
        before = (await session.execute(text("SELECT sum(reports), count(*) FROM public_report_counts"))).one()

    async def written_then_failed() -> None:
        async with resources.unit_of_work() as session:
            await session.execute(text(INSERT_REPORTS), {"run": uuid.uuid4().hex, "n": 20})
            await session.execute(text("UPDATE reports SET status = 'REJECTED' WHERE id = :id"), {"id": seeded[10]})
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await written_then_failed()

    async with resources.unit_of_work() as session:
        after = (await session.execute(text("SELECT sum(reports), count(*) FROM public_report_counts"))).one()
    assert after == before
    await assert_counts_agree(resources)


async def test_upgrading_counts_the_reports_already_there(resources: Resources, seeded: list[uuid.UUID]) -> None:
    """The migration's backfill, run over the reports there are now (the suite's database was migrated empty)."""
    path = ROOT / "migrations" / "versions" / "2026_12_07_0000-0029_public_report_counts.py"
    spec = importlib.util.spec_from_file_location("migration_0029", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with resources.unit_of_work() as session:
        counted = (await session.execute(text("SELECT * FROM public_report_counts WHERE reports <> 0"))).all()
        await session.execute(text("DELETE FROM public_report_counts"))
        await session.execute(text(migration.BACKFILL))
        backfilled = (await session.execute(text("SELECT * FROM public_report_counts"))).all()

    assert sorted(backfilled) == sorted(counted)
    await assert_counts_agree(resources)


async def test_demo_data_counts_its_reports_as_the_trigger_would(resources: Resources, settings: Settings) -> None:
    """`jsc demo-data` writes its reports with the per-row triggers off and counts each batch in one statement."""
    await generate(settings, reports=300, seed=11, years=1, now=datetime(2026, 11, 1, tzinfo=UTC), progress=False)

    await assert_counts_agree(resources)
