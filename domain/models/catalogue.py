from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, text_enum
from domain.models.enums import UnitKind


class Agency(Base):
    """A kind of handling body: a Suku Dinas (one per kota), a city-wide Dinas, or a body outside the city."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    per_kota: Mapped[bool] = mapped_column(Boolean, comment="one office per kota (Suku Dinas) or one for the city")
    external: Mapped[bool] = mapped_column(Boolean, comment="outside the city government (PAM Jaya, PLN, Polri)")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_id: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    first_handler: Mapped[UnitKind] = mapped_column(text_enum(UnitKind, "unit_kind"))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, comment="location is coarsened in public views")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class Unit(Base):
    """An office that handles reports: a kelurahan, kecamatan or kota office, or an agency office."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[UnitKind] = mapped_column(text_enum(UnitKind, "unit_kind"))
    name: Mapped[str] = mapped_column(String(240))
    kelurahan_id: Mapped[int | None] = mapped_column(ForeignKey("kelurahan.id"), index=True)
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    kota_id: Mapped[int | None] = mapped_column(ForeignKey("kota.id"), index=True)
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
