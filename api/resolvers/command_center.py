"""The command-center wall (/command): report figures per kota and per unit under its filters, and the floodgates
with their Siaga levels. Staff only: every figure counts confidential reports too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import INT4_MAX, row_id
from api.schema.cctv import Camera
from api.schema.reports import ReportStatusEnum
from domain import command_center, models
from domain.reference import ReferenceData

MAX_SERIES_HOURS = 168


@strawberry.input(description="What the wall shows: null leaves a dimension open, a list keeps only its values.")
class WallFilterInput:
    unit_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only reports held by these units (agencies, offices), by id."
    )
    categories: list[str] | None = strawberry.field(default=None, description="Only these category codes.")
    statuses: list[ReportStatusEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only reports in these statuses."
    )


@strawberry.type(description="A kota's or a unit's reports under the wall's filter.")
class WallFigures:
    key: str = strawberry.field(description="The kota's or the unit's code.")
    name: str = strawberry.field(description="Its name.")
    open: int = strawberry.field(description="Reports not yet completed, rejected or marked duplicate.")
    overdue: int = strawberry.field(description="Open reports past their next deadline now.")
    filed_today: int = strawberry.field(description="Reports filed since midnight, Jakarta time.")


@strawberry.type(description="The wall's statistics, every figure under the same filter.")
class WallStats:
    by_kota: list[WallFigures] = strawberry.field(description="Per kota, in code order.")
    by_unit: list[WallFigures] = strawberry.field(description="Per unit holding reports, most open first.")
    open: int = strawberry.field(description="Open reports, the whole city.")
    overdue: int = strawberry.field(description="Overdue reports, the whole city.")
    filed_today: int = strawberry.field(description="Reports filed today, the whole city.")
    at: datetime = strawberry.field(description="When these figures were counted.")


@strawberry.type(description="One reading of a floodgate's water level.")
class LevelReading:
    at: datetime = strawberry.field(description="When it was read.")
    level_cm: float = strawberry.field(description="Water level on the gate's staff gauge, in centimetres.")


@strawberry.type(description="A floodgate (pintu air) camera with its Siaga levels and its recent water levels.")
class FloodgateLevel:
    camera: Camera = strawberry.field(description="The camera watching the gate.")
    siaga3_cm: float | None = strawberry.field(description="Siaga 3 (waspada) from this level; null if not set.")
    siaga2_cm: float | None = strawberry.field(description="Siaga 2 from this level; null if not set.")
    siaga1_cm: float | None = strawberry.field(description="Siaga 1 (the highest) from this level; null if not set.")
    series: list[LevelReading] = strawberry.field(
        description="The gate's readings over the period asked, oldest first, in at most 120 buckets (each its "
        "highest reading, at its start); empty for a camera without a gauge."
    )
    level_cm: float | None = strawberry.field(description="The gate's newest reading; null without one.")
    siaga: int | None = strawberry.field(
        description="1, 2 or 3 for the Siaga the gate's readings hold (several in a row); null when normal."
    )


def _wall_filter(reference: ReferenceData, flt: WallFilterInput | None) -> command_center.WallFilter:
    if flt is None:
        return command_center.WallFilter()
    unit_ids = None
    if flt.unit_ids is not None:
        unit_ids = tuple(n for n in (row_id(u, largest=INT4_MAX) for u in flt.unit_ids) if n is not None)
        if len(unit_ids) != len(flt.unit_ids):
            raise ClientError(ErrorCode.BAD_USER_INPUT, "unitIds are unit ids (numbers).")
    category_ids = None
    if flt.categories is not None:
        unknown = [code for code in flt.categories if code not in reference.category_codes]
        if unknown:
            raise ClientError(ErrorCode.BAD_USER_INPUT, f"Unknown categories: {', '.join(unknown)}.")
        category_ids = tuple(reference.category_codes[code].id for code in flt.categories)
    return command_center.WallFilter(
        category_ids=category_ids,
        statuses=tuple(models.ReportStatus(s) for s in flt.statuses) if flt.statuses is not None else None,
        unit_ids=unit_ids,
    )


@strawberry.type
class CommandCenterQueries:
    @strawberry.field(
        description="Open, overdue and filed-today reports per kota and per unit under the wall's filter (staff only)."
    )
    async def wall_stats(
        self,
        info: Info,
        filter: Annotated[WallFilterInput | None, strawberry.argument(description="What to count.")] = None,
    ) -> WallStats:
        context: Context = info.context
        context.require_staff()
        reference = await context.resources.reference.get()
        flt = _wall_filter(reference, filter)
        now = datetime.now(UTC)
        by_kota = await context.db(lambda s: command_center.figures(s, by="kota", flt=flt, now=now))
        by_unit = await context.db(lambda s: command_center.figures(s, by="unit", flt=flt, now=now))

        def named(row: command_center.Figures, place: models.Kota | models.Unit | None) -> WallFigures:
            code, name = (place.code, place.name) if place else (str(row.key_id), str(row.key_id))
            return WallFigures(key=code, name=name, open=row.open, overdue=row.overdue, filed_today=row.filed_today)

        return WallStats(
            by_kota=[named(row, reference.kota.get(row.key_id)) for row in by_kota],
            by_unit=sorted(
                (named(row, reference.units.get(row.key_id)) for row in by_unit),
                key=lambda f: (-f.open, -f.overdue, f.key),
            ),
            open=sum(row.open for row in by_unit),
            overdue=sum(row.overdue for row in by_unit),
            filed_today=sum(row.filed_today for row in by_unit),
            at=now,
        )

    @strawberry.field(
        description="The active floodgate cameras (and cameras reading a staff gauge) with their Siaga levels and "
        "their gate's water levels (staff only)."
    )
    async def floodgate_levels(
        self,
        info: Info,
        hours: Annotated[int, strawberry.argument(description="How many hours of readings, 1 to 168.")] = 24,
    ) -> list[FloodgateLevel]:
        context: Context = info.context
        viewer = context.require_staff()
        if not 1 <= hours <= MAX_SERIES_HOURS:
            raise ClientError(ErrorCode.BAD_USER_INPUT, f"`hours` must be between 1 and {MAX_SERIES_HOURS}.")
        now = datetime.now(UTC)
        gates = await context.db(lambda s: command_center.floodgate_levels(s, hours=hours, now=now))
        admin = viewer.role == models.Role.ADMIN
        answer = []
        for gate in gates:
            series = [LevelReading(at=at, level_cm=cm) for at, cm in gate.series]
            level = gate.latest[1] if gate.latest is not None else None
            answer.append(
                FloodgateLevel(
                    camera=Camera.from_model(gate.camera, admin=admin),
                    siaga3_cm=gate.siaga.siaga3_cm if gate.siaga else None,
                    siaga2_cm=gate.siaga.siaga2_cm if gate.siaga else None,
                    siaga1_cm=gate.siaga.siaga1_cm if gate.siaga else None,
                    series=series,
                    level_cm=level,
                    siaga=gate.held,  # the gate's alerting state: one misread frame does not flip it
                )
            )
        return answer
