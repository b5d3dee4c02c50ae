"""CCTV types: cameras, the evidence attached to a report, alerts. Officers see clips and full summaries; the
public at most a face-blurred snapshot, and only from cameras (and settings) that allow it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from geoalchemy2.shape import to_shape
from strawberry.scalars import JSON
from strawberry.types import Info

from api.schema.catalogue import Unit, unit_of
from domain import models

CameraKindEnum = strawberry.enum(models.CameraKind, name="CameraKind", description="What a camera watches.")
CameraSourceEnum = strawberry.enum(
    models.CameraSource, name="CameraSource", description="Where a camera's video comes from."
)
EvidenceStatusEnum = strawberry.enum(
    models.EvidenceStatus, name="EvidenceStatus", description="Where a camera's evidence for a report is."
)
AlertKindEnum = strawberry.enum(models.AlertKind, name="AlertKind", description="What a CCTV alert is about.")
ZonePurposeEnum = strawberry.enum(
    models.ZonePurpose, name="ZonePurpose", description="What a zone drawn on a camera's view is for."
)


async def _presign(info: Info, key: str | None) -> str | None:
    if key is None:
        return None
    return await info.context.storage.presign_get(key, expires_s=info.context.settings.download_url_ttl_s)


@strawberry.type(description="How continuous watching finds a camera now.")
class CameraWatchState:
    health: str = strawberry.field(
        description="OK, or the state alerted last and not over: OFFLINE, BLACK, FROZEN, COVERED or MOVED."
    )
    health_since: datetime | None = strawberry.field(description="When the health last changed.")
    last_sample_at: datetime | None = strawberry.field(description="When it was last sampled.")
    last_media_at: datetime | None = strawberry.field(description="The time of the newest media it sent.")
    samples: int = strawberry.field(description="Samples taken.")
    detections: int = strawberry.field(description="Samples the detector ran on (something had moved).")
    failures: int = strawberry.field(description="Samples that got no picture.")
    last_error: str | None = strawberry.field(description="Why the last sample got no picture (no_answer, ...).")

    @classmethod
    def from_model(cls, m: models.CameraWatch) -> CameraWatchState:
        return cls(
            health=m.health,
            health_since=m.health_since,
            last_sample_at=m.last_sample_at,
            last_media_at=m.last_media_at,
            samples=m.samples,
            detections=m.detections,
            failures=m.failures,
            last_error=m.last_error,
        )


@strawberry.type(description="A polygon drawn on a camera's view, in pixels of the frame it was drawn on.")
class CameraZone:
    name: str = strawberry.field(description="Its name, unique on the camera.")
    purpose: ZonePurposeEnum = strawberry.field(description="What it is for.")  # type: ignore[valid-type]
    polygon: list[list[float]] = strawberry.field(description="[[x, y], ...] in pixels of the reference frame.")
    frame_width: int = strawberry.field(description="Width of the reference frame; samples of other sizes scale.")
    frame_height: int = strawberry.field(description="Height of the reference frame.")
    id: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.CameraZone) -> CameraZone:
        return cls(
            name=m.name,
            purpose=m.purpose,
            polygon=m.polygon,
            frame_width=m.frame_width,
            frame_height=m.frame_height,
            id=m.id,
        )


@strawberry.type(description="A rule of continuous watching on one camera, in a zone or on the whole view.")
class WatchRule:
    zone_name: str | None = strawberry.field(description="The zone; null for the whole view.")
    kind: AlertKindEnum = strawberry.field(description="What it alerts on.")  # type: ignore[valid-type]
    threshold: float = strawberry.field(
        description="People (CROWD), index (CONGESTION), vehicles (BUSWAY), covered share (RIVER_GARBAGE); above."
    )
    dwell_s: float = strawberry.field(description="Seconds the condition must last before it alerts.")
    cooldown_s: float = strawberry.field(description="Seconds after an alert before the rule alerts again.")
    hold_samples: int = strawberry.field(description="Samples in a row an object must be inside to count.")
    report_category: str | None = strawberry.field(description="The category of the report it files, if it does.")
    open_report_id: strawberry.ID | None = strawberry.field(description="The report its alerts add to now.")
    read_plates: bool = strawberry.field(
        default=False, description="Whether its alerts have the violators' plates read (for enforcement staff)."
    )


@strawberry.type(description="A CCTV camera of the city's registry.")
class Camera:
    code: str = strawberry.field(description="Stable code, e.g. pintu-air-manggarai-1.")
    name: str = strawberry.field(description="Display name.")
    operator: str = strawberry.field(description="Who runs it (Dinas SDA, Dishub, ...).")
    kind: CameraKindEnum = strawberry.field(description="What it watches.")  # type: ignore[valid-type]
    lat: float = strawberry.field(description="Latitude.")
    lon: float = strawberry.field(description="Longitude.")
    heading_deg: float = strawberry.field(description="Where it looks, compass degrees.")
    fov_deg: float = strawberry.field(description="Horizontal field of view in degrees.")
    range_m: float = strawberry.field(description="How far it sees something useful, in metres.")
    source_kind: CameraSourceEnum = strawberry.field(description="Archive or live stream.")  # type: ignore[valid-type]
    source: str | None = strawberry.field(description="Archive prefix or stream URL; admins only (URLs hold secrets).")
    active: bool = strawberry.field(description="Whether it is matched to new reports.")
    public_snapshots: bool = strawberry.field(description="Whether its face-blurred snapshots may be public.")
    has_no_stopping_zone: bool = strawberry.field(description="Whether a no-stopping zone is drawn on its frame.")
    watch_interval_s: float = strawberry.field(description="While active, it is sampled every this many seconds.")
    unit_id: strawberry.Private[int | None]
    id: strawberry.Private[int]

    @strawberry.field(description="The unit told of its alerts (else the report's unit).")
    def unit(self, info: Info) -> Unit | None:
        return unit_of(info, self.unit_id)

    @strawberry.field(description="Its continuous watching: health and the last sample; null before the first tick.")
    async def watch(self, info: Info) -> CameraWatchState | None:
        row = await info.context.loaders.camera_watch.load(self.id)
        return CameraWatchState.from_model(row) if row else None

    @strawberry.field(description="The zones drawn on its view (busway lanes, no-stopping kerbs, crowd areas).")
    async def zones(self, info: Info) -> list[CameraZone]:
        return [CameraZone.from_model(z) for z in await info.context.loaders.zones_of_camera.load(self.id)]

    @strawberry.field(description="Its rules of continuous watching.")
    async def watch_rules(self, info: Info) -> list[WatchRule]:
        zones = {z.id: z.name for z in await info.context.loaders.zones_of_camera.load(self.id)}
        categories = (await info.context.resources.reference.get()).categories
        out = []
        for r in await info.context.loaders.rules_of_camera.load(self.id):
            category = categories.get(r.report_category_id) if r.report_category_id else None
            out.append(
                WatchRule(
                    zone_name=zones.get(r.zone_id) if r.zone_id is not None else None,
                    kind=r.kind,
                    threshold=r.threshold,
                    dwell_s=r.dwell_s,
                    cooldown_s=r.cooldown_s,
                    hold_samples=r.hold_samples,
                    report_category=category.code if category is not None else None,
                    open_report_id=strawberry.ID(str(r.open_report_id)) if r.open_report_id else None,
                    read_plates=r.read_plates,
                )
            )
        return out

    @strawberry.field(
        description="Its health: as continuous watching finds it now (OK, OFFLINE, BLACK, FROZEN, COVERED, MOVED), "
        "else what its newest analysed video showed; null before either (staff)."
    )
    async def health(self, info: Info) -> str | None:
        watch = await info.context.loaders.camera_watch.load(self.id)
        if watch is not None and watch.samples > 0:
            return str(watch.health)
        return (await info.context.loaders.camera_latest.load(self.id)).health

    @strawberry.field(description="When its newest alert was raised; null if it never raised one (staff).")
    async def last_alert_at(self, info: Info) -> datetime | None:
        return (await info.context.loaders.camera_latest.load(self.id)).last_alert_at

    @strawberry.field(
        description="Short-lived URL of its newest snapshot, of an alert or of a report's evidence (faces blurred); "
        "null if none (staff)."
    )
    async def latest_snapshot_url(self, info: Info) -> str | None:
        return await _presign(info, (await info.context.loaders.camera_latest.load(self.id)).snapshot_key)

    @classmethod
    def from_model(cls, m: models.Camera, *, admin: bool) -> Camera:
        point = to_shape(m.location)
        return cls(
            code=m.code,
            name=m.name,
            operator=m.operator,
            kind=m.kind,
            lat=point.y,
            lon=point.x,
            heading_deg=m.heading_deg,
            fov_deg=m.fov_deg,
            range_m=m.range_m,
            source_kind=m.source_kind,
            source=m.source if admin else None,
            active=m.active,
            public_snapshots=m.public_snapshots,
            has_no_stopping_zone=bool(m.no_stopping_zone),
            watch_interval_s=m.watch_interval_s,
            unit_id=m.unit_id,
            id=m.id,
        )


@strawberry.type(description="Counts of one kind of object over the analysed frames of a clip.")
class ObjectCount:
    label: str = strawberry.field(description="person, bicycle, car, motorcycle, bus or truck.")
    max: int = strawberry.field(description="Most seen in one frame.")
    mean: float = strawberry.field(description="Mean per analysed frame.")


@strawberry.type(description="What one camera showed around a report's time.")
class CctvEvidence:
    id: strawberry.ID = strawberry.field(description="Evidence id.")
    rank: int = strawberry.field(description="1 for the best placed camera.")
    camera_name: str = strawberry.field(description="The camera's name.")
    camera_kind: CameraKindEnum = strawberry.field(description="What the camera watches.")  # type: ignore[valid-type]
    distance_m: float = strawberry.field(description="From the camera to the report, in metres.")
    status: EvidenceStatusEnum = strawberry.field(description="Pending, ready or unavailable.")  # type: ignore[valid-type]
    reason: str | None = strawberry.field(description="Why unavailable (no_answer, no_segments, ...) or 'partial'.")
    window_start: datetime = strawberry.field(description="Start of the video looked at.")
    window_end: datetime = strawberry.field(description="End of the video looked at.")
    health: str | None = strawberry.field(description="OK, BLACK, FROZEN or COVERED; null until ready.")
    motion_ratio: float | None = strawberry.field(description="Share of frames with motion.")
    congestion_index: float | None = strawberry.field(
        description="0 free flow (or nothing there) to 1 everything standing still."
    )
    objects: list[ObjectCount] = strawberry.field(description="People and vehicles counted.")
    faces_blurred: int | None = strawberry.field(description="Faces blurred in the snapshot.")
    camera: Camera | None = strawberry.field(description="The camera; staff only.")
    summary: JSON | None = strawberry.field(description="The whole analysis (per-frame counts, timings); staff only.")
    snapshot_key: strawberry.Private[str | None]
    clip_key: strawberry.Private[str | None]
    playable_clip_key: strawberry.Private[str | None]

    @strawberry.field(description="Short-lived URL of the best frame, boxes drawn and faces blurred.")
    async def snapshot_url(self, info: Info) -> str | None:
        return await _presign(info, self.snapshot_key)

    @strawberry.field(description="Short-lived URL of the clip (MPEG-TS, faces not blurred); staff only.")
    async def clip_url(self, info: Info) -> str | None:
        return await _presign(info, self.clip_key)

    @strawberry.field(
        description=(
            "Short-lived URL of a copy of the clip that browsers play (H.264 in MP4, at most 720p, no sound, faces "
            "not blurred); staff only. Null where the copy could not be made and for evidence collected before such "
            "copies were: then only clipUrl is there."
        )
    )
    async def playable_clip_url(self, info: Info) -> str | None:
        return await _presign(info, self.playable_clip_key)

    @classmethod
    def from_model(cls, m: models.CctvEvidence, camera: models.Camera, *, staff: bool, admin: bool) -> CctvEvidence:
        summary: dict[str, Any] = m.summary or {}
        objects = summary.get("objects") or {}
        return cls(
            id=strawberry.ID(str(m.id)),
            rank=m.rank,
            camera_name=camera.name,
            camera_kind=camera.kind,
            distance_m=round(m.distance_m, 1),
            status=m.status,
            reason=m.reason,
            window_start=m.window_start,
            window_end=m.window_end,
            health=summary.get("health"),
            motion_ratio=summary.get("motion_ratio"),
            congestion_index=summary.get("congestion_index"),
            objects=[ObjectCount(label=k, max=int(v["max"]), mean=float(v["mean"])) for k, v in objects.items()],
            faces_blurred=summary.get("faces_blurred"),
            camera=Camera.from_model(camera, admin=admin) if staff else None,
            summary=summary if staff and summary else None,  # type: ignore[arg-type]
            snapshot_key=m.snapshot_key,
            clip_key=m.clip_key if staff else None,
            playable_clip_key=m.playable_clip_key if staff else None,
        )


@strawberry.type(description="One object an alert is about, as the camera's sample saw it.")
class AlertObject:
    track: int = strawberry.field(description="The object's number while the camera follows it.")
    label: str = strawberry.field(description="person, bicycle, car, motorcycle, bus or truck.")
    box: list[int] = strawberry.field(description="x, y, width, height in the sample's pixels.")
    confidence: float = strawberry.field(description="The detector's confidence, 0-1.")


@strawberry.type(description="A CCTV alert: a crowd, a jam, a vehicle stopped where it must not, one in a busway.")
class CctvAlert:
    id: strawberry.ID = strawberry.field(description="Alert id.")
    kind: AlertKindEnum = strawberry.field(description="What it is about.")  # type: ignore[valid-type]
    value: float = strawberry.field(description="What was measured (people, index, seconds, covered share).")
    threshold: float = strawberry.field(description="The camera's limit it crossed.")
    camera_code: str = strawberry.field(description="The camera.")
    evidence_id: strawberry.ID | None = strawberry.field(description="The evidence it came from.")
    created_at: datetime = strawberry.field(description="When it was raised.")
    zone_name: str | None = strawberry.field(
        default=None, description="The zone it is about; null for the whole view or a clip's alert."
    )
    report_id: strawberry.ID | None = strawberry.field(
        default=None, description="The report its rule filed or added it to, if any."
    )
    objects: list[AlertObject] = strawberry.field(
        default_factory=list, description="The objects it is about (vehicles, people); empty for a clip's alert."
    )
    snapshot_key: strawberry.Private[str | None] = None

    @strawberry.field(description="Short-lived URL of the snapshot (faces blurred).")
    async def snapshot_url(self, info: Info) -> str | None:
        return await _presign(info, self.snapshot_key)


@strawberry.type(description="A licence plate read on one vehicle of a busway or no-stopping alert (enforcement).")
class AlertPlate:
    track: int = strawberry.field(description="The alert's object (objects[].track) it was read on.")
    text: str = strawberry.field(description="The plate, normalised: 'B 1234 XYZ'.")
    confidence: float = strawberry.field(description="The OCR's mean character confidence, 0-1.")

    @classmethod
    def from_model(cls, m: models.AlertPlate) -> AlertPlate:
        return cls(track=m.track, text=m.text, confidence=m.confidence)


@strawberry.type(
    description="A floodgate (pintu air): a named site whose water level cameras read, with its Siaga levels."
)
class Floodgate:
    name: str = strawberry.field(description="Its name, unique.")
    siaga3_cm: float = strawberry.field(description="Siaga 3 (waspada) from this level, in cm on its staff gauge.")
    siaga2_cm: float = strawberry.field(description="Siaga 2 from this level.")
    siaga1_cm: float = strawberry.field(description="Siaga 1 (the highest) from this level.")
    hold_samples: int = strawberry.field(description="Readings in a row a higher level must show before it alerts.")
    cooldown_s: float = strawberry.field(
        description="Seconds after a level's alert before entering it again alerts again."
    )

    @classmethod
    def from_model(cls, m: models.Floodgate) -> Floodgate:
        return cls(
            name=m.name,
            siaga3_cm=m.siaga3_cm,
            siaga2_cm=m.siaga2_cm,
            siaga1_cm=m.siaga1_cm,
            hold_samples=m.hold_samples,
            cooldown_s=m.cooldown_s,
        )


@strawberry.type(description="A staff gauge drawn on a camera's view, read at each sample for its floodgate.")
class CameraGauge:
    camera_code: str = strawberry.field(description="The camera.")
    floodgate_name: str = strawberry.field(description="The floodgate it reads the level of.")
    polygon: list[list[float]] = strawberry.field(description="[[x, y], ...] around the gauge, reference pixels.")
    marks: list[list[float]] = strawberry.field(description="[[x, y, cm], ...] calibration marks along its axis.")
    frame_width: int = strawberry.field(description="Width of the reference frame.")
    frame_height: int = strawberry.field(description="Height of the reference frame.")

    @classmethod
    def from_model(cls, m: models.CameraGauge, *, camera_code: str, floodgate_name: str) -> CameraGauge:
        return cls(
            camera_code=camera_code,
            floodgate_name=floodgate_name,
            polygon=m.polygon,
            marks=m.marks,
            frame_width=m.frame_width,
            frame_height=m.frame_height,
        )
