from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, TimestampMixin, text_enum
from domain.models.enums import HistoryKind, PhotoKind, PhotoStatus, ReportStatus

# The work queue's order and its reports (api/resolvers/workflow.py QUEUE_DUE and workflow.OPEN), as the indexes of
# migration 0027 state them.
QUEUE_DUE = "coalesce(due_at, '9999-12-31 00:00:00+00'::timestamptz)"
OPEN_STATUSES = "status IN ('WAITING', 'COORDINATION', 'DISPOSITION', 'IN_PROGRESS', 'REOPENED', 'VERIFYING')"


class Report(TimestampMixin, Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("reporter_id", "client_request_id"),
        Index("ix_reports_reporter_created", "reporter_id", "created_at"),
        Index("ix_reports_kelurahan_created", "kelurahan_id", "created_at"),
        Index("ix_reports_unit_status", "unit_id", "status"),
        # The work queues: one jurisdiction's open reports in the queue's order (migration 0027).
        *(
            Index(
                f"ix_reports_{holder}_queue",
                f"{holder}_id",
                text(QUEUE_DUE),
                "id",
                postgresql_where=text(OPEN_STATUSES),
            )
            for holder in ("unit", "kelurahan", "kecamatan", "kota")
        ),
        Index("ix_reports_updated", "updated_at"),
        Index("ix_reports_open_due", "due_at", postgresql_where="due_at IS NOT NULL"),
        # The public map's newest reports of a box, read backwards (migration 0007 says why).
        Index(
            "ix_reports_public_newest",
            "created_at",
            "id",
            postgresql_include=["location", "category_id", "status"],
            postgresql_where="NOT confidential",
        ),
        # The CCTV sweep's question: reports whose camera match was lost (migration 0008).
        Index("ix_reports_cctv_unmatched", "created_at", postgresql_where="cctv_matched_at IS NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_request_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64), comment="sha256 of the submitted content, for retries")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    description: Mapped[str] = mapped_column(Text)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    kelurahan_id: Mapped[int] = mapped_column(ForeignKey("kelurahan.id"))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    kota_id: Mapped[int] = mapped_column(ForeignKey("kota.id"), index=True)
    routing_distance_m: Mapped[float] = mapped_column(
        Float,
        default=0.0,
        comment="0 inside the kelurahan; else the distance to it (gap or coast)",
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[ReportStatus] = mapped_column(text_enum(ReportStatus, "report_status"))
    anonymous: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(
        default=False, server_default="false", comment="staff only: absent from every public view"
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), comment="the officer of the unit working on it"
    )
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completion_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="the next deadline: response, then completion; NULL once closed"
    )
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_level: Mapped[int] = mapped_column(
        SmallInteger,
        default=0,
        server_default="0",
        comment="0 none, 1 camat (response missed), 2 walikota (completion missed)",
    )
    hidden_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="hidden by a moderator: confidential meanwhile (migration 0011)"
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    hidden_was_confidential: Mapped[bool | None] = mapped_column(comment="confidential before it was hidden")
    cctv_matched_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="when cameras were looked for (NULL: the cctv.match job is still due)"
    )


