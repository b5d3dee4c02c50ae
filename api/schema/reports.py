from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from geoalchemy2.shape import to_shape
from strawberry.types import Info

from api.loaders import later
from api.schema.catalogue import Category, Unit, unit_of
from api.schema.cctv import CctvEvidence
from api.schema.geo import Kecamatan, Kelurahan, Kota
from api.schema.pagination import PageInfo, check_first, decode_cursor, encode_cursor
from api.schema.photos import Photo
from domain import models

ReportStatusEnum = strawberry.enum(
    models.ReportStatus,
    name="ReportStatus",
    description="Status of a report (Menunggu, Koordinasi, Disposisi, Proses, Selesai, ...).",
)

# About 110 m: enough to show the area, not the doorstep, for sensitive categories in public views.
PUBLIC_SENSITIVE_DECIMALS = 3


@strawberry.type(description="A geographic point, WGS84.")
class GeoPoint:
    lat: float = strawberry.field(description="Latitude in degrees.")
    lon: float = strawberry.field(description="Longitude in degrees.")
    accuracy_m: float | None = strawberry.field(description="The device's stated accuracy in metres, if given.")


@strawberry.type(description="Someone's public name.")
class PublicPerson:
    display_name: str = strawberry.field(description="The name the person chose.")


HistoryKindEnum = strawberry.enum(
    models.HistoryKind,
    name="HistoryKind",
    description="What a history row records: a status change, an assignment, an escalation, a re-routing, a rating.",
)


@strawberry.type(description="One event in a report's append-only history.")
class StatusChange:
    kind: HistoryKindEnum = strawberry.field(description="What happened.")  # type: ignore[valid-type]
    from_status: ReportStatusEnum | None = strawberry.field(  # type: ignore[valid-type]
        description="Status before; null for the first row."
    )
    to_status: ReportStatusEnum = strawberry.field(  # type: ignore[valid-type]
        description="Status after (the same as before for events that keep the status)."
    )
    at: datetime = strawberry.field(description="When it happened.")
    public_note: str | None = strawberry.field(description="Note shown to the reporter and the public.")
    internal_note: str | None = strawberry.field(description="Note between officers; null unless you are staff.")
    escalation_level: int | None = strawberry.field(description="For escalations: 1 camat, 2 walikota office.")
    rating: int | None = strawberry.field(description="For ratings: the reporter's 1 to 5 (the note is the comment).")
    from_unit_id: strawberry.Private[int | None]
    to_unit_id: strawberry.Private[int | None]
    actor_id: strawberry.Private[uuid.UUID | None]
    assignee_id: strawberry.Private[uuid.UUID | None]
    viewer_is_staff: strawberry.Private[bool]

    @strawberry.field(description="The unit the report left (dispositions, re-routings).")
    def from_unit(self, info: Info) -> Unit | None:
        return unit_of(info, self.from_unit_id)

    @strawberry.field(description="The unit the report went to (dispositions, re-routings, escalations).")
    def to_unit(self, info: Info) -> Unit | None:
        return unit_of(info, self.to_unit_id)

    @strawberry.field(description="Who did it; staff only (null for the public and for automatic escalations).")
    def actor(self, info: Info) -> PublicPerson | None:
        return _person(info, self.actor_id) if self.viewer_is_staff else None

    @strawberry.field(description="For assignments: the officer now working on the report; staff only.")
    def assignee(self, info: Info) -> PublicPerson | None:
        return _person(info, self.assignee_id) if self.viewer_is_staff else None

    @classmethod
    def from_model(cls, m: models.ReportStatusChange, *, staff: bool) -> StatusChange:
        return cls(
            kind=m.kind or models.HistoryKind.STATUS,
            from_status=m.from_status,
            to_status=m.to_status,
            at=m.at,
            public_note=m.public_note,
            internal_note=m.internal_note if staff else None,
            escalation_level=m.escalation_level,
            rating=m.rating,
            from_unit_id=m.from_unit_id,
            to_unit_id=m.to_unit_id,
            actor_id=m.actor_id,
            assignee_id=m.assignee_id,
            viewer_is_staff=staff,
        )


