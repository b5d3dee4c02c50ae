"""The officers' app (CROP): the work queue and the actions on a report."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, Select, and_, func, literal, literal_column, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import error_code, now
from api.resolvers.reports import parse_id, present_reports
from api.schema.catalogue import Unit, UnitKindEnum
from api.schema.pagination import PageInfo, check_first, decode_cursor, encode_cursor
from api.schema.reports import Report, ReportConnection, ReportEdge, ReportStatusEnum
from domain import idempotency, models, workflow
from domain.errors import DomainError
from domain.reference import ReferenceData

# Closed reports have no deadline; they sort after every open one.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


@strawberry.enum(description="Why an action on a report failed.")
class ReportActionErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    REASON_REQUIRED = "REASON_REQUIRED"
    DUPLICATE_OF_REQUIRED = "DUPLICATE_OF_REQUIRED"
    INVALID_DUPLICATE = "INVALID_DUPLICATE"
    AFTER_PHOTO_REQUIRED = "AFTER_PHOTO_REQUIRED"
    NOTE_TOO_LONG = "NOTE_TOO_LONG"
    UNKNOWN_UNIT = "UNKNOWN_UNIT"
    SAME_UNIT = "SAME_UNIT"
    INVALID_ASSIGNEE = "INVALID_ASSIGNEE"
    TOO_MANY_PHOTOS = "TOO_MANY_PHOTOS"
    DUPLICATE_PHOTO = "DUPLICATE_PHOTO"
    PHOTO_NOT_FOUND = "PHOTO_NOT_FOUND"
    PHOTO_FORBIDDEN = "PHOTO_FORBIDDEN"
    PHOTO_ALREADY_USED = "PHOTO_ALREADY_USED"
    PHOTO_NOT_UPLOADED = "PHOTO_NOT_UPLOADED"
    PHOTO_EMPTY = "PHOTO_EMPTY"
    PHOTO_NOT_AN_IMAGE = "PHOTO_NOT_AN_IMAGE"
    PHOTO_TOO_LARGE = "PHOTO_TOO_LARGE"
    INVALID_SIZE = "INVALID_SIZE"
    INVALID_RATING = "INVALID_RATING"
    ALREADY_RATED = "ALREADY_RATED"
    OWN_REPORT = "OWN_REPORT"
    REASON_TOO_LONG = "REASON_TOO_LONG"
    STALE = "STALE"
    CONFLICT = "CONFLICT"
    INVALID_CLIENT_REQUEST_ID = "INVALID_CLIENT_REQUEST_ID"


@strawberry.type(description="A problem with an action on a report.")
class ReportActionError:
    code: ReportActionErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of an action on a report.")
class ReportActionPayload:
    report: Report | None = strawberry.field(
        description="The report after the action (as it is now, on a replay of a clientRequestId); null on error, "
        "except STALE, which shows the report as it is now."
    )
    errors: list[ReportActionError] = strawberry.field(description="Empty on success.")


CLIENT_REQUEST_ID = (
    "Made by the app once per action (a UUID), 1 to 64 characters: a retry with the same id is not done again and "
    "gets the same outcome; the same id with other input is CONFLICT. Optional."
)
EXPECTED_STATUS = (
    "The status you last saw the report in: if it has moved on since, nothing is done and the answer is STALE "
    "with the report as it is now. Optional."
)


@strawberry.input(description="Move a report through the status machine.")
class ChangeReportStatusInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    to: ReportStatusEnum = strawberry.field(  # type: ignore[valid-type]
        description="COORDINATION, IN_PROGRESS, COMPLETED, REJECTED or DUPLICATE. COMPLETED lands on VERIFYING "
        "where the category's completions are verified by the unit's supervisor (verifyCompletion)."
    )
    public_note: str | None = strawberry.field(default=None, description="Shown to the reporter and the public.")
    internal_note: str | None = strawberry.field(default=None, description="Seen by staff only.")
    reason: str | None = strawberry.field(default=None, description="Required for REJECTED; shown to the reporter.")
    duplicate_of: strawberry.ID | None = strawberry.field(default=None, description="Required for DUPLICATE.")
    after_photo_keys: list[str] = strawberry.field(
        default_factory=list,
        description="Photos of the finished work (requestPhotoUpload, then upload); at least one for COMPLETED.",
    )
    expected_status: ReportStatusEnum | None = strawberry.field(default=None, description=EXPECTED_STATUS)  # type: ignore[valid-type]
    client_request_id: str | None = strawberry.field(default=None, description=CLIENT_REQUEST_ID)


@strawberry.input(description="Pass a report to another unit (disposisi).")
class DisposeReportInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    to_unit: str = strawberry.field(
        description="Code of the unit: an agency office, an outside body, or another kelurahan (wrong GPS)."
    )
    public_note: str | None = strawberry.field(default=None, description="Shown to the reporter and the public.")
    internal_note: str | None = strawberry.field(default=None, description="Seen by staff only.")
    expected_status: ReportStatusEnum | None = strawberry.field(default=None, description=EXPECTED_STATUS)  # type: ignore[valid-type]
    client_request_id: str | None = strawberry.field(default=None, description=CLIENT_REQUEST_ID)


@strawberry.input(description="Name who works on a report.")
class AssignReportInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    assignee: strawberry.ID | None = strawberry.field(
        description="An officer of the unit holding the report (your own id to take it); null to release it."
    )
    expected_status: ReportStatusEnum | None = strawberry.field(default=None, description=EXPECTED_STATUS)  # type: ignore[valid-type]
    client_request_id: str | None = strawberry.field(default=None, description=CLIENT_REQUEST_ID)


@strawberry.input(description="A report of a bulk action, with the status you last saw it in.")
class BulkReportInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    expected_status: ReportStatusEnum = strawberry.field(  # type: ignore[valid-type]
        description="The status you last saw it in: if it has moved on since, this report is left alone (STALE)."
    )


@strawberry.input(description="Move many reports to one status, with the same notes (officers).")
class BulkChangeReportStatusInput:
    reports: list[BulkReportInput] = strawberry.field(description="1 to 100 reports, each at most once.")
    to: ReportStatusEnum = strawberry.field(  # type: ignore[valid-type]
        description="COORDINATION, IN_PROGRESS, REJECTED or DUPLICATE (COMPLETED needs each report's own "
        "after-photos: use changeReportStatus)."
    )
    public_note: str | None = strawberry.field(default=None, description="Shown to each reporter and the public.")
    internal_note: str | None = strawberry.field(default=None, description="Seen by staff only.")
    reason: str | None = strawberry.field(default=None, description="Required for REJECTED; shown to the reporters.")
    duplicate_of: strawberry.ID | None = strawberry.field(
        default=None, description="Required for DUPLICATE: the original they all duplicate."
    )
    client_request_id: str | None = strawberry.field(default=None, description=CLIENT_REQUEST_ID)


@strawberry.input(description="Give many reports to one officer, or release them (officers).")
class BulkAssignReportsInput:
    reports: list[BulkReportInput] = strawberry.field(description="1 to 100 reports, each at most once.")
    assignee: strawberry.ID | None = strawberry.field(
        description="An officer of the unit holding the reports (your own id to take them); null to release them."
    )
    client_request_id: str | None = strawberry.field(default=None, description=CLIENT_REQUEST_ID)


@strawberry.type(description="What a bulk action did to one report.")
class BulkReportResult:
    report_id: strawberry.ID = strawberry.field(description="The report, as given.")
    report: Report | None = strawberry.field(
        description="The report after the action; with STALE the report as it is now; null on other errors."
    )
    errors: list[ReportActionError] = strawberry.field(
        description="Why this report was left alone (the codes of the single actions); empty when done."
    )


@strawberry.type(description="Result of a bulk action: each report was checked and done, or refused, on its own.")
class BulkReportActionPayload:
    results: list[BulkReportResult] = strawberry.field(
        description="One per report, in the order given; empty when the whole call was refused."
    )
    errors: list[ReportActionError] = strawberry.field(
        description="Problems with the whole call (CONFLICT, INVALID_CLIENT_REQUEST_ID); empty otherwise."
    )


@strawberry.input(description="Filters of the work queue; all optional.")
class WorkQueueFilter:
    status: list[ReportStatusEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Statuses to show; default: the open ones."
    )
    category: str | None = strawberry.field(default=None, description="A category code.")
    overdue: bool | None = strawberry.field(
        default=None, description="Only reports past (true) or within (false) their deadline."
    )
    assigned_to_me: bool | None = strawberry.field(default=None, description="Only reports assigned to you.")
    changed_since: datetime | None = strawberry.field(
        default=None,
        description="Only reports changed after this time (their updatedAt): a status move, a disposition, an "
        "assignment, an escalation, a comment, a support. Send the newest updatedAt you have seen, less a minute "
        "(a change that commits late carries the time it was made). Without `status`, closed reports are listed "
        "too, so the app learns which ones left the queue. With a time zone.",
    )
    awaiting_my_verification: bool | None = strawberry.field(
        default=None,
        description="Only completions waiting for your office's verification (VERIFYING reports of the units it "
        "supervises; admins and auditors: all of them).",
    )


@strawberry.type(description="An officer, as other staff see them.")
class Officer:
    id: strawberry.ID = strawberry.field(description="User id (for assignReport).")
    display_name: str = strawberry.field(description="Name.")


async def actor_of(context: Context) -> workflow.Actor:
    """The viewer's role and unit as they are now, not as the access token (up to 15 minutes old) says: an
    officer moved to another unit loses the old jurisdiction at once."""
    viewer = context.require_viewer()

    async def run(session: AsyncSession) -> workflow.Actor | None:
        user = await session.get(models.User, viewer.user_id)
        return workflow.Actor(user.id, user.role, user.unit_id) if user else None

    actor = await context.db(run)
    if actor is None:
        raise ClientError(ErrorCode.UNAUTHENTICATED, "This account no longer exists.")
    return actor


def jurisdiction(unit: models.Unit) -> tuple[ColumnElement[bool], ColumnElement[bool] | None]:
    """The reports a unit's officers see, as two disjoint parts: those of its area (none for an agency) and
    those it holds outside it. Each part is read in deadline order from an index of its own (migration 0027), so
    a camat's queue reads its first page, not every open report of the kecamatan."""
    holds = models.Report.unit_id == unit.id
    area: ColumnElement[bool] | None = None
    if unit.kind == models.UnitKind.KELURAHAN:
        column, area_id = models.Report.kelurahan_id, unit.kelurahan_id
    elif unit.kind == models.UnitKind.KECAMATAN:
        column, area_id = models.Report.kecamatan_id, unit.kecamatan_id
    elif unit.kind == models.UnitKind.KOTA:
        column, area_id = models.Report.kota_id, unit.kota_id
    else:
        return holds, None
    area = column == area_id
    return and_(holds, or_(column.is_(None), column != area_id)), area


