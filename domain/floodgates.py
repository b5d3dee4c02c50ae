"""Floodgates (pintu air): their Siaga levels, the staff gauges cameras read them from, the level series, and the
FLOODGATE_SIAGA alert.

Staff name a gate with its Siaga levels (`save_floodgate`) and draw a gauge on a camera's view for it
(`save_gauge`). Each sample of a camera with a gauge reads the level (domain/gauge_reading.py, in the worker)
and `record_level` stores it as one small row and moves the gate's Siaga state: a higher level is alerted once it
has been read in ``hold_samples`` readings in a row, once per level entered; after the level went down, entering
the same level again alerts only when its last alert is older than the gate's cooldown.

Gate names and Siaga levels are data staff enter: none are shipped (the 2014 petajakarta list of gates is
CC BY-NC, for tests and demos only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain import cctv, gauge_reading
from domain.errors import DomainError
from domain.models import CameraGauge, Floodgate, FloodgateLevel, Siaga

MAX_NAME = 100
MAX_LEVEL_CM = 10_000.0


# --- decisions ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    siaga3_cm: float
    siaga2_cm: float
    siaga1_cm: float


def siaga_of(level_cm: float, levels: Levels) -> Siaga:
    """The Siaga level a water level is in: each threshold is the first centimetre of its level."""
    if level_cm >= levels.siaga1_cm:
        return Siaga.SIAGA_1
    if level_cm >= levels.siaga2_cm:
        return Siaga.SIAGA_2
    if level_cm >= levels.siaga3_cm:
        return Siaga.SIAGA_3
    return Siaga.NORMAL


def threshold_of(siaga: Siaga, levels: Levels) -> float:
    return {
        Siaga.NORMAL: 0.0,
        Siaga.SIAGA_3: levels.siaga3_cm,
        Siaga.SIAGA_2: levels.siaga2_cm,
        Siaga.SIAGA_1: levels.siaga1_cm,
    }[siaga]


@dataclass(frozen=True)
class SiagaState:
    current: Siaga  # the level held (alerted when it went up)
    candidate: Siaga  # the level the latest readings show
    streak: int  # readings in a row that showed the candidate
    alerted_at: dict[Siaga, datetime]  # when each level was last alerted


def next_siaga(
    state: SiagaState, seen: Siaga, *, hold: int, cooldown: timedelta, now: datetime
) -> tuple[SiagaState, Siaga | None]:
    """The state after one more reading in ``seen``, and the level to alert now if any. A level is held once
    ``hold`` readings in a row showed it (one misread frame moves nothing); a higher one is alerted unless that
    level was alerted less than ``cooldown`` ago (the water hovering at a threshold alerts once, not each time)."""
    streak = state.streak + 1 if seen == state.candidate else 1
    if seen == state.current or streak < hold:
        return SiagaState(state.current, seen, streak, state.alerted_at), None
    if seen.rank < state.current.rank:
        return SiagaState(seen, seen, streak, state.alerted_at), None
    last = state.alerted_at.get(seen)
    if last is not None and now - last < cooldown:
        return SiagaState(seen, seen, streak, state.alerted_at), None
    return SiagaState(seen, seen, streak, {**state.alerted_at, seen: now}), seen


def levels_problem(levels: Levels, hold_samples: int, cooldown_s: float) -> str | None:
    values = (levels.siaga3_cm, levels.siaga2_cm, levels.siaga1_cm)
    if any(not 0 <= v <= MAX_LEVEL_CM for v in values) or not values[0] < values[1] < values[2]:
        return "INVALID_LEVELS"
    if not 1 <= hold_samples <= 10 or not 0 <= cooldown_s <= 7 * 86_400:
        return "INVALID_HOLD"
    return None


# --- staff ---------------------------------------------------------------------------------------------------------


async def save_floodgate(
    session: AsyncSession, *, name: str, levels: Levels, hold_samples: int = 3, cooldown_s: float = 3600.0
) -> Floodgate:
    """Adds a gate, or changes the Siaga levels of the one of that name (its state and series stay)."""
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise DomainError("INVALID_NAME", f"A floodgate's name is 1-{MAX_NAME} characters.", field="name")
    problem = levels_problem(levels, hold_samples, cooldown_s)
    if problem == "INVALID_LEVELS":
        raise DomainError(problem, f"Siaga 3 < Siaga 2 < Siaga 1, each 0-{MAX_LEVEL_CM:g} cm.", field="siaga3Cm")
    if problem is not None:
        raise DomainError(problem, "Held readings are 1-10, the cooldown 0-604800 s.", field="holdSamples")
    gate = await session.scalar(select(Floodgate).where(Floodgate.name == name).with_for_update())
    if gate is None:
        gate = Floodgate(name=name)
        session.add(gate)
    gate.siaga3_cm, gate.siaga2_cm, gate.siaga1_cm = levels.siaga3_cm, levels.siaga2_cm, levels.siaga1_cm
    gate.hold_samples, gate.cooldown_s = hold_samples, cooldown_s
    await session.flush()
    return gate


async def floodgate_by_name(session: AsyncSession, name: str) -> Floodgate:
    gate = await session.scalar(select(Floodgate).where(Floodgate.name == name.strip()))
    if gate is None:
        raise DomainError("UNKNOWN_FLOODGATE", f"No floodgate {name!r}.", field="floodgateName")
    return gate


GAUGE_MESSAGES = {
    "INVALID_FRAME": "The reference frame is 16 to 8192 pixels wide and high.",
    "INVALID_POLYGON": "A gauge's polygon is 3 to 64 [x, y] points.",
    "OUT_OF_FRAME": "Every point must lie inside the reference frame.",
    "INVALID_CALIBRATION": "2 to 16 marks [x, y, cm] in order along the gauge, at least 8 pixels apart end to "
    "end, the centimetres rising or falling along it.",
}


async def save_gauge(
    session: AsyncSession,
    *,
    camera_code: str,
    floodgate_name: str,
    polygon: list[list[float]],
    marks: list[list[float]],
    frame_size: tuple[int, int],
) -> tuple[CameraGauge, Floodgate]:
    """Draws the camera's gauge (one per camera) for a floodgate, or redraws it."""
    if any(len(p) != 2 for p in polygon):
        raise DomainError("INVALID_POLYGON", GAUGE_MESSAGES["INVALID_POLYGON"], field="polygon")
    if any(len(m) != 3 for m in marks):
        raise DomainError("INVALID_CALIBRATION", GAUGE_MESSAGES["INVALID_CALIBRATION"], field="marks")
    gauge = as_gauge(polygon, marks, frame_size)
    problem = gauge_reading.gauge_problem(gauge)
    if problem is not None:
        fields = {"INVALID_FRAME": "frameWidth", "INVALID_CALIBRATION": "marks"}
        raise DomainError(problem, GAUGE_MESSAGES[problem], field=fields.get(problem, "polygon"))
    camera = await cctv.camera_by_code(session, camera_code)
    gate = await floodgate_by_name(session, floodgate_name)
    row = await session.get(CameraGauge, camera.id, with_for_update=True)
    if row is None:
        row = CameraGauge(camera_id=camera.id)
        session.add(row)
    row.floodgate_id = gate.id
    row.polygon = [list(p) for p in gauge.polygon]
    row.marks = [list(m) for m in gauge.marks]
    row.frame_width, row.frame_height = frame_size
    await session.flush()
    return row, gate


