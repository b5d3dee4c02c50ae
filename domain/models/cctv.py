"""CCTV: the camera registry, the evidence attached to reports, alert rules and the alerts they raise."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, TimestampMixin, text_enum
from domain.models.enums import AlertKind, CameraKind, CameraSource, EvidenceStatus, Siaga, ZonePurpose


class Camera(TimestampMixin, Base):
    """A camera: where it stands, where it looks, how far it sees, and where its video comes from."""

    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(200), comment="who runs it: Dinas SDA, Dishub, Bina Marga, ...")
    kind: Mapped[CameraKind] = mapped_column(text_enum(CameraKind, "camera_kind"))
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    heading_deg: Mapped[float] = mapped_column(Float, comment="compass direction it looks, clockwise from north")
    fov_deg: Mapped[float] = mapped_column(Float, comment="horizontal field of view; 360 for a dome")
    range_m: Mapped[float] = mapped_column(Float, comment="how far it shows something useful")
    source_kind: Mapped[CameraSource] = mapped_column(text_enum(CameraSource, "camera_source"))
    source: Mapped[str] = mapped_column(String(1000), comment="archive key prefix, or the stream URL")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    public_snapshots: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false", comment="its face-blurred snapshots may be shown publicly"
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="SET NULL"), comment="the unit told of its alerts"
    )
    # Pixel polygon [[x, y], ...] in the camera's frame where vehicles must not stop (a busway, a junction box).
    no_stopping_zone: Mapped[list[list[float]] | None] = mapped_column(JSONB)
    watch_interval_s: Mapped[float] = mapped_column(
        Float, default=10.0, server_default="10", comment="an active camera is sampled this often (seconds)"
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint("fov_deg > 0 AND fov_deg <= 360", name="fov"),
        CheckConstraint("range_m > 0 AND range_m <= 2000", name="range"),
        CheckConstraint("heading_deg >= 0 AND heading_deg < 360", name="heading"),
        CheckConstraint("watch_interval_s >= 1 AND watch_interval_s <= 3600", name="watch_interval"),
    )


class CameraWatch(Base):
    """What any worker needs to take a camera's next sample: when it is due, the previous sample's small grey
    picture (motion, frozen), the reference view (moved), and the health state with its streak.

    One row per camera, written once by the tick that hands out the sample (next_due_at) and once by the sample
    (the rest); see domain/cctv_watch.py.
    """

    __tablename__ = "camera_watch"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    next_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_sample_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), comment="when it ended")
    last_media_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), comment="the media's own time")
    last_media: Mapped[str | None] = mapped_column(String(1000), comment="the segment read last (key or URI)")
    grey: Mapped[bytes | None] = mapped_column(LargeBinary, comment="the last sample, small and grey (PGM-like)")
    reference: Mapped[bytes | None] = mapped_column(LargeBinary, comment="the view it should show, small and grey")
    reference_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    health: Mapped[str] = mapped_column(String(16), server_default="OK", comment="the health alerted last")
    health_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    candidate: Mapped[str] = mapped_column(String(16), server_default="OK", comment="what the last samples showed")
    streak: Mapped[int] = mapped_column(Integer, server_default="0", comment="samples in a row showing candidate")
    samples: Mapped[int] = mapped_column(Integer, server_default="0")
    detections: Mapped[int] = mapped_column(Integer, server_default="0", comment="samples the detector ran on")
    failures: Mapped[int] = mapped_column(Integer, server_default="0", comment="samples without media")
    last_error: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_camera_watch_next_due_at", "next_due_at"),)


class AlertRule(Base):
    """Alert thresholds for one camera, or for every camera of a kind (a camera's own rule wins)."""

    __tablename__ = "cctv_alert_rules"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[CameraKind | None] = mapped_column(text_enum(CameraKind, "alert_rule_kind"), unique=True)
    crowd_above_persons: Mapped[int | None] = mapped_column(Integer)
    congestion_above: Mapped[float | None] = mapped_column(Float)
    no_stopping_above_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (CheckConstraint("(camera_id IS NULL) <> (kind IS NULL)", name="camera_or_kind"),)


class CameraZone(Base):
    """A polygon drawn on a camera's view, with a purpose: a busway lane, a no-stopping kerb, a crowd area.

    Its points are pixels of a reference frame of ``frame_width`` x ``frame_height`` (the frame it was drawn
    on); a sample of another size sees it scaled.
    """

    __tablename__ = "cctv_zones"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[ZonePurpose] = mapped_column(text_enum(ZonePurpose, "zone_purpose"))
    polygon: Mapped[list[list[float]]] = mapped_column(JSONB, comment="[[x, y], ...] in reference-frame pixels")
    frame_width: Mapped[int] = mapped_column(Integer)
    frame_height: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("camera_id", "name"),)


