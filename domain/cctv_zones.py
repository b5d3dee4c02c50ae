"""Zones drawn on a camera's view, the rules of continuous watching, and what one sample makes of them.

Admins draw zones (`save_zone`, `delete_zone`) and set rules (`save_watch_rule`, `delete_watch_rule`). The
sampler of continuous watching (workers, queue `cctv-watch`) hands every sample to `observe`, which:
1. locks the camera's state row (one per camera, so whichever worker takes the next sample continues, and two
   samples of one camera are never judged at once),
2. runs the pure rules (`domain.cctv_zone_rules.step`) over the camera's zones and rules,
3. stores each alert with its snapshot (the blurred frame of the sample, in object storage), its rule, zone and
   objects; the NOTIFY on `cctv_alerts` (migration 0008) reaches the staff subscription, and the camera's unit
   gets it in its inbox and as a push,
4. files a report for a rule that asks for one, or adds the alert to the report it filed while that is open,
5. asks for the plates of an alert whose rule reads them (`read_alert_plates`, a job of its own, see there).

The camera's older thresholds (`setAlertRule`: crowd, congestion) still apply, as whole-view rules, where no
watch rule of that kind covers the whole view.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain import cctv, cctv_zone_rules, notifications, reports
from domain.adapters.storage import ObjectMissingError, ObjectStorage
from domain.cctv_observation import Observation
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import (
    AlertKind,
    AlertPlate,
    Camera,
    CameraZone,
    CctvAlert,
    Photo,
    PhotoStatus,
    Report,
    Role,
    User,
    WatchRule,
    ZonePurpose,
    ZoneState,
)
from domain.photos import upload_prefix
from domain.plates import PlateReader
from domain.reference import ReferenceData
from domain.resources import Resources
from domain.settings import Settings

log = logging.getLogger(__name__)

SYSTEM_REPORTER_EMAIL = "cctv@sistem.jsc.invalid"  # .invalid: no one can sign up with it or receive mail there
LEGACY_COOLDOWN_S = 600.0  # setAlertRule thresholds judged continuously: at most one alert per 10 minutes
LEGACY_HOLD_SAMPLES = 2
MAX_NAME = 100
# The rules whose alerts name violators: only theirs may read plates (issue 17 §2), and only when switched on.
PLATE_RULES = frozenset({AlertKind.BUSWAY, AlertKind.NO_STOPPING})


# --- zones and rules (admins) ------------------------------------------------------------------------------------


async def save_zone(
    session: AsyncSession,
    *,
    camera_code: str,
    name: str,
    purpose: ZonePurpose,
    polygon: list[list[float]],
    frame_size: tuple[int, int],
) -> CameraZone:
    """Draws a zone on the camera's view, or redraws the one of that name."""
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise DomainError("INVALID_NAME", f"A zone's name is 1-{MAX_NAME} characters.", field="name")
    problem = cctv_zone_rules.polygon_problem(polygon, frame_size)
    if problem is not None:
        messages = {
            "INVALID_FRAME": "The reference frame is 16 to 8192 pixels wide and high.",
            "INVALID_POLYGON": "A zone is 3 to 64 [x, y] points enclosing an area.",
            "OUT_OF_FRAME": "Every point must lie inside the reference frame.",
            "SELF_INTERSECTING": "The zone's edges cross each other.",
        }
        raise DomainError(problem, messages[problem], field="frameWidth" if problem == "INVALID_FRAME" else "polygon")
    camera = await cctv.camera_by_code(session, camera_code)
    zone = await session.scalar(
        select(CameraZone).where(CameraZone.camera_id == camera.id, CameraZone.name == name).with_for_update()
    )
    if zone is None:
        zone = CameraZone(camera_id=camera.id, name=name)
        session.add(zone)
    if zone.purpose is not None and zone.purpose != purpose:
        rules = await session.scalars(select(WatchRule.kind).where(WatchRule.zone_id == zone.id))
        if any(kind not in cctv_zone_rules.RULES_BY_PURPOSE[purpose] for kind in rules):
            raise DomainError(
                "ZONE_HAS_RULES", "Delete the zone's rules that do not fit the new purpose first.", field="purpose"
            )
    zone.purpose = purpose
    zone.polygon = [[float(x), float(y)] for x, y in polygon]
    zone.frame_width, zone.frame_height = frame_size
    await session.flush()
    return zone


