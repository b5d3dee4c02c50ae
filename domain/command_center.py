"""The command-center wall's reads: report figures per kota and per unit (open, overdue, filed today) under the
wall's filters, what each camera last showed (its health, its newest alert and snapshot), and the floodgates with
their Siaga levels.

`floodgate_levels` gives each floodgate camera (and each camera with a staff gauge) with its gate's Siaga levels,
its newest reading and a sparkline of its gate's readings (domain/floodgates.py). A floodgate camera without a
gauge has neither levels nor readings: a gate's Siaga levels are set by staff per gate (saveFloodgate), in one
place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from domain import floodgates, models
from domain.models import Camera, CameraKind, CctvAlert, CctvEvidence, EvidenceStatus, Report, ReportStatus
from domain.sla import JAKARTA

CLOSED = (ReportStatus.COMPLETED, ReportStatus.REJECTED, ReportStatus.DUPLICATE)


@dataclass(frozen=True)
class WallFilter:
    """The wall's filters; None leaves a dimension open."""

    category_ids: tuple[int, ...] | None = None
    statuses: tuple[ReportStatus, ...] | None = None
    unit_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Figures:
    """One row of the wall's statistics: a kota's or a unit's reports under the filter."""

    key_id: int
    open: int
    overdue: int
    filed_today: int


