"""CCTV evidence for reports: the camera registry, which cameras see a report, the clip around its time, its
analysis, and the alerts it raises.

The flow (workers/cctv.py runs it):
1. `cctv.match`, deferred with each new report: the active cameras whose view covers the point, preferring the
   kinds that fit the category, at most `cctv_max_cameras`; one PENDING evidence row each, then `cctv.collect`
   for each (an archive camera's job waits until its NVR has written the window's last segment).
2. `cctv.collect`: `start_attempt` (a transaction), then `domain.cctv_collect.gather` without a transaction
   (download or record the clip, analyse it in a thread, store clip and snapshot; the only part that needs
   OpenCV, so the API never loads it), then `record_evidence` or `record_failure`.
3. `cctv.sweep` re-defers matches and collections that a crash or a lost job left behind.
Every step can run twice: rows are unique per (report, camera), alerts per (evidence, kind), and a step
that finds its row no longer PENDING does nothing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from geoalchemy2 import Geography
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import cast, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain import cctv_archive, cctv_rules, notifications
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import (
    AlertRule,
    Camera,
    CameraKind,
    CameraSource,
    CameraWatch,
    CctvAlert,
    CctvEvidence,
    EvidenceStatus,
    Report,
)
from domain.reference import ReferenceData
from domain.settings import Settings

MAX_RANGE_M = 2000.0  # ck_cameras_range: no camera is asked about a point further away
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
ARCHIVE_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,300}[A-Za-z0-9_-]$")
STREAM_SCHEMES = frozenset({"http", "https", "rtsp", "rtsps"})
MATCH_HORIZON = timedelta(hours=24)  # older unmatched reports: the NVRs have recycled their video
STALE_PENDING = timedelta(minutes=10)


@dataclass(frozen=True)
class CameraInput:
    code: str
    name: str
    operator: str
    kind: CameraKind
    lon: float
    lat: float
    heading_deg: float
    fov_deg: float
    range_m: float
    source_kind: CameraSource
    source: str
    active: bool = True
    public_snapshots: bool = False
    unit_code: str | None = None
    no_stopping_zone: list[list[float]] | None = None
    watch_interval_s: float = 10.0


MIN_WATCH_INTERVAL_S, MAX_WATCH_INTERVAL_S = 1.0, 3600.0


def validate_camera(data: CameraInput) -> None:
    """Refuses what would make a camera match wrongly or fetch from the wrong place; DomainError with a code."""
    if not CODE.match(data.code):
        raise DomainError("INVALID_CODE", "A camera code is 2-63 lowercase letters, digits and dashes.", field="code")
    if not data.name.strip() or len(data.name) > 200 or not data.operator.strip() or len(data.operator) > 200:
        raise DomainError("INVALID_NAME", "Name and operator are 1-200 characters.", field="name")
    if not (-180 <= data.lon <= 180 and -90 <= data.lat <= 90):
        raise DomainError("INVALID_LOCATION", "The location is not a WGS84 point.", field="location")
    if not (0 <= data.heading_deg < 360 and 0 < data.fov_deg <= 360 and 0 < data.range_m <= MAX_RANGE_M):
        raise DomainError(
            "INVALID_VIEW", f"heading 0-360, fov 1-360 degrees, range up to {MAX_RANGE_M:g} m.", field="view"
        )
    if data.source_kind == CameraSource.ARCHIVE and not ARCHIVE_PREFIX.match(data.source):
        raise DomainError("INVALID_SOURCE", "An archive source is an object key prefix.", field="source")
    if data.source_kind == CameraSource.STREAM:
        parts = urlsplit(data.source)
        if parts.scheme not in STREAM_SCHEMES or not parts.hostname or len(data.source) > 1000:
            raise DomainError("INVALID_SOURCE", "A stream source is an http(s) or rtsp(s) URL.", field="source")
    if not MIN_WATCH_INTERVAL_S <= data.watch_interval_s <= MAX_WATCH_INTERVAL_S:
        raise DomainError(
            "INVALID_INTERVAL",
            f"A camera is sampled every {MIN_WATCH_INTERVAL_S:g} to {MAX_WATCH_INTERVAL_S:g} seconds.",
            field="watchIntervalS",
        )
    zone = data.no_stopping_zone
    if zone is not None and (len(zone) < 3 or any(len(p) != 2 or min(p) < 0 for p in zone)):
        raise DomainError(
            "INVALID_ZONE", "A no-stopping zone is at least 3 [x, y] pixel points.", field="noStoppingZone"
        )


def cameras_from_geojson(collection: Any) -> list[CameraInput]:
    """Cameras of a GeoJSON FeatureCollection of points; every feature is checked before anything is stored.

    Properties: code, name, operator, kind, heading_deg, fov_deg, range_m, source_kind, source, and optionally
    active, public_snapshots, unit_code, no_stopping_zone. A problem names the feature (0-based).
    """
    features = collection.get("features") if isinstance(collection, dict) else None
    if collection.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise DomainError("INVALID_GEOJSON", "Expected a GeoJSON FeatureCollection.")
    cameras, codes = [], set()
    for n, feature in enumerate(features):
        try:
            geometry, props = feature["geometry"], feature["properties"]
            if geometry["type"] != "Point":
                raise ValueError("the geometry is not a Point")
            lon, lat = (float(v) for v in geometry["coordinates"][:2])
            data = CameraInput(
                code=str(props["code"]),
                name=str(props["name"]),
                operator=str(props["operator"]),
                kind=CameraKind(props["kind"]),
                lon=lon,
                lat=lat,
                heading_deg=float(props["heading_deg"]),
                fov_deg=float(props["fov_deg"]),
                range_m=float(props["range_m"]),
                source_kind=CameraSource(props["source_kind"]),
                source=str(props["source"]),
                active=bool(props.get("active", True)),
                public_snapshots=bool(props.get("public_snapshots", False)),
                unit_code=props.get("unit_code"),
                no_stopping_zone=props.get("no_stopping_zone"),
                watch_interval_s=float(props.get("watch_interval_s", 10.0)),
            )
            validate_camera(data)
        except DomainError as exc:
            raise DomainError(exc.code, f"feature {n}: {exc.message}", field=exc.field) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise DomainError("INVALID_GEOJSON", f"feature {n}: {exc!r}") from exc
        if data.code in codes:
            raise DomainError("INVALID_GEOJSON", f"feature {n}: camera {data.code} appears twice")
        codes.add(data.code)
        cameras.append(data)
    return cameras


async def save_camera(session: AsyncSession, reference: ReferenceData, *, data: CameraInput) -> tuple[Camera, bool]:
    """Creates the camera, or updates the one with this code; returns it and whether it is new."""
    validate_camera(data)
    unit_id = None
    if data.unit_code is not None:
        unit = reference.unit_codes.get(data.unit_code)
        if unit is None:
            raise DomainError("UNKNOWN_UNIT", f"No unit {data.unit_code}.", field="unitCode")
        unit_id = unit.id
    camera = await session.scalar(select(Camera).where(Camera.code == data.code).with_for_update())
    created = camera is None
    if camera is None:
        camera = Camera(code=data.code)
        session.add(camera)
    camera.name, camera.operator, camera.kind = data.name.strip(), data.operator.strip(), data.kind
    camera.location = from_shape(Point(data.lon, data.lat), srid=4326)
    camera.heading_deg, camera.fov_deg, camera.range_m = data.heading_deg % 360, data.fov_deg, data.range_m
    camera.source_kind, camera.source = data.source_kind, data.source
    camera.active, camera.public_snapshots = data.active, data.public_snapshots
    camera.unit_id, camera.no_stopping_zone = unit_id, data.no_stopping_zone
    camera.watch_interval_s = data.watch_interval_s
    await session.flush()
    # Its watch row, due at once: continuous watching (domain/cctv_watch.py) samples every active camera.
    await session.execute(insert(CameraWatch).values(camera_id=camera.id).on_conflict_do_nothing())
    return camera, created


async def camera_by_code(session: AsyncSession, code: str) -> Camera:
    camera = await session.scalar(select(Camera).where(Camera.code == code))
    if camera is None:
        raise DomainError("UNKNOWN_CAMERA", f"No camera {code}.", field="code")
    return camera


async def set_camera_active(session: AsyncSession, *, code: str, active: bool) -> Camera:
    camera = await camera_by_code(session, code)
    camera.active = active
    await session.flush()
    return camera


async def set_alert_rule(
    session: AsyncSession, *, camera_code: str | None, kind: CameraKind | None, rules: cctv_rules.AlertRules
) -> AlertRule:
    """The thresholds of one camera, or of every camera of a kind that has none of its own."""
    if (camera_code is None) == (kind is None):
        raise DomainError("CAMERA_OR_KIND", "Give a camera code or a camera kind, not both.", field="cameraCode")
    values = (rules.crowd_above_persons, rules.congestion_above, rules.no_stopping_above_s)
    if any(v is not None and v < 0 for v in values):
        raise DomainError("INVALID_THRESHOLD", "Thresholds are not negative.", field="rules")
    camera_id = (await camera_by_code(session, camera_code)).id if camera_code is not None else None
    target = AlertRule.camera_id == camera_id if camera_id is not None else AlertRule.kind == kind
    rule = await session.scalar(select(AlertRule).where(target).with_for_update())
    if rule is None:
        rule = AlertRule(camera_id=camera_id, kind=kind)
        session.add(rule)
    rule.crowd_above_persons, rule.congestion_above, rule.no_stopping_above_s = values
    await session.flush()
    return rule


async def rules_for(session: AsyncSession, camera: Camera) -> cctv_rules.AlertRules:
    """The camera's own thresholds, else those of its kind, else none (no alerts)."""
    rows = (
        await session.scalars(
            select(AlertRule).where((AlertRule.camera_id == camera.id) | (AlertRule.kind == camera.kind))
        )
    ).all()
    return alert_rules(next((r for r in rows if r.camera_id == camera.id), None) or next(iter(rows), None))