# The queue's order: soonest deadline first, reports without one (waiting for verification) last; written as the
# indexes of migration 0027 are, with the constant inline, so that PostgreSQL reads the queue from them in order.
QUEUE_DUE = func.coalesce(models.Report.due_at, literal_column("'9999-12-31 00:00:00+00'::timestamptz"))


def work_queue_query(
    actor: workflow.Actor,
    reference: ReferenceData,
    flt: WorkQueueFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    at: datetime,
) -> Select[models.Report]:
    due = QUEUE_DUE
    wanted: list[ColumnElement[bool]] = []
    if flt.status:
        wanted.append(models.Report.status.in_(list(flt.status)))
    elif flt.changed_since is None:
        wanted.append(models.Report.status.in_(sorted(workflow.OPEN)))
    if flt.changed_since is not None:
        wanted.append(models.Report.updated_at > flt.changed_since)
    if flt.category is not None:
        category = reference.category_codes.get(flt.category)
        wanted.append(models.Report.category_id == (category.id if category else -1))
    # On the order's own expression (a report without a deadline sorts last and is never overdue), so that the
    # index reads only the wanted stretch of the queue.
    if flt.overdue is True:
        wanted.append(due < at)
    elif flt.overdue is False:
        wanted.append(due >= at)
    if flt.assigned_to_me:
        wanted.append(models.Report.assignee_id == actor.user_id)
    if flt.awaiting_my_verification:
        wanted.append(models.Report.status == models.ReportStatus.VERIFYING)
        if actor.role == models.Role.OFFICER:
            supervised = [
                u.id
                for u in reference.units.values()
                if (boss := workflow.supervising_unit(u, reference)) is not None and boss.id == actor.unit_id
            ]
            wanted.append(models.Report.unit_id.in_(supervised))
    if after is not None:
        wanted.append(tuple_(due, models.Report.id) > tuple_(literal(after[0]), literal(after[1])))
    if actor.role != models.Role.OFFICER or actor.unit_id is None:
        return select(models.Report).where(*wanted).order_by(due, models.Report.id).limit(limit)
    parts = [p for p in jurisdiction(reference.units[actor.unit_id]) if p is not None]
    pages = [
        select(models.Report.id, due.label("due")).where(part, *wanted).order_by(due, models.Report.id).limit(limit)
        for part in parts
    ]
    page = (pages[0] if len(pages) == 1 else union_all(*pages)).subquery()
    return select(models.Report).join(page, page.c.id == models.Report.id).order_by(page.c.due, page.c.id).limit(limit)