async def _zone(session: AsyncSession, camera: Camera, name: str) -> CameraZone:
    zone = await session.scalar(select(CameraZone).where(CameraZone.camera_id == camera.id, CameraZone.name == name))
    if zone is None:
        raise DomainError("UNKNOWN_ZONE", f"Camera {camera.code} has no zone {name!r}.", field="zoneName")
    return zone


async def delete_zone(session: AsyncSession, *, camera_code: str, name: str) -> None:
    """Removes the zone and its rules; its alerts stay (without their zone)."""
    camera = await cctv.camera_by_code(session, camera_code)
    await session.delete(await _zone(session, camera, name))
    await session.flush()


@dataclass(frozen=True)
class RuleInput:
    camera_code: str
    zone_name: str | None
    kind: AlertKind
    threshold: float
    dwell_s: float
    cooldown_s: float
    hold_samples: int
    report_category: str | None = None
    read_plates: bool = False


def validate_rule(data: RuleInput, purpose: ZonePurpose | None) -> None:
    allowed = cctv_zone_rules.WHOLE_VIEW_RULES if purpose is None else cctv_zone_rules.RULES_BY_PURPOSE[purpose]
    if data.kind not in allowed:
        where = f"a {purpose.value} zone" if purpose is not None else "the whole view"
        raise DomainError("KIND_NOT_FOR_ZONE", f"A {data.kind.value} rule does not apply to {where}.", field="kind")
    values = (data.threshold, data.dwell_s, data.cooldown_s)
    if any(not 0 <= v <= 86_400 for v in values) or not 1 <= data.hold_samples <= 10:
        raise DomainError(
            "INVALID_THRESHOLD", "Threshold, dwell and cooldown are 0-86400; held samples 1-10.", field="threshold"
        )
    if data.kind == AlertKind.CONGESTION and data.threshold >= 1:
        raise DomainError("INVALID_THRESHOLD", "The congestion index is below 1.", field="threshold")
    if data.kind == AlertKind.RIVER_GARBAGE and data.threshold >= 1:
        raise DomainError("INVALID_THRESHOLD", "The covered share of the water is below 1.", field="threshold")
    if data.read_plates and data.kind not in PLATE_RULES:
        raise DomainError(
            "PLATES_NOT_FOR_KIND", "Only busway and no-stopping rules read the plates of violators.", field="readPlates"
        )


async def save_watch_rule(session: AsyncSession, reference: ReferenceData, *, data: RuleInput) -> WatchRule:
    """Sets the camera's rule of this kind in this zone (or on the whole view)."""
    camera = await cctv.camera_by_code(session, data.camera_code)
    zone = await _zone(session, camera, data.zone_name) if data.zone_name is not None else None
    validate_rule(data, zone.purpose if zone is not None else None)
    category_id = None
    if data.report_category is not None:
        category = reference.active_category(data.report_category)
        if category is None:
            raise DomainError("UNKNOWN_CATEGORY", f"No category {data.report_category!r}.", field="reportCategory")
        category_id = category.id
    zone_id = zone.id if zone is not None else None
    rule = await session.scalar(
        select(WatchRule)
        .where(WatchRule.camera_id == camera.id, WatchRule.zone_id.is_not_distinct_from(zone_id))
        .where(WatchRule.kind == data.kind)
        .with_for_update()
    )
    if rule is None:
        rule = WatchRule(camera_id=camera.id, zone_id=zone_id, kind=data.kind)
        session.add(rule)
    rule.threshold, rule.dwell_s, rule.cooldown_s = data.threshold, data.dwell_s, data.cooldown_s
    rule.hold_samples, rule.report_category_id = data.hold_samples, category_id
    rule.read_plates = data.read_plates
    await session.flush()
    return rule


async def delete_watch_rule(session: AsyncSession, *, camera_code: str, zone_name: str | None, kind: AlertKind) -> None:
    camera = await cctv.camera_by_code(session, camera_code)
    zone_id = (await _zone(session, camera, zone_name)).id if zone_name is not None else None
    rule = await session.scalar(
        select(WatchRule).where(
            WatchRule.camera_id == camera.id, WatchRule.zone_id.is_not_distinct_from(zone_id), WatchRule.kind == kind
        )
    )
    if rule is None:
        raise DomainError("UNKNOWN_RULE", "There is no such rule.", field="kind")
    await session.delete(rule)
    await session.flush()


