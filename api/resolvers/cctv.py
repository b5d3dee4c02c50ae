"""CCTV: the camera registry (read by staff, edited by admins), alert rules, alerts and their live feed."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.access import guarded
from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import error_code
from api.schema.cctv import (
    AlertKindEnum,
    AlertObject,
    AlertPlate,
    Camera,
    CameraGauge,
    CameraKindEnum,
    CameraSourceEnum,
    CameraZone,
    CctvAlert,
    Floodgate,
    WatchRule,
    ZonePurposeEnum,
)
from domain import cctv, cctv_rules, cctv_watch, cctv_zones, floodgates, models, plate_reading
from domain.errors import DomainError

MAX_ALERTS = 100
MAX_FLOODGATES = 100


@strawberry.input(description="A camera: where it stands, where it looks, where its video comes from.")
class CameraInput:
    code: str = strawberry.field(description="Stable code: 2-63 lowercase letters, digits and dashes.")
    name: str = strawberry.field(description="Display name.")
    operator: str = strawberry.field(description="Who runs it.")
    kind: CameraKindEnum = strawberry.field(description="What it watches.")  # type: ignore[valid-type]
    lat: float = strawberry.field(description="Latitude.")
    lon: float = strawberry.field(description="Longitude.")
    heading_deg: float = strawberry.field(description="Where it looks, compass degrees (0 north, 90 east).")
    fov_deg: float = strawberry.field(description="Horizontal field of view, 1-360 degrees.")
    range_m: float = strawberry.field(description="How far it sees something useful, up to 2000 m.")
    source_kind: CameraSourceEnum = strawberry.field(description="Archive or live stream.")  # type: ignore[valid-type]
    source: str = strawberry.field(description="Archive key prefix (e.g. cctv/manggarai-1) or stream URL.")
    active: bool = strawberry.field(default=True, description="Matched to new reports.")
    public_snapshots: bool = strawberry.field(default=False, description="Its blurred snapshots may be public.")
    unit_code: str | None = strawberry.field(default=None, description="The unit told of its alerts.")
    no_stopping_zone: list[list[float]] | None = strawberry.field(
        default=None, description="Pixel polygon [[x, y], ...] where vehicles must not stop."
    )
    watch_interval_s: float = strawberry.field(
        default=10.0, description="While active, it is sampled every this many seconds (1-3600)."
    )


@strawberry.input(description="Alert thresholds for one camera or for every camera of a kind; null turns one off.")
class AlertRuleInput:
    camera_code: str | None = strawberry.field(default=None, description="The camera; or give kind.")
    kind: CameraKindEnum | None = strawberry.field(default=None, description="Every camera of this kind.")  # type: ignore[valid-type]
    crowd_above_persons: int | None = strawberry.field(default=None, description="Alert above this many people.")
    congestion_above: float | None = strawberry.field(default=None, description="Alert above this index (0-1).")
    no_stopping_above_s: float | None = strawberry.field(
        default=None, description="Alert when a vehicle stands in the no-stopping zone longer than this."
    )


@strawberry.enum(description="Why a camera change failed.")
class CameraErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    INVALID_CODE = "INVALID_CODE"
    INVALID_NAME = "INVALID_NAME"
    INVALID_LOCATION = "INVALID_LOCATION"
    INVALID_VIEW = "INVALID_VIEW"
    INVALID_SOURCE = "INVALID_SOURCE"
    INVALID_ZONE = "INVALID_ZONE"
    INVALID_INTERVAL = "INVALID_INTERVAL"
    UNKNOWN_UNIT = "UNKNOWN_UNIT"
    UNKNOWN_CAMERA = "UNKNOWN_CAMERA"
    CAMERA_OR_KIND = "CAMERA_OR_KIND"
    INVALID_THRESHOLD = "INVALID_THRESHOLD"


@strawberry.type(description="A camera problem.")
class CameraError:
    code: CameraErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of saveCamera or setCameraActive.")
class CameraPayload:
    camera: Camera | None = strawberry.field(description="The camera as saved; null on error.")
    created: bool = strawberry.field(description="Whether saveCamera made a new camera.")
    errors: list[CameraError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Alert thresholds as saved.")
class AlertRule:
    camera_code: str | None = strawberry.field(description="The camera, or null for a kind's rule.")
    kind: CameraKindEnum | None = strawberry.field(description="The kind, or null.")  # type: ignore[valid-type]
    crowd_above_persons: int | None = strawberry.field(description="People.")
    congestion_above: float | None = strawberry.field(description="Congestion index.")
    no_stopping_above_s: float | None = strawberry.field(description="Seconds in the no-stopping zone.")


@strawberry.type(description="Result of setAlertRule.")
class AlertRulePayload:
    rule: AlertRule | None = strawberry.field(description="The rule as saved; null on error.")
    errors: list[CameraError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A zone drawn on a camera's view, in pixels of the frame it was drawn on.")
class CameraZoneInput:
    camera_code: str = strawberry.field(description="The camera.")
    name: str = strawberry.field(
        description="The zone's name on this camera (1-100 characters); saving it again redraws it."
    )
    purpose: ZonePurposeEnum = strawberry.field(description="What it is for.")  # type: ignore[valid-type]
    polygon: list[list[float]] = strawberry.field(
        description="3 to 64 points [[x, y], ...] inside the reference frame, edges not crossing."
    )
    frame_width: int = strawberry.field(description="Width of the reference frame (16-8192 pixels).")
    frame_height: int = strawberry.field(description="Height of the reference frame (16-8192 pixels).")


@strawberry.enum(description="Why a zone change failed.")
class CameraZoneErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    UNKNOWN_CAMERA = "UNKNOWN_CAMERA"
    UNKNOWN_ZONE = "UNKNOWN_ZONE"
    INVALID_NAME = "INVALID_NAME"
    INVALID_FRAME = "INVALID_FRAME"
    INVALID_POLYGON = "INVALID_POLYGON"
    OUT_OF_FRAME = "OUT_OF_FRAME"
    SELF_INTERSECTING = "SELF_INTERSECTING"
    ZONE_HAS_RULES = "ZONE_HAS_RULES"


@strawberry.type(description="A zone problem.")
class CameraZoneError:
    code: CameraZoneErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of saveCameraZone or deleteCameraZone.")
class CameraZonePayload:
    zone: CameraZone | None = strawberry.field(description="The zone as saved; null on error or after a deletion.")
    errors: list[CameraZoneError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A rule of continuous watching: one kind of alert in a zone or on the whole view.")
class WatchRuleInput:
    camera_code: str = strawberry.field(description="The camera.")
    zone_name: str | None = strawberry.field(default=None, description="The zone; null for the whole view.")
    kind: AlertKindEnum = strawberry.field(  # type: ignore[valid-type]
        description="BUSWAY (busway zones), NO_STOPPING (no-stopping zones or the view), CROWD (crowd areas or the "
        "view), CONGESTION (the view), RIVER_GARBAGE (WATER zones; experimental, add it only where its figures in "
        "README.md are good enough for the river)."
    )
    threshold: float = strawberry.field(
        default=0.0,
        description="Alert above: people (CROWD), index below 1 (CONGESTION), vehicles (BUSWAY), share below 1 of "
        "the water covered by floating debris (RIVER_GARBAGE).",
    )
    dwell_s: float = strawberry.field(
        default=0.0, description="Seconds it must last (NO_STOPPING: a vehicle standing still) before it alerts."
    )
    cooldown_s: float = strawberry.field(default=300.0, description="Seconds after an alert before the next one.")
    hold_samples: int = strawberry.field(
        default=2, description="Samples in a row (1-10) an object's foot must be inside the zone to count."
    )
    report_category: str | None = strawberry.field(
        default=None, description="File a report of this category with an alert (one open report at a time)."
    )
    read_plates: bool = strawberry.field(
        default=False,
        description="BUSWAY and NO_STOPPING only: read the violators' licence plates with each alert (off by "
        "default; only enforcement staff can see them, every read audited).",
    )


@strawberry.enum(description="Why a watch rule change failed.")
class WatchRuleErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    UNKNOWN_CAMERA = "UNKNOWN_CAMERA"
    UNKNOWN_ZONE = "UNKNOWN_ZONE"
    UNKNOWN_RULE = "UNKNOWN_RULE"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    KIND_NOT_FOR_ZONE = "KIND_NOT_FOR_ZONE"
    INVALID_THRESHOLD = "INVALID_THRESHOLD"
    PLATES_NOT_FOR_KIND = "PLATES_NOT_FOR_KIND"


@strawberry.type(description="A watch rule problem.")
class WatchRuleError:
    code: WatchRuleErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of saveWatchRule or deleteWatchRule.")
class WatchRulePayload:
    rule: WatchRule | None = strawberry.field(description="The rule as saved; null on error or after a deletion.")
    errors: list[WatchRuleError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A floodgate and its Siaga levels; saving one of the same name changes its levels.")
class FloodgateInput:
    name: str = strawberry.field(description="Its name (1-100 characters), e.g. Pintu Air Manggarai.")
    siaga3_cm: float = strawberry.field(description="Siaga 3 (waspada) from this level, cm on its gauge.")
    siaga2_cm: float = strawberry.field(description="Siaga 2 from this level; above Siaga 3.")
    siaga1_cm: float = strawberry.field(description="Siaga 1 from this level; above Siaga 2.")
    hold_samples: int = strawberry.field(
        default=3, description="Readings in a row (1-10) a higher level must show before it alerts."
    )
    cooldown_s: float = strawberry.field(
        default=3600.0, description="Seconds (0-604800) after a level's alert before entering it again re-alerts."
    )


@strawberry.enum(description="Why a floodgate change failed.")
class FloodgateErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    INVALID_NAME = "INVALID_NAME"
    INVALID_LEVELS = "INVALID_LEVELS"
    INVALID_HOLD = "INVALID_HOLD"


@strawberry.type(description="A floodgate problem.")
class FloodgateError:
    code: FloodgateErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of saveFloodgate.")
class FloodgatePayload:
    floodgate: Floodgate | None = strawberry.field(description="The floodgate as saved; null on error.")
    errors: list[FloodgateError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="A staff gauge on a camera's view, in pixels of the frame it was drawn on.")
class CameraGaugeInput:
    camera_code: str = strawberry.field(description="The camera (one gauge per camera; saving again redraws it).")
    floodgate_name: str = strawberry.field(description="The floodgate whose level it shows.")
    polygon: list[list[float]] = strawberry.field(description="3 to 64 points [[x, y], ...] around the gauge.")
    marks: list[list[float]] = strawberry.field(
        description="2 to 16 calibration marks [[x, y, cm], ...] in order along the gauge's axis: two give a "
        "linear scale, three or more also fit the perspective of a tilted view."
    )
    frame_width: int = strawberry.field(description="Width of the reference frame (16-8192 pixels).")
    frame_height: int = strawberry.field(description="Height of the reference frame (16-8192 pixels).")


@strawberry.enum(description="Why a gauge change failed.")
class CameraGaugeErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    UNKNOWN_CAMERA = "UNKNOWN_CAMERA"
    UNKNOWN_FLOODGATE = "UNKNOWN_FLOODGATE"
    UNKNOWN_GAUGE = "UNKNOWN_GAUGE"
    INVALID_FRAME = "INVALID_FRAME"
    INVALID_POLYGON = "INVALID_POLYGON"
    OUT_OF_FRAME = "OUT_OF_FRAME"
    INVALID_CALIBRATION = "INVALID_CALIBRATION"


@strawberry.type(description="A gauge problem.")
class CameraGaugeError:
    code: CameraGaugeErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of saveCameraGauge or deleteCameraGauge.")
class CameraGaugePayload:
    gauge: CameraGauge | None = strawberry.field(description="The gauge as saved; null on error or after a deletion.")
    errors: list[CameraGaugeError] = strawberry.field(description="Empty on success.")


def _gauge_failed(context: Context, exc: DomainError) -> CameraGaugePayload:
    code = error_code(context, exc, CameraGaugeErrorCode)
    return CameraGaugePayload(gauge=None, errors=[CameraGaugeError(code=code, message=exc.message, field=exc.field)])


def _zone_failed(context: Context, exc: DomainError) -> CameraZonePayload:
    code = error_code(context, exc, CameraZoneErrorCode)
    return CameraZonePayload(zone=None, errors=[CameraZoneError(code=code, message=exc.message, field=exc.field)])


def _rule_failed(context: Context, exc: DomainError) -> WatchRulePayload:
    code = error_code(context, exc, WatchRuleErrorCode)
    return WatchRulePayload(rule=None, errors=[WatchRuleError(code=code, message=exc.message, field=exc.field)])


def _require_admin(context: Context) -> None:
    if context.require_viewer().role != models.Role.ADMIN:
        raise DomainError("FORBIDDEN", "Only admins change cameras and alert rules.")


def _camera_failed(context: Context, exc: DomainError) -> CameraPayload:
    code = error_code(context, exc, CameraErrorCode)
    return CameraPayload(
        camera=None, created=False, errors=[CameraError(code=code, message=exc.message, field=exc.field)]
    )


def _not_found(exc: DomainError, argument: str) -> ClientError:
    """A code or name that names nothing, as a query refuses it: NOT_FOUND, the domain's code as its reason and
    the query's argument at fault as its field."""
    return ClientError(ErrorCode.NOT_FOUND, exc.message, reason=exc.code, field=argument)


