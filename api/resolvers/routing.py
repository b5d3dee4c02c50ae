"""Routing rules: who handles a category first, city-wide or in one area. Read by staff, edited by admins."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.resolvers.common import INT4_MAX, error_code, now, row_id
from api.schema.catalogue import Category, Unit
from domain import models, routing
from domain.errors import DomainError
from domain.reference import ReferenceData

RoutingHandlerEnum = strawberry.enum(
    models.RoutingHandler,
    name="RoutingHandler",
    description="Who handles first: the report's kelurahan, kecamatan or kota office, an agency, or one unit.",
)


@strawberry.type(description="A routing rule: the first handler of a category, city-wide or in one area.")
class RoutingRule:
    id: strawberry.ID = strawberry.field(description="Rule id.")
    category: Category = strawberry.field(description="The category.")
    area_code: str | None = strawberry.field(description="The kota, kecamatan or kelurahan code; null: city-wide.")
    area_name: str | None = strawberry.field(description="Its name.")
    handler: RoutingHandlerEnum = strawberry.field(description="Who handles first.")  # type: ignore[valid-type]
    agency_code: str | None = strawberry.field(description="For AGENCY: the agency (its office for the report's kota).")
    unit: Unit | None = strawberry.field(description="For UNIT: the unit.")
    updated_at: datetime = strawberry.field(description="Last change.")

    @classmethod
    def from_model(cls, m: models.RoutingRule, reference: ReferenceData) -> RoutingRule:
        area = (
            reference.kelurahan.get(m.kelurahan_id or -1)
            or reference.kecamatan.get(m.kecamatan_id or -1)
            or reference.kota.get(m.kota_id or -1)
        )
        unit = reference.units.get(m.unit_id) if m.unit_id is not None else None
        return cls(
            id=strawberry.ID(str(m.id)),
            category=Category.from_model(reference.categories[m.category_id]),
            area_code=area.code if area else None,
            area_name=area.name if area else None,
            handler=m.handler,
            agency_code=m.agency_code,
            unit=Unit.from_model(unit) if unit else None,
            updated_at=m.updated_at,
        )


@strawberry.enum(description="Why a routing-rule change failed.")
class RoutingRuleErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    UNKNOWN_AREA = "UNKNOWN_AREA"
    UNKNOWN_AGENCY = "UNKNOWN_AGENCY"
    UNKNOWN_UNIT = "UNKNOWN_UNIT"
    INVALID_HANDLER = "INVALID_HANDLER"
    CITY_RULE_REQUIRED = "CITY_RULE_REQUIRED"


@strawberry.type(description="A routing-rule problem.")
class RoutingRuleError:
    code: RoutingRuleErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of setRoutingRule or deleteRoutingRule.")
class RoutingRulePayload:
    rule: RoutingRule | None = strawberry.field(description="The rule as saved; null on error or after a delete.")
    errors: list[RoutingRuleError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Who handles a category first, city-wide or in one area.")
class SetRoutingRuleInput:
    category: str = strawberry.field(description="Category code.")
    area_code: str | None = strawberry.field(
        default=None, description="A kota (31.73), kecamatan (31.73.02) or kelurahan code; null for city-wide."
    )
    handler: RoutingHandlerEnum = strawberry.field(description="Who handles first.")  # type: ignore[valid-type]
    agency_code: str | None = strawberry.field(default=None, description="For AGENCY.")
    unit_code: str | None = strawberry.field(default=None, description="For UNIT.")


def _require_admin(context: Context) -> None:
    viewer = context.require_viewer()
    if viewer.role != models.Role.ADMIN:
        raise DomainError("FORBIDDEN", "Only admins change routing rules.")


def _failed(context: Context, exc: DomainError) -> RoutingRulePayload:
    code = error_code(context, exc, RoutingRuleErrorCode)
    return RoutingRulePayload(rule=None, errors=[RoutingRuleError(code=code, message=exc.message, field=exc.field)])


@strawberry.type
class RoutingQueries:
    @strawberry.field(description="The routing rules, of one category or all (staff only).")
    async def routing_rules(
        self,
        info: Info,
        category: Annotated[str | None, strawberry.argument(description="Category code.")] = None,
    ) -> list[RoutingRule]:
        context: Context = info.context
        context.require_staff()
        reference = await context.resources.reference.get()
        rules = [
            rule
            for category_id, rows in reference.rules.items()
            if category is None or reference.categories[category_id].code == category
            for rule in rows
        ]
        rules.sort(key=lambda r: (reference.categories[r.category_id].sort_order, r.id))
        return [RoutingRule.from_model(r, reference) for r in rules]


@strawberry.type
class RoutingMutations:
    @strawberry.mutation(
        description="Set who handles a category first, city-wide or in one area (admins). New reports only."
    )
    async def set_routing_rule(self, info: Info, input: SetRoutingRuleInput) -> RoutingRulePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            reference = await context.resources.reference.get()
            viewer = context.require_viewer()
            change = routing.RuleChange(
                category=input.category,
                area_code=input.area_code,
                handler=input.handler,
                agency_code=input.agency_code,
                unit_code=input.unit_code,
            )

            async def run(session: AsyncSession) -> models.RoutingRule:
                return await routing.set_rule(session, reference, actor_id=viewer.user_id, change=change, now=now())

            rule = await context.db(run)
        except DomainError as exc:
            return _failed(context, exc)
        context.on_commit.append(context.resources.reference.invalidate)
        return RoutingRulePayload(rule=RoutingRule.from_model(rule, reference), errors=[])

    @strawberry.mutation(description="Remove an area's rule (admins); the city-wide rule applies there again.")
    async def delete_routing_rule(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Rule id.")]
    ) -> RoutingRulePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            rule_id = row_id(id, largest=INT4_MAX)
            if rule_id is None:
                raise DomainError("NOT_FOUND", "No such routing rule.", field="id")
            await context.db(lambda session: routing.delete_rule(session, rule_id=rule_id))
        except DomainError as exc:
            return _failed(context, exc)
        context.on_commit.append(context.resources.reference.invalidate)
        return RoutingRulePayload(rule=None, errors=[])
