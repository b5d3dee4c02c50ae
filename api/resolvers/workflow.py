"""The officers' app (CROP): the work queue and the actions on a report."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import error_code, now
from api.resolvers.reports import parse_id, present_reports
from api.schema.catalogue import Unit, UnitKindEnum
from api.schema.pagination import PageInfo, check_first, decode_cursor, encode_cursor
from api.schema.reports import Report, ReportConnection, ReportEdge, ReportStatusEnum
from domain import models, workflow
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


@strawberry.type(description="A problem with an action on a report.")
class ReportActionError:
    code: ReportActionErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of an action on a report.")
class ReportActionPayload:
    report: Report | None = strawberry.field(description="The report after the action; null on error.")
    errors: list[ReportActionError] = strawberry.field(description="Empty on success.")


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


@strawberry.input(description="Pass a report to another unit (disposisi).")
class DisposeReportInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    to_unit: str = strawberry.field(
        description="Code of the unit: an agency office, an outside body, or another kelurahan (wrong GPS)."
    )
    public_note: str | None = strawberry.field(default=None, description="Shown to the reporter and the public.")
    internal_note: str | None = strawberry.field(default=None, description="Seen by staff only.")


@strawberry.input(description="Name who works on a report.")
class AssignReportInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    assignee: strawberry.ID | None = strawberry.field(
        description="An officer of the unit holding the report (your own id to take it); null to release it."
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


def jurisdiction(unit: models.Unit) -> ColumnElement[bool]:
    """The reports a unit's officers see: those it holds, and for area offices every report of the area."""
    holds = models.Report.unit_id == unit.id
    if unit.kind == models.UnitKind.KELURAHAN:
        return or_(holds, models.Report.kelurahan_id == unit.kelurahan_id)
    if unit.kind == models.UnitKind.KECAMATAN:
        return or_(holds, models.Report.kecamatan_id == unit.kecamatan_id)
    if unit.kind == models.UnitKind.KOTA:
        return or_(holds, models.Report.kota_id == unit.kota_id)
    return holds


def work_queue_query(
    actor: workflow.Actor,
    reference: ReferenceData,
    flt: WorkQueueFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    at: datetime,
) -> Select[models.Report]:
    due = func.coalesce(models.Report.due_at, NO_DEADLINE)
    query = select(models.Report)
    if actor.role == models.Role.OFFICER and actor.unit_id is not None:
        query = query.where(jurisdiction(reference.units[actor.unit_id]))
    statuses = list(flt.status) if flt.status else sorted(workflow.OPEN)
    query = query.where(models.Report.status.in_(statuses))
    if flt.category is not None:
        category = reference.category_codes.get(flt.category)
        query = query.where(models.Report.category_id == (category.id if category else -1))
    if flt.overdue is True:
        query = query.where(models.Report.due_at < at)
    elif flt.overdue is False:
        query = query.where(or_(models.Report.due_at.is_(None), models.Report.due_at >= at))
    if flt.assigned_to_me:
        query = query.where(models.Report.assignee_id == actor.user_id)
    if flt.awaiting_my_verification:
        query = query.where(models.Report.status == models.ReportStatus.VERIFYING)
        if actor.role == models.Role.OFFICER:
            supervised = [
                u.id
                for u in reference.units.values()
                if (boss := workflow.supervising_unit(u, reference)) is not None and boss.id == actor.unit_id
            ]
            query = query.where(models.Report.unit_id.in_(supervised))
    if after is not None:
        after_due, after_id = after
        query = query.where(or_(due > after_due, and_(due == after_due, models.Report.id > after_id)))
    return query.order_by(due, models.Report.id).limit(limit)


