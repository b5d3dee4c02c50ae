"""The officers' workflow (CROP): who may act on a report, the status machine, disposition, assignment.

Every change is an append-only history row and, for the people it concerns, a notification in the same
transaction. Deadlines (domain/sla.py) are kept on the report: `due_at` is the next one, NULL once closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain import notifications, sla
from domain import photos as photo_rules
from domain.adapters.storage import ObjectStorage
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import (
    STATUS_LABELS_ID,
    Category,
    HistoryKind,
    Photo,
    PhotoKind,
    PhotoStatus,
    Report,
    ReportFollower,
    ReportStatus,
    ReportStatusChange,
    ReportSupport,
    Role,
    Unit,
    UnitKind,
    User,
)
from domain.reference import ReferenceData
from domain.settings import Settings

S = ReportStatus
T = TypeVar("T")
# VERIFYING is open: the work is done but not accepted, so the report is neither closed nor rateable.
OPEN = frozenset({S.WAITING, S.COORDINATION, S.DISPOSITION, S.IN_PROGRESS, S.REOPENED, S.VERIFYING})
CLOSED = frozenset({S.COMPLETED, S.REJECTED, S.DUPLICATE})

# The moves an officer makes with changeReportStatus. DISPOSITION is made by disposeReport (it needs the
# unit), REOPENED by the reporter. A move to COMPLETED becomes VERIFYING where the category asks for verification
# (completion_status); the supervisor moves a report out of VERIFYING with verifyCompletion.
TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    S.WAITING: frozenset({S.COORDINATION, S.IN_PROGRESS, S.REJECTED, S.DUPLICATE}),
    S.REOPENED: frozenset({S.COORDINATION, S.IN_PROGRESS, S.REJECTED, S.DUPLICATE}),
    S.DISPOSITION: frozenset({S.COORDINATION, S.IN_PROGRESS, S.REJECTED, S.DUPLICATE}),
    S.COORDINATION: frozenset({S.IN_PROGRESS, S.REJECTED, S.DUPLICATE}),
    S.IN_PROGRESS: frozenset({S.COORDINATION, S.COMPLETED}),
}
DISPOSABLE = frozenset({S.WAITING, S.REOPENED, S.COORDINATION, S.DISPOSITION, S.IN_PROGRESS})
NOTE_MAX = 2000


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    role: Role
    unit_id: int | None


@dataclass(frozen=True)
class StatusChange:
    to: ReportStatus
    public_note: str | None = None
    internal_note: str | None = None
    reason: str | None = None  # required for REJECTED
    duplicate_of: uuid.UUID | None = None  # required for DUPLICATE
    after_photo_keys: tuple[str, ...] = ()  # at least one for COMPLETED


# --- rules without the database ---------------------------------------------------------------------


def in_jurisdiction(unit: Unit, report: Report) -> bool:
    """A unit's officers work on the reports it holds, and area offices on every report of their area."""
    if report.unit_id == unit.id:
        return True
    if unit.kind == UnitKind.KELURAHAN:
        return report.kelurahan_id == unit.kelurahan_id
    if unit.kind == UnitKind.KECAMATAN:
        return report.kecamatan_id == unit.kecamatan_id
    if unit.kind == UnitKind.KOTA:
        return report.kota_id == unit.kota_id
    return False


def may_act(actor: Actor, report: Report, reference: ReferenceData) -> bool:
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.OFFICER or actor.unit_id is None:
        return False
    unit = reference.units.get(actor.unit_id)
    return unit is not None and in_jurisdiction(unit, report)