@dataclass(frozen=True)
class Replayable:
    """What makes a call safe to replay: its operation, the client's request id (None: not asked for) and the
    input that a replay must repeat."""

    operation: str
    client_request_id: str | None
    request: Mapping[str, object]

    def key(self, actor: workflow.Actor) -> idempotency.Key | None:
        return idempotency.key_for(actor.user_id, self.client_request_id, self.operation, self.request)


def request_of(input: object) -> dict[str, object]:
    """An input object's fields but its clientRequestId: what a replay must send again."""
    return {k: v for k, v in dataclasses.asdict(input).items() if k != "client_request_id"}  # type: ignore[call-overload]


async def current_report(session: AsyncSession, report_id: str) -> models.Report:
    report = await session.get(models.Report, uuid.UUID(report_id))
    if report is None:
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    return report


async def act_on_report(
    info: Info,
    work: Callable[[AsyncSession, workflow.Actor, ReferenceData], Awaitable[models.Report]],
    *,
    replayable: Replayable,
) -> ReportActionPayload:
    """Runs an action on a report as the viewer, once per clientRequestId; an expected failure is the payload's
    typed error (with STALE, the report as it is now)."""
    context: Context = info.context
    actor = await actor_of(context)
    reference = await context.resources.reference.get()

    async def run(session: AsyncSession) -> models.Report:
        return await idempotency.once(
            session,
            replayable.key(actor),
            act=lambda: work(session, actor, reference),
            record=lambda report: {"reportId": str(report.id)},
            replay=lambda outcome: current_report(session, outcome["reportId"]),
            now=now(),
        )

    try:
        row = await context.db(run)
    except DomainError as exc:
        code = error_code(context, exc, ReportActionErrorCode)
        shown = (await present_reports(context, [exc.report]))[0] if isinstance(exc, workflow.Stale) else None
        return ReportActionPayload(
            report=shown, errors=[ReportActionError(code=code, message=exc.message, field=exc.field)]
        )
    return ReportActionPayload(report=(await present_reports(context, [row]))[0], errors=[])


