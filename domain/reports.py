"""Reports: filing one (validation, idempotency, routing, photos, history) and reading them back."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from domain import idempotency, notifications, routing, workflow
from domain import photos as photo_rules
from domain.adapters.storage import ObjectStorage
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import (
    Photo,
    PhotoStatus,
    Report,
    ReportComment,
    ReportStatus,
    ReportStatusChange,
    ReportSupport,
)
from domain.reference import ReferenceData
from domain.settings import Settings

M = TypeVar("M")


@dataclass(frozen=True)
class NewReport:
    client_request_id: str
    category: str
    description: str
    lat: float
    lon: float
    accuracy_m: float | None = None
    photo_keys: list[str] = field(default_factory=list)
    anonymous: bool = False
    confidential: bool = False


def validate_new_report(data: NewReport, settings: Settings) -> None:
    """The rules that need no database; raises the first problem found."""
    idempotency.check_client_request_id(data.client_request_id)
    if not all(math.isfinite(v) for v in (data.lat, data.lon)) or not (
        -90 <= data.lat <= 90 and -180 <= data.lon <= 180
    ):
        raise DomainError(
            "INVALID_LOCATION",
            "The location is not a valid latitude and longitude.",
            field="location",
        )
    if data.accuracy_m is not None and not (math.isfinite(data.accuracy_m) and 0 <= data.accuracy_m <= 100_000):
        raise DomainError(
            "INVALID_LOCATION",
            "accuracyM must be between 0 and 100000 metres.",
            field="location",
        )
    description = data.description.strip()
    if not description:
        raise DomainError(
            "DESCRIPTION_REQUIRED",
            "Say in a few words what is wrong.",
            field="description",
        )
    if len(description) > settings.description_max_chars:
        raise DomainError(
            "DESCRIPTION_TOO_LONG",
            f"The description is over {settings.description_max_chars} characters.",
            field="description",
        )
    if len(data.photo_keys) > settings.max_photos_per_report:
        raise DomainError(
            "TOO_MANY_PHOTOS",
            f"A report takes at most {settings.max_photos_per_report} photos.",
            field="photoKeys",
        )


def fingerprint(data: NewReport) -> str:
    """Same content, same fingerprint: a retry is recognised, a reused id with other content is not."""
    canonical = json.dumps(
        [
            data.category,
            data.description.strip(),
            data.lat,
            data.lon,
            data.accuracy_m,
            data.photo_keys,
            data.anonymous,
            # Only when set, so that reports filed before the field existed keep their fingerprint.
            *([True] if data.confidential else []),
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class FiledReport:
    """A filed report with what was written with it; `photos` and `history` are empty for a retry."""

    report: Report
    created: bool
    photos: list[Photo] = field(default_factory=list)
    history: list[ReportStatusChange] = field(default_factory=list)


async def create_report(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    reference: ReferenceData,
    *,
    reporter_id: uuid.UUID,
    data: NewReport,
    jobs: JobBuffer,
    now: datetime,
) -> FiledReport:
    validate_new_report(data, settings)
    digest = fingerprint(data)
    try:
        report, photos = await _prepare(session, storage, settings, reference, reporter_id, data, digest, now)
    except DomainError:
        # A retry must get its report back even if something changed since (the photos are now the
        # report's, the category was retired): only a request seen for the first time is judged afresh.
        existing = await _by_client_request(session, reporter_id, data.client_request_id)
        if existing is None:
            raise
        return FiledReport(_same_or_conflict(existing, digest), created=False)
    history_id = await _insert(session, report, photos, actor_id=reporter_id)
    if history_id is None:
        # Already filed (a retry, or a concurrent request with the same clientRequestId won the race).
        existing = await _by_client_request(session, reporter_id, data.client_request_id)
        if existing is None:
            raise LookupError("report insert conflicted but no report holds the clientRequestId")
        return FiledReport(_same_or_conflict(existing, digest), created=False)
    for position, photo in enumerate(photos):
        # The rows were updated by _insert; bring the loaded objects in line without another UPDATE.
        for name, value in (("report_id", report.id), ("position", position), ("status", PhotoStatus.ATTACHED)):
            set_committed_value(photo, name, value)
        jobs.add("photos.process", queueing_lock=f"photo:{photo.id}", photo_id=str(photo.id))
    jobs.add("cctv.match", queueing_lock=f"cctv-match:{report.id}", report_id=str(report.id))
    category = reference.categories[report.category_id]
    await notifications.notify_unit(
        session,
        report.unit_id,
        notifications.Message("NEW_REPORT", f"Laporan baru: {category.name_id}", report.description, report.id),
        jobs=jobs,
        now=now,
    )
    first = ReportStatusChange(
        id=history_id,
        report_id=report.id,
        to_status=ReportStatus.WAITING,
        actor_id=reporter_id,
        at=now,
        to_unit_id=report.unit_id,
        response_due_at=report.response_due_at,
        completion_due_at=report.completion_due_at,
    )
    return FiledReport(report, created=True, photos=photos, history=[first])


async def _prepare(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    reference: ReferenceData,
    reporter_id: uuid.UUID,
    data: NewReport,
    digest: str,
    now: datetime,
) -> tuple[Report, list[Photo]]:
    """Everything that can refuse the report, and the row it will be."""
    category = reference.active_category(data.category)
    if category is None:
        raise DomainError("UNKNOWN_CATEGORY", f"No category {data.category!r}.", field="category")
    area = await routing.locate(session, lat=data.lat, lon=data.lon, max_distance_m=settings.nearest_kelurahan_max_m)
    if area is None:
        raise DomainError("OUTSIDE_SERVICE_AREA", "This place is outside Jakarta's service area.", field="location")
    unit = routing.first_unit(reference, category, area)
    photos = await photo_rules.claim_for_report(
        session, storage, settings, owner_id=reporter_id, keys=list(data.photo_keys)
    )
    report = Report(
        id=uuid.uuid4(),
        reporter_id=reporter_id,
        client_request_id=data.client_request_id,
        fingerprint=digest,
        category_id=category.id,
        description=data.description.strip(),
        location=from_shape(Point(data.lon, data.lat), srid=4326),
        accuracy_m=data.accuracy_m,
        kelurahan_id=area.kelurahan_id,
        kecamatan_id=area.kecamatan_id,
        kota_id=area.kota_id,
        routing_distance_m=area.distance_m,
        unit_id=unit.id,
        status=ReportStatus.WAITING,
        anonymous=data.anonymous,
        confidential=data.confidential or category.confidential,
        escalation_level=0,
        created_at=now,
        updated_at=now,
    )
    workflow.start_clock(report, category, workflow.calendar_for(settings))
    return report, photos


_REPORT_COLUMNS = [c.key for c in Report.__table__.columns]


async def _insert(session: AsyncSession, report: Report, photos: list[Photo], *, actor_id: uuid.UUID) -> int | None:
    """Writes the report, its first history row and its photos' claim in one statement (one round trip).

    Returns the history row's id, or None when a report with the same clientRequestId exists (nothing is
    written then).
    """
    new = (
        pg_insert(Report)
        .values({name: getattr(report, name) for name in _REPORT_COLUMNS})
        .on_conflict_do_nothing(index_elements=[Report.reporter_id, Report.client_request_id])
        .returning(Report.id)
        .cte("new_report")
    )
    history = (
        insert(ReportStatusChange)
        .from_select(
            ["report_id", "to_status", "actor_id", "at", "to_unit_id", "response_due_at", "completion_due_at"],
            select(
                new.c.id,
                literal(ReportStatus.WAITING, ReportStatusChange.to_status.type),
                literal(actor_id, ReportStatusChange.actor_id.type),
                literal(report.created_at, ReportStatusChange.at.type),
                # The unit's case (migration 0009) starts here, with the report's own deadlines.
                literal(report.unit_id, ReportStatusChange.to_unit_id.type),
                literal(report.response_due_at, ReportStatusChange.response_due_at.type),
                literal(report.completion_due_at, ReportStatusChange.completion_due_at.type),
            ),
        )
        .returning(ReportStatusChange.id)
        .cte("history")
    )
    statement = select(history.c.id).add_cte(new)
    if photos:
        claim = (
            update(Photo)
            .where(Photo.id.in_([p.id for p in photos]), exists(select(new.c.id)))
            .values(
                report_id=select(new.c.id).scalar_subquery(),
                status=PhotoStatus.ATTACHED,
                position=case({p.id: i for i, p in enumerate(photos)}, value=Photo.id),
            )
            .cte("claim")
        )
        statement = statement.add_cte(claim)
    return await session.scalar(statement)


def _same_or_conflict(existing: Report, digest: str) -> Report:
    if existing.fingerprint != digest:
        raise DomainError(
            "CONFLICT",
            "This clientRequestId was already used for a different report.",
            field="clientRequestId",
        )
    return existing


async def _by_client_request(session: AsyncSession, reporter_id: uuid.UUID, client_request_id: str) -> Report | None:
    return await session.scalar(
        select(Report).where(
            Report.reporter_id == reporter_id,
            Report.client_request_id == client_request_id,
        )
    )


# --- reading ---------------------------------------------------------------------------------


def my_reports_query(reporter_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int) -> Select:
    query = select(Report).where(Report.reporter_id == reporter_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                Report.created_at < at,
                and_(Report.created_at == at, Report.id < last_id),
            )
        )
    return query.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)


async def my_reports(
    session: AsyncSession,
    *,
    reporter_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Report]:
    return list(await session.scalars(my_reports_query(reporter_id, after=after, limit=limit)))


# --- a report's page in one statement -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPage:
    """A report and what its page shows, from one statement; None where the page did not ask for it."""

    report: Report
    photos: list[Photo] | None = None  # both kinds, in their order
    history: list[ReportStatusChange] | None = None  # oldest first
    supports: int | None = None
    comments: list[ReportComment] | None = None  # the first `comments` of them, oldest first


async def report_page(
    session: AsyncSession,
    report_id: uuid.UUID,
    *,
    photos: bool = False,
    history: bool = False,
    supports: bool = False,
    comments: int | None = None,
) -> ReportPage | None:
    """The report with its photos, history, support count and first comments, as asked, in one statement.

    A report page asked each of them by a query of its own (six statements through the ORM): here each is a
    subquery of the report's row whose rows PostgreSQL hands back as one JSON array, made into the same model
    objects (not attached to the session) as the loaders' queries would give, in the same order."""
    columns: list[Any] = [Report]
    if photos:
        columns.append(_rows_of_report(Photo, "position, id"))
    if history:
        columns.append(_rows_of_report(ReportStatusChange, "at, id"))
    if supports:
        columns.append(
            select(func.count())
            .select_from(ReportSupport)
            .where(ReportSupport.report_id == Report.id)
            .scalar_subquery()
        )
    if comments is not None:
        columns.append(_rows_of_report(ReportComment, "created_at, id", limit=comments))
    row = (await session.execute(select(*columns).where(Report.id == report_id))).first()
    if row is None:
        return None
    values = iter(row[1:])
    return ReportPage(
        report=row[0],
        photos=_models(Photo, next(values)) if photos else None,
        history=_models(ReportStatusChange, next(values)) if history else None,
        supports=int(next(values)) if supports else None,
        comments=_models(ReportComment, next(values)) if comments is not None else None,
    )