def check_transition(current: ReportStatus, change: StatusChange) -> None:
    if change.to == S.DISPOSITION:
        raise DomainError("INVALID_TRANSITION", "Use disposeReport to pass a report to another unit.", field="to")
    if change.to == S.REOPENED:
        raise DomainError("INVALID_TRANSITION", "Only the reporter can reopen a report.", field="to")
    if change.to == S.VERIFYING:
        raise DomainError(
            "INVALID_TRANSITION", "Ask for COMPLETED: a completion goes to verification by itself.", field="to"
        )
    if current == S.VERIFYING:
        raise DomainError(
            "INVALID_TRANSITION", "The completion waits for the supervisor: see verifyCompletion.", field="to"
        )
    if change.to not in TRANSITIONS.get(current, frozenset()):
        raise DomainError(
            "INVALID_TRANSITION",
            f"A report in {current.value} cannot move to {change.to.value}.",
            field="to",
        )
    if change.to == S.REJECTED and not (change.reason and change.reason.strip()):
        raise DomainError("REASON_REQUIRED", "Say why the report is rejected.", field="reason")
    if change.to == S.DUPLICATE and change.duplicate_of is None:
        raise DomainError("DUPLICATE_OF_REQUIRED", "Name the report this one duplicates.", field="duplicateOf")
    if change.to == S.COMPLETED and not change.after_photo_keys:
        raise DomainError(
            "AFTER_PHOTO_REQUIRED", "Add at least one photo of the finished work.", field="afterPhotoKeys"
        )
    notes = ((change.public_note, "publicNote"), (change.internal_note, "internalNote"), (change.reason, "reason"))
    for note, name in notes:
        check_note(note, name)


def check_note(note: str | None, field_name: str) -> None:
    if note is not None and len(note.strip()) > NOTE_MAX:
        raise DomainError("NOTE_TOO_LONG", f"A note takes at most {NOTE_MAX} characters.", field=field_name)


def clean(note: str | None) -> str | None:
    return note.strip() or None if note is not None else None


def supervising_unit(unit: Unit, reference: ReferenceData) -> Unit | None:
    """The office that verifies a unit's completions: a kelurahan's camat (its kecamatan office), a kecamatan
    office's or a Suku Dinas office's walikota office (the kota it serves). Walikota offices, city-wide agencies and
    outside bodies answer to no office of the report system: their completions are final."""
    if unit.kind == UnitKind.KELURAHAN and unit.kecamatan_id is not None:
        return reference.office(UnitKind.KECAMATAN, unit.kecamatan_id)
    if unit.kind in (UnitKind.KECAMATAN, UnitKind.AGENCY) and unit.kota_id is not None:
        return reference.office(UnitKind.KOTA, unit.kota_id)
    return None


def completion_status(requested: ReportStatus, *, verification_required: bool, supervisor: Unit | None) -> ReportStatus:
    """Where an officer's move lands: a completion waits for the supervisor (VERIFYING) when its category asks for
    verification and the unit has a supervisor; every other move lands where it was asked to."""
    if requested == S.COMPLETED and verification_required and supervisor is not None:
        return S.VERIFYING
    return requested


# --- deadlines --------------------------------------------------------------------------------------


def calendar_for(settings: Settings) -> sla.WorkingCalendar:
    return sla.load_calendar(settings.jakarta_data_dir / sla.HOLIDAYS_FILE)


def unit_deadlines(category: Category, calendar: sla.WorkingCalendar, received_at: datetime) -> sla.Deadlines:
    """A unit's deadlines for a report it received at ``received_at``: its category's SLA, counted from then."""
    return sla.deadlines(calendar, received_at, sla.SlaTarget(category.response_hours, category.completion_hours))


def start_clock(report: Report, category: Category, calendar: sla.WorkingCalendar) -> None:
    """Sets a new report's deadlines from its category's SLA."""
    due = unit_deadlines(category, calendar, report.created_at)
    report.response_due_at, report.completion_due_at = due.respond_by, due.complete_by
    report.due_at = due.respond_by


def _responded(report: Report, now: datetime) -> None:
    """An officer acted: the first response is on record and the next deadline is completion's."""
    if report.first_response_at is None:
        report.first_response_at = now
    report.due_at = report.completion_due_at


