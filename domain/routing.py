"""Where a report goes: the kelurahan it stands in, and the unit that handles its category there."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
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


# --- admins' edits of the rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class RuleChange:
    category: str
    area_code: str | None  # a kota (31.73), kecamatan (31.73.02) or kelurahan (31.73.02.1003) code; None city-wide
    handler: RoutingHandler
    agency_code: str | None = None
    unit_code: str | None = None


def _area_of(reference: ReferenceData, code: str | None) -> dict[str, int | None]:
    area: dict[str, int | None] = {"kota_id": None, "kecamatan_id": None, "kelurahan_id": None}
    if code is None:
        return area
    for key, rows in (
        ("kota_id", reference.kota),
        ("kecamatan_id", reference.kecamatan),
        ("kelurahan_id", reference.kelurahan),
    ):
        found = next((row.id for row in rows.values() if row.code == code), None)
        if found is not None:
            area[key] = found
            return area
    raise DomainError("UNKNOWN_AREA", f"No kota, kecamatan or kelurahan {code!r}.", field="areaCode")


async def set_rule(
    session: AsyncSession, reference: ReferenceData, *, actor_id: uuid.UUID, change: RuleChange, now: datetime
) -> RoutingRule:
    """Creates or replaces the rule of a category in an area. Reports already filed keep their unit."""
    category = reference.category_codes.get(change.category)
    if category is None:
        raise DomainError("UNKNOWN_CATEGORY", f"No category {change.category!r}.", field="category")
    area = _area_of(reference, change.area_code)
    agency_code = unit_id = None
    if change.handler == RoutingHandler.AGENCY:
        if change.agency_code not in reference.agencies:
            raise DomainError("UNKNOWN_AGENCY", f"No agency {change.agency_code!r}.", field="agencyCode")
        agency_code = change.agency_code
    elif change.handler == RoutingHandler.UNIT:
        unit = reference.unit_codes.get(change.unit_code or "")
        if unit is None:
            raise DomainError("UNKNOWN_UNIT", f"No unit {change.unit_code!r}.", field="unitCode")
        unit_id = unit.id
    elif change.agency_code or change.unit_code:
        raise DomainError("INVALID_HANDLER", "Only AGENCY takes an agency and only UNIT takes a unit.", field="handler")
    values = {
        "handler": change.handler,
        "agency_code": agency_code,
        "unit_id": unit_id,
        "updated_at": now,
        "updated_by_id": actor_id,
    }
    statement = (
        pg_insert(RoutingRule)
        .values(category_id=category.id, **area, **values)
        .on_conflict_do_update(constraint="uq_routing_rules_category_id_kota_id_kecamatan_id_kelurahan_id", set_=values)
        .returning(RoutingRule)
    )
    rule: RoutingRule = (await session.scalars(statement, execution_options={"populate_existing": True})).one()
    return rule


async def delete_rule(session: AsyncSession, *, rule_id: int) -> None:
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise DomainError("NOT_FOUND", "No such routing rule.", field="id")
    if rule.kota_id is None and rule.kecamatan_id is None and rule.kelurahan_id is None:
        raise DomainError(
            "CITY_RULE_REQUIRED", "Every category keeps its city-wide rule; change it instead.", field="id"
        )
    await session.delete(rule)
    await session.flush()
