from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, ForeignKey, String, Text
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


class MapLayerVersion(Base):
    """Committed changes per base layer of the public map, counted by a statement trigger on its table (migration
    0028): a kelurahan tile's ETag is made from it, so a revalidation is answered without rendering (api/tiles.py)."""

    __tablename__ = "map_layer_versions"
    __table_args__ = ({"comment": "Committed changes per base layer of the public map (its tiles' ETags)"},)

    layer: Mapped[str] = mapped_column(Text, primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, server_default="0")