def _after_move(
    report: Report, to: ReportStatus, category: Category, calendar: sla.WorkingCalendar, now: datetime
) -> None:
    _responded(report, now)
    if to in CLOSED:
        report.closed_at, report.due_at = now, None
    elif to == S.VERIFYING:
        # The unit's clock stopped when it completed the work; the supervisor's check is not the unit's time.
        report.due_at = None
    elif to == S.REOPENED:
        # The work starts again: a fresh completion deadline, counted from the reopening.
        report.closed_at = None
        report.completion_due_at = sla.add_working_hours(calendar, now, category.completion_hours)
        report.due_at = report.completion_due_at


# --- use cases --------------------------------------------------------------------------------------


async def load_for_update(session: AsyncSession, report_id: uuid.UUID) -> Report:
    report = await session.scalar(select(Report).where(Report.id == report_id).with_for_update())
    if report is None:
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    return report


def _authorize(actor: Actor, report: Report, reference: ReferenceData) -> None:
    if not may_act(actor, report, reference):
        raise DomainError("FORBIDDEN", "This report is outside your jurisdiction.", field="reportId")


class Stale(DomainError):
    """The report is not in the status the officer last saw (someone else acted, or the app was offline):
    nothing is done, and the caller shows the report as it is now."""

    def __init__(self, report: Report, expected: ReportStatus) -> None:
        super().__init__(
            "STALE",
            f"The report is now {report.status.value} ({STATUS_LABELS_ID[report.status]}), not {expected.value}: "
            "look at it again before acting.",
            field="expectedStatus",
        )
        self.report = report


def check_expected(report: Report, expected: ReportStatus | None) -> None:
    if expected is not None and report.status != expected:
        raise Stale(report, expected)


def _history(report: Report, actor: Actor, now: datetime, **values: object) -> ReportStatusChange:
    values.setdefault("from_status", report.status)
    values.setdefault("to_status", report.status)
    return ReportStatusChange(report_id=report.id, actor_id=actor.user_id, at=now, **values)


async def audience(session: AsyncSession, report: Report) -> list[uuid.UUID]:
    """Who hears about a report's progress: its reporter, its followers and its supporters, each once."""
    followers = select(ReportFollower.user_id).where(ReportFollower.report_id == report.id)
    supporters = select(ReportSupport.user_id).where(ReportSupport.report_id == report.id)
    people = list(await session.scalars(followers.union(supporters)))
    if report.reporter_id is not None and report.reporter_id not in people:
        people.append(report.reporter_id)
    return people


async def move_audience(session: AsyncSession, *, duplicate: Report, original_id: uuid.UUID) -> None:
    """A report marked DUPLICATE: its supporters support the original, and its followers and its reporter
    follow the original, so nobody stops hearing about the problem they reported."""
    await session.execute(
        pg_insert(ReportSupport)
        .from_select(
            ["report_id", "user_id", "created_at"],
            select(literal(original_id), ReportSupport.user_id, ReportSupport.created_at).where(
                ReportSupport.report_id == duplicate.id
            ),
        )
        .on_conflict_do_nothing()
    )
    followers = select(literal(original_id), ReportFollower.user_id).where(ReportFollower.report_id == duplicate.id)
    await session.execute(
        pg_insert(ReportFollower).from_select(["report_id", "user_id"], followers).on_conflict_do_nothing()
    )
    if duplicate.reporter_id is not None:
        await session.execute(
            pg_insert(ReportFollower)
            .values(report_id=original_id, user_id=duplicate.reporter_id)
            .on_conflict_do_nothing()
        )


async def _tell_reporter_and_followers(
    session: AsyncSession,
    report: Report,
    message: notifications.Message,
    *,
    actor: Actor,
    jobs: JobBuffer,
    now: datetime,
) -> None:
    people = await audience(session, report)
    await notifications.notify_users(session, people, message, jobs=jobs, now=now, skip=actor.user_id)