def _objects(raw: list[dict[str, Any]] | None) -> list[AlertObject]:
    return [
        AlertObject(track=o["track"], label=o["label"], box=list(o["box"]), confidence=o["confidence"])
        for o in raw or []
    ]


def _alert(m: models.CctvAlert, camera_code: str, zone_name: str | None) -> CctvAlert:
    return CctvAlert(
        zone_name=zone_name,
        report_id=strawberry.ID(str(m.report_id)) if m.report_id else None,
        objects=_objects(m.objects),
        id=strawberry.ID(str(m.id)),
        kind=m.kind,
        value=m.value,
        threshold=m.threshold,
        camera_code=camera_code,
        evidence_id=strawberry.ID(str(m.evidence_id)) if m.evidence_id else None,
        created_at=m.created_at,
        snapshot_key=m.snapshot_key,
    )


@strawberry.type
class CctvQueries:
    @strawberry.field(description="The camera registry (staff only; stream URLs for admins only).")
    async def cameras(
        self,
        info: Info,
        active_only: Annotated[bool, strawberry.argument(description="Leave out inactive cameras.")] = True,
        kind: Annotated[CameraKindEnum | None, strawberry.argument(description="Only this kind.")] = None,  # type: ignore[valid-type]
    ) -> list[Camera]:
        context: Context = info.context
        context.require_staff()
        admin = context.require_viewer().role == models.Role.ADMIN

        async def run(session: AsyncSession) -> list[models.Camera]:
            query = select(models.Camera).order_by(models.Camera.code)
            if active_only:
                query = query.where(models.Camera.active)
            if kind is not None:
                query = query.where(models.Camera.kind == kind)
            return list(await session.scalars(query))

        return [Camera.from_model(c, admin=admin) for c in await context.db(run)]

    @strawberry.field(description="The newest CCTV alerts (staff only), at most 100.")
    async def cctv_alerts(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="1 to 100.")] = 50,
        since: Annotated[datetime | None, strawberry.argument(description="Raised at or after.")] = None,
    ) -> list[CctvAlert]:
        context: Context = info.context
        context.require_staff()
        if not 1 <= first <= MAX_ALERTS:
            raise ClientError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_ALERTS}.")

        async def run(session: AsyncSession) -> list[tuple[models.CctvAlert, str, str | None]]:
            query = (
                select(models.CctvAlert, models.Camera.code, models.CameraZone.name)
                .join(models.Camera, models.Camera.id == models.CctvAlert.camera_id)
                .outerjoin(models.CameraZone, models.CameraZone.id == models.CctvAlert.zone_id)
                .order_by(models.CctvAlert.created_at.desc(), models.CctvAlert.id)
                .limit(first)
            )
            if since is not None:
                query = query.where(models.CctvAlert.created_at >= since)
            return [(a, code, zone) for a, code, zone in (await session.execute(query))]

        return [_alert(a, code, zone) for a, code, zone in await context.db(run)]

    @strawberry.field(
        description="The floodgates in name order with their Siaga levels, at most 100 (public: the levels a gate "
        "alerts at are published information)."
    )
    async def floodgates(
        self, info: Info, first: Annotated[int, strawberry.argument(description="1 to 100.")] = MAX_FLOODGATES
    ) -> list[Floodgate]:
        context: Context = info.context
        if not 1 <= first <= MAX_FLOODGATES:
            raise ClientError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_FLOODGATES}.")
        return [
            Floodgate.from_model(g) for g in await context.db(lambda s: floodgates.floodgates_by_name(s, first=first))
        ]

    @strawberry.field(
        description="One floodgate and its Siaga levels (public); NOT_FOUND (reason UNKNOWN_FLOODGATE) for no such "
        "gate."
    )
    async def floodgate(
        self, info: Info, name: Annotated[str, strawberry.argument(description="Its name.")]
    ) -> Floodgate:
        context: Context = info.context
        try:
            gate = await context.db(lambda s: floodgates.floodgate_by_name(s, name))
        except DomainError as exc:
            raise _not_found(exc, "name") from None
        return Floodgate.from_model(gate)

    @strawberry.field(
        description="The staff gauge drawn on a camera's view: its polygon, calibration marks, reference frame size "
        "and gate (staff only); null when the camera has none; NOT_FOUND (reason UNKNOWN_CAMERA) for no such camera."
    )
    async def camera_gauge(
        self, info: Info, camera_code: Annotated[str, strawberry.argument(description="The camera.")]
    ) -> CameraGauge | None:
        context: Context = info.context
        context.require_staff()
        try:
            found = await context.db(lambda s: floodgates.gauge_of_camera(s, camera_code=camera_code))
        except DomainError as exc:
            raise _not_found(exc, "cameraCode") from None
        if found is None:
            return None
        gauge, gate = found
        return CameraGauge.from_model(gauge, camera_code=camera_code, floodgate_name=gate.name)

    @strawberry.field(
        description="The licence plates read with a busway or no-stopping alert: enforcement staff only "
        "(FORBIDDEN for everyone else); every call is recorded with who, when and from where."
    )
    async def alert_plates(
        self, info: Info, alert_id: Annotated[strawberry.ID, strawberry.argument(description="The alert.")]
    ) -> list[AlertPlate]:
        context: Context = info.context
        viewer = context.require_staff("Only enforcement staff read licence plates.")
        if not plate_reading.may_read_plates(viewer.role):
            raise ClientError(ErrorCode.FORBIDDEN, "Only enforcement staff read licence plates.")
        try:
            alert = uuid.UUID(str(alert_id))
        except ValueError:
            raise ClientError(ErrorCode.BAD_USER_INPUT, "`alertId` is not an alert id.") from None
        client = context.request.client
        try:
            rows = await context.db(
                lambda s: plate_reading.alert_plates(
                    s,
                    reader_id=viewer.user_id,
                    reader_role=viewer.role,
                    alert_id=alert,
                    client_address=client.host if client is not None else None,
                    request_id=context.request_id,
                    now=datetime.now(UTC),
                )
            )
        except DomainError as exc:
            raise ClientError(ErrorCode(exc.code), exc.message) from None
        return [AlertPlate.from_model(r) for r in rows]