def _rows_of_report(model: type[Any], order: str, *, limit: int | None = None) -> Any:
    """A JSON array of a table's rows of the outer query's report, in `order` (columns of that table)."""
    table = model.__table__.name
    rows = f"SELECT * FROM {table} WHERE {table}.report_id = reports.id ORDER BY {order}"
    if limit is not None:
        rows += f" LIMIT {int(limit)}"
    return literal_column(f"(SELECT coalesce(json_agg(r ORDER BY {order}), '[]') FROM ({rows}) AS r)", JSON)


_Converter = Callable[[Any], Any]
_READERS: dict[type[Any], tuple[tuple[str, str, _Converter | None], ...]] = {}


def _models(model: type[M], rows: list[dict[str, Any]]) -> list[M]:
    """Model objects from rows as PostgreSQL writes them in JSON: its columns' values made the mapped types."""
    readers = _READERS.get(model)
    if readers is None:
        readers = _READERS[model] = tuple(
            (attribute.key, attribute.columns[0].name, _reader(attribute.columns[0].type))
            for attribute in sa_inspect(model).column_attrs
        )
    made = []
    for row in rows:
        values = {}
        for key, name, read in readers:
            value = row[name]
            values[key] = read(value) if read is not None and value is not None else value
        made.append(model(**values))
    return made


def _reader(column_type: Any) -> _Converter | None:
    if isinstance(column_type, Uuid):
        return uuid.UUID
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return column_type.enum_class
    if isinstance(column_type, (String, Text, Integer, Boolean, Float, JSON)):
        return None
    raise TypeError(f"no JSON reader for a {column_type!r} column")
