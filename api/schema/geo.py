from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain import models


@strawberry.type(description="A city or regency of DKI Jakarta (kota administrasi / kabupaten).")
class Kota:
    id: strawberry.ID = strawberry.field(description="Internal id.")
    code: str = strawberry.field(description="Kemendagri code, e.g. 31.73.")
    bps_code: str | None = strawberry.field(description="BPS statistics code, e.g. 3174.")
    name: str = strawberry.field(description="Short name, e.g. Jakarta Barat.")
    official_name: str = strawberry.field(description="Official name, e.g. Kota Administrasi Jakarta Barat.")

    @classmethod
    def from_model(cls, m: models.Kota) -> Kota:
        return cls(
            id=strawberry.ID(str(m.id)),
            code=m.code,
            bps_code=m.bps_code,
            name=m.name,
            official_name=m.official_name,
        )


@strawberry.type(description="A district (kecamatan), led by a camat.")
class Kecamatan:
    id: strawberry.ID = strawberry.field(description="Internal id.")
    code: str = strawberry.field(description="Kemendagri code, e.g. 31.73.02.")
    name: str = strawberry.field(description="Name, e.g. Grogol Petamburan.")
    kota_id: strawberry.Private[int]

    @strawberry.field(description="The kota this kecamatan belongs to.")
    def kota(self, info: Info) -> Kota:
        return info.context.loaders.reference(lambda ref: Kota.from_model(ref.kota[self.kota_id]))

    @classmethod
    def from_model(cls, m: models.Kecamatan) -> Kecamatan:
        return cls(id=strawberry.ID(str(m.id)), code=m.code, name=m.name, kota_id=m.kota_id)


@strawberry.type(description="A ward (kelurahan), the smallest unit of city government, led by a lurah.")
class Kelurahan:
    id: strawberry.ID = strawberry.field(description="Internal id.")
    code: str = strawberry.field(description="Kemendagri code, e.g. 31.73.02.1003.")
    bps_code: str | None = strawberry.field(description="BPS statistics code, where known.")
    name: str = strawberry.field(description="Name, e.g. Tomang.")
    kecamatan_id: strawberry.Private[int]
    kota_id: strawberry.Private[int]

    @strawberry.field(description="The kecamatan this kelurahan belongs to.")
    def kecamatan(self, info: Info) -> Kecamatan:
        return info.context.loaders.reference(lambda ref: Kecamatan.from_model(ref.kecamatan[self.kecamatan_id]))

    @strawberry.field(description="The kota this kelurahan belongs to.")
    def kota(self, info: Info) -> Kota:
        return info.context.loaders.reference(lambda ref: Kota.from_model(ref.kota[self.kota_id]))

    @classmethod
    def from_model(cls, m: models.Kelurahan) -> Kelurahan:
        return cls(
            id=strawberry.ID(str(m.id)),
            code=m.code,
            bps_code=m.bps_code,
            name=m.name,
            kecamatan_id=m.kecamatan_id,
            kota_id=m.kota_id,
        )


@strawberry.type(description="Where a point falls: its kelurahan, and how far outside it the point lies.")
class KelurahanMatch:
    kelurahan: Kelurahan = strawberry.field(description="The kelurahan a report here is routed to.")
    distance_m: float = strawberry.field(
        description="0 inside the kelurahan; otherwise the distance to it (a gap between polygons or the coast)."
    )
