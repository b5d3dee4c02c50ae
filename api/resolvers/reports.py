from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import error_code, now, rate_limit
from api.schema.catalogue import Category
from api.schema.geo import Kelurahan, KelurahanMatch
from api.schema.pagination import MAX_FIRST, PageInfo, check_first, decode_cursor, encode_cursor
from api.schema.reports import Report, ReportConnection, ReportEdge
from domain import models, reports, routing
from domain.errors import DomainError


@strawberry.enum(description="Why createReport failed.")
class CreateReportErrorCode(enum.Enum):
    INVALID_CLIENT_REQUEST_ID = "INVALID_CLIENT_REQUEST_ID"
    INVALID_LOCATION = "INVALID_LOCATION"
    OUTSIDE_SERVICE_AREA = "OUTSIDE_SERVICE_AREA"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    DESCRIPTION_REQUIRED = "DESCRIPTION_REQUIRED"
    DESCRIPTION_TOO_LONG = "DESCRIPTION_TOO_LONG"
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
    CONFLICT = "CONFLICT"


@strawberry.type(description="A createReport problem.")
class CreateReportError:
    code: CreateReportErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of createReport.")
class CreateReportPayload:
    report: Report | None = strawberry.field(description="The report (the same one on a retry); null on error.")
    errors: list[CreateReportError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A point from the device.")
class LocationInput:
    lat: float = strawberry.field(description="Latitude, -90..90.")
    lon: float = strawberry.field(description="Longitude, -180..180.")
    accuracy_m: float | None = strawberry.field(default=None, description="Stated accuracy in metres.")


@strawberry.input(description="A new report.")
class CreateReportInput:
    client_request_id: str = strawberry.field(
        description="Made by the app once per report (a UUID); a retry with the same id returns the same report."
    )
    category: str = strawberry.field(description="Category code, from `categories`.")
    description: str = strawberry.field(description="What is wrong, up to 2000 characters.")
    location: LocationInput = strawberry.field(description="Where.")
    photo_keys: list[str] = strawberry.field(
        default_factory=list,
        description="Keys from requestPhotoUpload, after uploading; at most 5.",
    )
    anonymous: bool = strawberry.field(
        default=True,
        description="Hide your name from the public (the default); false shows your display name with the report.",
    )
    confidential: bool = strawberry.field(
        default=False,
        description="Keep the whole report from the public (map, statistics, lookups): only you and officers see it. "
        "Reports of some categories (terrorism threats) are always confidential.",
    )


async def present_reports(context: Context, rows: list[models.Report]) -> list[Report]:
    viewer_id = context.viewer_id()
    staff = context.viewer_is_staff()
    reference = await context.resources.reference.get()
    categories = [reference.categories.get(r.category_id) for r in rows]
    return [
        Report.from_model(
            r,
            privileged=staff or (viewer_id is not None and r.reporter_id == viewer_id),
            sensitive=bool(c and c.sensitive),
            staff=staff,
        )
        for r, c in zip(rows, categories, strict=True)
    ]


def _privileged(context: Context, row: models.Report) -> bool:
    viewer_id = context.viewer_id()
    return context.viewer_is_staff() or (viewer_id is not None and row.reporter_id == viewer_id)


@dataclass(frozen=True)
class _Asked:
    names: frozenset[str]  # the report's fields the operation selects, through its fragments
    first_comments: int | None  # the rows the first page of `comments` reads (its loader's limit), if asked


def _asked_of_report(info: Info) -> _Asked:
    """What the operation asks of the report, so that its page is read in one statement (reports.report_page).

    Fields under @skip/@include count as asked: reading them anyway costs a subquery, not a wrong answer. The
    comments are read along only for their first page (no `after`) with a valid `first`; otherwise the field
    reads them itself, as before."""
    names: set[str] = set()
    first_comments: int | None = None

    def walk(selections: list[Any]) -> None:
        nonlocal first_comments
        for selection in selections:
            if isinstance(selection, SelectedField):
                names.add(selection.name)
                if selection.name == "comments" and selection.arguments.get("after") is None:
                    # a variable's value, or a literal's text
                    first = selection.arguments.get("first", 20)
                    if isinstance(first, str) and first.isdigit():
                        first = int(first)
                    if isinstance(first, int) and 1 <= first <= MAX_FIRST:
                        first_comments = first + 1  # the comments field reads one more, to tell if more follow
            else:  # a fragment, named or inline
                walk(selection.selections)

    for field in info.selected_fields:
        walk(field.selections)
    return _Asked(frozenset(names), first_comments)


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@strawberry.type
class ReportQueries:
    @strawberry.field(description="One report by id; null if there is none.")
    async def report(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Report id.")],
    ) -> Report | None:
        report_id = parse_id(id)
        if report_id is None:
            return None

        asked = _asked_of_report(info)

        async def run(session: AsyncSession) -> reports.ReportPage | None:
            return await reports.report_page(
                session,
                report_id,
                photos=bool(asked.names & {"photos", "afterPhotos"}),
                history="history" in asked.names,
                supports="supportCount" in asked.names,
                comments=asked.first_comments,
            )

        page = await info.context.db(run)
        if page is None or (page.report.confidential and not _privileged(info.context, page.report)):
            return None
        loaders = info.context.loaders
        if page.photos is not None:
            loaders.photos_of_report.prime(report_id, page.photos)
        if page.history is not None:
            loaders.history_of_report.prime(report_id, page.history)
        if page.supports is not None:
            loaders.support_count.prime(report_id, page.supports)
        if page.comments is not None and asked.first_comments is not None:
            loaders.comments_page.prime((report_id, None, asked.first_comments), page.comments)
        return (await present_reports(info.context, [page.report]))[0]

    @strawberry.field(description="Your own reports, newest first.")
    async def my_reports(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page."),
        ] = None,
    ) -> ReportConnection:
        viewer = info.context.require_viewer()
        limit = check_first(first)
        cursor = decode_cursor(after)

        async def run(session: AsyncSession) -> list[models.Report]:
            return await reports.my_reports(session, reporter_id=viewer.user_id, after=cursor, limit=limit + 1)

        rows = await info.context.db(run)
        page = rows[:limit]
        nodes = await present_reports(info.context, page)
        edges = [ReportEdge(cursor=encode_cursor(r.created_at, r.id), node=n) for r, n in zip(page, nodes, strict=True)]
        return ReportConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(description="The report categories, in display order.")
    async def categories(
        self,
        info: Info,
        include_inactive: Annotated[bool, strawberry.argument(description="Also list retired categories.")] = False,
    ) -> list[Category]:
        async def run(session: AsyncSession) -> list[models.Category]:
            query = select(models.Category).order_by(models.Category.sort_order)
            if not include_inactive:
                query = query.where(models.Category.active)
            return list(await session.scalars(query))

        return [Category.from_model(c) for c in await info.context.db(run)]

    @strawberry.field(description="The kelurahan a report at this point would be routed to; null outside Jakarta.")
    async def kelurahan_at(
        self,
        info: Info,
        lat: Annotated[float, strawberry.argument(description="Latitude.")],
        lon: Annotated[float, strawberry.argument(description="Longitude.")],
    ) -> KelurahanMatch | None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ClientError(ErrorCode.BAD_USER_INPUT, "lat must be in -90..90 and lon in -180..180.")
        context = info.context

        async def run(session: AsyncSession) -> tuple[models.Kelurahan, float] | None:
            area = await routing.locate(
                session,
                lat=lat,
                lon=lon,
                max_distance_m=context.settings.nearest_kelurahan_max_m,
            )
            if area is None:
                return None
            kelurahan = await session.get(models.Kelurahan, area.kelurahan_id)
            return (kelurahan, area.distance_m) if kelurahan else None

        found = await context.db(run)
        if found is None:
            return None
        return KelurahanMatch(kelurahan=Kelurahan.from_model(found[0]), distance_m=found[1])