def _shows_report(result: Mapping[str, Any]) -> bool:
    return not result["errors"] or result["errors"][0]["code"] == ReportActionErrorCode.STALE.value


def _refusal(error: Mapping[str, str | None]) -> ReportActionError:
    return ReportActionError(
        code=ReportActionErrorCode(error["code"]), message=error["message"] or "", field=error["field"]
    )


async def act_on_reports(
    info: Info,
    items: list[BulkReportInput],
    act: Callable[[AsyncSession, workflow.Actor, ReferenceData, uuid.UUID, models.ReportStatus], Awaitable[object]],
    *,
    replayable: Replayable,
) -> BulkReportActionPayload:
    """Runs an action on each report on its own (domain/workflow.py `each_report`): the ones done are committed
    whatever happened to the others. Once per clientRequestId: a replay gets the recorded results again, with
    the reports as they are now."""
    context: Context = info.context
    actor = await actor_of(context)
    if actor.role not in (models.Role.OFFICER, models.Role.ADMIN):
        raise ClientError(ErrorCode.FORBIDDEN, "Bulk actions are for officers.")
    if not 1 <= len(items) <= workflow.BULK_MAX:
        raise ClientError(
            ErrorCode.BAD_USER_INPUT,
            f"A bulk action takes 1 to {workflow.BULK_MAX} reports.",
            field="reports",
            reason="TOO_MANY_REPORTS" if items else "NO_REPORTS",
        )
    if len({item.report_id for item in items}) != len(items):
        raise ClientError(
            ErrorCode.BAD_USER_INPUT, "Name each report at most once.", field="reports", reason="REPEATED_REPORT"
        )
    reference = await context.resources.reference.get()

    async def each(session: AsyncSession) -> idempotency.Outcome:
        async def one(item: BulkReportInput) -> None:
            await act(session, actor, reference, report_id_of(item.report_id), item.expected_status)

        refusals = await workflow.each_report(
            session, context.jobs, items, one, order=lambda item: str(parse_id(item.report_id) or "")
        )
        return {
            "results": [
                {
                    "reportId": item.report_id,
                    "errors": [] if r is None else [{"code": r.code, "message": r.message, "field": r.field}],
                }
                for item, r in zip(items, refusals, strict=True)
            ]
        }

    async def replay(outcome: idempotency.Outcome) -> idempotency.Outcome:
        return outcome

    async def run(session: AsyncSession) -> idempotency.Outcome:
        return await idempotency.once(
            session, replayable.key(actor), act=lambda: each(session), record=lambda o: o, replay=replay, now=now()
        )

    try:
        outcome = await context.db(run)
    except DomainError as exc:
        code = error_code(context, exc, ReportActionErrorCode)
        return BulkReportActionPayload(
            results=[], errors=[ReportActionError(code=code, message=exc.message, field=exc.field)]
        )
    results = outcome["results"]
    if all(r["errors"] for r in results):
        # Nothing was done: nothing is recorded either, so a retry with the same clientRequestId is judged afresh.
        context.rollback_only = True
    # Done reports are shown as they are now, and so are the STALE ones (the officer's view was out of date).
    shown = {i: uuid.UUID(r["reportId"]) for i, r in enumerate(results) if _shows_report(r)}

    async def reload(session: AsyncSession) -> list[models.Report]:
        rows = await session.scalars(
            select(models.Report)
            .where(models.Report.id.in_(list(shown.values())))
            .execution_options(populate_existing=True)
        )
        return list(rows)

    rows = await context.db(reload) if shown else []
    presented = dict(zip([r.id for r in rows], await present_reports(context, rows), strict=True))
    return BulkReportActionPayload(
        results=[
            BulkReportResult(
                report_id=strawberry.ID(r["reportId"]),
                report=presented.get(shown[i]) if i in shown else None,
                errors=[_refusal(e) for e in r["errors"]],
            )
            for i, r in enumerate(results)
        ],
        errors=[],
    )