@strawberry.type
class CctvMutations:
    @strawberry.mutation(description="Add a camera, or change the one with this code (admins).")
    async def save_camera(self, info: Info, input: CameraInput) -> CameraPayload:
        context: Context = info.context
        data = cctv.CameraInput(
            code=input.code,
            name=input.name,
            operator=input.operator,
            kind=input.kind,
            lon=input.lon,
            lat=input.lat,
            heading_deg=input.heading_deg,
            fov_deg=input.fov_deg,
            range_m=input.range_m,
            source_kind=input.source_kind,
            source=input.source,
            active=input.active,
            public_snapshots=input.public_snapshots,
            unit_code=input.unit_code,
            no_stopping_zone=input.no_stopping_zone,
            watch_interval_s=input.watch_interval_s,
        )
        try:
            _require_admin(context)
            reference = await context.resources.reference.get()
            camera, created = await context.db(lambda s: cctv.save_camera(s, reference, data=data))
        except DomainError as exc:
            return _camera_failed(context, exc)
        return CameraPayload(camera=Camera.from_model(camera, admin=True), created=created, errors=[])

    @strawberry.mutation(description="Switch a camera on or off for new reports (admins).")
    async def set_camera_active(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="Camera code.")],
        active: Annotated[bool, strawberry.argument(description="On or off.")],
    ) -> CameraPayload:
        context: Context = info.context
        try:
            _require_admin(context)
            camera = await context.db(lambda s: cctv.set_camera_active(s, code=code, active=active))
        except DomainError as exc:
            return _camera_failed(context, exc)
        return CameraPayload(camera=Camera.from_model(camera, admin=True), created=False, errors=[])

    @strawberry.mutation(
        description="Take the camera's next good picture as the view it should show (admins): after it was turned "
        "on purpose, so that it is no longer alerted as moved."
    )
    async def reset_camera_reference(
        self, info: Info, code: Annotated[str, strawberry.argument(description="Camera code.")]
    ) -> CameraPayload:
        context: Context = info.context
        try:
            _require_admin(context)
            camera = await context.db(lambda s: cctv_watch.reset_reference(s, code=code))
        except DomainError as exc:
            return _camera_failed(context, exc)
        return CameraPayload(camera=Camera.from_model(camera, admin=True), created=False, errors=[])

    @strawberry.mutation(description="Set the alert thresholds of a camera or of a kind of camera (admins).")
    async def set_alert_rule(self, info: Info, input: AlertRuleInput) -> AlertRulePayload:
        context: Context = info.context
        rules = cctv_rules.AlertRules(input.crowd_above_persons, input.congestion_above, input.no_stopping_above_s)
        try:
            _require_admin(context)
            rule = await context.db(
                lambda s: cctv.set_alert_rule(s, camera_code=input.camera_code, kind=input.kind, rules=rules)
            )
        except DomainError as exc:
            code = error_code(context, exc, CameraErrorCode)
            return AlertRulePayload(rule=None, errors=[CameraError(code=code, message=exc.message, field=exc.field)])
        return AlertRulePayload(
            rule=AlertRule(
                camera_code=input.camera_code,
                kind=rule.kind,
                crowd_above_persons=rule.crowd_above_persons,
                congestion_above=rule.congestion_above,
                no_stopping_above_s=rule.no_stopping_above_s,
            ),
            errors=[],
        )

    @strawberry.mutation(description="Draw a zone on a camera's view, or redraw the one of that name (admins).")
    async def save_camera_zone(self, info: Info, input: CameraZoneInput) -> CameraZonePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            zone = await context.db(
                lambda s: cctv_zones.save_zone(
                    s,
                    camera_code=input.camera_code,
                    name=input.name,
                    purpose=input.purpose,
                    polygon=input.polygon,
                    frame_size=(input.frame_width, input.frame_height),
                )
            )
        except DomainError as exc:
            return _zone_failed(context, exc)
        return CameraZonePayload(zone=CameraZone.from_model(zone), errors=[])

    @strawberry.mutation(description="Add a floodgate with its Siaga levels, or change the one of that name (admins).")
    async def save_floodgate(self, info: Info, input: FloodgateInput) -> FloodgatePayload:
        context: Context = info.context
        levels = floodgates.Levels(input.siaga3_cm, input.siaga2_cm, input.siaga1_cm)
        try:
            _require_admin(context)
            gate = await context.db(
                lambda s: floodgates.save_floodgate(
                    s, name=input.name, levels=levels, hold_samples=input.hold_samples, cooldown_s=input.cooldown_s
                )
            )
        except DomainError as exc:
            code = error_code(context, exc, FloodgateErrorCode)
            return FloodgatePayload(
                floodgate=None, errors=[FloodgateError(code=code, message=exc.message, field=exc.field)]
            )
        return FloodgatePayload(floodgate=Floodgate.from_model(gate), errors=[])

    @strawberry.mutation(
        description="Draw the staff gauge a camera reads a floodgate's level on, or redraw it (admins)."
    )
    async def save_camera_gauge(self, info: Info, input: CameraGaugeInput) -> CameraGaugePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            gauge, gate = await context.db(
                lambda s: floodgates.save_gauge(
                    s,
                    camera_code=input.camera_code,
                    floodgate_name=input.floodgate_name,
                    polygon=input.polygon,
                    marks=input.marks,
                    frame_size=(input.frame_width, input.frame_height),
                )
            )
        except DomainError as exc:
            return _gauge_failed(context, exc)
        return CameraGaugePayload(
            gauge=CameraGauge.from_model(gauge, camera_code=input.camera_code, floodgate_name=gate.name), errors=[]
        )

    @strawberry.mutation(description="Stop reading a level on a camera; its gate keeps the readings (admins).")
    async def delete_camera_gauge(
        self, info: Info, camera_code: Annotated[str, strawberry.argument(description="The camera.")]
    ) -> CameraGaugePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            await context.db(lambda s: floodgates.delete_gauge(s, camera_code=camera_code))
        except DomainError as exc:
            return _gauge_failed(context, exc)
        return CameraGaugePayload(gauge=None, errors=[])

    @strawberry.mutation(description="Remove a zone and its rules; its alerts stay (admins).")
    async def delete_camera_zone(
        self,
        info: Info,
        camera_code: Annotated[str, strawberry.argument(description="The camera.")],
        name: Annotated[str, strawberry.argument(description="The zone's name.")],
    ) -> CameraZonePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            await context.db(lambda s: cctv_zones.delete_zone(s, camera_code=camera_code, name=name))
        except DomainError as exc:
            return _zone_failed(context, exc)
        return CameraZonePayload(zone=None, errors=[])

    @strawberry.mutation(description="Set a camera's watch rule of a kind in a zone or on the whole view (admins).")
    async def save_watch_rule(self, info: Info, input: WatchRuleInput) -> WatchRulePayload:
        context: Context = info.context
        data = cctv_zones.RuleInput(
            camera_code=input.camera_code,
            zone_name=input.zone_name,
            kind=models.AlertKind(input.kind),
            threshold=input.threshold,
            dwell_s=input.dwell_s,
            cooldown_s=input.cooldown_s,
            hold_samples=input.hold_samples,
            report_category=input.report_category,
            read_plates=input.read_plates,
        )
        try:
            _require_admin(context)
            reference = await context.resources.reference.get()
            rule = await context.db(lambda s: cctv_zones.save_watch_rule(s, reference, data=data))
        except DomainError as exc:
            return _rule_failed(context, exc)
        return WatchRulePayload(
            rule=WatchRule(
                zone_name=input.zone_name,
                kind=rule.kind,
                threshold=rule.threshold,
                dwell_s=rule.dwell_s,
                cooldown_s=rule.cooldown_s,
                hold_samples=rule.hold_samples,
                report_category=input.report_category,
                open_report_id=strawberry.ID(str(rule.open_report_id)) if rule.open_report_id else None,
                read_plates=rule.read_plates,
            ),
            errors=[],
        )

    @strawberry.mutation(description="Remove a camera's watch rule (admins); its alerts stay.")
    async def delete_watch_rule(
        self,
        info: Info,
        camera_code: Annotated[str, strawberry.argument(description="The camera.")],
        kind: Annotated[AlertKindEnum, strawberry.argument(description="The rule's kind.")],  # type: ignore[valid-type]
        zone_name: Annotated[str | None, strawberry.argument(description="The zone; null for the whole view.")] = None,
    ) -> WatchRulePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            await context.db(
                lambda s: cctv_zones.delete_watch_rule(
                    s, camera_code=camera_code, zone_name=zone_name, kind=models.AlertKind(kind)
                )
            )
        except DomainError as exc:
            return _rule_failed(context, exc)
        return WatchRulePayload(rule=None, errors=[])


