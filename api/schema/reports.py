from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from geoalchemy2.shape import to_shape
from strawberry.types import Info

from api.schema.catalogue import Category, Unit
from api.schema.geo import Kecamatan, Kelurahan, Kota
from api.schema.pagination import PageInfo
from api.schema.photos import Photo
from domain import models

ReportStatusEnum = strawberry.enum(
    models.ReportStatus,
    name="ReportStatus",
    description="Status of a report (Menunggu, Koordinasi, Disposisi, Proses, Selesai, ...).",
)

STATUS_LABELS_ID = {
    models.ReportStatus.WAITING: "Menunggu",
    models.ReportStatus.COORDINATION: "Koordinasi",
    models.ReportStatus.DISPOSITION: "Disposisi",
    models.ReportStatus.IN_PROGRESS: "Proses",
    models.ReportStatus.COMPLETED: "Selesai",
    models.ReportStatus.REJECTED: "Ditolak",
    models.ReportStatus.DUPLICATE: "Duplikat",
    models.ReportStatus.REOPENED: "Dibuka kembali",
}
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


@strawberry.type(description="One status change of a report (append-only history).")
class StatusChange:
    from_status: ReportStatusEnum | None = strawberry.field(  # type: ignore[valid-type]
        description="Status before; null for the first row."
    )
    to_status: ReportStatusEnum = strawberry.field(description="Status after.")  # type: ignore[valid-type]
    at: datetime = strawberry.field(description="When it changed.")
    public_note: str | None = strawberry.field(description="Note shown to the reporter and the public.")

    @classmethod
    def from_model(cls, m: models.ReportStatusChange) -> StatusChange:
        return cls(
            from_status=m.from_status,
            to_status=m.to_status,
            at=m.at,
            public_note=m.public_note,
        )


@strawberry.type(description="A citizen's report of a problem at a place.")
class Report:
    id: strawberry.ID = strawberry.field(description="Report id.")
    description: str = strawberry.field(description="What the citizen wrote.")
    location: GeoPoint = strawberry.field(
        description="Where; rounded to about 100 m in public views of sensitive categories."
    )
    status: ReportStatusEnum = strawberry.field(description="Current status.")  # type: ignore[valid-type]
    anonymous: bool = strawberry.field(description="The reporter's identity is hidden from the public.")
    routing_distance_m: float = strawberry.field(
        description="0 when the point is inside its kelurahan; else how far outside it (gaps, coast)."
    )
    created_at: datetime = strawberry.field(description="When the report was filed.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    category_id: strawberry.Private[int]
    kelurahan_id: strawberry.Private[int]
    kecamatan_id: strawberry.Private[int]
    kota_id: strawberry.Private[int]
    unit_id: strawberry.Private[int]
    reporter_id: strawberry.Private[uuid.UUID | None]
    viewer_is_privileged: strawberry.Private[bool]

    @strawberry.field(description="Status in Indonesian as shown in Qlue/CROP (Menunggu, Proses, Selesai, ...).")
    def status_label(self) -> str:
        return STATUS_LABELS_ID[self.status]

    @strawberry.field(description="The category.")
    async def category(self, info: Info) -> Category:
        return Category.from_model(await info.context.loaders.category.load(self.category_id))

    @strawberry.field(description="The kelurahan the report was routed to.")
    async def kelurahan(self, info: Info) -> Kelurahan:
        return Kelurahan.from_model(await info.context.loaders.kelurahan.load(self.kelurahan_id))

    @strawberry.field(description="The kecamatan of that kelurahan.")
    async def kecamatan(self, info: Info) -> Kecamatan:
        return Kecamatan.from_model(await info.context.loaders.kecamatan.load(self.kecamatan_id))

    @strawberry.field(description="The kota of that kelurahan.")
    async def kota(self, info: Info) -> Kota:
        return Kota.from_model(await info.context.loaders.kota.load(self.kota_id))

    @strawberry.field(description="The unit responsible for handling the report now.")
    async def unit(self, info: Info) -> Unit:
        return Unit.from_model(await info.context.loaders.unit.load(self.unit_id))

    @strawberry.field(description="Who filed it; null when anonymous, unless you filed it or you are staff.")
    async def reporter(self, info: Info) -> PublicPerson | None:
        if self.reporter_id is None or (self.anonymous and not self.viewer_is_privileged):
            return None
        user = await info.context.loaders.user.load(self.reporter_id)
        return PublicPerson(display_name=user.display_name) if user else None

    @strawberry.field(description="Photos in the order given; the public sees processed ones only.")
    async def photos(self, info: Info) -> list[Photo]:
        rows = await info.context.loaders.photos_of_report.load(uuid.UUID(self.id))
        visible = rows if self.viewer_is_privileged else [p for p in rows if p.status == models.PhotoStatus.READY]
        return [Photo.from_model(p, show_error=self.viewer_is_privileged) for p in visible]

    @strawberry.field(description="Status history, oldest first.")
    async def history(self, info: Info) -> list[StatusChange]:
        rows = await info.context.loaders.history_of_report.load(uuid.UUID(self.id))
        return [StatusChange.from_model(r) for r in rows]

    @classmethod
    def from_model(cls, m: models.Report, *, privileged: bool, sensitive: bool) -> Report:
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
            routing_distance_m=m.routing_distance_m,
            created_at=m.created_at,
            updated_at=m.updated_at,
            category_id=m.category_id,
            kelurahan_id=m.kelurahan_id,
            kecamatan_id=m.kecamatan_id,
            kota_id=m.kota_id,
            unit_id=m.unit_id,
            reporter_id=m.reporter_id,
            viewer_is_privileged=privileged,
        )


@strawberry.type(description="An edge of a report list.")
class ReportEdge:
    cursor: str = strawberry.field(description="Opaque position of this report in the list.")
    node: Report = strawberry.field(description="The report.")


@strawberry.type(description="A page of reports, newest first.")
class ReportConnection:
    edges: list[ReportEdge] = strawberry.field(description="The reports of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursor to get them.")