def _person(info: Info, user_id: uuid.UUID | None) -> PublicPerson | None:
    """The person of an account (null once it is deleted), for a resolver to return: at once when there is none."""
    if user_id is None:
        return None

    async def load(user_id: uuid.UUID) -> PublicPerson | None:
        user = await info.context.loaders.user.load(user_id)
        return PublicPerson(display_name=user.display_name) if user else None

    return later(load(user_id))


@strawberry.type(description="A public comment on a report.")
class Comment:
    id: strawberry.ID = strawberry.field(description="Comment id (for hideComment).")
    created_at: datetime = strawberry.field(description="When it was written.")
    hidden: bool = strawberry.field(description="Hidden by a moderator; its text is then for staff only.")
    author_id: strawberry.Private[uuid.UUID | None]
    text: strawberry.Private[str]
    reason: strawberry.Private[str | None]
    viewer_is_staff: strawberry.Private[bool]

    @strawberry.field(description="The text; null when hidden, unless you are staff.")
    def body(self) -> str | None:
        return None if self.hidden and not self.viewer_is_staff else self.text

    @strawberry.field(description="Why a moderator hid it; staff only.")
    def hidden_reason(self) -> str | None:
        return self.reason if self.viewer_is_staff else None

    @strawberry.field(description="Who wrote it; null once their account is deleted.")
    def author(self, info: Info) -> PublicPerson | None:
        return _person(info, self.author_id)

    @strawberry.field(description="Written by an officer or an admin (an official answer).")
    def by_staff(self, info: Info) -> bool:
        if self.author_id is None:
            return False

        async def load(author_id: uuid.UUID) -> bool:
            user = await info.context.loaders.user.load(author_id)
            return user is not None and user.role in (models.Role.OFFICER, models.Role.ADMIN)

        return later(load(self.author_id))

    @classmethod
    def from_model(cls, m: models.ReportComment, *, staff: bool) -> Comment:
        return cls(
            id=strawberry.ID(str(m.id)),
            created_at=m.created_at,
            hidden=m.hidden_at is not None,
            author_id=m.author_id,
            text=m.body,
            reason=m.hidden_reason,
            viewer_is_staff=staff,
        )


@strawberry.type(description="An edge of a comment list.")
class CommentEdge:
    cursor: str = strawberry.field(description="Opaque position of this comment in the list.")
    node: Comment = strawberry.field(description="The comment.")


@strawberry.type(description="A page of comments, oldest first.")
class CommentConnection:
    edges: list[CommentEdge] = strawberry.field(description="The comments of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursor to get them.")