async def change_status(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    reference: ReferenceData,
    calendar: sla.WorkingCalendar,
    *,
    actor: Actor,
    report_id: uuid.UUID,
    change: StatusChange,
    jobs: JobBuffer,
    now: datetime,
    expected_status: ReportStatus | None = None,
) -> Report:
    report = await load_for_update(session, report_id)
    _authorize(actor, report, reference)
    check_expected(report, expected_status)
    check_transition(report.status, change)
    holder = reference.units[report.unit_id]
    supervisor = supervising_unit(holder, reference)
    to = change.to
    if to == S.COMPLETED:
        # Read from the row, not the per-process snapshot: an admin's change counts at once in every process.
        required = await session.scalar(select(Category.verification_required).where(Category.id == report.category_id))
        to = completion_status(to, verification_required=bool(required), supervisor=supervisor)
    if change.to == S.DUPLICATE and change.duplicate_of is not None:
        await _check_original(session, report, change.duplicate_of)
        report.duplicate_of_id = change.duplicate_of
        await move_audience(session, duplicate=report, original_id=change.duplicate_of)
    if change.after_photo_keys:
        await attach_after_photos(
            session, storage, settings, report, actor=actor, keys=list(change.after_photo_keys), jobs=jobs
        )
    public_note = clean(change.public_note) or (clean(change.reason) if change.to == S.REJECTED else None)
    session.add(
        _history(
            report,
            actor,
            now,
            to_status=to,
            public_note=public_note,
            internal_note=clean(change.internal_note),
        )
    )
    category = reference.categories[report.category_id]
    report.status = to
    report.updated_at = now
    _after_move(report, to, category, calendar, now)
    label = STATUS_LABELS_ID[to]
    await _tell_reporter_and_followers(
        session,
        report,
        notifications.Message(
            "STATUS_CHANGED",
            f"Laporan Anda: {label}",
            public_note or f"Status laporan {category.name_id} sekarang {label}.",
            report.id,
            {"status": to.value},
        ),
        actor=actor,
        jobs=jobs,
        now=now,
    )
    if to == S.VERIFYING and supervisor is not None:
        await notifications.notify_unit(
            session,
            supervisor.id,
            notifications.Message(
                "VERIFICATION_REQUESTED",
                f"Verifikasi: {category.name_id}",
                f"{holder.name} menyelesaikan laporan di {reference.kelurahan[report.kelurahan_id].name}: "
                "periksa hasilnya, lalu terima atau kembalikan.",
                report.id,
                {"unit": holder.code},
            ),
            jobs=jobs,
            now=now,
            skip=actor.user_id,
        )
    await session.flush()
    return report


async def _check_original(session: AsyncSession, report: Report, original_id: uuid.UUID | None) -> None:
    if original_id is None or original_id == report.id:
        raise DomainError("INVALID_DUPLICATE", "A report cannot duplicate itself.", field="duplicateOf")
    original = await session.get(Report, original_id)
    if original is None:
        raise DomainError("INVALID_DUPLICATE", "No such report to be a duplicate of.", field="duplicateOf")
    if original.duplicate_of_id is not None:
        raise DomainError(
            "INVALID_DUPLICATE", "That report is itself a duplicate: name the original.", field="duplicateOf"
        )


async def attach_after_photos(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    report: Report,
    *,
    actor: Actor,
    keys: list[str],
    jobs: JobBuffer,
) -> list[Photo]:
    """The officer's photos of the finished work: the same checks and processing as a citizen's photos."""
    if len(keys) > settings.max_photos_per_report:
        raise DomainError(
            "TOO_MANY_PHOTOS", f"At most {settings.max_photos_per_report} photos.", field="afterPhotoKeys"
        )
    try:
        photos = await photo_rules.claim_for_report(session, storage, settings, owner_id=actor.user_id, keys=keys)
    except DomainError as exc:
        raise DomainError(exc.code, exc.message, field="afterPhotoKeys") from exc
    taken = await session.scalar(
        select(Photo.position).where(Photo.report_id == report.id).order_by(Photo.position.desc()).limit(1)
    )
    start = 0 if taken is None else taken + 1
    for offset, photo in enumerate(photos):
        photo.report_id, photo.position, photo.status, photo.kind = (
            report.id,
            start + offset,
            PhotoStatus.ATTACHED,
            PhotoKind.AFTER,
        )
        jobs.add("photos.process", queueing_lock=f"photo:{photo.id}", photo_id=str(photo.id))
    return photos