def alert_rules(rule: AlertRule | None) -> cctv_rules.AlertRules:
    if rule is None:
        return cctv_rules.AlertRules()
    return cctv_rules.AlertRules(rule.crowd_above_persons, rule.congestion_above, rule.no_stopping_above_s)


# --- matching ---------------------------------------------------------------------------------------------------


def _as_rule_camera(camera: Camera) -> cctv_rules.Camera:
    point = to_shape(camera.location)
    location = cctv_rules.LonLat(point.x, point.y)
    return cctv_rules.Camera(str(camera.id), location, camera.kind, camera.heading_deg, camera.fov_deg, camera.range_m)


def _window(settings: Settings, camera: Camera, report_time: datetime, now: datetime) -> tuple[datetime, datetime]:
    if camera.source_kind == CameraSource.STREAM:
        # A live camera can only be recorded from now on.
        return now, now + timedelta(seconds=settings.cctv_stream_record_s)
    return cctv_archive.clip_window(report_time, settings.cctv_before_s, settings.cctv_after_s)


def collect_job(jobs: JobBuffer, settings: Settings, evidence: CctvEvidence, camera: Camera) -> None:
    """Asks for the clip: at once from a stream, after the window's last segment is written from an archive."""
    schedule_at = None
    if camera.source_kind == CameraSource.ARCHIVE:
        schedule_at = evidence.window_end + timedelta(seconds=settings.cctv_archive_grace_s)
    jobs.add(
        "cctv.collect", queueing_lock=f"evidence:{evidence.id}", schedule_at=schedule_at, evidence_id=str(evidence.id)
    )