def report_id_of(value: str) -> uuid.UUID:
    parsed = parse_id(value)
    if parsed is None:
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    return parsed


@strawberry.type
class WorkflowQueries:
    @strawberry.field(
        description="Reports in your jurisdiction, soonest deadline first (officers; admins and auditors see all)."
    )
    async def work_queue(
        self,
        info: Info,
        filter: Annotated[WorkQueueFilter | None, strawberry.argument(description="What to show.")] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")] = None,
    ) -> ReportConnection:
        context: Context = info.context
        actor = await actor_of(context)
        if actor.role not in (models.Role.OFFICER, models.Role.ADMIN, models.Role.AUDITOR):
            raise ClientError(ErrorCode.FORBIDDEN, "The work queue is for officers.")
        limit = check_first(first)
        cursor = decode_cursor(after)
        flt = filter or WorkQueueFilter()
        if flt.changed_since is not None and flt.changed_since.tzinfo is None:
            raise ClientError(
                ErrorCode.BAD_USER_INPUT, "changedSince needs a time zone (Z or +07:00).", field="changedSince"
            )
        reference = await context.resources.reference.get()
        query = work_queue_query(actor, reference, flt, after=cursor, limit=limit + 1, at=now())

        async def run(session: AsyncSession) -> list[models.Report]:
            return list(await session.scalars(query))

        rows = await context.db(run)
        page = rows[:limit]
        nodes = await present_reports(context, page)
        edges = [
            ReportEdge(cursor=encode_cursor(r.due_at or NO_DEADLINE, r.id), node=n)
            for r, n in zip(page, nodes, strict=True)
        ]
        return ReportConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="Units reports can be passed to, optionally of one kind or kota (staff only).")
    async def units(
        self,
        info: Info,
        kind: Annotated[UnitKindEnum | None, strawberry.argument(description="Only this kind.")] = None,  # type: ignore[valid-type]
        kota_code: Annotated[
            str | None, strawberry.argument(description="Only offices of this kota, e.g. 31.73.")
        ] = None,
    ) -> list[Unit]:
        context: Context = info.context
        context.require_staff()
        reference = await context.resources.reference.get()
        kota_ids = {k.id for k in reference.kota.values() if k.code == kota_code} if kota_code else None
        rows = [
            u
            for u in reference.units.values()
            if (kind is None or u.kind == kind) and (kota_ids is None or u.kota_id in kota_ids)
        ]
        return [Unit.from_model(u) for u in sorted(rows, key=lambda u: u.code)]

    @strawberry.field(description="The officers of a unit, for assignment (staff only); closed accounts are left out.")
    async def unit_officers(
        self, info: Info, unit: Annotated[str, strawberry.argument(description="Unit code.")]
    ) -> list[Officer]:
        context: Context = info.context
        context.require_staff()
        found = (await context.resources.reference.get()).unit_codes.get(unit)
        if found is None:
            return []

        async def run(session: AsyncSession) -> list[models.User]:
            return list(
                await session.scalars(
                    select(models.User)
                    .where(
                        models.User.unit_id == found.id,
                        models.User.role == models.Role.OFFICER,
                        models.User.closed_at.is_(None),
                    )
                    .order_by(models.User.display_name)
                )
            )

        return [Officer(id=strawberry.ID(str(u.id)), display_name=u.display_name) for u in await context.db(run)]


