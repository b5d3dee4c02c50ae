"""Continuous watching of cameras, spread over any number of workers, with PostgreSQL as the coordinator.

How it is scheduled (workers/cctv.py runs it):
1. `cctv.watch_tick`, a periodic task every 2 s (any worker may run it; procrastinate defers each tick once):
   `claim_due` moves the `next_due_at` of every active camera due within the tick's window (HORIZON_S past the
   tick's time) to the next point of the camera's own grid (`next_due`), in one statement, and defers one
   `cctv.watch_sample` job per camera, scheduled at its due time, in the same
   transaction (workers of the queue poll every POLL_S for jobs whose time has come). Each job has a queueing lock
   `watch:<camera>:<turn>` (no more than two wait per camera, see claim_due) and the lock `watch:<camera>`
   (procrastinate never starts a job while another of its lock runs, and starts them in order): a camera is
   never sampled twice at once.
2. `cctv.watch_sample`, on the `cctv-watch` queue, run by whichever worker is free: `load_target` (a read),
   then `domain.cctv_sample.take` without a transaction (the newest media, a keyframe, motion, detection when
   something moved), then `record_sample` (one UPDATE of the camera's watch row, plus alerts when something
   starts).
3. A sample holds a lease on its camera for as long as it runs: a transaction-scoped advisory lock
   (`sample_lease`), taken on a connection of its own. A worker that dies mid-sample (SIGKILL, a lost machine,
   a PostgreSQL restart) leaves its job `doing`, holding procrastinate's lock on the camera, but its connection
   and so its lease are gone at once; the next tick hands such jobs (`orphaned_samples`: started more than
   LEASE_GRACE_S ago and no lease held) back as failed, and the camera is sampled at its next due time by any
   worker, seconds after the death instead of after procrastinate's heartbeat timeout (STALLED_AFTER_S, still
   checked: it is what frees the samples that were running when PostgreSQL restarted, which lost their leases
   alive). A sample that finds its camera's lease taken does nothing: never two at once, even if a job
   was handed back wrongly. Adding a worker adds capacity: jobs go to whoever fetches them.

Writes per sample: the tick's UPDATE of the watch row, procrastinate's job row (insert, fetch, finish; its
events table adds three rows), and the sample's UPDATE of the watch row; an alert adds its own rows.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from domain import cctv, cctv_rules, cctv_zones, floodgates, gauge_reading, notifications
from domain.adapters.storage import ObjectStorage
from domain.cctv_observation import Observation
from domain.cctv_rules import CameraHealth
from domain.jobs import JobBuffer
from domain.models import AlertKind, AlertRule, Camera, CameraGauge, CameraSource, CameraWatch, CctvAlert, WatchRule
from domain.reference import ReferenceData
from domain.settings import Settings

TICK_S = 2  # how often due cameras are handed out; the finest interval a camera can have in practice
# How far past its scheduled time a tick hands out: the tick scheduled at T hands out what is due in
# (T - TICK_S + HORIZON_S, T + HORIZON_S], windows that follow each other exactly however late each tick runs,
# each handed out at least HORIZON_S - TICK_S - (the tick's own delay) before its first due time. procrastinate
# defers a periodic job half a second after its time, and a busy worker takes a moment to fetch it.
HORIZON_S = 2 * TICK_S
# A worker of the cctv-watch queue looks for jobs whose time has come this often when idle: a sample is handed
# out a tick ahead with its due time as the job's scheduled time, so this is how late past due it can start.
POLL_S = 0.2
CLAIM_BATCH = 5000  # cameras handed out by one tick at most; the rest are due at the next
QUEUE = "cctv-watch"

# How many samples in a row must show a state before it is alerted: one black or covered keyframe may be a
# passing truck or a lens being wiped; frozen needs three identical pictures (two equal differences).
DEFAULT_STREAKS: Mapping[CameraHealth, int] = {
    CameraHealth.OK: 1,
    CameraHealth.OFFLINE: 3,
    CameraHealth.BLACK: 2,
    CameraHealth.COVERED: 2,
    CameraHealth.FROZEN: 2,
    CameraHealth.MOVED: 2,
}
HEALTH_ALERTS: Mapping[CameraHealth, AlertKind] = {
    CameraHealth.OFFLINE: AlertKind.CAMERA_OFFLINE,
    CameraHealth.BLACK: AlertKind.CAMERA_BLACK,
    CameraHealth.FROZEN: AlertKind.CAMERA_FROZEN,
    CameraHealth.COVERED: AlertKind.CAMERA_COVERED,
    CameraHealth.MOVED: AlertKind.CAMERA_MOVED,
}
# The existing alert rules, evaluated on each observation until zones (domain.cctv_zones) take over: at most
# one alert of a kind per camera in this long.


# --- decisions ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """The numbers of one sample's keyframe that health is decided from (see domain.adapters.watch.Look)."""

    luma: float
    texture: float
    difference: float | None  # to the previous sample
    correlation: float | None  # of edges with the reference