async def match_report(
    session: AsyncSession,
    settings: Settings,
    reference: ReferenceData,
    *,
    report_id: uuid.UUID,
    jobs: JobBuffer,
    now: datetime,
) -> list[CctvEvidence]:
    """The cameras that can see the report, as PENDING evidence with their collection jobs; once per report."""
    report = await session.scalar(select(Report).where(Report.id == report_id).with_for_update())
    if report is None or report.cctv_matched_at is not None:
        return []
    nearby = (
        await session.scalars(
            select(Camera).where(
                Camera.active,
                func.ST_DWithin(
                    cast(Camera.location, Geography),
                    cast(select(Report.location).where(Report.id == report.id).scalar_subquery(), Geography),
                    Camera.range_m,
                ),
            )
        )
    ).all()
    point = to_shape(report.location)
    category = reference.categories[report.category_id]
    chosen = cctv_rules.choose_cameras(
        [_as_rule_camera(c) for c in nearby],
        cctv_rules.LonLat(point.x, point.y),
        cctv_rules.preferred_kinds(category.code),
        limit=settings.cctv_max_cameras,
    )
    by_id = {str(c.id): c for c in nearby}
    made = []
    for rank, choice in enumerate(chosen, start=1):
        camera = by_id[choice.id]
        start, end = _window(settings, camera, report.created_at, now)
        evidence = CctvEvidence(
            id=uuid.uuid4(),
            report_id=report.id,
            camera_id=camera.id,
            rank=rank,
            distance_m=cctv_rules.distance_m(choice.location.lon, choice.location.lat, point.x, point.y),
            status=EvidenceStatus.PENDING,
            window_start=start,
            window_end=end,
        )
        session.add(evidence)
        made.append(evidence)
        collect_job(jobs, settings, evidence, camera)
    report.cctv_matched_at = now
    await session.flush()
    return made