async def delete_gauge(session: AsyncSession, *, camera_code: str) -> None:
    """The camera stops reading a level; the series it recorded stays with its gate."""
    camera = await cctv.camera_by_code(session, camera_code)
    row = await session.get(CameraGauge, camera.id)
    if row is None:
        raise DomainError("UNKNOWN_GAUGE", f"Camera {camera_code} has no gauge.", field="cameraCode")
    await session.delete(row)
    await session.flush()


async def floodgates_by_name(session: AsyncSession, *, first: int) -> list[Floodgate]:
    """The gates in name order, at most ``first``."""
    return list(await session.scalars(select(Floodgate).order_by(Floodgate.name).limit(first)))


async def gauge_of_camera(session: AsyncSession, *, camera_code: str) -> tuple[CameraGauge, Floodgate] | None:
    """The camera's gauge and the gate it reads; None when none is drawn on it (UNKNOWN_CAMERA for no camera)."""
    camera = await cctv.camera_by_code(session, camera_code)
    row = (
        await session.execute(
            select(CameraGauge, Floodgate)
            .join(Floodgate, Floodgate.id == CameraGauge.floodgate_id)
            .where(CameraGauge.camera_id == camera.id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


# --- continuous watching -------------------------------------------------------------------------------------------


def as_gauge(polygon: list[list[float]], marks: list[list[float]], frame_size: tuple[int, int]) -> gauge_reading.Gauge:
    """A gauge as drawn (the API's input, a stored row's JSON) as the reader takes it."""
    return gauge_reading.Gauge(
        tuple((float(x), float(y)) for x, y in polygon),
        tuple((float(x), float(y), float(cm)) for x, y, cm in marks),
        frame_size,
    )


@dataclass(frozen=True)
class Entered:
    """A higher Siaga level a gate's readings entered: what to alert."""

    floodgate: Floodgate
    siaga: Siaga
    level_cm: float
    threshold_cm: float


async def record_level(
    session: AsyncSession, *, camera_id: int, reading: gauge_reading.Reading, at: datetime, now: datetime
) -> Entered | None:
    """Stores one reading of the camera's gauge in its gate's series (a repeated sample of the same media time
    is stored once) and moves the gate's Siaga state; returns the level to alert, if one was entered. The gate's
    row is locked: two cameras of one gate are judged one after the other."""
    gauge = await session.get(CameraGauge, camera_id)
    if gauge is None:
        return None
    inserted = await session.execute(
        insert(FloodgateLevel)
        .values(
            floodgate_id=gauge.floodgate_id,
            at=at,
            camera_id=camera_id,
            level_cm=reading.level_cm,
            confidence=reading.confidence,
        )
        .on_conflict_do_nothing()
        .returning(FloodgateLevel.at)
    )
    if inserted.first() is None:
        return None
    gate = await session.get_one(Floodgate, gauge.floodgate_id, with_for_update=True)
    levels = Levels(gate.siaga3_cm, gate.siaga2_cm, gate.siaga1_cm)
    state = SiagaState(
        gate.siaga,
        gate.candidate,
        gate.streak,
        {Siaga(k): datetime.fromisoformat(v) for k, v in gate.alerted_at.items()},
    )
    after, entered = next_siaga(
        state,
        siaga_of(reading.level_cm, levels),
        hold=gate.hold_samples,
        cooldown=timedelta(seconds=gate.cooldown_s),
        now=now,
    )
    gate.siaga, gate.candidate, gate.streak = after.current, after.candidate, min(after.streak, 32_000)
    gate.alerted_at = {k.value: v.isoformat() for k, v in after.alerted_at.items()}
    gate.updated_at = now
    await session.flush()
    if entered is None:
        return None
    return Entered(gate, entered, reading.level_cm, threshold_of(entered, levels))


# --- the command wall ------------------------------------------------------------------------------------------------


SPARKLINE_POINTS = 120  # a series is cut into this many buckets at most, each its highest reading


async def latest(session: AsyncSession, *, floodgate_ids: list[int]) -> dict[int, FloodgateLevel]:
    """Each gate's newest reading (one backward probe of the series' key per gate)."""
    newest = (
        select(FloodgateLevel)
        .where(FloodgateLevel.floodgate_id == Floodgate.id)
        .order_by(FloodgateLevel.at.desc())
        .limit(1)
        .lateral()
    )
    reading = aliased(FloodgateLevel, newest)
    query = select(reading).select_from(Floodgate).join(reading, true()).where(Floodgate.id.in_(floodgate_ids))
    return {row.floodgate_id: row for row in await session.scalars(query)}


async def series(
    session: AsyncSession, *, floodgate_ids: list[int], since: datetime, now: datetime
) -> dict[int, list[tuple[datetime, float]]]:
    """Each gate's readings since ``since`` for a sparkline, oldest first: at most SPARKLINE_POINTS buckets, each
    its highest reading (a flood's peak is what the wall must not smooth away). One range of the key per gate."""
    bucket = timedelta(seconds=max(1.0, (now - since).total_seconds() / SPARKLINE_POINTS))
    start = func.date_bin(bucket, FloodgateLevel.at, since)
    rows = await session.execute(
        select(FloodgateLevel.floodgate_id, start, func.max(FloodgateLevel.level_cm))
        .where(FloodgateLevel.floodgate_id.in_(floodgate_ids), FloodgateLevel.at >= since)
        .group_by(FloodgateLevel.floodgate_id, start)
        .order_by(FloodgateLevel.floodgate_id, start)
    )
    found: dict[int, list[tuple[datetime, float]]] = {i: [] for i in floodgate_ids}
    for gate_id, at, level_cm in rows:
        found[gate_id].append((at, float(level_cm)))
    return found
