"""Citizens around a report: similar and nearby reports, the trending feed, "me too", public comments."""

from __future__ import annotations

import base64
import enum
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import error_code, now, rate_limit
from api.resolvers.reports import parse_id, present_reports
from api.resolvers.workflow import (
    CLIENT_REQUEST_ID,
    Replayable,
    ReportActionPayload,
    act_on_report,
    actor_of,
    report_id_of,
)
from api.schema.pagination import PageInfo, check_first
from api.schema.reports import Comment, Report
from domain import community, idempotency, models, moderation, workflow
from domain.errors import DomainError
from domain.reference import ReferenceData

TRENDING_MAX = 50
TRENDING_DAYS_MAX = 30


@strawberry.type(description="A report and how far it is from the point asked about.")
class NearbyReport:
    report: Report = strawberry.field(description="The report.")
    distance_m: float = strawberry.field(description="Geodesic distance in metres.")


@strawberry.type(description="An edge of a nearby-report list.")
class NearbyEdge:
    cursor: str = strawberry.field(description="Opaque position in the list.")
    node: NearbyReport = strawberry.field(description="The report and its distance.")


@strawberry.type(description="A page of reports, nearest first.")
class NearbyConnection:
    edges: list[NearbyEdge] = strawberry.field(description="The reports of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursor to get them.")


@strawberry.type(description="A report with its recent activity.")
class TrendingReport:
    report: Report = strawberry.field(description="The report.")
    supports: int = strawberry.field(description="Supports in the window.")
    comments: int = strawberry.field(description="Comments in the window (hidden ones not counted).")


@strawberry.enum(description="Why a comment action failed.")
class CommentErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    BODY_REQUIRED = "BODY_REQUIRED"
    BODY_TOO_LONG = "BODY_TOO_LONG"
    REASON_REQUIRED = "REASON_REQUIRED"
    REASON_TOO_LONG = "REASON_TOO_LONG"
    CONFLICT = "CONFLICT"
    INVALID_CLIENT_REQUEST_ID = "INVALID_CLIENT_REQUEST_ID"


@strawberry.type(description="A problem with a comment action.")
class CommentError:
    code: CommentErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of a comment action.")
class CommentPayload:
    comment: Comment | None = strawberry.field(description="The comment; null on error.")
    errors: list[CommentError] = strawberry.field(description="Empty on success.")


def _bad_input(exc: DomainError) -> ClientError:
    return ClientError(ErrorCode.BAD_USER_INPUT, exc.message, field=exc.field, reason=exc.code)