async def reports_left_unmatched(session: AsyncSession, *, now: datetime, grace: timedelta) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Report.id)
        .where(
            Report.cctv_matched_at.is_(None),
            Report.created_at < now - grace,
            Report.created_at > now - MATCH_HORIZON,
        )
        .limit(500)
    )
    return list(rows)


async def evidence_left_pending(session: AsyncSession, *, now: datetime) -> list[tuple[CctvEvidence, Camera]]:
    rows = await session.execute(
        select(CctvEvidence, Camera)
        .join(Camera, Camera.id == CctvEvidence.camera_id)
        .where(CctvEvidence.status == EvidenceStatus.PENDING, CctvEvidence.updated_at < now - STALE_PENDING)
        .limit(500)
    )
    return [(e, c) for e, c in rows]


# --- collecting -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What `gather` needs, read in `start_attempt`'s short transaction."""

    evidence_id: uuid.UUID
    number: int
    camera_code: str
    source_kind: CameraSource
    source: str
    window_start: datetime
    window_end: datetime
    no_stopping_zone: list[list[float]] | None


@dataclass
class Gathered:
    clip_key: str
    snapshot_key: str
    summary: dict[str, Any]
    alert_inputs: cctv_rules.AlertInputs
    window_start: datetime
    window_end: datetime
    missing: list[str] = field(default_factory=list)  # the parts of the window no archive segment covers
    playable_clip_key: str | None = None  # the browser-playable copy; None when making it failed

    @property
    def partial(self) -> bool:
        return bool(self.missing)


async def start_attempt(session: AsyncSession, *, evidence_id: uuid.UUID) -> Attempt | None:
    """Counts one more attempt; None when there is nothing to do (gone, or already decided)."""
    row = await session.execute(
        select(CctvEvidence, Camera)
        .join(Camera, Camera.id == CctvEvidence.camera_id)
        .where(CctvEvidence.id == evidence_id)
        .with_for_update(of=CctvEvidence)
    )
    found = row.first()
    if found is None or found[0].status != EvidenceStatus.PENDING:
        return None
    evidence, camera = found
    evidence.attempts += 1
    await session.flush()
    return Attempt(
        evidence.id,
        evidence.attempts,
        camera.code,
        camera.source_kind,
        camera.source,
        evidence.window_start,
        evidence.window_end,
        camera.no_stopping_zone,
    )


