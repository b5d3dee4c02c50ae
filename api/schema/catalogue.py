from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.schema.geo import Kota
from domain import models
from domain.reference import ReferenceData

UnitKindEnum = strawberry.enum(models.UnitKind, name="UnitKind", description="What kind of office a unit is.")


@strawberry.type(
    description="An office that handles reports: kelurahan, kecamatan, kota, an agency or an outside body."
)
class Unit:
    id: strawberry.ID = strawberry.field(description="Internal id.")
    code: str = strawberry.field(description="Stable code, e.g. kel-31.73.02.1003 or sudin-sda-31.73.")
    kind: UnitKindEnum = strawberry.field(description="What kind of office this is.")  # type: ignore[valid-type]
    name: str = strawberry.field(description="Display name.")
    kota_id: strawberry.Private[int | None]

    @strawberry.field(description="The kota the office serves; null for city-wide bodies.")
    def kota(self, info: Info) -> Kota | None:
        kota_id = self.kota_id
        if kota_id is None:
            return None
        return info.context.loaders.reference(lambda ref: Kota.from_model(ref.kota[kota_id]))

    @classmethod
    def from_model(cls, m: models.Unit) -> Unit:
        return cls(
            id=strawberry.ID(str(m.id)),
            code=m.code,
            kind=m.kind,
            name=m.name,
            kota_id=m.kota_id,
        )


def unit_of(info: Info, unit_id: int | None) -> Unit | None:
    """A unit of the reference snapshot, for the fields that point at one (null stays null, and so does a unit
    the snapshot does not hold)."""
    if unit_id is None:
        return None

    def read(ref: ReferenceData) -> Unit | None:
        row = ref.units.get(unit_id)
        return Unit.from_model(row) if row else None

    return info.context.loaders.reference(read)


@strawberry.type(description="A kind of problem a citizen can report.")
class Category:
    id: strawberry.ID = strawberry.field(description="Internal id.")
    code: str = strawberry.field(description="Stable code used in createReport, e.g. flood.")
    name_id: str = strawberry.field(description="Name in Indonesian, e.g. Bencana banjir.")
    name_en: str = strawberry.field(description="Name in English, e.g. Flood.")
    first_handler: UnitKindEnum = strawberry.field(  # type: ignore[valid-type]
        description="Who receives a new report first: the kelurahan, or directly an agency."
    )
    agency_code: str = strawberry.field(description="The technical agency for this kind of problem.")
    sensitive: bool = strawberry.field(description="Locations are coarsened in public views (crime, terrorism).")
    confidential: bool = strawberry.field(description="Its reports never appear in public views.")
    active: bool = strawberry.field(description="Whether new reports may use this category.")
    requires_verification: strawberry.Private[bool]

    @strawberry.field(
        description="Whether a completion waits for the supervisor's acceptance (VERIFYING) before it is "
        "COMPLETED; staff only (null for others)."
    )
    def verification_required(self, info: Info) -> bool | None:
        return self.requires_verification if info.context.viewer_is_staff() else None

    @classmethod
    def from_model(cls, m: models.Category) -> Category:
        return cls(
            id=strawberry.ID(str(m.id)),
            code=m.code,
            name_id=m.name_id,
            name_en=m.name_en,
            first_handler=m.first_handler,
            agency_code=m.agency_code,
            sensitive=m.sensitive,
            confidential=m.confidential,
            active=m.active,
            requires_verification=bool(m.verification_required),
        )