@strawberry.type(description="A citizen's report of a problem at a place.")
class Report:
    id: strawberry.ID = strawberry.field(description="Report id.")
    description: str = strawberry.field(description="What the citizen wrote.")
    location: GeoPoint = strawberry.field(
        description="Where; rounded to about 100 m in public views of sensitive categories."
    )
    status: ReportStatusEnum = strawberry.field(description="Current status.")  # type: ignore[valid-type]
    anonymous: bool = strawberry.field(description="The reporter's identity is hidden from the public.")
    confidential: bool = strawberry.field(description="Absent from every public view; staff and the reporter only.")
    routing_distance_m: float = strawberry.field(
        description="0 when the point is inside its kelurahan; else how far outside it (gaps, coast)."
    )
    created_at: datetime = strawberry.field(description="When the report was filed.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    due_at: datetime | None = strawberry.field(
        description="The next deadline: the first response, then completion (working hours); null once closed."
    )
    response_due_at: datetime | None = strawberry.field(description="Deadline for the first response.")
    completion_due_at: datetime | None = strawberry.field(description="Deadline for completion.")
    first_response_at: datetime | None = strawberry.field(description="When an officer first acted on it.")
    closed_at: datetime | None = strawberry.field(description="When it was completed, rejected or marked duplicate.")
    escalation_level: int = strawberry.field(
        description="0 none; 1 raised to the camat (response late); 2 to the walikota office (completion late)."
    )
    duplicate_of: strawberry.ID | None = strawberry.field(description="For DUPLICATE: the original report.")
    hidden: bool = strawberry.field(description="Hidden from the public by a moderator (confidential meanwhile).")
    hidden_note: strawberry.Private[str | None]
    category_id: strawberry.Private[int]
    kelurahan_id: strawberry.Private[int]
    kecamatan_id: strawberry.Private[int]
    kota_id: strawberry.Private[int]
    unit_id: strawberry.Private[int]
    reporter_id: strawberry.Private[uuid.UUID | None]
    assignee_id: strawberry.Private[uuid.UUID | None]
    viewer_is_privileged: strawberry.Private[bool]
    viewer_is_staff: strawberry.Private[bool]

    @strawberry.field(description="Why a moderator hid it; for its reporter and staff.")
    def hidden_reason(self) -> str | None:
        return self.hidden_note if self.viewer_is_privileged else None

    @strawberry.field(description="Whether the current deadline has passed while the report is open.")
    def overdue(self) -> bool:
        return self.due_at is not None and self.due_at < datetime.now(UTC)

    @strawberry.field(description="The officer working on it; staff only.")
    def assignee(self, info: Info) -> PublicPerson | None:
        return _person(info, self.assignee_id) if self.viewer_is_staff else None

    @strawberry.field(description="Status in Indonesian as shown in Qlue/CROP (Menunggu, Proses, Selesai, ...).")
    def status_label(self) -> str:
        return models.STATUS_LABELS_ID[self.status]

    @strawberry.field(description="The category.")
    def category(self, info: Info) -> Category:
        return info.context.loaders.reference(lambda ref: Category.from_model(ref.categories[self.category_id]))

    @strawberry.field(description="The kelurahan the report was routed to.")
    def kelurahan(self, info: Info) -> Kelurahan:
        return info.context.loaders.reference(lambda ref: Kelurahan.from_model(ref.kelurahan[self.kelurahan_id]))

    @strawberry.field(description="The kecamatan of that kelurahan.")
    def kecamatan(self, info: Info) -> Kecamatan:
        return info.context.loaders.reference(lambda ref: Kecamatan.from_model(ref.kecamatan[self.kecamatan_id]))

    @strawberry.field(description="The kota of that kelurahan.")
    def kota(self, info: Info) -> Kota:
        return info.context.loaders.reference(lambda ref: Kota.from_model(ref.kota[self.kota_id]))

    @strawberry.field(description="The unit responsible for handling the report now.")
    def unit(self, info: Info) -> Unit:
        return info.context.loaders.reference(lambda ref: Unit.from_model(ref.units[self.unit_id]))

    @strawberry.field(description="Who filed it; null when anonymous, unless you filed it or you are staff.")
    def reporter(self, info: Info) -> PublicPerson | None:
        if self.reporter_id is None or (self.anonymous and not self.viewer_is_privileged):
            return None
        return _person(info, self.reporter_id)

    @strawberry.field(description="The reporter's photos in the order given; the public sees processed ones only.")
    async def photos(self, info: Info) -> list[Photo]:
        return await self._photos(info, models.PhotoKind.REPORT)

    @strawberry.field(description="The officers' photos of the finished work.")
    async def after_photos(self, info: Info) -> list[Photo]:
        return await self._photos(info, models.PhotoKind.AFTER)

    async def _photos(self, info: Info, kind: models.PhotoKind) -> list[Photo]:
        rows = await info.context.loaders.photos_of_report.load(uuid.UUID(self.id))
        mine = [p for p in rows if (p.kind or models.PhotoKind.REPORT) == kind]
        visible = mine if self.viewer_is_privileged else [p for p in mine if p.status == models.PhotoStatus.READY]
        return [Photo.from_model(p, show_error=self.viewer_is_privileged) for p in visible]

    @strawberry.field(
        description="What nearby CCTV cameras showed around the report's time. Staff see every camera's evidence "
        "with its clip; others only face-blurred snapshots of cameras that allow it."
    )
    async def cctv_evidence(self, info: Info) -> list[CctvEvidence]:
        context = info.context
        rows = await context.loaders.evidence_of_report.load(uuid.UUID(self.id))
        admin = context.viewer is not None and context.viewer.role == models.Role.ADMIN
        if self.viewer_is_staff:
            return [CctvEvidence.from_model(e, c, staff=True, admin=admin) for e, c in rows]
        if not context.settings.cctv_public_snapshots:
            return []
        return [
            CctvEvidence.from_model(e, c, staff=False, admin=False)
            for e, c in rows
            if e.status == models.EvidenceStatus.READY and c.public_snapshots
        ]

    @strawberry.field(description='How many citizens said "me too" (supportReport).')
    async def support_count(self, info: Info) -> int:
        count: int = await info.context.loaders.support_count.load(uuid.UUID(self.id))
        return count

    @strawberry.field(description="Whether you support it; false when not logged in.")
    def supported_by_me(self, info: Info) -> bool:
        if info.context.viewer is None:
            return False
        supported: Awaitable[bool] = info.context.loaders.supported_by_me.load(uuid.UUID(self.id))
        return later(supported)

    @strawberry.field(description="Whether you follow it (followReport); false when not logged in.")
    def followed_by_me(self, info: Info) -> bool:
        if info.context.viewer is None:
            return False
        followed: Awaitable[bool] = info.context.loaders.followed_by_me.load(uuid.UUID(self.id))
        return later(followed)

    @strawberry.field(description="Whether you filed it (you may rate and reopen it); false when not logged in.")
    def filed_by_me(self, info: Info) -> bool:
        viewer = info.context.viewer_id()
        return viewer is not None and viewer == self.reporter_id

    @strawberry.field(description="Public comments, oldest first.")
    async def comments(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")] = None,
    ) -> CommentConnection:
        limit, position = check_first(first), decode_cursor(after)

        rows = await info.context.loaders.comments_page.load((uuid.UUID(self.id), position, limit + 1))
        edges = [
            CommentEdge(
                cursor=encode_cursor(c.created_at, c.id), node=Comment.from_model(c, staff=self.viewer_is_staff)
            )
            for c in rows[:limit]
        ]
        return CommentConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="Reports marked as duplicates of this one (their supporters support this one).")
    async def duplicates(self, info: Info) -> list[strawberry.ID]:
        rows = await info.context.loaders.duplicates_of_report.load(uuid.UUID(self.id))
        return [strawberry.ID(str(r.id)) for r in rows if self.viewer_is_staff or not r.confidential]

    @strawberry.field(description="History, oldest first.")
    async def history(self, info: Info) -> list[StatusChange]:
        rows = await info.context.loaders.history_of_report.load(uuid.UUID(self.id))
        return [StatusChange.from_model(r, staff=self.viewer_is_staff) for r in rows]

    @classmethod
    def from_model(cls, m: models.Report, *, privileged: bool, sensitive: bool, staff: bool = False) -> Report:
        point = to_shape(m.location)
        lat, lon, accuracy = point.y, point.x, m.accuracy_m
        if sensitive and not privileged:
            lat, lon = (
                round(lat, PUBLIC_SENSITIVE_DECIMALS),
                round(lon, PUBLIC_SENSITIVE_DECIMALS),
            )
            accuracy = None
        return cls(
            id=strawberry.ID(str(m.id)),
            description=m.description,
            location=GeoPoint(lat=lat, lon=lon, accuracy_m=accuracy),
            status=m.status,
            anonymous=m.anonymous,
            confidential=m.confidential,
            routing_distance_m=m.routing_distance_m,
            created_at=m.created_at,
            updated_at=m.updated_at,
            category_id=m.category_id,
            kelurahan_id=m.kelurahan_id,
            kecamatan_id=m.kecamatan_id,
            kota_id=m.kota_id,
            unit_id=m.unit_id,
            reporter_id=m.reporter_id,
            due_at=m.due_at,
            response_due_at=m.response_due_at,
            completion_due_at=m.completion_due_at,
            first_response_at=m.first_response_at,
            closed_at=m.closed_at,
            escalation_level=m.escalation_level or 0,
            duplicate_of=strawberry.ID(str(m.duplicate_of_id)) if m.duplicate_of_id else None,
            hidden=m.hidden_at is not None,
            hidden_note=m.hidden_reason,
            assignee_id=m.assignee_id,
            viewer_is_privileged=privileged,
            viewer_is_staff=staff,
        )


@strawberry.type(description="An edge of a report list.")
class ReportEdge:
    cursor: str = strawberry.field(description="Opaque position of this report in the list.")
    node: Report = strawberry.field(description="The report.")


@strawberry.type(description="A page of reports, newest first.")
class ReportConnection:
    edges: list[ReportEdge] = strawberry.field(description="The reports of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursor to get them.")