async def act_on_report(
    info: Info, work: Callable[[AsyncSession, workflow.Actor, ReferenceData], Awaitable[models.Report]]
) -> ReportActionPayload:
    """Runs an action on a report as the viewer; an expected failure is the payload's typed error."""
    context: Context = info.context
    actor = await actor_of(context)
    reference = await context.resources.reference.get()
    try:
        row = await context.db(lambda session: work(session, actor, reference))
    except DomainError as exc:
        code = error_code(context, exc, ReportActionErrorCode)
        return ReportActionPayload(
            report=None, errors=[ReportActionError(code=code, message=exc.message, field=exc.field)]
        )
    return ReportActionPayload(report=(await present_reports(context, [row]))[0], errors=[])


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
        reference = await context.resources.reference.get()
        query = work_queue_query(actor, reference, filter or WorkQueueFilter(), after=cursor, limit=limit + 1, at=now())

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


@strawberry.type
class WorkflowMutations:
    @strawberry.mutation(description="Move a report on: COORDINATION, IN_PROGRESS, COMPLETED, REJECTED, DUPLICATE.")
    async def change_report_status(self, info: Info, input: ChangeReportStatusInput) -> ReportActionPayload:
        context: Context = info.context

        async def work(session: AsyncSession, actor: workflow.Actor, reference: ReferenceData) -> models.Report:
            duplicate_of = parse_id(input.duplicate_of) if input.duplicate_of else None
            if input.duplicate_of and duplicate_of is None:
                raise DomainError("INVALID_DUPLICATE", "No such report to be a duplicate of.", field="duplicateOf")
            change = workflow.StatusChange(
                to=input.to,
                public_note=input.public_note,
                internal_note=input.internal_note,
                reason=input.reason,
                duplicate_of=duplicate_of,
                after_photo_keys=tuple(input.after_photo_keys),
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
            )

        return await act_on_report(info, work)

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
            )

        return await act_on_report(info, work)

    @strawberry.mutation(description="Name the officer of the unit working on a report, or release it.")
    async def assign_report(self, info: Info, input: AssignReportInput) -> ReportActionPayload:
        context: Context = info.context

        async def work(session: AsyncSession, actor: workflow.Actor, reference: ReferenceData) -> models.Report:
            assignee = parse_id(input.assignee) if input.assignee else None
            if input.assignee and assignee is None:
                raise DomainError("INVALID_ASSIGNEE", "No such officer.", field="assignee")
            return await workflow.assign(
                session,
                reference,
                actor=actor,
                report_id=report_id_of(input.report_id),
                assignee_id=assignee,
                jobs=context.jobs,
                now=now(),
            )

        return await act_on_report(info, work)

    @strawberry.mutation(description="The reporter says a completed report is not fixed: it goes back to the unit.")
    async def reopen_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="Your report.")],
        reason: Annotated[str, strawberry.argument(description="What is still wrong.")],
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

        return await act_on_report(info, work)

    @strawberry.mutation(description="The reporter rates the completed work, 1 (poor) to 5 (good).")
    async def rate_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="Your completed report.")],
        rating: Annotated[int, strawberry.argument(description="1 to 5.")],
        comment: Annotated[str | None, strawberry.argument(description="Shown with the rating.")] = None,
    ) -> ReportActionPayload:
        async def work(session: AsyncSession, actor: workflow.Actor, _: ReferenceData) -> models.Report:
            return await workflow.rate(
                session, actor=actor, report_id=report_id_of(report_id), rating=rating, comment=comment, now=now()
            )

        return await act_on_report(info, work)

    @strawberry.mutation(description="Get (or stop getting) notifications about a report's progress.")
    async def follow_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="The report.")],
        follow: Annotated[bool, strawberry.argument(description="true to follow, false to stop.")] = True,
    ) -> ReportActionPayload:
        async def work(session: AsyncSession, actor: workflow.Actor, _: ReferenceData) -> models.Report:
            report_uuid = report_id_of(report_id)
            await workflow.follow(session, user_id=actor.user_id, report_id=report_uuid, on=follow)
            report = await session.get(models.Report, report_uuid)
            assert report is not None
            return report

        return await act_on_report(info, work)