async def dispose(
    session: AsyncSession,
    reference: ReferenceData,
    calendar: sla.WorkingCalendar,
    *,
    actor: Actor,
    report_id: uuid.UUID,
    to_unit_id: int,
    public_note: str | None,
    internal_note: str | None,
    jobs: JobBuffer,
    now: datetime,
    expected_status: ReportStatus | None = None,
) -> Report:
    """Passes the report to another unit: an agency (external bodies too), or another kelurahan when the
    point was wrong, in which case the report moves to that kelurahan's area.

    The receiving unit is measured against its own deadlines, counted from now (domain/performance.py); the
    report's deadlines, which the reporter was promised, stay as they are."""
    report = await load_for_update(session, report_id)
    _authorize(actor, report, reference)
    check_expected(report, expected_status)
    check_note(public_note, "publicNote")
    check_note(internal_note, "internalNote")
    target = reference.units.get(to_unit_id)
    if target is None:
        raise DomainError("UNKNOWN_UNIT", "No such unit.", field="toUnit")
    if report.status not in DISPOSABLE:
        raise DomainError(
            "INVALID_TRANSITION", f"A report in {report.status.value} cannot be passed on.", field="toUnit"
        )
    if target.id == report.unit_id:
        raise DomainError("SAME_UNIT", "The report is already with that unit.", field="toUnit")
    from_unit = report.unit_id
    category = reference.categories[report.category_id]
    due = unit_deadlines(category, calendar, now)
    session.add(
        _history(
            report,
            actor,
            now,
            to_status=S.DISPOSITION,
            from_unit_id=from_unit,
            to_unit_id=target.id,
            public_note=clean(public_note),
            internal_note=clean(internal_note),
            response_due_at=due.respond_by,
            completion_due_at=due.complete_by,
        )
    )
    if target.kind == UnitKind.KELURAHAN and target.kelurahan_id is not None:
        kelurahan = reference.kelurahan[target.kelurahan_id]
        report.kelurahan_id, report.kecamatan_id, report.kota_id = (
            kelurahan.id,
            kelurahan.kecamatan_id,
            kelurahan.kota_id,
        )
    report.unit_id = target.id
    report.assignee_id = None
    report.status = S.DISPOSITION
    report.updated_at = now
    _responded(report, now)
    await notifications.notify_unit(
        session,
        target.id,
        notifications.Message(
            "DISPOSED",
            f"Disposisi: {category.name_id}",
            (clean(public_note) or report.description)[:200],
            report.id,
            {"fromUnit": reference.units[from_unit].code},
        ),
        jobs=jobs,
        now=now,
        skip=actor.user_id,
    )
    await _tell_reporter_and_followers(
        session,
        report,
        notifications.Message(
            "STATUS_CHANGED",
            "Laporan Anda: Disposisi",
            f"Laporan {category.name_id} diteruskan ke {target.name}.",
            report.id,
            {"status": S.DISPOSITION.value},
        ),
        actor=actor,
        jobs=jobs,
        now=now,
    )
    await session.flush()
    return report