@dataclass(frozen=True)
class HealthThresholds:
    black_luma: float = 18.0
    covered_texture: float = 20.0
    frozen_diff: float = 0.05
    moved_correlation: float = 0.35
    streaks: Mapping[CameraHealth, int] = field(default_factory=lambda: dict(DEFAULT_STREAKS))


def picture_health(picture: Picture, limits: HealthThresholds) -> CameraHealth:
    """What one keyframe shows. In the clip analysis's order (black is also flat and unchanging; a covered lens is
    also unchanging), then moved, which only a picture with texture can tell."""
    if picture.luma < limits.black_luma:
        return CameraHealth.BLACK
    if picture.texture < limits.covered_texture:
        return CameraHealth.COVERED
    if picture.difference is not None and picture.difference < limits.frozen_diff:
        return CameraHealth.FROZEN
    if picture.correlation is not None and picture.correlation < limits.moved_correlation:
        return CameraHealth.MOVED
    return CameraHealth.OK


@dataclass(frozen=True)
class HealthState:
    current: CameraHealth  # what was alerted last (OK: nothing is wrong, or it recovered)
    candidate: CameraHealth  # what the latest samples show
    streak: int  # how many samples in a row showed the candidate


@dataclass(frozen=True)
class HealthChange:
    state: HealthState
    started: CameraHealth | None = None  # a state to alert now
    ended: CameraHealth | None = None  # the state that is over


def next_health(state: HealthState, seen: CameraHealth, limits: HealthThresholds) -> HealthChange:
    """The state after one more sample that showed ``seen``: a state becomes current (and is alerted, once) when
    it has been seen in as many samples in a row as its streak asks; OK ends the current one the same way."""
    streak = state.streak + 1 if seen == state.candidate else 1
    after = HealthState(state.current, seen, streak)
    if seen == state.current or streak < limits.streaks.get(seen, 1):
        return HealthChange(after)
    started = None if seen == CameraHealth.OK else seen
    ended = None if state.current == CameraHealth.OK else state.current
    return HealthChange(replace(after, current=seen), started, ended)


def should_detect(*, motion: float, first: bool, min_motion: float) -> bool:
    """Detection runs on a camera's first sample, then only when enough of the picture changed since the last."""
    return first or motion >= min_motion


# Where in its interval a camera is due: the fraction of its id times the golden ratio's, so that cameras of
# consecutive ids (an import, a district's cameras) land evenly over the interval rather than at one instant.
PHASE_STEP = 0.6180339887498949


def phase_s(camera_id: int, interval_s: float) -> float:
    """Seconds into each interval (counted from the Unix epoch) at which the camera is due."""
    return (camera_id * PHASE_STEP) % 1.0 * interval_s


def next_due(camera_id: int, due: datetime, interval: timedelta, horizon: datetime) -> datetime:
    """The camera's due time after ``due``, set by the tick that hands ``due`` out with this ``horizon`` (it hands
    out what is due up to then; the next tick's horizon is one tick later): the first point of the camera's own
    grid (every interval, at its phase) after both half an interval past ``due`` and the horizon.

    On the grid and on time that is one interval on, which the next tick hands out ahead of its due time. A camera
    handed out late (the workers were away, or just started) skips to its first point after the horizon, so the
    next tick hands it out ahead again: with "one interval on" it stayed a tick behind for good, every sample
    starting late. A camera off its grid (new, or its interval changed) joins it; and since each camera's grid
    has its own phase, cameras stay spread over the interval whatever pause or import set them due at once."""
    interval_s = interval.total_seconds()
    offset = phase_s(camera_id, interval_s)
    after = max(due + interval / 2, horizon).timestamp()
    return datetime.fromtimestamp((math.floor((after - offset) / interval_s) + 1) * interval_s + offset, UTC)


# --- scheduling ---------------------------------------------------------------------------------------------------

