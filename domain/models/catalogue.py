from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, text_enum
from domain.models.enums import RoutingHandler, UnitKind


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
    confidential: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false", comment="its reports are never public (terrorism threats)"
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    response_hours: Mapped[float] = mapped_column(
        Float, default=8.0, server_default="8", comment="SLA: working hours from filing to the first response"
    )
    completion_hours: Mapped[float] = mapped_column(
        Float, default=40.0, server_default="40", comment="SLA: working hours from filing to completion"
    )
    verification_required: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default="false",
        comment="a completion waits for the supervisor's acceptance (VERIFYING) before it is COMPLETED",
    )


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


class RoutingRule(Base):
    """Who handles a category first: city-wide (no area), or in one kota, kecamatan or kelurahan.

    The most specific rule for a report's place wins. The city-wide rules are seeded from the category
    catalogue; admins edit the others through GraphQL.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint("category_id", "kota_id", "kecamatan_id", "kelurahan_id", postgresql_nulls_not_distinct=True),
        CheckConstraint("num_nonnulls(kota_id, kecamatan_id, kelurahan_id) <= 1", name="at_most_one_area"),
        CheckConstraint("(handler = 'AGENCY') = (agency_code IS NOT NULL)", name="agency_handler_names_agency"),
        CheckConstraint("(handler = 'UNIT') = (unit_id IS NOT NULL)", name="unit_handler_names_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    kota_id: Mapped[int | None] = mapped_column(ForeignKey("kota.id"))
    kecamatan_id: Mapped[int | None] = mapped_column(ForeignKey("kecamatan.id"))
    kelurahan_id: Mapped[int | None] = mapped_column(ForeignKey("kelurahan.id"))
    handler: Mapped[RoutingHandler] = mapped_column(text_enum(RoutingHandler, "routing_handler"))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
