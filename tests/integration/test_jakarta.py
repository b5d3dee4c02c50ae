from __future__ import annotations

from sqlalchemy import text

from domain import jakarta
from domain.resources import Resources


async def scalar(resources: Resources, sql: str) -> object:
    async with resources.unit_of_work() as session:
        return (await session.execute(text(sql))).scalar_one()


async def test_all_boundaries_and_units_are_loaded(resources: Resources) -> None:
    counts = await scalar(
        resources,
        "SELECT ARRAY[(SELECT count(*) FROM kelurahan), (SELECT count(*) FROM kecamatan), (SELECT count(*) FROM kota),"
        " (SELECT count(*) FROM units WHERE kind = 'KELURAHAN'), (SELECT count(*) FROM units WHERE kind = 'KECAMATAN'),"
        " (SELECT count(*) FROM units WHERE kind = 'KOTA'), (SELECT count(*) FROM categories)]",
    )

    assert counts == [267, 44, 6, 267, 44, 6, 21]


async def test_every_suku_dinas_has_an_office_in_every_kota(resources: Resources) -> None:
    missing = await scalar(
        resources,
        "SELECT count(*) FROM agencies a CROSS JOIN kota k WHERE a.per_kota AND NOT EXISTS"
        " (SELECT 1 FROM units u WHERE u.agency_code = a.code AND u.kota_id = k.id)",
    )

    assert missing == 0


async def test_kecamatan_and_kota_are_unions_of_their_kelurahan(resources: Resources) -> None:
    # Every kelurahan lies inside its kecamatan and its kota, and the areas add up.
    outside = await scalar(
        resources,
        "SELECT count(*) FROM kelurahan l JOIN kecamatan c ON c.id = l.kecamatan_id JOIN kota k ON k.id = l.kota_id"
        " WHERE NOT ST_Covers(ST_Buffer(c.geom, 1e-9), l.geom) OR NOT ST_Covers(ST_Buffer(k.geom, 1e-9), l.geom)",
    )
    area_gap = await scalar(
        resources,
        "SELECT max(abs(c.a - s.a) / c.a) FROM (SELECT id, ST_Area(geom::geography) a FROM kecamatan) c"
        " JOIN (SELECT kecamatan_id, ST_Area(ST_Union(geom)::geography) a FROM kelurahan GROUP BY kecamatan_id) s"
        " ON s.kecamatan_id = c.id",
    )

    assert outside == 0
    assert float(area_gap) < 1e-6  # type: ignore[arg-type]


async def test_boundary_tables_have_gist_indexes(resources: Resources) -> None:
    indexed = await scalar(
        resources,
        "SELECT array_agg(tablename ORDER BY tablename) FROM pg_indexes"
        " WHERE indexdef ILIKE '%USING gist%' AND tablename IN ('kelurahan', 'kecamatan', 'kota', 'reports')",
    )

    assert indexed == ["kecamatan", "kelurahan", "kota", "reports"]


async def test_loading_again_changes_nothing(resources: Resources, settings) -> None:  # type: ignore[no-untyped-def]
    async with resources.unit_of_work() as session:
        result = await jakarta.load_jakarta(session, data_dir=settings.jakarta_data_dir)

    assert result.skipped is True
    assert (result.kelurahan, result.kecamatan, result.kota) == (267, 44, 6)