_CLAIM = text(
    """
    WITH due AS (
        SELECT w.camera_id, w.next_due_at, CAST(c.watch_interval_s AS float8) AS interval_s,
            (w.camera_id * CAST(:step AS float8) - floor(w.camera_id * CAST(:step AS float8)))
                * c.watch_interval_s AS phase_s
        FROM camera_watch w JOIN cameras c ON c.id = w.camera_id
        WHERE c.active AND w.next_due_at <= :horizon
        ORDER BY w.next_due_at
        LIMIT :batch
        FOR UPDATE OF w SKIP LOCKED
    )
    UPDATE camera_watch w
    SET next_due_at = to_timestamp(
        (floor((CAST(extract(epoch FROM greatest(
            due.next_due_at + make_interval(secs => due.interval_s / 2), CAST(:horizon AS timestamptz)
        )) AS float8) - due.phase_s) / due.interval_s) + 1) * due.interval_s + due.phase_s
    )
    FROM due WHERE w.camera_id = due.camera_id
    RETURNING w.camera_id, due.next_due_at
    """
)


async def claim_due(
    session: AsyncSession, *, now: datetime, horizon: datetime, jobs: JobBuffer, batch: int = CLAIM_BATCH
) -> int:
    """Hands out every active camera due up to ``horizon``: one sample job each, with the camera's lock,
    scheduled at its due time (at once when that has passed), and its next due time moved on (next_due's rule,
    in SQL). A sample therefore starts at its due time (within the workers' POLL_S) instead of at the first tick
    after it, which was up to a whole tick late. Returns how many cameras were handed out.

    The queueing lock alternates with the ticks (``watch:<camera>:<turn>``): a sample handed out ahead may still
    wait for its due time when the next tick hands out the camera's following one, which one lock per camera
    refused (three samples in four were lost at a 2 s interval). So at most two wait per camera; a third is
    refused while workers are that far behind, as before."""
    params = {"horizon": horizon, "batch": batch, "step": PHASE_STEP}
    rows = (await session.execute(_CLAIM, params)).all()
    turn = round(horizon.timestamp() / TICK_S) % 2
    for camera_id, due_at in rows:
        jobs.add(
            "cctv.watch_sample",
            queueing_lock=f"watch:{camera_id}:{turn}",
            lock=f"watch:{camera_id}",
            schedule_at=due_at if due_at > now else None,
            camera_id=camera_id,
            due_at=due_at.isoformat(),
        )
    return len(rows)


# The advisory lock class of a camera's sample lease (two-key form: class, camera id); "JW", for jsc watch.
LEASE_CLASS = 0x4A57
# A job started this long ago without its lease is orphaned; the lease is taken within milliseconds of the start.
LEASE_GRACE_S = 5.0
_TAKE_LEASE = text("SELECT pg_try_advisory_xact_lock(:class, :camera)")
_ORPHANED = text(
    """
    SELECT j.id FROM procrastinate_jobs j
    WHERE j.queue_name = :queue AND j.task_name = 'cctv.watch_sample' AND j.status = 'doing'
      AND EXISTS (
          SELECT 1 FROM procrastinate_events e
          WHERE e.job_id = j.id AND e.type = 'started' AND e.at < :before AND e.at > pg_postmaster_start_time())
      AND NOT EXISTS (
          SELECT 1 FROM pg_locks l
          WHERE l.locktype = 'advisory'
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid::text = :class AND l.objsubid = 2 AND l.objid::text = j.args->>'camera_id')
    ORDER BY j.id
    """
)


@asynccontextmanager
async def sample_lease(engine: AsyncEngine, camera_id: int) -> AsyncIterator[AsyncSession | None]:
    """Holds the camera's lease while the block runs, on a connection of its own, in a transaction committed when
    the block ends. Yields None when the lease is taken elsewhere, else a session on that transaction for the
    sample's read and, at its end, its writes, which so cost no connection or transaction of their own. The
    transaction takes no row lock before those writes: until then it holds only the lease."""
    async with engine.connect() as connection, connection.begin():
        if not await connection.scalar(_TAKE_LEASE, {"class": LEASE_CLASS, "camera": camera_id}):
            yield None
            return
        async with AsyncSession(bind=connection, expire_on_commit=False) as session:
            yield session


async def orphaned_samples(session: AsyncSession, *, now: datetime) -> list[int]:
    """The sample jobs still `doing` whose worker no longer holds the camera's lease: it died. Only jobs started
    since PostgreSQL itself started: a restart ends every lease while the samples that held them may still run
    (their workers reconnect); those are left to the heartbeat check."""
    rows = await session.scalars(
        _ORPHANED, {"queue": QUEUE, "class": str(LEASE_CLASS), "before": now - timedelta(seconds=LEASE_GRACE_S)}
    )
    return list(rows)


