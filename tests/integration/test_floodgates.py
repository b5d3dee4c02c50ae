"""Floodgate levels through continuous watching, on the test stack's PostgreSQL: a camera serving live HLS of a
staff gauge at scripted water levels (tests/fakes/gauge.py) is sampled like any watched camera; each sample
stores a reading in its gate's series and FLOODGATE_SIAGA reaches the camera's unit once per level entered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from domain import cctv_sample, floodgates
from domain.adapters import video
from domain.adapters.video import Box
from domain.errors import DomainError
from domain.floodgates import Levels
from domain.models import AlertKind, Camera, CctvAlert, Floodgate, FloodgateLevel, Notification, Siaga
from domain.resources import Resources
from tests import clips
from tests.fakes.gauge import make_frame
from tests.fakes.hls import LiveCameras, serving
from tests.integration.test_cctv_watch import add_camera, sample, stream
from tests.integration.test_cctv_zones import UNIT, officer_of

# Manggarai's levels as the command center uses them (demo data, entered here as staff would).
MANGGARAI = Levels(siaga3_cm=750, siaga2_cm=850, siaga1_cm=950)
VIEW = 21  # one camera position for every frame


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[LiveCameras, str]]:
    cameras = LiveCameras()
    with serving(cameras.handler()) as url:
        yield cameras, url


def gauge_scene(levels_cm: list[float]) -> object:
    """Segment n shows the water at the n-th level (the playlist names a new segment per sample)."""

    def scene(n: int) -> bytes:
        level = levels_cm[min(n, len(levels_cm)) - 1]
        return clips.ts_segment([make_frame(level, seed=n, view_seed=VIEW).frame] * 2, keyframe_every=2)

    return scene


async def gate_and_camera(resources: Resources, live: tuple[LiveCameras, str], levels_cm: list[float]) -> int:
    name = f"Pintu Air Manggarai {uuid.uuid4().hex[:6]}"
    _, url = stream(live, gauge_scene(levels_cm))  # type: ignore[arg-type]
    camera_id = await add_camera(resources, url, unit_code=UNIT)
    gauge = make_frame(800.0, seed=0, view_seed=VIEW).gauge
    async with resources.unit_of_work() as session:
        await floodgates.save_floodgate(session, name=name, levels=MANGGARAI, hold_samples=2, cooldown_s=3600)
        camera_code = await session.scalar(select(Camera.code).where(Camera.id == camera_id))
        await floodgates.save_gauge(
            session,
            camera_code=str(camera_code),
            floodgate_name=name,
            polygon=[list(p) for p in gauge.polygon],
            marks=[list(m) for m in gauge.marks],
            frame_size=gauge.frame_size,
        )
    return camera_id


async def test_a_rising_river_is_recorded_and_alerted_once_per_siaga_level(
    resources: Resources, live: tuple[LiveCameras, str]
) -> None:
    # given a floodgate camera whose water rises into Siaga 3 (one misread-like spike first), falls, rises again
    script = [700, 700, 900, 700, 800, 800, 800, 700, 700, 800, 800]
    camera_id = await gate_and_camera(resources, live, script)
    officer = await officer_of(resources, UNIT)

    # when it is sampled once per segment
    for _ in script:
        await sample(resources, camera_id)

    # then every sample left one reading, close to the scripted level
    async with resources.unit_of_work() as session:
        rows = list(
            await session.scalars(
                select(FloodgateLevel).where(FloodgateLevel.camera_id == camera_id).order_by(FloodgateLevel.at)
            )
        )
        alerts = list(
            await session.execute(
                select(CctvAlert.kind, CctvAlert.threshold, CctvAlert.value).where(CctvAlert.camera_id == camera_id)
            )
        )
        inbox = (await session.scalars(select(Notification.data).where(Notification.user_id == officer))).all()
        gate = await session.get_one(Floodgate, rows[0].floodgate_id)
    assert len(rows) == len(script)
    assert max(abs(r.level_cm - cm) for r, cm in zip(rows, script, strict=True)) < 15
    # one alert: Siaga 3 entered at the sixth sample (held for two); the single 900 moved nothing, and entering
    # Siaga 3 again within the hour's cooldown is not alerted twice
    assert [(kind, threshold) for kind, threshold, _ in alerts] == [(AlertKind.FLOODGATE_SIAGA, 750.0)]
    assert 750 <= alerts[0][2] < 850
    assert len(inbox) == 1
    assert inbox[0]["kind"] == "CCTV_ALERT"
    assert (gate.siaga, gate.candidate) == (Siaga.SIAGA_3, Siaga.SIAGA_3)

    # and the command wall's queries find the latest reading and the day's peak (12-minute buckets of 24 h)
    now = datetime.now(UTC)
    async with resources.unit_of_work() as session:
        latest = await floodgates.latest(session, floodgate_ids=[gate.id])
        series = await floodgates.series(session, floodgate_ids=[gate.id], since=now - timedelta(hours=24), now=now)
    assert latest[gate.id].at == rows[-1].at
    assert max(cm for _, cm in series[gate.id]) == max(r.level_cm for r in rows)


async def test_a_gauge_and_a_gate_are_checked_before_they_are_stored(resources: Resources) -> None:
    async with resources.unit_of_work() as session:
        with pytest.raises(DomainError) as bad_levels:
            await floodgates.save_floodgate(session, name="Pintu Air Karet", levels=Levels(900, 800, 950))
        with pytest.raises(DomainError) as unknown_gate:
            await floodgates.save_gauge(
                session,
                camera_code="no-such-camera",
                floodgate_name="Pintu Air Karet",
                polygon=[[0, 0], [10, 0], [10, 100]],
                marks=[[5, 0, 900], [5, 100, 700]],
                frame_size=(64, 200),
            )
        with pytest.raises(DomainError) as bad_marks:
            await floodgates.save_gauge(
                session,
                camera_code="no-such-camera",
                floodgate_name="Pintu Air Karet",
                polygon=[[0, 0], [10, 0], [10, 100]],
                marks=[[5, 0, 900]],
                frame_size=(64, 200),
            )
    assert (bad_levels.value.code, unknown_gate.value.code, bad_marks.value.code) == (
        "INVALID_LEVELS",
        "UNKNOWN_CAMERA",
        "INVALID_CALIBRATION",
    )


async def test_a_siaga_alert_keeps_the_blurred_snapshot_of_the_frame_the_level_was_read_on(
    resources: Resources, live: tuple[LiveCameras, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a floodgate camera whose water stands in Siaga 3 while nothing moves (the detector never runs), and a
    # face on the gauge where the face detector will find it
    script = [800, 800, 800]
    camera_id = await gate_and_camera(resources, live, script)
    monkeypatch.setattr(cctv_sample, "should_detect", lambda **_: False)
    face = _face_on_the_gauge()
    faces_looked_for = []

    def one_face(detector: object, image: np.ndarray) -> list[Box]:
        faces_looked_for.append(image.shape)
        return [face]

    monkeypatch.setattr(video, "detect_faces", one_face)

    # when it is sampled until the level is held (two readings) and alerted
    outcomes = [await sample(resources, camera_id) for _ in script]

    # then the alert has a snapshot in storage: a JPEG of the frame, made once (for the alert, not per sample),
    # through the face blur: the face's region is pixelated
    assert outcomes == ["sampled"] * 3
    async with resources.unit_of_work() as session:
        [alert] = list(await session.scalars(select(CctvAlert).where(CctvAlert.camera_id == camera_id)))
    assert alert.kind == AlertKind.FLOODGATE_SIAGA
    assert alert.snapshot_key is not None
    assert alert.snapshot_key.startswith("cctv/alerts/")
    stored = await resources.storage.read(alert.snapshot_key)
    assert stored[:3] == b"\xff\xd8\xff"
    picture = cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (720, 1280, 3)
    assert faces_looked_for == [(720, 1280, 3)]
    raw = make_frame(800, seed=1, view_seed=VIEW).frame
    assert _detail(picture, face) < _detail(raw, face) / 4


def _face_on_the_gauge() -> Box:
    """A 60x60 box on the painted board above the water (its marks are the sharpest detail of the frame)."""
    gauge = make_frame(800.0, seed=0, view_seed=VIEW).gauge
    xs = [x for x, _ in gauge.polygon]
    top = min(y for _, y in gauge.polygon)
    return Box(round(sum(xs) / len(xs)) - 30, round(top) + 20, 60, 60)


def _detail(image: np.ndarray, box: Box) -> float:
    """The mean edge strength inside ``box``: what pixelation takes away."""
    region = cv2.cvtColor(image[box.y + 8 : box.y + box.h - 8, box.x + 8 : box.x + box.w - 8], cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(region, cv2.CV_32F)).mean())