def status_change(
    to: models.ReportStatus,
    *,
    public_note: str | None,
    internal_note: str | None,
    reason: str | None,
    duplicate_of: str | None,
    after_photo_keys: list[str],
) -> workflow.StatusChange:
    original = parse_id(duplicate_of) if duplicate_of else None
    if duplicate_of and original is None:
        raise DomainError("INVALID_DUPLICATE", "No such report to be a duplicate of.", field="duplicateOf")
    return workflow.StatusChange(
        to=to,
        public_note=public_note,
        internal_note=internal_note,
        reason=reason,
        duplicate_of=original,
        after_photo_keys=tuple(after_photo_keys),
    )


def assignee_of(value: str | None) -> uuid.UUID | None:
    assignee = parse_id(value) if value else None
    if value and assignee is None:
        raise DomainError("INVALID_ASSIGNEE", "No such officer.", field="assignee")
    return assignee


@strawberry.type
class WorkflowMutations:
    @strawberry.mutation(description="Move a report on: COORDINATION, IN_PROGRESS, COMPLETED, REJECTED, DUPLICATE.")
    async def change_report_status(self, info: Info, input: ChangeReportStatusInput) -> ReportActionPayload:
        context: Context = info.context

        async def work(session: AsyncSession, actor: workflow.Actor, reference: ReferenceData) -> models.Report:
            change = status_change(
                input.to,
                public_note=input.public_note,
                internal_note=input.internal_note,
                reason=input.reason,
                duplicate_of=input.duplicate_of,
                after_photo_keys=input.after_photo_keys,
            )
            return await workflow.change_status(
                session,
                context.storage,
                context.settings,
                reference,
                workflow.calendar_for(context.settings),
                actor=actor,
                report_id=report_id_of(input.report_id),
                change=change,
                jobs=context.jobs,
                now=now(),
                expected_status=input.expected_status,
            )

        replayable = Replayable("changeReportStatus", input.client_request_id, request_of(input))
        return await act_on_report(info, work, replayable=replayable)

    @strawberry.mutation(description="Pass a report to another unit: an agency, an outside body, another kelurahan.")
    async def dispose_report(self, info: Info, input: DisposeReportInput) -> ReportActionPayload:
        context: Context = info.context

        async def work(session: AsyncSession, actor: workflow.Actor, reference: ReferenceData) -> models.Report:
            target = reference.unit_codes.get(input.to_unit)
            return await workflow.dispose(
                session,
                reference,
                workflow.calendar_for(context.settings),
                actor=actor,
                report_id=report_id_of(input.report_id),
                to_unit_id=target.id if target else -1,
                public_note=input.public_note,
                internal_note=input.internal_note,
                jobs=context.jobs,
                now=now(),
                expected_status=input.expected_status,
            )

        replayable = Replayable("disposeReport", input.client_request_id, request_of(input))
        return await act_on_report(info, work, replayable=replayable)

    @strawberry.mutation(description="Name the officer of the unit working on a report, or release it.")
    async def assign_report(self, info: Info, input: AssignReportInput) -> ReportActionPayload:
        context: Context = info.context

        async def work(session: AsyncSession, actor: workflow.Actor, reference: ReferenceData) -> models.Report:
            return await workflow.assign(
                session,
                reference,
                actor=actor,
                report_id=report_id_of(input.report_id),
                assignee_id=assignee_of(input.assignee),
                jobs=context.jobs,
                now=now(),
                expected_status=input.expected_status,
            )

        replayable = Replayable("assignReport", input.client_request_id, request_of(input))
        return await act_on_report(info, work, replayable=replayable)

    @strawberry.mutation(
        description="Move up to 100 reports to one status with the same notes (officers). Each report is checked "
        "and moved on its own, as changeReportStatus would (history, notifications): those refused are left "
        "alone, the others are moved."
    )
    async def bulk_change_report_status(
        self, info: Info, input: BulkChangeReportStatusInput
    ) -> BulkReportActionPayload:
        context: Context = info.context

        async def act(
            session: AsyncSession,
            actor: workflow.Actor,
            reference: ReferenceData,
            report_id: uuid.UUID,
            expected: models.ReportStatus,
        ) -> models.Report:
            change = status_change(
                input.to,
                public_note=input.public_note,
                internal_note=input.internal_note,
                reason=input.reason,
                duplicate_of=input.duplicate_of,
                after_photo_keys=[],
            )
            return await workflow.change_status(
                session,
                context.storage,
                context.settings,
                reference,
                workflow.calendar_for(context.settings),
                actor=actor,
                report_id=report_id,
                change=change,
                jobs=context.jobs,
                now=now(),
                expected_status=expected,
            )

        replayable = Replayable("bulkChangeReportStatus", input.client_request_id, request_of(input))
        return await act_on_reports(info, input.reports, act, replayable=replayable)

    @strawberry.mutation(
        description="Give up to 100 reports to one officer of their unit, or release them (officers). Each report "
        "is checked and assigned on its own, as assignReport would: those refused are left alone."
    )
    async def bulk_assign_reports(self, info: Info, input: BulkAssignReportsInput) -> BulkReportActionPayload:
        context: Context = info.context

        async def act(
            session: AsyncSession,
            actor: workflow.Actor,
            reference: ReferenceData,
            report_id: uuid.UUID,
            expected: models.ReportStatus,
        ) -> models.Report:
            return await workflow.assign(
                session,
                reference,
                actor=actor,
                report_id=report_id,
                assignee_id=assignee_of(input.assignee),
                jobs=context.jobs,
                now=now(),
                expected_status=expected,
            )

        replayable = Replayable("bulkAssignReports", input.client_request_id, request_of(input))
        return await act_on_reports(info, input.reports, act, replayable=replayable)

    @strawberry.mutation(description="The reporter says a completed report is not fixed: it goes back to the unit.")
    async def reopen_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="Your report.")],
        reason: Annotated[str, strawberry.argument(description="What is still wrong.")],
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> ReportActionPayload:
        context: Context = info.context

        async def work(session: AsyncSession, actor: workflow.Actor, reference: ReferenceData) -> models.Report:
            return await workflow.reopen(
                session,
                reference,
                workflow.calendar_for(context.settings),
                actor=actor,
                report_id=report_id_of(report_id),
                reason=reason,
                jobs=context.jobs,
                now=now(),
            )

        replayable = Replayable("reopenReport", client_request_id, {"reportId": report_id, "reason": reason})
        return await act_on_report(info, work, replayable=replayable)

    @strawberry.mutation(description="The reporter rates the completed work, 1 (poor) to 5 (good).")
    async def rate_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="Your completed report.")],
        rating: Annotated[int, strawberry.argument(description="1 to 5.")],
        comment: Annotated[str | None, strawberry.argument(description="Shown with the rating.")] = None,
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> ReportActionPayload:
        async def work(session: AsyncSession, actor: workflow.Actor, _: ReferenceData) -> models.Report:
            return await workflow.rate(
                session, actor=actor, report_id=report_id_of(report_id), rating=rating, comment=comment, now=now()
            )

        request = {"reportId": report_id, "rating": rating, "comment": comment}
        return await act_on_report(info, work, replayable=Replayable("rateReport", client_request_id, request))

    @strawberry.mutation(description="Get (or stop getting) notifications about a report's progress.")
    async def follow_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="The report.")],
        follow: Annotated[bool, strawberry.argument(description="true to follow, false to stop.")] = True,
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> ReportActionPayload:
        async def work(session: AsyncSession, actor: workflow.Actor, _: ReferenceData) -> models.Report:
            report_uuid = report_id_of(report_id)
            await workflow.follow(session, user_id=actor.user_id, report_id=report_uuid, on=follow)
            report = await session.get(models.Report, report_uuid)
            assert report is not None
            return report

        request = {"reportId": report_id, "follow": follow}
        return await act_on_report(info, work, replayable=Replayable("followReport", client_request_id, request))