class WatchRule(Base):
    """A rule of continuous watching: one kind of alert on one camera, in a zone or on the whole view, with its
    threshold, dwell time, cooldown and held membership; optionally filing a report (one open at a time)."""

    __tablename__ = "cctv_watch_rules"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("cctv_zones.id", ondelete="CASCADE"), comment="NULL: the whole view"
    )
    kind: Mapped[AlertKind] = mapped_column(text_enum(AlertKind, "watch_rule_kind"))
    threshold: Mapped[float] = mapped_column(
        Float, comment="people, congestion index, vehicles; unused for NO_STOPPING"
    )
    dwell_s: Mapped[float] = mapped_column(Float)
    cooldown_s: Mapped[float] = mapped_column(Float)
    hold_samples: Mapped[int] = mapped_column(SmallInteger)
    report_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id"), comment="file a report of this category with the first alert"
    )
    open_report_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), comment="the report its alerts add to while it is open"
    )
    read_plates: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default="false",
        comment="BUSWAY and NO_STOPPING only: read the violators' plates with each alert",
    )

    __table_args__ = (
        UniqueConstraint("camera_id", "zone_id", "kind", postgresql_nulls_not_distinct=True),
        CheckConstraint(
            "threshold >= 0 AND dwell_s >= 0 AND cooldown_s >= 0 AND hold_samples BETWEEN 1 AND 10", name="values"
        ),
        CheckConstraint("NOT read_plates OR kind IN ('BUSWAY', 'NO_STOPPING')", name="plates_for_violations"),
    )


class ZoneState(Base):
    """What continuous watching remembers of one camera between samples (tracks, stays, cooldowns): one row,
    so that whichever worker takes the next sample continues where the last one stopped."""

    __tablename__ = "cctv_zone_state"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CctvEvidence(Base):
    """One camera's clip around a report's time, its analysis and snapshot (officers only; see api/resolvers)."""

    __tablename__ = "cctv_evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(SmallInteger, comment="1 = the best placed camera for this report")
    distance_m: Mapped[float] = mapped_column(Float)
    status: Mapped[EvidenceStatus] = mapped_column(text_enum(EvidenceStatus, "evidence_status"))
    reason: Mapped[str | None] = mapped_column(
        String(64), comment="why UNAVAILABLE; 'partial' when READY with parts of the window missing (see summary)"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clip_key: Mapped[str | None] = mapped_column(String(500))
    playable_clip_key: Mapped[str | None] = mapped_column(
        String(500), comment="H.264 MP4 copy of the clip for browsers; NULL when not made"
    )
    snapshot_key: Mapped[str | None] = mapped_column(String(500), comment="JPEG, boxes drawn, faces blurred")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        UniqueConstraint("report_id", "camera_id"),
        # The sweep's question: evidence left PENDING (a lost job, a killed worker).
        Index("ix_cctv_evidence_pending", "updated_at", postgresql_where="status = 'PENDING'"),
    )


