"""Import of Jakarta's boundaries, agencies, categories and the units that handle reports."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import cctv_zones, templates
from domain.models import Kelurahan

KELURAHAN_FILE = "jakarta_kelurahan.geojson"
EXPECTED_KELURAHAN = 267


@dataclass(frozen=True)
class ImportResult:
    kota: int
    kecamatan: int
    kelurahan: int
    units: int
    categories: int
    skipped: bool


def read_features(data_dir: Path) -> list[dict]:
    with (data_dir / KELURAHAN_FILE).open(encoding="utf-8") as fh:
        return list(json.load(fh)["features"])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


async def jakarta_loaded(session: AsyncSession) -> bool:
    count = await session.scalar(select(func.count()).select_from(Kelurahan))
    return count == EXPECTED_KELURAHAN


async def load_jakarta(
    session: AsyncSession,
    *,
    data_dir: Path,
    progress: Callable[[int], object] | None = None,
    force: bool = False,
) -> ImportResult:
    """Loads everything once; a second call is a no-op unless ``force`` (which refreshes the catalogue only)."""
    if await jakarta_loaded(session) and not force:
        await load_catalogue(session, data_dir=data_dir)
        return await _counts(session, skipped=True)
    features = read_features(data_dir)
    await session.execute(text("DROP TABLE IF EXISTS kel_stage"))
    await session.execute(
        text(
            "CREATE TEMP TABLE kel_stage (code text, name text, kec_code text, kec_name text, kec_bps text,"
            " kota_code text, kota_name text, kota_official text, kota_bps text, bps_code text,"
            " geom geometry(MultiPolygon, 4326)) ON COMMIT DROP"
        )
    )
    insert = text(
        "INSERT INTO kel_stage VALUES (:code, :name, :kec_code, :kec_name, :kec_bps, :kota_code, :kota_name,"
        " :kota_official, :kota_bps, :bps_code,"
        " ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326)), 3)))"
    )
    for feature in features:
        props = feature["properties"]
        await session.execute(
            insert,
            {
                "code": props["kode_kel"],
                "name": props["nama_kel"],
                "kec_code": props["kode_kec"],
                "kec_name": props["nama_kec"],
                "kec_bps": props.get("kode_kec_bps"),
                "kota_code": props["kode_kota"],
                "kota_name": props["nama_kota"],
                "kota_official": props.get("nama_kota_resmi") or props["nama_kota"],
                "kota_bps": props.get("kode_kota_bps"),
                "bps_code": props.get("kode_kel_bps"),
                "geom": json.dumps(feature["geometry"]),
            },
        )
        if progress:
            progress(1)
    for statement in _DERIVE_BOUNDARIES:
        await session.execute(text(statement))
    await load_catalogue(session, data_dir=data_dir)
    await session.flush()
    return await _counts(session, skipped=False)


# Kecamatan and kota are unions of their member kelurahan so that the three levels always nest.
_DERIVE_BOUNDARIES = [
    """INSERT INTO kota (code, bps_code, name, official_name, geom)
       SELECT kota_code, min(kota_bps), min(kota_name), min(kota_official), ST_Multi(ST_Union(geom))
       FROM kel_stage GROUP BY kota_code
       ON CONFLICT (code) DO UPDATE SET name = excluded.name, official_name = excluded.official_name,
         bps_code = excluded.bps_code, geom = excluded.geom""",
    """INSERT INTO kecamatan (code, bps_code, name, kota_id, geom)
       SELECT s.kec_code, min(s.kec_bps), min(s.kec_name), min(k.id), ST_Multi(ST_Union(s.geom))
       FROM kel_stage s JOIN kota k ON k.code = s.kota_code GROUP BY s.kec_code
       ON CONFLICT (code) DO UPDATE SET name = excluded.name, bps_code = excluded.bps_code,
         kota_id = excluded.kota_id, geom = excluded.geom""",
    """INSERT INTO kelurahan (code, bps_code, name, kecamatan_id, kota_id, geom)
       SELECT s.code, s.bps_code, s.name, kc.id, kc.kota_id, s.geom
       FROM kel_stage s JOIN kecamatan kc ON kc.code = s.kec_code
       ON CONFLICT (code) DO UPDATE SET name = excluded.name, bps_code = excluded.bps_code,
         kecamatan_id = excluded.kecamatan_id, kota_id = excluded.kota_id, geom = excluded.geom""",
    """INSERT INTO units (code, kind, name, kelurahan_id, kecamatan_id, kota_id)
       SELECT 'kel-' || l.code, 'KELURAHAN', 'Kelurahan ' || l.name, l.id, l.kecamatan_id, l.kota_id
       FROM kelurahan l ON CONFLICT (code) DO NOTHING""",
    """INSERT INTO units (code, kind, name, kecamatan_id, kota_id)
       SELECT 'kec-' || c.code, 'KECAMATAN', 'Kecamatan ' || c.name, c.id, c.kota_id
       FROM kecamatan c ON CONFLICT (code) DO NOTHING""",
    """INSERT INTO units (code, kind, name, kota_id)
       SELECT 'kota-' || k.code, 'KOTA', k.official_name, k.id FROM kota k ON CONFLICT (code) DO NOTHING""",
]


async def load_catalogue(session: AsyncSession, *, data_dir: Path) -> None:
    """Agencies, their offices (one per kota for a Suku Dinas), the categories, the response templates and the
    account that files the cameras' automatic reports; safe to re-run."""
    for row in read_csv(data_dir / "agencies.csv"):
        await session.execute(
            text(
                "INSERT INTO agencies (code, name, per_kota, external) VALUES (:code, :name, :per_kota, :external)"
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name, per_kota = excluded.per_kota,"
                " external = excluded.external"
            ),
            {
                "code": row["code"],
                "name": row["name"],
                "per_kota": row["per_kota"] == "true",
                "external": row["external"] == "true",
            },
        )
    await session.execute(
        text(
            """INSERT INTO units (code, kind, name, kota_id, agency_code)
               SELECT a.code || '-' || k.code, 'AGENCY', a.name || ' ' || k.name, k.id, a.code
               FROM agencies a CROSS JOIN kota k WHERE a.per_kota
               UNION ALL
               SELECT a.code, CASE WHEN a.external THEN 'EXTERNAL' ELSE 'AGENCY' END, a.name, NULL, a.code
               FROM agencies a WHERE NOT a.per_kota
               ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind"""
        )
    )
    for order, row in enumerate(read_csv(data_dir / "categories.csv")):
        await session.execute(
            text(
                "INSERT INTO categories (code, name_id, name_en, first_handler, agency_code, sensitive, confidential,"
                " active, sort_order, response_hours, completion_hours, verification_required) VALUES (:code,"
                " :name_id, :name_en, :first_handler, :agency_code, :sensitive, :confidential, :active, :sort_order,"
                " :response_hours, :completion_hours, :verification_required)"
                # verification_required is the catalogue's first choice only: an admin's setting is kept.
                " ON CONFLICT (code) DO UPDATE SET name_id = excluded.name_id, name_en = excluded.name_en,"
                " first_handler = excluded.first_handler, agency_code = excluded.agency_code,"
                " sensitive = excluded.sensitive, confidential = excluded.confidential, active = excluded.active,"
                " sort_order = excluded.sort_order,"
                " response_hours = excluded.response_hours, completion_hours = excluded.completion_hours"
            ),
            {
                **row,
                "sensitive": row["sensitive"] == "true",
                "confidential": row["confidential"] == "true",
                "active": row["active"] == "true",
                "sort_order": order,
                "response_hours": float(row["response_hours"]),
                "completion_hours": float(row["completion_hours"]),
                "verification_required": row["verification_required"] == "true",
            },
        )
    # The city-wide routing rule of each category, from its first handler; an admin's edit of it is kept.
    await session.execute(
        text(
            """INSERT INTO routing_rules (category_id, handler, agency_code)
               SELECT c.id, CASE WHEN c.first_handler = 'KELURAHAN' THEN 'KELURAHAN' ELSE 'AGENCY' END,
                 CASE WHEN c.first_handler = 'KELURAHAN' THEN NULL ELSE c.agency_code END
               FROM categories c
               ON CONFLICT (category_id, kota_id, kecamatan_id, kelurahan_id) DO NOTHING"""
        )
    )
    await templates.seed_templates(session, data_dir=data_dir)
    await cctv_zones.system_reporter_id(session)


async def _counts(session: AsyncSession, *, skipped: bool) -> ImportResult:
    row = (
        await session.execute(
            text(
                "SELECT (SELECT count(*) FROM kota), (SELECT count(*) FROM kecamatan),"
                " (SELECT count(*) FROM kelurahan), (SELECT count(*) FROM units), (SELECT count(*) FROM categories)"
            )
        )
    ).one()
    kota, kecamatan, kelurahan, units, categories = row
    return ImportResult(kota, kecamatan, kelurahan, units, categories, skipped=skipped)