async def reset_reference(session: AsyncSession, *, code: str) -> Camera:
    """The camera's next good picture becomes its reference view (an admin turned it on purpose); a MOVED state
    ends with it."""
    camera = await cctv.camera_by_code(session, code)
    await session.execute(insert(CameraWatch).values(camera_id=camera.id).on_conflict_do_nothing())
    await session.execute(
        update(CameraWatch).where(CameraWatch.camera_id == camera.id).values(reference=None, reference_at=None)
    )
    return camera


# --- one sample ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a sample needs to know about its camera, read without holding a transaction."""

    camera_id: int
    code: str
    source_kind: CameraSource
    source: str
    last_media: str | None
    last_media_at: datetime | None
    grey: bytes | None
    reference: bytes | None
    health: HealthState
    first: bool
    rules: cctv_rules.AlertRules
    gauge: gauge_reading.Gauge | None = None  # a staff gauge to read the water level on (domain/floodgates.py)
    watches_water: bool = False  # a river garbage rule wants the sample's small colour picture
    has_watch_rules: bool = True  # the camera has rules of its own (cctv_watch_rules); False skips their reads

    @property
    def judged(self) -> bool:
        """Whether any rule looks at what the camera sees (domain/cctv_zones.py); most cameras have none, and
        their samples then cost no reads of zones and rules."""
        legacy = self.rules
        return self.has_watch_rules or legacy.crowd_above_persons is not None or legacy.congestion_above is not None


def _target_query() -> Select[Camera, CameraWatch, CameraGauge, AlertRule, AlertRule, bool, bool]:
    """The camera, its watch row, gauge, alert rule (its own, else its kind's) and whether it has watch rules, in
    one statement; built once, since building a statement costs more CPU than running it on a sample's path."""
    own, by_kind = aliased(AlertRule), aliased(AlertRule)
    river_rule = (
        select(WatchRule.id)
        .where(WatchRule.camera_id == Camera.id, WatchRule.kind == AlertKind.RIVER_GARBAGE)
        .exists()
        .label("watches_water")
    )
    any_rule = select(WatchRule.id).where(WatchRule.camera_id == Camera.id).exists().label("has_watch_rules")
    return (
        select(Camera, CameraWatch, CameraGauge, own, by_kind, river_rule, any_rule)
        .join(CameraWatch, CameraWatch.camera_id == Camera.id)
        .outerjoin(CameraGauge, CameraGauge.camera_id == Camera.id)
        .outerjoin(own, own.camera_id == Camera.id)
        .outerjoin(by_kind, by_kind.kind == Camera.kind)
        .where(Camera.id == bindparam("camera_id"), Camera.active)
    )


_TARGET = _target_query()


async def load_target(session: AsyncSession, *, camera_id: int) -> Target | None:
    """None when the camera is gone or switched off since the tick."""
    row = (await session.execute(_TARGET, {"camera_id": camera_id})).first()
    if row is None:
        return None
    camera, watch, gauge, own, by_kind, watches_water, has_watch_rules = row
    return Target(
        camera.id,
        camera.code,
        camera.source_kind,
        camera.source,
        watch.last_media,
        watch.last_media_at,
        watch.grey,
        watch.reference,
        HealthState(CameraHealth(watch.health), CameraHealth(watch.candidate), watch.streak),
        watch.samples == 0,
        cctv.alert_rules(own or by_kind),
        None
        if gauge is None
        else floodgates.as_gauge(gauge.polygon, gauge.marks, (gauge.frame_width, gauge.frame_height)),
        bool(watches_water),
        bool(has_watch_rules),
    )


@dataclass(frozen=True)
class Sample:
    """What one sample found: a picture (an observation), no new media yet (stale), or a failure."""

    media: str | None = None  # the segment read (key or URI); None when nothing was read
    media_at: datetime | None = None
    grey: bytes | None = None
    picture: Picture | None = None
    observation: Observation | None = None
    unchanged: bool = False  # the newest media is the one read last time: nothing new to look at
    error: str | None = None  # the machine reason there was no picture
    level: gauge_reading.Reading | None = None  # the water level read on the camera's gauge, when it could be


