"""Where a report goes: the kelurahan it stands in, and the unit that handles its category there."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models.catalogue import Unit
from domain.models.enums import UnitKind
from domain.reference import ReferenceData


@dataclass(frozen=True)
class Area:
    kelurahan_id: int
    kecamatan_id: int
    kota_id: int
    kelurahan_code: str
    kota_code: str
    distance_m: float


@dataclass(frozen=True)
class CategoryRule:
    first_handler: UnitKind
    agency_code: str
    agency_per_kota: bool


def choose_unit_code(area: Area, rule: CategoryRule) -> str:
    """The code of the first handling unit (see domain/jakarta.py for how unit codes are made)."""
    if rule.first_handler == UnitKind.KELURAHAN:
        return f"kel-{area.kelurahan_code}"
    if rule.agency_per_kota:
        return f"{rule.agency_code}-{area.kota_code}"
    return rule.agency_code


# The five nearest kelurahan by the GiST index, then the exact answer: 0 when the point is inside,
# else the geodesic distance, so a point in a gap or just off the coast goes to the nearest one.
_LOCATE = text(
    """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    near AS (
      SELECT k.id, k.kecamatan_id, k.kota_id, k.code, k.geom FROM kelurahan k, p ORDER BY k.geom <-> p.g LIMIT 5
    )
    SELECT n.id, n.kecamatan_id, n.kota_id, n.code, kt.code AS kota_code,
      CASE WHEN ST_Covers(n.geom, p.g) THEN 0.0 ELSE ST_Distance(n.geom::geography, p.g::geography) END AS d
    FROM near n JOIN kota kt ON kt.id = n.kota_id, p
    ORDER BY d, n.id LIMIT 1
    """
)


def unit_for(reference: ReferenceData, code: str) -> Unit:
    unit = reference.unit_codes.get(code)
    if unit is None:
        raise LookupError(f"routing chose unit {code!r}, which is not loaded")
    return unit


async def locate(session: AsyncSession, *, lat: float, lon: float, max_distance_m: float) -> Area | None:
    row = (await session.execute(_LOCATE, {"lat": lat, "lon": lon})).one_or_none()
    if row is None or row.d > max_distance_m:
        return None
    return Area(row.id, row.kecamatan_id, row.kota_id, row.code, row.kota_code, float(row.d))