def _nearby_cursor(distance: float, report_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{distance!r}|{report_id}".encode()).decode()


def _nearby_after(cursor: str | None) -> tuple[float, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        distance, _, report_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return float(distance), uuid.UUID(report_id)
    except ValueError as exc:
        raise ClientError(ErrorCode.BAD_USER_INPUT, "`after` is not a cursor this API gave out.") from exc


async def _present_nearby(context: Context, found: list[community.Nearby]) -> list[NearbyReport]:
    shown = await present_reports(context, [n.report for n in found])
    return [NearbyReport(report=r, distance_m=n.distance_m) for r, n in zip(shown, found, strict=True)]


@strawberry.enum(description="Why a flag was not taken.")
class FlagErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    REASON_REQUIRED = "REASON_REQUIRED"
    REASON_TOO_LONG = "REASON_TOO_LONG"
    CONFLICT = "CONFLICT"
    INVALID_CLIENT_REQUEST_ID = "INVALID_CLIENT_REQUEST_ID"


@strawberry.type(description="A problem with a flag.")
class FlagError:
    code: FlagErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of flagReport or flagComment.")
class FlagPayload:
    flagged: bool = strawberry.field(description="The moderators will see it (a second flag of yours counts once).")
    errors: list[FlagError] = strawberry.field(description="Empty on success.")


@strawberry.type(name="AbuseFlag", description="A flag waiting for a moderator.")
class AbuseFlagType:
    id: strawberry.ID = strawberry.field(description="Flag id.")
    report_id: strawberry.ID = strawberry.field(description="The report flagged, or the comment's report.")
    comment_id: strawberry.ID | None = strawberry.field(description="The comment flagged, if it was one.")
    reason: str = strawberry.field(description="What the flagger said.")
    created_at: datetime = strawberry.field(description="When.")


@strawberry.type
class CommunityQueries:
    @strawberry.field(
        name="abuseFlags", description="Flags no moderator has acted on, oldest first (moderators, auditors)."
    )
    async def abuse_flags(
        self, info: Info, first: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 50
    ) -> list[AbuseFlagType]:
        context: Context = info.context
        actor = await actor_of(context)
        limit = check_first(first)
        try:
            rows = await context.db(lambda session: moderation.open_flags(session, actor=actor, limit=limit))
        except DomainError as exc:
            raise ClientError(ErrorCode.FORBIDDEN, exc.message) from exc
        return [
            AbuseFlagType(
                id=strawberry.ID(str(f.id)),
                report_id=strawberry.ID(str(f.report_id)),
                comment_id=strawberry.ID(str(f.comment_id)) if f.comment_id else None,
                reason=f.reason,
                created_at=f.created_at,
            )
            for f in rows
        ]

    @strawberry.field(
        description="Open reports of a category within 250 m of a point, nearest first, at most 5: ask before "
        "filing, and support one of them instead of filing a duplicate."
    )
    async def similar_reports(
        self,
        info: Info,
        lat: Annotated[float, strawberry.argument(description="Latitude.")],
        lon: Annotated[float, strawberry.argument(description="Longitude.")],
        category: Annotated[str, strawberry.argument(description="Category code.")],
    ) -> list[NearbyReport]:
        context: Context = info.context
        reference = await context.resources.reference.get()
        found_category = reference.category_codes.get(category)
        if found_category is None:
            raise ClientError(
                ErrorCode.BAD_USER_INPUT, f"No category {category!r}.", field="category", reason="UNKNOWN_CATEGORY"
            )

        async def run(session: AsyncSession) -> list[community.Nearby]:
            return await community.similar_reports(session, lat=lat, lon=lon, category_id=found_category.id)

        try:
            found = await context.db(run)
        except DomainError as exc:
            raise _bad_input(exc) from exc
        return await _present_nearby(context, found)

    @strawberry.field(description="Public reports within radiusM (at most 5 km) of a point, nearest first.")
    async def nearby_reports(
        self,
        info: Info,
        lat: Annotated[float, strawberry.argument(description="Latitude.")],
        lon: Annotated[float, strawberry.argument(description="Longitude.")],
        radius_m: Annotated[float, strawberry.argument(description="Radius in metres, up to 5000.")] = 1000.0,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")] = None,
    ) -> NearbyConnection:
        context: Context = info.context
        limit, position = check_first(first), _nearby_after(after)

        async def run(session: AsyncSession) -> list[community.Nearby]:
            return await community.nearby_reports(
                session, lat=lat, lon=lon, radius_m=radius_m, after=position, limit=limit + 1
            )

        try:
            found = await context.db(run)
        except DomainError as exc:
            raise _bad_input(exc) from exc
        nodes = await _present_nearby(context, found[:limit])
        edges = [
            NearbyEdge(cursor=_nearby_cursor(n.distance_m, n.report.id), node=node)
            for n, node in zip(found[:limit], nodes, strict=True)
        ]
        return NearbyConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(found) > limit, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="Open public reports with the most supports and comments lately.")
    async def trending_reports(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="How many, 1 to 50.")] = 20,
        days: Annotated[int, strawberry.argument(description="The window in days, 1 to 30.")] = 7,
    ) -> list[TrendingReport]:
        context: Context = info.context
        if not 1 <= first <= TRENDING_MAX:
            raise ClientError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {TRENDING_MAX}.")
        if not 1 <= days <= TRENDING_DAYS_MAX:
            raise ClientError(ErrorCode.BAD_USER_INPUT, f"`days` must be between 1 and {TRENDING_DAYS_MAX}.")

        async def run(session: AsyncSession) -> list[community.Trending]:
            return await community.trending_reports(session, since=now() - timedelta(days=days), limit=first)

        found = await context.db(run)
        shown = await present_reports(context, [t.report for t in found])
        return [
            TrendingReport(report=r, supports=t.supports, comments=t.comments)
            for r, t in zip(shown, found, strict=True)
        ]


async def _current_comment(session: AsyncSession, comment_id: str) -> models.ReportComment:
    comment = await session.get(models.ReportComment, uuid.UUID(comment_id))
    if comment is None:
        raise DomainError("NOT_FOUND", "No such comment.", field="commentId")
    return comment


async def _comment_action(
    info: Info,
    work: Callable[[AsyncSession, workflow.Actor], Awaitable[models.ReportComment]],
    replayable: Replayable | None = None,
) -> CommentPayload:
    context: Context = info.context
    actor = await actor_of(context)

    async def run(session: AsyncSession) -> models.ReportComment:
        return await idempotency.once(
            session,
            replayable.key(actor) if replayable else None,
            act=lambda: work(session, actor),
            record=lambda comment: {"commentId": str(comment.id)},
            replay=lambda outcome: _current_comment(session, outcome["commentId"]),
            now=now(),
        )

    try:
        row = await context.db(run)
    except DomainError as exc:
        code = error_code(context, exc, CommentErrorCode)
        return CommentPayload(comment=None, errors=[CommentError(code=code, message=exc.message, field=exc.field)])
    return CommentPayload(comment=Comment.from_model(row, staff=context.viewer_is_staff()), errors=[])


