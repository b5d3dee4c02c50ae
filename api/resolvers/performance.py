"""The auditors' queries: figures per unit, the leaderboard, a unit's time series, and CSV exports.

Staff only (officers, auditors, admins): the figures say how government offices work, not who reported what.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.execution import Kept
from api.resolvers.common import now
from api.schema.catalogue import Unit
from api.schema.performance import (
    Export,
    KelurahanOverdue,
    Leaderboard,
    LeaderboardEntry,
    PerformanceLevel,
    TimeIntervalEnum,
    TimeSeriesPoint,
    UnitFigures,
    UnitPerformance,
    UnitTimeSeries,
)
from domain import exports, performance
from domain.errors import DomainError
from domain.models import Export as ExportModel
from domain.models import Role, UnitKind
from domain.models import Unit as UnitModel
from domain.reference import ReferenceData

Since = Annotated[date, strawberry.argument(description="First day, Jakarta time.")]
Until = Annotated[date, strawberry.argument(description="Last day, included (a period is at most 3 years).")]
CategoryArg = Annotated[str | None, strawberry.argument(description="Only reports of this category code.")]
T = TypeVar("T")


def _bad_input(exc: DomainError) -> ClientError:
    return ClientError(ErrorCode.BAD_USER_INPUT, exc.message, field=exc.field, reason=exc.code)


def _period(since: date, until: date) -> performance.Period:
    try:
        return performance.check_period(since, until)
    except DomainError as exc:
        raise _bad_input(exc) from exc


def _category_id(reference: ReferenceData, code: str | None) -> int | None:
    if code is None:
        return None
    category = reference.category_codes.get(code)
    if category is None:
        raise ClientError(
            ErrorCode.BAD_USER_INPUT, f"No category {code!r}.", field="category", reason="UNKNOWN_CATEGORY"
        )
    return category.id


async def _presented(
    context: Context,
    question: str,
    level: PerformanceLevel,
    period: performance.Period,
    category: str | None,
    present: Callable[[list[performance.Standing]], T],
) -> T:
    """The level's standings over the period, as `present` makes them into an answer; the answer made before when
    every unit's figures are the very ones it was made from (FiguresCache.presented): then neither the ranking
    nor the API's objects are made again, and, kept as `Kept`, nor is their GraphQL completion."""
    reference = await context.resources.reference.get()
    category_id = _category_id(reference, category)
    kind = UnitKind(level.value)
    cache = context.resources.figures
    figures = await performance.figures_by_unit(
        context.public_reads,
        reference,
        kind,
        period,
        category_id=category_id,
        now=now(),
        parallel=context.settings.performance_parallel_queries,
        cache=cache,
    )
    min_reports = context.settings.ranking_min_reports

    def make() -> T:
        units = reference.units_of_kind(kind)
        return present(performance.rank(((u, figures[u.id]) for u in units), min_reports=min_reports))

    key = (question, kind, period, category_id, min_reports)
    return cache.presented(key, (reference, *figures.values()), make)


def _unit_performance(standings: list[performance.Standing]) -> Kept:
    return Kept(
        [_kept_unit(s.unit, s.figures, s.rank is not None) for s in sorted(standings, key=lambda s: s.unit.code)]
    )


# Each unit's line of an answer, kept with its completion (api/execution.py) by what it is made of: when one
# unit's figures change, the new answer completes that line alone. Equal figures make an equal line.
LINES_KEPT = 8192


@functools.lru_cache(maxsize=LINES_KEPT)
def _kept_unit(unit: UnitModel, figures: performance.Figures, ranked: bool) -> Kept:
    return Kept(UnitPerformance(unit=Unit.from_model(unit), figures=UnitFigures.from_domain(figures), ranked=ranked))


@functools.lru_cache(maxsize=LINES_KEPT)
def _kept_entry(unit: UnitModel, figures: performance.Figures, rank: int | None, unranked: str | None) -> Kept:
    parts, score = figures.scored
    return Kept(LeaderboardEntry.from_domain(performance.Standing(unit, figures, parts, score, rank, unranked)))


