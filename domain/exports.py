"""CSV exports of the performance figures: asked for in a transaction, made by a job, fetched by a short-lived
presigned URL. The job is idempotent (a READY export is left alone) and the sweep re-defers lost ones."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import performance
from domain.adapters.storage import ObjectStorage
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import Export, ExportStatus, UnitKind
from domain.reference import ReferenceData

SWEEP_GRACE = timedelta(minutes=2)  # a PENDING export older than this has lost its job
MAX_ATTEMPTS = 10  # the job's own retries, then the sweep's re-deferrals
CONTENT_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class ExportRequest:
    level: UnitKind
    period: performance.Period
    category_id: int | None

    def params(self, reference: ReferenceData) -> dict[str, str | None]:
        category = reference.categories[self.category_id].code if self.category_id is not None else None
        return {
            "level": self.level.value,
            "since": self.period.since.isoformat(),
            "until": self.period.until.isoformat(),
            "category": category,
        }

    @classmethod
    def from_params(cls, params: dict[str, str | None], reference: ReferenceData) -> ExportRequest:
        code = params.get("category")
        category = reference.category_codes.get(code) if code else None
        return cls(
            level=UnitKind(str(params["level"])),
            period=performance.Period(
                date.fromisoformat(str(params["since"])), date.fromisoformat(str(params["until"]))
            ),
            category_id=category.id if category else None,
        )


def job(jobs: JobBuffer, export_id: uuid.UUID) -> None:
    jobs.add("exports.performance", queueing_lock=f"export:{export_id}", export_id=str(export_id))


async def request(
    session: AsyncSession,
    reference: ReferenceData,
    *,
    user_id: uuid.UUID,
    wanted: ExportRequest,
    jobs: JobBuffer,
    now: datetime,
) -> Export:
    export = Export(
        id=uuid.uuid4(),
        requested_by=user_id,
        params=wanted.params(reference),
        status=ExportStatus.PENDING,
        created_at=now,
    )
    session.add(export)
    await session.flush()
    job(jobs, export.id)
    return export


# Every figure, in the order the file's columns have them: (column, how to read it off a standing).
COLUMNS = (
    "rank",
    "score",
    "unit_code",
    "unit_name",
    "unit_kind",
    "received",
    "passed_on",
    "duplicates",
    "assessed",
    "completed",
    "rejected",
    "still_open",
    "overdue_open",
    "completion_rate",
    "responded",
    "responded_on_time",
    "response_within_sla_rate",
    "median_response_hours",
    "p90_response_hours",
    "completed_on_time",
    "completion_within_sla_rate",
    "median_completion_hours",
    "p90_completion_hours",
    "escalated",
    "escalation_rate",
    "reopened",
    "reopen_rate",
    "ratings",
    "mean_rating",
    "unranked_reason",
)


def _cell(value: object) -> object:
    # repr keeps every digit of a float, so the file agrees with the API to the last bit.
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


def render_csv(standings: list[performance.Standing]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for s in standings:
        f = s.figures
        row: dict[str, object] = {
            "rank": s.rank,
            "score": s.score,
            "unit_code": s.unit.code,
            "unit_name": s.unit.name,
            "unit_kind": s.unit.kind.value,
            "unranked_reason": s.unranked_reason,
        }
        for column in COLUMNS:
            if column not in row:
                row[column] = getattr(f, column)
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    # A byte-order mark, so spreadsheet programs read the Indonesian names as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def make(
    session: AsyncSession,
    storage: ObjectStorage,
    reference: ReferenceData,
    *,
    export_id: uuid.UUID,
    min_reports: int,
    now: datetime,
    reads: performance.Reads | None = None,
) -> Export | None:
    """Computes and stores the file of a PENDING export; None when there is nothing (left) to do. The figures
    are read through ``reads`` (the worker passes its public reads, so the read replica when there is one), else
    in the session."""
    export = await session.scalar(select(Export).where(Export.id == export_id).with_for_update(skip_locked=True))
    if export is None or export.status != ExportStatus.PENDING:
        return None
    try:
        wanted = ExportRequest.from_params(export.params, reference)
    except (KeyError, ValueError) as exc:
        export.status, export.error, export.finished_at = ExportStatus.FAILED, f"bad parameters: {exc}", now
        return export
    standings = await performance.standings(
        reads or performance.SessionReads(session),
        reference,
        wanted.level,
        wanted.period,
        category_id=wanted.category_id,
        now=now,
        min_reports=min_reports,
    )
    key = f"exports/{export.id}.csv"
    await storage.write(key, render_csv(standings), content_type=CONTENT_TYPE)
    export.status, export.object_key, export.rows, export.finished_at = ExportStatus.READY, key, len(standings), now
    return export


async def start_attempt(session: AsyncSession, *, export_id: uuid.UUID) -> int | None:
    """Counts an attempt in a transaction of its own (so a failing one still counts); None: nothing to do."""
    return await session.scalar(
        update(Export)
        .where(Export.id == export_id, Export.status == ExportStatus.PENDING)
        .values(attempts=Export.attempts + 1)
        .returning(Export.attempts)
    )


async def give_up(session: AsyncSession, *, export_id: uuid.UUID, error: str, now: datetime) -> None:
    """After the last attempt: the export is FAILED with the reason, so the requester is not left waiting."""
    await session.execute(
        update(Export)
        .where(Export.id == export_id, Export.status == ExportStatus.PENDING)
        .values(status=ExportStatus.FAILED, error=error[:500], finished_at=now)
    )


async def left_pending(session: AsyncSession, *, older_than: datetime, limit: int = 100) -> list[uuid.UUID]:
    """PENDING exports whose job was lost (a crash between commit and defer, a killed worker)."""
    rows = await session.scalars(
        select(Export.id)
        .where(Export.status == ExportStatus.PENDING, Export.created_at < older_than)
        .order_by(Export.created_at)
        .limit(limit)
    )
    return list(rows)


def check_owner(export: Export | None, *, user_id: uuid.UUID, admin: bool) -> Export:
    if export is None or (export.requested_by != user_id and not admin):
        raise DomainError("NOT_FOUND", "No such export.", field="id")
    return export