@strawberry.type
class ReportMutations:
    @strawberry.mutation(description="File a report. Safe to retry with the same clientRequestId.")
    async def create_report(self, info: Info, input: CreateReportInput) -> CreateReportPayload:
        context = info.context
        viewer = context.require_viewer()
        await rate_limit(context, "createReport", user=viewer.user_id)
        data = reports.NewReport(
            client_request_id=input.client_request_id,
            category=input.category,
            description=input.description,
            lat=input.location.lat,
            lon=input.location.lon,
            accuracy_m=input.location.accuracy_m,
            photo_keys=list(input.photo_keys),
            anonymous=input.anonymous,
            confidential=input.confidential,
        )

        reference = await context.resources.reference.get()

        async def run(session: AsyncSession) -> reports.FiledReport:
            return await reports.create_report(
                session,
                context.storage,
                context.settings,
                reference,
                reporter_id=viewer.user_id,
                data=data,
                jobs=context.jobs,
                now=now(),
            )

        try:
            filed = await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, CreateReportErrorCode)
            return CreateReportPayload(
                report=None,
                errors=[CreateReportError(code=code, message=exc.message, field=exc.field)],
            )
        if filed.created:
            context.loaders.photos_of_report.prime(filed.report.id, filed.photos)
            context.loaders.history_of_report.prime(filed.report.id, filed.history)
        return CreateReportPayload(report=(await present_reports(context, [filed.report]))[0], errors=[])