class CctvAlert(Base):
    """What a clip showed that someone must look at now: a crowd, a jam, a vehicle in a no-stopping zone."""

    __tablename__ = "cctv_alerts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cctv_evidence.id", ondelete="SET NULL"))
    kind: Mapped[AlertKind] = mapped_column(text_enum(AlertKind, "alert_kind"))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    snapshot_key: Mapped[str | None] = mapped_column(String(500))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("cctv_watch_rules.id", ondelete="SET NULL"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("cctv_zones.id", ondelete="SET NULL"))
    objects: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONB, comment="[{track, label, box, confidence}, ...]: what the alert is about"
    )
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True, comment="the report it filed or added to"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # One alert of a kind per clip, whatever retries happen.
        UniqueConstraint("evidence_id", "kind"),
        Index("ix_cctv_alerts_camera_created", "camera_id", "created_at"),
    )


class AlertPlate(Base):
    """A licence plate read on one vehicle of an alert: enforcement staff only (domain/plate_reading.py), never in
    the alert's public or staff payloads."""

    __tablename__ = "cctv_alert_plates"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cctv_alerts.id", ondelete="CASCADE"))
    track: Mapped[int] = mapped_column(Integer, comment="the alert's object (objects[].track) it was read on")
    text: Mapped[str] = mapped_column(String(16), comment="normalised: 'B 1234 XYZ'")
    confidence: Mapped[float] = mapped_column(Float, comment="the OCR's mean character confidence, 0-1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("alert_id", "track"),)


class PlateReadEvent(Base):
    """Append-only audit of every look at an alert's plates: who, when, which alert, from where."""

    __tablename__ = "plate_read_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No foreign key to the alert: the audit outlives an alert deleted with its camera.
    alert_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # No cascade: staff accounts are closed, never deleted.
    reader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    client_address: Mapped[str | None] = mapped_column(String(64), comment="the reader's address as the API saw it")
    request_id: Mapped[str | None] = mapped_column(String(64))
    plates: Mapped[int] = mapped_column(SmallInteger, comment="how many plates the read returned")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Floodgate(Base):
    """A floodgate (pintu air) or any site whose water level is watched: its Siaga levels, set per gate by staff,
    and where its alerting stands (the level held, the one the latest readings show, when each was alerted)."""

    __tablename__ = "floodgates"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    siaga3_cm: Mapped[float] = mapped_column(Float)
    siaga2_cm: Mapped[float] = mapped_column(Float)
    siaga1_cm: Mapped[float] = mapped_column(Float)
    hold_samples: Mapped[int] = mapped_column(SmallInteger)
    cooldown_s: Mapped[float] = mapped_column(Float)
    siaga: Mapped[Siaga] = mapped_column(text_enum(Siaga, "siaga"), server_default=Siaga.NORMAL.value)
    candidate: Mapped[Siaga] = mapped_column(text_enum(Siaga, "siaga_candidate"), server_default=Siaga.NORMAL.value)
    streak: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    alerted_at: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default="{}", comment="{siaga: ISO time of its last alert}"
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "siaga3_cm < siaga2_cm AND siaga2_cm < siaga1_cm AND hold_samples BETWEEN 1 AND 10 AND cooldown_s >= 0",
            name="levels",
        ),
    )


class CameraGauge(Base):
    """A staff gauge drawn on a camera's view (polygon and calibration marks in pixels of the reference frame),
    read at each sample for its floodgate (domain/gauge_reading.py)."""

    __tablename__ = "camera_gauges"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    floodgate_id: Mapped[int] = mapped_column(ForeignKey("floodgates.id", ondelete="CASCADE"), index=True)
    polygon: Mapped[list[list[float]]] = mapped_column(JSONB, comment="[[x, y], ...] in reference-frame pixels")
    marks: Mapped[list[list[float]]] = mapped_column(JSONB, comment="[[x, y, cm], ...] along the gauge's axis")
    frame_width: Mapped[int] = mapped_column(Integer)
    frame_height: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FloodgateLevel(Base):
    """One reading of a floodgate's water level: a small row per sample (no surrogate key), found by gate and
    time through the primary key for the latest reading and the last day's series."""

    __tablename__ = "floodgate_levels"

    floodgate_id: Mapped[int] = mapped_column(ForeignKey("floodgates.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    level_cm: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
