"""Where a report goes: the kelurahan it stands in, and the unit that handles its category there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models.catalogue import Category, RoutingRule, Unit
from domain.models.enums import RoutingHandler, UnitKind
from domain.reference import ReferenceData


@dataclass(frozen=True)
class Area:
    kelurahan_id: int
    kecamatan_id: int
    kota_id: int
    kelurahan_code: str
    kota_code: str
    distance_m: float


def rule_applies(rule: RoutingRule, area: Area) -> int | None:
    """How specific a rule is for a place (3 kelurahan, 2 kecamatan, 1 kota, 0 city-wide), None if not for it."""
    if rule.kelurahan_id is not None:
        return 3 if rule.kelurahan_id == area.kelurahan_id else None
    if rule.kecamatan_id is not None:
        return 2 if rule.kecamatan_id == area.kecamatan_id else None
    if rule.kota_id is not None:
        return 1 if rule.kota_id == area.kota_id else None
    return 0


def pick_rule(rules: Sequence[RoutingRule], area: Area) -> RoutingRule | None:
    """The most specific of a category's rules that covers the place."""
    ranked = [(rank, rule) for rule in rules if (rank := rule_applies(rule, area)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def handler_unit(
    reference: ReferenceData,
    handler: RoutingHandler,
    area: Area,
    *,
    agency_code: str | None = None,
    unit_id: int | None = None,
) -> Unit:
    if handler == RoutingHandler.KELURAHAN:
        return reference.office(UnitKind.KELURAHAN, area.kelurahan_id)
    if handler == RoutingHandler.KECAMATAN:
        return reference.office(UnitKind.KECAMATAN, area.kecamatan_id)
    if handler == RoutingHandler.KOTA:
        return reference.office(UnitKind.KOTA, area.kota_id)
    if handler == RoutingHandler.AGENCY and agency_code is not None:
        return reference.agency_office(agency_code, area.kota_id)
    if handler == RoutingHandler.UNIT and unit_id is not None:
        return reference.units[unit_id]
    raise ValueError(f"incomplete routing handler {handler} (agency {agency_code!r}, unit {unit_id!r})")


def first_unit(reference: ReferenceData, category: Category, area: Area) -> Unit:
    """The unit that handles a new report of this category at this place."""
    rule = pick_rule(reference.rules.get(category.id, ()), area)
    if rule is None:
        # Only before `jsc load-jakarta` has seeded the rules: the catalogue says the same thing.
        handler = RoutingHandler.KELURAHAN if category.first_handler == UnitKind.KELURAHAN else RoutingHandler.AGENCY
        return handler_unit(reference, handler, area, agency_code=category.agency_code)
    return handler_unit(reference, rule.handler, area, agency_code=rule.agency_code, unit_id=rule.unit_id)


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


async def locate(session: AsyncSession, *, lat: float, lon: float, max_distance_m: float) -> Area | None:
    row = (await session.execute(_LOCATE, {"lat": lat, "lon": lon})).one_or_none()
    if row is None or row.d > max_distance_m:
        return None
    return Area(row.id, row.kecamatan_id, row.kota_id, row.code, row.kota_code, float(row.d))