def start_of_day(now: datetime) -> datetime:
    """Midnight in Jakarta (WIB) of the day `now` falls in: "filed today" is Jakarta's day, wherever the server is."""
    local = now.astimezone(JAKARTA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _filtered(query: Select[int, int, int, int], flt: WallFilter) -> Select[int, int, int, int]:
    if flt.category_ids is not None:
        query = query.where(Report.category_id.in_(flt.category_ids))
    if flt.statuses is not None:
        query = query.where(Report.status.in_(flt.statuses))
    if flt.unit_ids is not None:
        query = query.where(Report.unit_id.in_(flt.unit_ids))
    return query


async def figures(session: AsyncSession, *, by: str, flt: WallFilter, now: datetime) -> list[Figures]:
    """Open, overdue (open past its next deadline) and filed today, per kota (`by="kota"`) or unit (`"unit"`).
    Every report counts, confidential ones too: the wall is for staff. Groups with nothing to show are left out."""
    column = Report.kota_id if by == "kota" else Report.unit_id
    is_open = Report.status.not_in(CLOSED)
    query = (
        select(
            column,
            func.count().filter(is_open),
            func.count().filter(and_(Report.due_at.is_not(None), Report.due_at < now)),
            func.count().filter(Report.created_at >= start_of_day(now)),
        )
        .group_by(column)
        .order_by(column)
    )
    rows = await session.execute(_filtered(query, flt))
    return [Figures(key, o, d, f) for key, o, d, f in rows if o or d or f]


@dataclass(frozen=True)
class CameraLatest:
    """What a camera last showed: its newest alert and its newest ready evidence."""

    last_alert_at: datetime | None = None
    alert_snapshot_key: str | None = None
    alert_snapshot_at: datetime | None = None
    health: str | None = None
    evidence_snapshot_key: str | None = None
    evidence_snapshot_at: datetime | None = None

    @property
    def snapshot_key(self) -> str | None:
        """The newer of the two snapshots (both are stored with faces blurred)."""
        if self.alert_snapshot_key and (
            self.evidence_snapshot_at is None
            or (self.alert_snapshot_at is not None and self.alert_snapshot_at >= self.evidence_snapshot_at)
        ):
            return self.alert_snapshot_key
        return self.evidence_snapshot_key or self.alert_snapshot_key


async def latest_of_cameras(session: AsyncSession, camera_ids: list[int]) -> dict[int, CameraLatest]:
    """Three queries for any number of cameras: the newest alert of each, the newest with a snapshot, the newest
    ready evidence."""
    newest = await session.execute(
        select(CctvAlert.camera_id, CctvAlert.created_at)
        .where(CctvAlert.camera_id.in_(camera_ids))
        .ext(distinct_on(CctvAlert.camera_id))
        .order_by(CctvAlert.camera_id, CctvAlert.created_at.desc())
    )
    found: dict[int, dict[str, object]] = {camera_id: {"last_alert_at": at} for camera_id, at in newest}
    # The newest alert that has a snapshot: a later alert without one (a live sample that kept no picture) leaves
    # the last picture on the wall.
    pictured = await session.execute(
        select(CctvAlert.camera_id, CctvAlert.created_at, CctvAlert.snapshot_key)
        .where(CctvAlert.camera_id.in_(camera_ids), CctvAlert.snapshot_key.is_not(None))
        .ext(distinct_on(CctvAlert.camera_id))
        .order_by(CctvAlert.camera_id, CctvAlert.created_at.desc(), CctvAlert.id)
    )
    for camera_id, at, key in pictured:
        found.setdefault(camera_id, {}).update(alert_snapshot_key=key, alert_snapshot_at=at)
    evidence = await session.execute(
        select(CctvEvidence.camera_id, CctvEvidence.updated_at, CctvEvidence.snapshot_key, CctvEvidence.summary)
        .where(CctvEvidence.camera_id.in_(camera_ids), CctvEvidence.status == EvidenceStatus.READY)
        .ext(distinct_on(CctvEvidence.camera_id))
        .order_by(CctvEvidence.camera_id, CctvEvidence.updated_at.desc(), CctvEvidence.id)
    )
    for camera_id, at, key, summary in evidence:
        health = (summary or {}).get("health")
        found.setdefault(camera_id, {}).update(
            health=str(health) if health else None, evidence_snapshot_key=key, evidence_snapshot_at=at if key else None
        )
    return {camera_id: CameraLatest(**values) for camera_id, values in found.items()}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Siaga:
    """A floodgate's alert levels in centimetres on its staff gauge: Siaga 3 (waspada), 2, 1 (the highest)."""

    siaga3_cm: float
    siaga2_cm: float
    siaga1_cm: float


@dataclass(frozen=True)
class FloodgateLevel:
    camera: Camera
    siaga: Siaga | None
    # (when, centimetres), oldest first: the gate's readings in buckets, each its highest (floodgates.series).
    series: tuple[tuple[datetime, float], ...]
    latest: tuple[datetime, float] | None = None  # the gate's newest reading
    held: int | None = None  # the Siaga (1-3) the gate's alerting holds, None for normal or without a gate


HELD = {models.Siaga.SIAGA_3: 3, models.Siaga.SIAGA_2: 2, models.Siaga.SIAGA_1: 1}


async def floodgate_levels(session: AsyncSession, *, hours: int, now: datetime) -> list[FloodgateLevel]:
    """The active floodgate cameras and cameras with a gauge, in code order, with their Siaga levels, their
    gate's newest reading and the last `hours` of its readings."""
    rows = (
        await session.execute(
            select(Camera, models.CameraGauge.floodgate_id)
            .outerjoin(models.CameraGauge, models.CameraGauge.camera_id == Camera.id)
            .where(Camera.active, or_(Camera.kind == CameraKind.FLOODGATE, models.CameraGauge.camera_id.is_not(None)))
            .order_by(Camera.code)
        )
    ).all()
    gate_ids = sorted({gate_id for _, gate_id in rows if gate_id is not None})
    gates = {g.id: g for g in await session.scalars(select(models.Floodgate).where(models.Floodgate.id.in_(gate_ids)))}
    newest = await floodgates.latest(session, floodgate_ids=gate_ids)
    sparklines = await floodgates.series(session, floodgate_ids=gate_ids, since=now - timedelta(hours=hours), now=now)
    answer = []
    for camera, gate_id in rows:
        gate = gates.get(gate_id) if gate_id is not None else None
        if gate is None:
            answer.append(FloodgateLevel(camera=camera, siaga=None, series=()))
            continue
        reading = newest.get(gate.id)
        answer.append(
            FloodgateLevel(
                camera=camera,
                siaga=Siaga(gate.siaga3_cm, gate.siaga2_cm, gate.siaga1_cm),
                series=tuple(sparklines[gate.id]),
                latest=(reading.at, reading.level_cm) if reading is not None else None,
                held=HELD.get(gate.siaga),
            )
        )
    return answer