@strawberry.type
class PerformanceQueries:
    @strawberry.field(description="Every unit of a level with its figures over a period, in code order (staff only).")
    async def unit_performance(
        self, info: Info, level: PerformanceLevel, since: Since, until: Until, category: CategoryArg = None
    ) -> list[UnitPerformance]:
        context: Context = info.context
        context.require_staff("Performance figures are for staff.")
        kept = await _presented(context, "unitPerformance", level, _period(since, until), category, _unit_performance)
        return kept  # type: ignore[return-value]  # completed as the list it holds (api/execution.py)

    @strawberry.field(description="The units of a level ranked by score, with each part of the score (staff only).")
    async def leaderboard(
        self, info: Info, level: PerformanceLevel, since: Since, until: Until, category: CategoryArg = None
    ) -> Leaderboard:
        context: Context = info.context
        context.require_staff("Performance figures are for staff.")
        period = _period(since, until)

        def present(standings: list[performance.Standing]) -> Kept:
            return Kept(
                Leaderboard(
                    level=level,
                    since=period.since,
                    until=period.until,
                    min_reports=context.settings.ranking_min_reports,
                    # Each entry kept (completed as the entry it holds): the type says what it completes as.
                    entries=[_kept_entry(s.unit, s.figures, s.rank, s.unranked_reason) for s in standings],  # type: ignore[misc]
                )
            )

        kept = await _presented(context, "leaderboard", level, period, category, present)
        return kept  # type: ignore[return-value]  # completed as the leaderboard it holds

    @strawberry.field(description="One unit's figures per day, week or month over a period (staff only).")
    async def unit_time_series(
        self,
        info: Info,
        unit_id: Annotated[strawberry.ID, strawberry.argument(description="Unit id (Unit.id).")],
        interval: TimeIntervalEnum,  # type: ignore[valid-type]
        since: Since,
        until: Until,
        category: CategoryArg = None,
    ) -> UnitTimeSeries:
        context: Context = info.context
        context.require_staff("Performance figures are for staff.")
        period = _period(since, until)
        reference = await context.resources.reference.get()
        unit = reference.units.get(int(unit_id)) if str(unit_id).isdigit() else None
        if unit is None:
            raise ClientError(ErrorCode.NOT_FOUND, "No such unit.", field="unitId")
        category_id = _category_id(reference, category)

        try:
            buckets = await performance.time_series(
                context.public_reads,
                reference,
                unit,
                period,
                performance.Interval(interval),
                category_id=category_id,
                now=now(),
                cache=context.resources.figures,
            )
        except DomainError as exc:
            raise _bad_input(exc) from exc
        return UnitTimeSeries(
            unit=Unit.from_model(unit),
            interval=interval,
            points=[TimeSeriesPoint(start=b.start, figures=UnitFigures.from_domain(b.figures)) for b in buckets],
        )

    @strawberry.field(
        description="Open reports past their deadline now, per kelurahan, for the overdue map (staff only)."
    )
    async def overdue_by_kelurahan(self, info: Info) -> list[KelurahanOverdue]:
        context: Context = info.context
        context.require_staff("Performance figures are for staff.")
        reference = await context.resources.reference.get()

        async def run(session: AsyncSession) -> list[performance.Overdue]:
            return await performance.overdue_by_kelurahan(session, now=now())

        return [
            KelurahanOverdue(
                kelurahan_code=reference.kelurahan[o.kelurahan_id].code,
                kelurahan_name=reference.kelurahan[o.kelurahan_id].name,
                reports=o.reports,
                oldest_due_at=o.oldest_due_at,
            )
            for o in await context.db(run)
        ]

    @strawberry.field(description="One of your exports (admins see everyone's); null if there is none.")
    async def performance_export(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Export id.")]
    ) -> Export | None:
        context: Context = info.context
        context.require_staff("Performance figures are for staff.")
        viewer = context.require_viewer()
        try:
            export_id = uuid.UUID(str(id))
        except ValueError:
            return None

        async def run(session: AsyncSession) -> ExportModel | None:
            return await session.get(ExportModel, export_id)

        found = await context.db(run)
        try:
            mine = exports.check_owner(found, user_id=viewer.user_id, admin=viewer.role == Role.ADMIN)
        except DomainError:
            return None
        return Export.from_model(mine)


@strawberry.type
class PerformanceMutations:
    @strawberry.mutation(
        description=(
            "Ask for a CSV of a leaderboard (every figure of every unit of the level); a job makes it. "
            "Poll performanceExport(id) for its url (staff only; auditors may)."
        )
    )
    async def request_performance_export(
        self, info: Info, level: PerformanceLevel, since: Since, until: Until, category: CategoryArg = None
    ) -> Export:
        context: Context = info.context
        context.require_staff("Performance figures are for staff.")
        viewer = context.require_viewer()
        period = _period(since, until)
        reference = await context.resources.reference.get()
        wanted = exports.ExportRequest(UnitKind(level.value), period, _category_id(reference, category))

        async def run(session: AsyncSession) -> ExportModel:
            return await exports.request(
                session, reference, user_id=viewer.user_id, wanted=wanted, jobs=context.jobs, now=now()
            )

        return Export.from_model(await context.db(run))