async def assign(
    session: AsyncSession,
    reference: ReferenceData,
    *,
    actor: Actor,
    report_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    jobs: JobBuffer,
    now: datetime,
    expected_status: ReportStatus | None = None,
) -> Report:
    """Names the officer of the report's unit who works on it (None: nobody)."""
    report = await load_for_update(session, report_id)
    _authorize(actor, report, reference)
    check_expected(report, expected_status)
    if report.status in CLOSED:
        raise DomainError("INVALID_TRANSITION", "A closed report cannot be assigned.", field="reportId")
    if assignee_id is not None:
        assignee = await session.get(User, assignee_id)
        if (
            assignee is None
            or assignee.role != Role.OFFICER
            or assignee.unit_id != report.unit_id
            or assignee.closed_at is not None
        ):
            raise DomainError(
                "INVALID_ASSIGNEE", "Only an officer of the unit holding the report can take it.", field="assignee"
            )
    if report.assignee_id == assignee_id:
        return report
    session.add(_history(report, actor, now, kind=HistoryKind.ASSIGNMENT, assignee_id=assignee_id))
    report.assignee_id = assignee_id
    report.updated_at = now
    if assignee_id is not None:
        category = reference.categories[report.category_id]
        await notifications.notify_users(
            session,
            [assignee_id],
            notifications.Message("ASSIGNED", f"Tugas baru: {category.name_id}", report.description[:200], report.id),
            jobs=jobs,
            now=now,
            skip=actor.user_id,
        )
    await session.flush()
    return report


async def reopen(
    session: AsyncSession,
    reference: ReferenceData,
    calendar: sla.WorkingCalendar,
    *,
    actor: Actor,
    report_id: uuid.UUID,
    reason: str,
    jobs: JobBuffer,
    now: datetime,
) -> Report:
    """The reporter says the problem is not fixed: the report goes back to the unit that closed it."""
    report = await load_for_update(session, report_id)
    if report.reporter_id != actor.user_id:
        raise DomainError("FORBIDDEN", "Only the reporter can reopen a report.", field="reportId")
    if report.status != S.COMPLETED:
        raise DomainError("INVALID_TRANSITION", "Only a completed report can be reopened.", field="reportId")
    if not reason.strip():
        raise DomainError("REASON_REQUIRED", "Say what is still wrong.", field="reason")
    check_note(reason, "reason")
    session.add(_history(report, actor, now, to_status=S.REOPENED, public_note=reason.strip()))
    category = reference.categories[report.category_id]
    report.status = S.REOPENED
    report.updated_at = now
    _after_move(report, S.REOPENED, category, calendar, now)
    await notifications.notify_unit(
        session,
        report.unit_id,
        notifications.Message("REOPENED", f"Dibuka kembali: {category.name_id}", reason.strip()[:200], report.id),
        jobs=jobs,
        now=now,
    )
    await session.flush()
    return report


# --- many reports at once -----------------------------------------------------------------------------

BULK_MAX = 100  # reports in one bulk action: a screenful of the work queue


async def each_report(
    session: AsyncSession,
    jobs: JobBuffer,
    items: Sequence[T],
    act: Callable[[T], Awaitable[object]],
    *,
    order: Callable[[T], str] = str,
) -> list[DomainError | None]:
    """Runs ``act`` on each item on its own: a savepoint each, so an item refused undoes only its own writes and
    jobs and the others stand. Returns each item's refusal, None where it was done, in the order of ``items``.

    The items are taken in the order of ``order`` (the report id): each keeps its report locked to the end of the
    transaction, and two bulk actions locking the same reports in the same order cannot deadlock."""
    refusals: list[DomainError | None] = [None] * len(items)
    for index in sorted(range(len(items)), key=lambda i: order(items[i])):
        queued = len(jobs.requests)
        try:
            async with session.begin_nested():
                await act(items[index])
        except DomainError as exc:
            del jobs.requests[queued:]
            refusals[index] = exc
    return refusals


RATING_MIN, RATING_MAX = 1, 5