async def zones_of_cameras(session: AsyncSession, camera_ids: list[int]) -> list[CameraZone]:
    return list(
        await session.scalars(select(CameraZone).where(CameraZone.camera_id.in_(camera_ids)).order_by(CameraZone.name))
    )


async def rules_of_cameras(session: AsyncSession, camera_ids: list[int]) -> list[WatchRule]:
    return list(
        await session.scalars(select(WatchRule).where(WatchRule.camera_id.in_(camera_ids)).order_by(WatchRule.id))
    )


# --- the system reporter -----------------------------------------------------------------------------------------


async def system_reporter_id(session: AsyncSession) -> uuid.UUID:
    """The account that files the reports cameras raise, made on first use (load-jakarta makes it too)."""
    await session.execute(
        insert(User)
        .values(
            id=uuid.uuid4(),
            email=SYSTEM_REPORTER_EMAIL,
            # Not a hash any password verifies against: nobody logs in as the cameras.
            password_hash="!",
            display_name="Kamera CCTV (otomatis)",
            role=Role.CITIZEN,
        )
        .on_conflict_do_nothing(index_elements=[User.email])
    )
    return await session.scalar(select(User.id).where(User.email == SYSTEM_REPORTER_EMAIL))  # type: ignore[return-value]


# --- one sample --------------------------------------------------------------------------------------------------


def _pure_zone(zone: CameraZone) -> cctv_zone_rules.Zone:
    polygon = tuple((float(x), float(y)) for x, y in zone.polygon)
    return cctv_zone_rules.Zone(zone.id, zone.purpose, polygon, (zone.frame_width, zone.frame_height))


async def _rules(
    session: AsyncSession, camera: Camera, zones: dict[int, cctv_zone_rules.Zone]
) -> tuple[list[cctv_zone_rules.Rule], dict[str, WatchRule]]:
    rows = list(await session.scalars(select(WatchRule).where(WatchRule.camera_id == camera.id).order_by(WatchRule.id)))
    rules = [
        cctv_zone_rules.Rule(
            f"r{r.id}",
            r.kind,
            zones[r.zone_id] if r.zone_id is not None else None,
            r.threshold,
            r.dwell_s,
            r.cooldown_s,
            r.hold_samples,
        )
        for r in rows
    ]
    whole_view = {r.kind for r in rows if r.zone_id is None}
    legacy = await cctv.rules_for(session, camera)
    for kind, threshold in (
        (AlertKind.CROWD, legacy.crowd_above_persons),
        (AlertKind.CONGESTION, legacy.congestion_above),
    ):
        if threshold is not None and kind not in whole_view:
            key = f"legacy-{kind.value}"
            rules.append(cctv_zone_rules.Rule(key, kind, None, threshold, 0, LEGACY_COOLDOWN_S, LEGACY_HOLD_SAMPLES))
    return rules, {f"r{r.id}": r for r in rows}


async def _locked_state(session: AsyncSession, camera_id: int) -> ZoneState:
    await session.execute(
        insert(ZoneState).values(camera_id=camera_id, state={}).on_conflict_do_nothing(index_elements=["camera_id"])
    )
    row = await session.scalar(select(ZoneState).where(ZoneState.camera_id == camera_id).with_for_update())
    assert row is not None  # inserted just above, and only a camera's deletion removes it
    return row


async def store_snapshot(
    storage: ObjectStorage, *, camera_code: str, observation: Observation
) -> tuple[str, bytes] | None:
    """Makes the sample's blurred snapshot (in a thread) and stores it where alerts keep theirs; its key and bytes,
    or None when the sample has no picture to make one of."""
    if observation.snapshot is None:
        return None
    snapshot = await asyncio.to_thread(observation.snapshot)
    key = f"cctv/alerts/{camera_code}/{observation.taken_at:%Y/%m/%d}/{uuid.uuid4()}.jpg"
    await storage.write(key, snapshot, content_type="image/jpeg")
    return key, snapshot


def _objects(raised: cctv_zone_rules.Raised) -> list[dict[str, object]]:
    return [
        {"track": t.id, "label": t.label, "box": list(t.box), "confidence": round(t.confidence, 3)}
        for t in raised.objects
    ]