async def record_evidence(
    session: AsyncSession, *, evidence_id: uuid.UUID, gathered: Gathered, jobs: JobBuffer, now: datetime
) -> list[CctvAlert]:
    """READY with the clip, snapshot and summary; the alerts the camera's rules call for, with notifications."""
    evidence = await session.get(CctvEvidence, evidence_id, with_for_update=True)
    if evidence is None or evidence.status != EvidenceStatus.PENDING:
        return []
    evidence.status, evidence.reason = EvidenceStatus.READY, "partial" if gathered.partial else None
    evidence.clip_key, evidence.snapshot_key = gathered.clip_key, gathered.snapshot_key
    evidence.playable_clip_key = gathered.playable_clip_key
    evidence.summary = gathered.summary
    evidence.window_start, evidence.window_end = gathered.window_start, gathered.window_end
    camera = await session.get_one(Camera, evidence.camera_id)
    report = await session.get_one(Report, evidence.report_id)
    raised = []
    for alert in cctv_rules.evaluate_alerts(gathered.alert_inputs, await rules_for(session, camera)):
        inserted = await session.scalar(
            insert(CctvAlert)
            .values(
                id=uuid.uuid4(),
                camera_id=camera.id,
                evidence_id=evidence.id,
                kind=alert.kind,
                value=float(alert.value),
                threshold=float(alert.threshold),
                snapshot_key=gathered.snapshot_key,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["evidence_id", "kind"])
            .returning(CctvAlert.id)
        )
        if inserted is None:
            continue
        raised.append(await session.get_one(CctvAlert, inserted))
        message = notifications.Message(
            "CCTV_ALERT",
            f"CCTV {camera.name}: {alert.kind.value}",
            f"{alert.kind.value} {alert.value:g} (batas {alert.threshold:g})",
            report.id,
            {"alertId": str(inserted), "cameraCode": camera.code},
        )
        await notifications.notify_unit(session, camera.unit_id or report.unit_id, message, jobs=jobs, now=now)
    await session.flush()
    return raised


async def record_failure(session: AsyncSession, settings: Settings, *, evidence_id: uuid.UUID, reason: str) -> bool:
    """Keeps the reason; UNAVAILABLE once the attempts are used up. Returns whether to try again."""
    evidence = await session.get(CctvEvidence, evidence_id, with_for_update=True)
    if evidence is None or evidence.status != EvidenceStatus.PENDING:
        return False
    evidence.reason = reason[:64]
    if evidence.attempts >= settings.cctv_max_attempts:
        evidence.status = EvidenceStatus.UNAVAILABLE
    await session.flush()
    return evidence.status == EvidenceStatus.PENDING


# --- reading ----------------------------------------------------------------------------------------------------


async def evidence_of_reports(session: AsyncSession, report_ids: list[uuid.UUID]) -> list[tuple[CctvEvidence, Camera]]:
    rows = await session.execute(
        select(CctvEvidence, Camera)
        .join(Camera, Camera.id == CctvEvidence.camera_id)
        .where(CctvEvidence.report_id.in_(report_ids))
        .order_by(CctvEvidence.report_id, CctvEvidence.rank)
    )
    return [(e, c) for e, c in rows]


async def touch_pending(session: AsyncSession, evidence_ids: list[uuid.UUID]) -> None:
    """Marks re-deferred evidence as seen, so the next sweep does not defer it again at once."""
    if evidence_ids:
        await session.execute(
            update(CctvEvidence).where(CctvEvidence.id.in_(evidence_ids)).values(updated_at=func.now())
        )