async def rate(
    session: AsyncSession,
    *,
    actor: Actor,
    report_id: uuid.UUID,
    rating: int,
    comment: str | None,
    now: datetime,
) -> Report:
    """The reporter rates the completed work, once per completion (a reopened and again completed report can
    be rated again). The rating counts for the unit that completed it."""
    report = await load_for_update(session, report_id)
    if report.reporter_id != actor.user_id:
        raise DomainError("FORBIDDEN", "Only the reporter can rate a report.", field="reportId")
    if report.status != S.COMPLETED:
        raise DomainError("INVALID_TRANSITION", "Only a completed report can be rated.", field="reportId")
    if not RATING_MIN <= rating <= RATING_MAX:
        raise DomainError("INVALID_RATING", f"A rating is {RATING_MIN} to {RATING_MAX}.", field="rating")
    check_note(comment, "comment")
    last = await session.scalar(
        select(ReportStatusChange.kind)
        .where(
            ReportStatusChange.report_id == report.id,
            (ReportStatusChange.kind == HistoryKind.RATING) | (ReportStatusChange.to_status == S.COMPLETED),
        )
        .order_by(ReportStatusChange.id.desc())
        .limit(1)
    )
    if last == HistoryKind.RATING:
        raise DomainError("ALREADY_RATED", "You rated this work already.", field="reportId")
    session.add(_history(report, actor, now, kind=HistoryKind.RATING, rating=rating, public_note=clean(comment)))
    report.updated_at = now
    await session.flush()
    return report


async def follow(session: AsyncSession, *, user_id: uuid.UUID, report_id: uuid.UUID, on: bool) -> None:
    if await session.get(Report, report_id) is None:
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    existing = await session.get(ReportFollower, (report_id, user_id))
    if on and existing is None:
        session.add(ReportFollower(report_id=report_id, user_id=user_id))
    elif not on and existing is not None:
        await session.delete(existing)
    await session.flush()


# --- escalation -------------------------------------------------------------------------------------

ESCALATION_TARGETS = {1: UnitKind.KECAMATAN, 2: UnitKind.KOTA}


def escalation_due(report: Report, now: datetime) -> int:
    """The level a report should be at: 2 once completion is late, 1 once the first response is late."""
    if report.status not in OPEN:
        return report.escalation_level
    if report.completion_due_at is not None and report.completion_due_at < now:
        return 2
    if report.first_response_at is None and report.response_due_at is not None and report.response_due_at < now:
        return max(1, report.escalation_level)
    return report.escalation_level


async def escalate_overdue(
    session: AsyncSession, reference: ReferenceData, *, jobs: JobBuffer, now: datetime, limit: int = 200
) -> int:
    """Raises late reports to the camat, then to the walikota office: a history row and a notification
    for each level. Idempotent (the level is kept on the report); returns how many reports were raised."""
    candidates = await session.scalars(
        select(Report)
        .where(
            Report.due_at < now,
            Report.escalation_level < 2,
            (Report.escalation_level == 0) | (Report.completion_due_at < now),
        )
        .order_by(Report.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    raised = 0
    for report in candidates:
        target = escalation_due(report, now)
        if target <= report.escalation_level:
            continue
        category = reference.categories[report.category_id]
        for level in range(report.escalation_level + 1, target + 1):
            kind = ESCALATION_TARGETS[level]
            office = reference.office(kind, report.kecamatan_id if kind == UnitKind.KECAMATAN else report.kota_id)
            session.add(
                ReportStatusChange(
                    report_id=report.id,
                    kind=HistoryKind.ESCALATION,
                    from_status=report.status,
                    to_status=report.status,
                    actor_id=None,
                    at=now,
                    to_unit_id=office.id,
                    escalation_level=level,
                    internal_note="Tanggapan pertama terlambat" if level == 1 else "Penyelesaian terlambat",
                )
            )
            await notifications.notify_unit(
                session,
                office.id,
                notifications.Message(
                    "ESCALATED",
                    f"Eskalasi: {category.name_id}",
                    f"Laporan di {reference.kelurahan[report.kelurahan_id].name} melewati batas waktu.",
                    report.id,
                    {"level": str(level)},
                ),
                jobs=jobs,
                now=now,
            )
        report.escalation_level = target
        report.updated_at = now  # new to the office it reached: the officers' "changed since" shows it
        raised += 1
    await session.flush()
    return raised
