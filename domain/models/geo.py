from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class Kota(Base):
    __tablename__ = "kota"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, comment="Kemendagri code, e.g. 31.73")
    bps_code: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    official_name: Mapped[str] = mapped_column(String(200))
    # Deferred: tens of kilobytes per row, needed only by spatial SQL, never by the ORM.
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False, deferred=True)


class Kecamatan(Base):
    __tablename__ = "kecamatan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    bps_code: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    kota_id: Mapped[int] = mapped_column(ForeignKey("kota.id"), index=True)
    # Deferred: tens of kilobytes per row, needed only by spatial SQL, never by the ORM.
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False, deferred=True)


class Kelurahan(Base):
    __tablename__ = "kelurahan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    bps_code: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    kota_id: Mapped[int] = mapped_column(ForeignKey("kota.id"), index=True)
    # Deferred: tens of kilobytes per row, needed only by spatial SQL, never by the ORM.
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False, deferred=True)