async def record_sample(
    session: AsyncSession,
    *,
    target: Target,
    sample: Sample,
    limits: HealthThresholds,
    stale_after: timedelta,
    now: datetime,
    jobs: JobBuffer,
    storage: ObjectStorage,
    settings: Settings,
    reference: ReferenceData,
) -> list[CctvAlert]:
    """Stores the sample on the camera's watch row (one UPDATE) and raises what starts: a health alert once per
    state, what the camera's zones and rules make of the observation (domain/cctv_zones.py: dwell,
    cooldowns, automatic reports; it stores the snapshot of what it alerts), and the water level read on its
    gauge (domain/floodgates.py: one row in its gate's series, FLOODGATE_SIAGA when a higher level is entered,
    with the blurred snapshot of the frame the level was read on)."""
    seen = _seen(target, sample, limits, stale_after=stale_after, now=now)
    change = next_health(target.health, seen, limits) if seen is not None else HealthChange(target.health)
    values: dict[str, object] = {
        "last_sample_at": now,
        "samples": CameraWatch.samples + 1,
        "health": change.state.current.value,
        "candidate": change.state.candidate.value,
        "streak": change.state.streak,
        "last_error": sample.error,
    }
    if change.started or change.ended:
        values["health_since"] = now
    if sample.error is not None:
        values["failures"] = CameraWatch.failures + 1
    if sample.media is not None and not sample.unchanged:
        values.update(last_media=sample.media, last_media_at=sample.media_at or now)
    if sample.grey is not None:
        values["grey"] = sample.grey
        # The first good picture is the reference; a picture that is black, covered or frozen is no reference.
        if target.reference is None and seen == CameraHealth.OK:
            values.update(reference=sample.grey, reference_at=now)
    if sample.observation is not None and sample.observation.detected:
        values["detections"] = CameraWatch.detections + 1
    # The watch row load_target put in this session is not read again in it: synchronize_session=False spares the
    # ORM keeping that copy in step.
    await session.execute(
        update(CameraWatch)
        .where(CameraWatch.camera_id == target.camera_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    raised = []
    if change.started is not None:
        kind = HEALTH_ALERTS[change.started]
        raised.append(await _raise(session, target, kind, 1.0, 0.0, snapshot_key=None, jobs=jobs, now=now))
    if sample.observation is not None and seen == CameraHealth.OK and target.judged:
        raised += await cctv_zones.observe(
            session,
            observation=sample.observation,
            now=now,
            jobs=jobs,
            storage=storage,
            settings=settings,
            reference=reference,
        )
    if sample.level is not None and seen == CameraHealth.OK:
        entered = await floodgates.record_level(
            session, camera_id=target.camera_id, reading=sample.level, at=sample.media_at or now, now=now
        )
        if entered is not None:
            raised.append(
                await _raise(
                    session,
                    target,
                    AlertKind.FLOODGATE_SIAGA,
                    entered.level_cm,
                    entered.threshold_cm,
                    snapshot_key=await _level_snapshot(storage, target, sample, raised),
                    jobs=jobs,
                    now=now,
                )
            )
    return raised


async def _level_snapshot(
    storage: ObjectStorage, target: Target, sample: Sample, raised: list[CctvAlert]
) -> str | None:
    """The blurred snapshot of the frame the level was read on: the one a zone alert of the same sample stored
    (same frame, blurred once), else made now."""
    made = next((alert.snapshot_key for alert in raised if alert.snapshot_key is not None), None)
    if made is not None or sample.observation is None:
        return made
    stored = await cctv_zones.store_snapshot(storage, camera_code=target.code, observation=sample.observation)
    return stored[0] if stored is not None else None


def _seen(
    target: Target, sample: Sample, limits: HealthThresholds, *, stale_after: timedelta, now: datetime
) -> CameraHealth | None:
    """What this sample shows of the camera's health; None when it tells nothing new (the same segment again,
    not for long)."""
    if sample.error is not None:
        return CameraHealth.OFFLINE
    if sample.unchanged:
        last = target.last_media_at
        return CameraHealth.OFFLINE if last is not None and now - last > stale_after else None
    assert sample.picture is not None, "a sample with media has a picture"
    return picture_health(sample.picture, limits)


async def _raise(
    session: AsyncSession,
    target: Target,
    kind: AlertKind,
    value: float,
    threshold: float,
    *,
    snapshot_key: str | None,
    jobs: JobBuffer,
    now: datetime,
) -> CctvAlert:
    alert = CctvAlert(
        id=uuid.uuid4(),
        camera_id=target.camera_id,
        kind=kind,
        value=value,
        threshold=threshold,
        snapshot_key=snapshot_key,
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    camera = await session.get_one(Camera, target.camera_id)
    if camera.unit_id is not None:
        message = notifications.Message(
            "CCTV_ALERT",
            f"CCTV {camera.name}: {kind.value}",
            f"{kind.value} {value:g} (batas {threshold:g})",
            None,
            {"alertId": str(alert.id), "cameraCode": camera.code},
        )
        await notifications.notify_unit(session, camera.unit_id, message, jobs=jobs, now=now)
    return alert
