"""Types of the auditors' figures (domain/performance.py says how each is counted)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from api.schema.catalogue import Unit
from domain import performance
from domain.models import Export as ExportModel
from domain.models import ExportStatus, UnitKind


@strawberry.enum(description="The units a figure is about: kelurahan, kecamatan and kota offices, or agencies.")
class PerformanceLevel(enum.Enum):
    KELURAHAN = UnitKind.KELURAHAN.value
    KECAMATAN = UnitKind.KECAMATAN.value
    KOTA = UnitKind.KOTA.value
    AGENCY = UnitKind.AGENCY.value


TimeIntervalEnum = strawberry.enum(
    performance.Interval, name="TimeInterval", description="Buckets of a time series: days, ISO weeks or months."
)
ExportStatusEnum = strawberry.enum(ExportStatus, name="ExportStatus", description="Where an export stands.")


@strawberry.type(
    description=(
        "A unit's figures over the reports it received in a period, as they stand now. Reports it passed on "
        "(outside its remit), that were re-routed away or that it closed as duplicates are not assessed. "
        "Hours are wall-clock hours from the moment the unit received the report."
    )
)
class UnitFigures:
    received: int = strawberry.field(description="Reports the unit received in the period.")
    passed_on: int = strawberry.field(description="Passed to another unit (or re-routed away) before completion.")
    duplicates: int = strawberry.field(description="Closed as duplicates of another report.")
    assessed: int = strawberry.field(description="received - passedOn - duplicates: what the unit answers for.")
    completed: int = strawberry.field(description="Completed by the unit (at least once).")
    rejected: int = strawberry.field(description="Rejected without completion.")
    still_open: int = strawberry.field(description="Still held by the unit, not closed.")
    overdue_open: int = strawberry.field(description="Still open, never completed, past the unit's deadline.")
    completion_rate: float | None = strawberry.field(description="completed / assessed.")
    responded: int = strawberry.field(description="Answered by a status change or a disposition.")
    responded_on_time: int = strawberry.field(description="Answered within the unit's response deadline.")
    response_within_sla_rate: float | None = strawberry.field(description="respondedOnTime / received.")
    median_response_hours: float | None = strawberry.field(description="Median time to the first response.")
    p90_response_hours: float | None = strawberry.field(description="90th percentile of the same.")
    completed_on_time: int = strawberry.field(description="Completed within the unit's completion deadline.")
    completion_within_sla_rate: float | None = strawberry.field(description="completedOnTime / completed.")
    median_completion_hours: float | None = strawberry.field(description="Median time to the first completion.")
    p90_completion_hours: float | None = strawberry.field(description="90th percentile of the same.")
    escalated: int = strawberry.field(description="Escalated (a deadline missed) while the unit held them.")
    escalation_rate: float | None = strawberry.field(description="escalated / received.")
    reopened: int = strawberry.field(description="Completed, then reopened by the reporter.")
    reopen_rate: float | None = strawberry.field(description="reopened / completed.")
    ratings: int = strawberry.field(description="Completed reports the reporter rated.")
    mean_rating: float | None = strawberry.field(description="Mean of those ratings, 1 to 5.")

    @classmethod
    def from_domain(cls, f: performance.Figures) -> UnitFigures:
        return cls(**{name: getattr(f, name) for name in FIGURE_NAMES})


# Every figure of UnitFigures, read from the domain's Figures by name (a leaderboard has hundreds of units).
FIGURE_NAMES = tuple(name for name in UnitFigures.__annotations__ if not name.startswith("_"))


@strawberry.type(description="One unit's figures.")
class UnitPerformance:
    unit: Unit = strawberry.field(description="The unit.")
    figures: UnitFigures = strawberry.field(description="Its figures.")
    ranked: bool = strawberry.field(description="Whether the leaderboard ranks it (enough assessed reports, a score).")


@strawberry.type(description="One part of a leaderboard score.")
class ScoreComponent:
    name: str = strawberry.field(
        description="completion, completionOnTime, responseOnTime, notReopened or rating (see the README)."
    )
    weight: float = strawberry.field(description="Its weight; parts without a value give theirs to the others.")
    value: float | None = strawberry.field(description="0 (worst) to 1 (best); null when it cannot be measured.")


@strawberry.type(description="A unit's place on the leaderboard.")
class LeaderboardEntry:
    rank: int | None = strawberry.field(description="1 is best; equal scores share a rank; null: not ranked.")
    score: float | None = strawberry.field(description="0 to 100: the weighted mean of the components.")
    unit: Unit = strawberry.field(description="The unit.")
    components: list[ScoreComponent] = strawberry.field(description="The parts of the score.")
    figures: UnitFigures = strawberry.field(description="The figures the score comes from.")
    unranked_reason: str | None = strawberry.field(description="Why the unit has no rank.")

    @classmethod
    def from_domain(cls, s: performance.Standing) -> LeaderboardEntry:
        return cls(
            rank=s.rank,
            score=s.score,
            unit=Unit.from_model(s.unit),
            components=[ScoreComponent(name=c.name, weight=c.weight, value=c.value) for c in s.components],
            figures=UnitFigures.from_domain(s.figures),
            unranked_reason=s.unranked_reason,
        )


@strawberry.type(description="Units of one level ranked by score over a period.")
class Leaderboard:
    level: PerformanceLevel = strawberry.field(description="The level.")
    since: date = strawberry.field(description="First day (Jakarta time).")
    until: date = strawberry.field(description="Last day, included.")
    min_reports: int = strawberry.field(description="Assessed reports a unit needs to be ranked.")
    entries: list[LeaderboardEntry] = strawberry.field(description="Ranked units first, best first.")


@strawberry.type(description="The figures of the reports received in one bucket.")
class TimeSeriesPoint:
    start: date = strawberry.field(description="The bucket's first day (a Monday for weeks, the 1st for months).")
    figures: UnitFigures = strawberry.field(description="Figures of the reports received in it (within the period).")


@strawberry.type(description="A unit's figures per day, week or month.")
class UnitTimeSeries:
    unit: Unit = strawberry.field(description="The unit.")
    interval: TimeIntervalEnum = strawberry.field(description="The bucket size.")  # type: ignore[valid-type]
    points: list[TimeSeriesPoint] = strawberry.field(description="Every bucket of the period, empty ones too.")


@strawberry.type(description="Open reports of one kelurahan past their next deadline, now.")
class KelurahanOverdue:
    kelurahan_code: str = strawberry.field(description="Kemendagri code, e.g. 31.73.02.1003.")
    kelurahan_name: str = strawberry.field(description="Name.")
    reports: int = strawberry.field(description="Open reports past their deadline.")
    oldest_due_at: datetime = strawberry.field(description="The deadline of the longest overdue one.")


@strawberry.type(description="A CSV file of performance figures, made by a job.")
class Export:
    id: strawberry.ID = strawberry.field(description="Export id.")
    status: ExportStatusEnum = strawberry.field(description="PENDING, READY or FAILED.")  # type: ignore[valid-type]
    level: PerformanceLevel = strawberry.field(description="The level.")
    since: date = strawberry.field(description="First day.")
    until: date = strawberry.field(description="Last day, included.")
    category: str | None = strawberry.field(description="Category code, if only one.")
    rows: int | None = strawberry.field(description="Units in the file.")
    error: str | None = strawberry.field(description="Why it failed.")
    created_at: datetime = strawberry.field(description="When it was asked for.")
    finished_at: datetime | None = strawberry.field(description="When it was made.")
    object_key: strawberry.Private[str | None]

    @strawberry.field(description="A short-lived link to the file once READY (see the export_url_ttl_s setting).")
    async def url(self, info: Info) -> str | None:
        if self.object_key is None or self.status != ExportStatus.READY:
            return None
        settings = info.context.settings
        return await info.context.storage.presign_get(self.object_key, expires_s=settings.export_url_ttl_s)

    @classmethod
    def from_model(cls, m: ExportModel) -> Export:
        params = m.params
        return cls(
            id=strawberry.ID(str(m.id)),
            status=m.status,
            level=PerformanceLevel(params["level"]),
            since=date.fromisoformat(params["since"]),
            until=date.fromisoformat(params["until"]),
            category=params.get("category"),
            rows=m.rows,
            error=m.error,
            created_at=m.created_at,
            finished_at=m.finished_at,
            object_key=m.object_key,
        )