async def observe(
    session: AsyncSession,
    *,
    observation: Observation,
    now: datetime,
    jobs: JobBuffer,
    storage: ObjectStorage,
    settings: Settings,
    reference: ReferenceData,
) -> list[CctvAlert]:
    """Judges one sample of a watched camera: the alerts it raised, stored and notified (none for a camera that
    is gone or switched off, or a sample older than one already judged). A rule that reads plates asks, with its
    alert, for the `cctv.read_plates` job (`read_alert_plates`): the plates are read after this transaction."""
    camera = await session.get(Camera, observation.camera_id)
    if camera is None or not camera.active:
        return []
    zone_rows = list(await session.scalars(select(CameraZone).where(CameraZone.camera_id == camera.id)))
    zones = {z.id: _pure_zone(z) for z in zone_rows}
    rules, rule_rows = await _rules(session, camera, zones)
    if not rules:
        # Nothing to judge, nothing written: most cameras have no rules. A state left from rules since removed
        # is stale by the time new ones come (a gap of minutes starts the stays again).
        return []
    row = await _locked_state(session, camera.id)
    state, raised = cctv_zone_rules.step(
        cctv_zone_rules.load_state(row.state), observation, list(zones.values()), rules
    )
    row.state, row.updated_at = cctv_zone_rules.dump_state(state), now
    if not raised:
        await session.flush()
        return []
    stored = await store_snapshot(storage, camera_code=camera.code, observation=observation)
    snapshot_key, snapshot = stored if stored is not None else (None, None)
    alerts = []
    for one in raised:
        rule_row = rule_rows.get(one.rule.key)
        threshold = one.rule.dwell_s if one.rule.kind == AlertKind.NO_STOPPING else one.rule.threshold
        alert = CctvAlert(
            id=uuid.uuid4(),
            camera_id=camera.id,
            kind=one.rule.kind,
            value=float(one.value),
            threshold=float(threshold),
            snapshot_key=snapshot_key,
            rule_id=rule_row.id if rule_row is not None else None,
            zone_id=one.rule.zone.id if one.rule.zone is not None else None,
            objects=_objects(one),
            created_at=now,
        )
        if rule_row is not None and rule_row.report_category_id is not None:
            # Before the alert's INSERT, so that its NOTIFY carries the report.
            alert.report_id = await _report_for(
                session,
                camera,
                rule_row,
                alert,
                snapshot,
                storage=storage,
                settings=settings,
                reference=reference,
                jobs=jobs,
                now=now,
            )
        session.add(alert)
        await session.flush()
        if rule_row is not None and rule_row.read_plates and snapshot_key is not None and one.objects:
            # In this transaction: the job exists if and only if the alert does.
            width, height = observation.frame_size
            jobs.add(
                "cctv.read_plates",
                queueing_lock=f"plates:{alert.id}",
                alert_id=str(alert.id),
                frame_width=width,
                frame_height=height,
            )
        if camera.unit_id is not None:
            message = notifications.Message(
                "CCTV_ALERT",
                f"CCTV {camera.name}: {alert.kind.value}",
                f"{alert.kind.value} {alert.value:g} (batas {alert.threshold:g})",
                alert.report_id,
                {"alertId": str(alert.id), "cameraCode": camera.code},
            )
            await notifications.notify_unit(session, camera.unit_id, message, jobs=jobs, now=now)
        alerts.append(alert)
    await session.flush()
    return alerts


async def read_alert_plates(
    res: Resources, *, alert_id: uuid.UUID, frame_size: tuple[int, int], reader: PlateReader
) -> int:
    """Reads and stores the plates of an alert's vehicles (the `cctv.read_plates` job); returns how many were stored.

    Why a job of its own, after the alert's transaction, rather than in `observe`: the OCR takes about 90 ms of a
    core per vehicle, and `observe` holds the camera's zone state row FOR UPDATE until its transaction ends, so
    reading there made every later sample of the camera wait on it, and a slow read held a pooled connection
    idle in a transaction. Reading before the lock instead would mean guessing which vehicles are about to
    alert, so reading plates of vehicles that break no rule: plates are read for violators only. What holds:
    - the job is inserted in the alert's own transaction: no alert whose plates are never asked for, no job for
      an alert rolled back;
    - the OCR runs with no transaction open (the snapshot is read back from storage, the blurred one the alert
      keeps: the raw frame is never kept), and the plates are stored in one short transaction, all or none;
    - it is idempotent: a retry or a second job stores nothing twice (one plate per alert and vehicle, the
      table's unique key), and an alert that already has its plates is not read again;
    - the rule is asked again: an alert deleted, a rule deleted or switched off meanwhile reads nothing.
    Until the job has run, `alertPlates` answers an empty list for the alert, as it does for a plate not read.
    """
    async with res.unit_of_work() as session:
        wanted = await _plates_wanted(session, alert_id)
    if wanted is None:
        return 0
    snapshot_key, objects = wanted
    try:
        snapshot = await res.storage.read(snapshot_key)
    except ObjectMissingError:
        log.warning("the snapshot of alert %s is gone; its plates are not read", alert_id)
        return 0
    reads = await asyncio.to_thread(reader.read_vehicles, snapshot, frame_size, [box for _, box in objects])
    found = [(track, read) for (track, _), read in zip(objects, reads, strict=True) if read is not None]
    if not found:
        return 0
    async with res.unit_of_work() as session:
        if await session.get(CctvAlert, alert_id) is None:
            return 0
        stored = await session.execute(
            insert(AlertPlate)
            .values([{"alert_id": alert_id, "track": t, "text": r.text, "confidence": r.confidence} for t, r in found])
            .on_conflict_do_nothing(index_elements=[AlertPlate.alert_id, AlertPlate.track])
            .returning(AlertPlate.id)
        )
        return len(stored.all())