class ReportStatusChange(Base):
    """Append-only history of a report: status changes, assignments, escalations, re-routings.

    from_status/to_status are the same on rows that do not change the status; from_unit/to_unit are set
    when the report moves to another unit (disposition, re-routing).
    """

    __tablename__ = "report_status_changes"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[ReportStatus | None] = mapped_column(text_enum(ReportStatus, "from_status"))
    to_status: Mapped[ReportStatus] = mapped_column(text_enum(ReportStatus, "to_status"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    public_note: Mapped[str | None] = mapped_column(Text)
    internal_note: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[HistoryKind] = mapped_column(
        text_enum(HistoryKind, "history_kind"), default=HistoryKind.STATUS, server_default="STATUS"
    )
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    escalation_level: Mapped[int | None] = mapped_column(SmallInteger)
    # On the rows that give a unit the report (filing, disposition, re-routing): that unit's own deadlines,
    # counted in working time from the moment it received the report (migration 0009).
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completion_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int | None] = mapped_column(SmallInteger, comment="RATING rows: 1 to 5")


class Photo(TimestampMixin, Base):
    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_report", "report_id", "position"),
        Index(
            "ix_photos_pending",
            "created_at",
            postgresql_where="status = 'ATTACHED'",
        ),
        # The sweep's question: which finished photos may still have their original (with its EXIF) in uploads/.
        Index(
            "ix_photos_original_kept",
            "processed_at",
            postgresql_where="status IN ('READY', 'FAILED') AND original_deleted_at IS NULL",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    upload_key: Mapped[str] = mapped_column(String(200), unique=True, comment="where the client uploaded it")
    content_type: Mapped[str] = mapped_column(String(40))
    declared_bytes: Mapped[int]
    status: Mapped[PhotoStatus] = mapped_column(text_enum(PhotoStatus, "photo_status"))
    image_key: Mapped[str | None] = mapped_column(String(200))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None]
    height: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    original_deleted_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="when the upload (which may carry GPS) was deleted from object storage"
    )
    kind: Mapped[PhotoKind] = mapped_column(
        text_enum(PhotoKind, "photo_kind"), default=PhotoKind.REPORT, server_default="REPORT"
    )


class ReportFollower(Base):
    """Someone who asked to hear about a report's progress (its reporter is told anyway)."""

    __tablename__ = "report_followers"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportCell(Base):
    """Public report counts per grid cell, category and status, at three cell sizes (`level` 0, 1, 2: 0.005,
    0.02 and 0.08 degrees, about 550 m, 2.2 km and 8.9 km).

    Kept by a trigger on reports (migrations 0004 and 0006), so the map's low-zoom clusters read thousands of
    rows instead of every report. Confidential reports are not counted; sensitive ones count at a position rounded
    to 0.001
    degrees, so a cluster of one never shows where exactly it was filed.
    """

    __tablename__ = "report_cells"
    # The cluster query reads a box of cells with their counts from this index alone (migration 0007).
    __table_args__ = (
        Index(
            "ix_report_cells_counts",
            "level",
            "cell_x",
            "cell_y",
            postgresql_include=["category_id", "status", "count", "sum_lon", "sum_lat"],
        ),
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0, server_default="0")
    cell_x: Mapped[int] = mapped_column(primary_key=True)
    cell_y: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[ReportStatus] = mapped_column(text_enum(ReportStatus, "cell_status"), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    sum_lon: Mapped[float] = mapped_column(Float, default=0.0)
    sum_lat: Mapped[float] = mapped_column(Float, default=0.0)


class MapTileVersion(Base):
    """Committed changes per zoom-14 tile of what the public map shows, counted by a deferred trigger on reports
    (migration 0022); (-1, -1) counts city-wide changes. A report tile's ETag is the sum over the tiles around it,
    so a revalidation is answered without rendering (api/tiles.py)."""

    __tablename__ = "map_tile_versions"
    __table_args__ = (
        {
            "comment": "Committed changes per zoom-14 tile of the public map (report tiles' ETags); (-1, -1) counts "
            "city-wide ones"
        },
    )

    tx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ty: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    changes: Mapped[int] = mapped_column(BigInteger, server_default="1")


class PublicReportCount(Base):
    """Public (not confidential) reports per kota, kecamatan, kelurahan, category, unit and status, counted by a
    deferred trigger on reports (migration 0029): cityStats sums these instead of grouping every report. Rows that
    fall to zero stay."""

    __tablename__ = "public_report_counts"
    __table_args__ = (
        {
            "comment": "Public (not confidential) reports per kelurahan, category, unit and status (cityStats), kept "
            "by a trigger"
        },
    )

    kelurahan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    kecamatan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kota_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reports: Mapped[int] = mapped_column(BigInteger, server_default="0")