@strawberry.type
class CommunityMutations:
    @strawberry.mutation(description="Say 'me too' on someone else's open report (false takes it back).")
    async def support_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="The report.")],
        support: Annotated[bool, strawberry.argument(description="true to support, false to stop.")] = True,
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> ReportActionPayload:
        async def work(session: AsyncSession, actor: workflow.Actor, _: ReferenceData) -> models.Report:
            return await community.support(
                session, actor=actor, report_id=report_id_of(report_id), on=support, now=now()
            )

        request = {"reportId": report_id, "support": support}
        return await act_on_report(info, work, replayable=Replayable("supportReport", client_request_id, request))

    @strawberry.mutation(description="Comment on a report, publicly (1 to 1000 characters).")
    async def add_comment(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="The report.")],
        body: Annotated[str, strawberry.argument(description="The comment.")],
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> CommentPayload:
        context: Context = info.context
        target = parse_id(report_id)
        await rate_limit(context, "addComment", user=context.require_viewer().user_id)

        async def work(session: AsyncSession, actor: workflow.Actor) -> models.ReportComment:
            if target is None:
                raise DomainError("NOT_FOUND", "No such report.", field="reportId")
            return await community.add_comment(
                session, actor=actor, report_id=target, body=body, jobs=context.jobs, now=now()
            )

        request = {"reportId": report_id, "body": body}
        return await _comment_action(info, work, Replayable("addComment", client_request_id, request))

    @strawberry.mutation(description="Hide a comment from the public, with the reason (moderators only).")
    async def hide_comment(
        self,
        info: Info,
        comment_id: Annotated[strawberry.ID, strawberry.argument(description="The comment.")],
        reason: Annotated[str, strawberry.argument(description="Why; seen by staff.")],
    ) -> CommentPayload:
        target = parse_id(comment_id)

        async def work(session: AsyncSession, actor: workflow.Actor) -> models.ReportComment:
            if target is None:
                raise DomainError("NOT_FOUND", "No such comment.", field="commentId")
            return await moderation.hide_comment(session, actor=actor, comment_id=target, reason=reason, now=now())

        return await _comment_action(info, work)

    @strawberry.mutation(description="Tell the moderators a report is abuse (spam, insults, someone's privacy).")
    async def flag_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="The report.")],
        reason: Annotated[str, strawberry.argument(description="What is wrong, up to 500 characters.")],
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> FlagPayload:
        replayable = Replayable("flagReport", client_request_id, {"reportId": report_id, "reason": reason})
        return await _flag(
            info, report_id=parse_id(report_id), comment_id=None, reason=reason, field="reportId", replayable=replayable
        )

    @strawberry.mutation(description="Tell the moderators a comment is abuse.")
    async def flag_comment(
        self,
        info: Info,
        comment_id: Annotated[strawberry.ID, strawberry.argument(description="The comment.")],
        reason: Annotated[str, strawberry.argument(description="What is wrong, up to 500 characters.")],
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> FlagPayload:
        replayable = Replayable("flagComment", client_request_id, {"commentId": comment_id, "reason": reason})
        return await _flag(
            info,
            report_id=None,
            comment_id=parse_id(comment_id),
            reason=reason,
            field="commentId",
            replayable=replayable,
        )

    @strawberry.mutation(
        description="Hide a report from the public, with the reason, or show it again (hidden: false); "
        "moderators only. Its reporter and staff still see it; the history keeps the reason."
    )
    async def hide_report(
        self,
        info: Info,
        report_id: Annotated[strawberry.ID, strawberry.argument(description="The report.")],
        reason: Annotated[str, strawberry.argument(description="Why; in the history, for staff.")],
        hidden: Annotated[bool, strawberry.argument(description="false shows it again.")] = True,
        client_request_id: Annotated[str | None, strawberry.argument(description=CLIENT_REQUEST_ID)] = None,
    ) -> ReportActionPayload:
        async def work(session: AsyncSession, actor: workflow.Actor, _: ReferenceData) -> models.Report:
            return await moderation.hide_report(
                session, actor=actor, report_id=report_id_of(report_id), reason=reason, hidden=hidden, now=now()
            )

        request = {"reportId": report_id, "reason": reason, "hidden": hidden}
        return await act_on_report(info, work, replayable=Replayable("hideReport", client_request_id, request))


async def _flag(
    info: Info,
    *,
    report_id: uuid.UUID | None,
    comment_id: uuid.UUID | None,
    reason: str,
    field: str,
    replayable: Replayable,
) -> FlagPayload:
    context: Context = info.context
    actor = await actor_of(context)

    async def flag(session: AsyncSession) -> uuid.UUID:
        if report_id is None and comment_id is None:
            raise DomainError("NOT_FOUND", "Nothing by that id.", field=field)
        return await moderation.flag(
            session, actor=actor, report_id=report_id, comment_id=comment_id, reason=reason, now=now()
        )

    async def replay(outcome: idempotency.Outcome) -> uuid.UUID:
        return uuid.UUID(outcome["reportId"])

    async def run(session: AsyncSession) -> uuid.UUID:
        return await idempotency.once(
            session,
            replayable.key(actor),
            act=lambda: flag(session),
            record=lambda flagged: {"reportId": str(flagged)},
            replay=replay,
            now=now(),
        )

    try:
        await context.db(run)
    except DomainError as exc:
        code = error_code(context, exc, FlagErrorCode)
        return FlagPayload(flagged=False, errors=[FlagError(code=code, message=exc.message, field=exc.field)])
    return FlagPayload(flagged=True, errors=[])