def _live_alert(raw: dict[str, Any], codes: dict[int, str]) -> CctvAlert:
    evidence = raw.get("evidenceId")
    return CctvAlert(
        id=strawberry.ID(str(raw["id"])),
        kind=models.AlertKind(raw["kind"]),
        value=float(raw["value"]),
        threshold=float(raw["threshold"]),
        camera_code=codes.get(int(raw["cameraId"]), str(raw["cameraId"])),
        evidence_id=strawberry.ID(str(evidence)) if evidence else None,
        created_at=datetime.fromisoformat(raw["createdAt"]),
        report_id=strawberry.ID(str(raw["reportId"])) if raw.get("reportId") else None,
        snapshot_key=None,
    )


@strawberry.type
class CctvSubscriptions:
    @strawberry.subscription(
        description="CCTV alerts as they are raised, for the command center (staff only). Ends with an "
        "UNAUTHENTICATED error (reason TOKEN_EXPIRED, ACCOUNT_CHANGED or ACCOUNT_CLOSED) when the token it was "
        "opened with stops counting: subscribe again with a fresh one; and with the error code RESYNC_REQUIRED when "
        "alerts could not be delivered: load `cctvAlerts` again and subscribe again."
    )
    async def cctv_alert_raised(
        self,
        info: Info,
        kinds: Annotated[list[AlertKindEnum] | None, strawberry.argument(description="Only these kinds.")] = None,  # type: ignore[valid-type]
    ) -> AsyncGenerator[CctvAlert, None]:
        context: Context = info.context
        viewer = context.require_staff()
        if context.alerts is None:
            raise ClientError(ErrorCode.BAD_USER_INPUT, "Live alerts are not available here.")
        wanted = {models.AlertKind(k).value for k in kinds} if kinds is not None else None
        codes: dict[int, str] = {}
        # Ends with UNAUTHENTICATED when the token expires or the account is closed or moved (api/access.py).
        async with context.alerts.subscribe() as events, guarded(context, viewer) as guard:
            while True:
                raw = await guard.next(events)
                if wanted is not None and raw.get("kind") not in wanted:
                    continue
                camera_id = int(raw["cameraId"])
                if camera_id not in codes:
                    codes[camera_id] = await _camera_code(context, camera_id)
                yield _live_alert(raw, codes)


async def _camera_code(context: Context, camera_id: int) -> str:
    async with context.resources.sessions() as session:
        code = await session.scalar(select(models.Camera.code).where(models.Camera.id == camera_id))
    return code or str(camera_id)