async def _plates_wanted(
    session: AsyncSession, alert_id: uuid.UUID
) -> tuple[str, list[tuple[int, tuple[int, int, int, int]]]] | None:
    """The alert's snapshot key and its vehicles (track, box), when its plates are still to be read."""
    row = (
        await session.execute(
            select(CctvAlert.snapshot_key, CctvAlert.objects, WatchRule.read_plates)
            .join(WatchRule, WatchRule.id == CctvAlert.rule_id)
            .where(CctvAlert.id == alert_id)
        )
    ).first()
    if row is None or not row.read_plates or row.snapshot_key is None:
        return None
    if await session.scalar(select(AlertPlate.id).where(AlertPlate.alert_id == alert_id).limit(1)) is not None:
        return None
    objects = [
        (int(o["track"]), (int(o["box"][0]), int(o["box"][1]), int(o["box"][2]), int(o["box"][3])))
        for o in row.objects or []
    ]
    return (row.snapshot_key, objects) if objects else None


async def _report_for(
    session: AsyncSession,
    camera: Camera,
    rule: WatchRule,
    alert: CctvAlert,
    snapshot: bytes | None,
    *,
    storage: ObjectStorage,
    settings: Settings,
    reference: ReferenceData,
    jobs: JobBuffer,
    now: datetime,
) -> uuid.UUID | None:
    """The rule's open report (the alert adds to it), or a new one filed by the cameras' account with the
    snapshot as its photo; None when no report can be filed (the camera stands outside the service area, the
    category was retired): the alert itself still stands."""
    if rule.open_report_id is not None:
        closed = await session.scalar(select(Report.closed_at).where(Report.id == rule.open_report_id))
        if closed is None:
            return rule.open_report_id
    category = reference.categories.get(rule.report_category_id) if rule.report_category_id is not None else None
    if category is None:
        return None
    reporter = await system_reporter_id(session)
    point = to_shape(camera.location)
    keys = []
    try:
        async with session.begin_nested():
            if snapshot is not None:
                photo_id = uuid.uuid4()
                key = f"{upload_prefix(reporter)}{photo_id}"
                await storage.write(key, snapshot, content_type="image/jpeg")
                session.add(
                    Photo(
                        id=photo_id,
                        owner_id=reporter,
                        upload_key=key,
                        content_type="image/jpeg",
                        declared_bytes=len(snapshot),
                        status=PhotoStatus.REQUESTED,
                    )
                )
                await session.flush()
                keys.append(key)
            filed = await reports.create_report(
                session,
                storage,
                settings,
                reference,
                reporter_id=reporter,
                data=reports.NewReport(
                    client_request_id=f"cctv-alert:{alert.id}",
                    category=category.code,
                    description=f"Laporan otomatis dari kamera {camera.name} ({camera.code}): {alert.kind.value} "
                    f"{alert.value:g}, batas {alert.threshold:g}.",
                    lat=point.y,
                    lon=point.x,
                    photo_keys=keys,
                ),
                jobs=jobs,
                now=now,
            )
    except DomainError as exc:
        log.warning("cctv rule %s of camera %s could not file a report: %s", rule.id, camera.code, exc.code)
        return None
    rule.open_report_id = filed.report.id
    return filed.report.id
