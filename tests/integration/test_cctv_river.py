"""The river garbage rule on real PostgreSQL and S3: a river camera with a WATER zone and its RIVER_GARBAGE rule
judges made footage of a brown river (tests/fakes/river.py) sample after sample, each in its own transaction as
if another worker took it; the water's background lives in the camera's state row between them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import cctv_sample, cctv_zones
from domain.cctv_observation import Observation
from domain.cctv_rules import CameraHealth
from domain.models import AlertKind, Camera, CctvAlert, Notification, ZonePurpose, ZoneState
from domain.resources import Resources
from tests import clips
from tests.fakes import river
from tests.fakes.hls import LiveCameras, serving
from tests.integration.test_cctv_watch import no_defer
from tests.integration.test_cctv_zones import T0, UNIT, jpeg, make_camera, observe_each, officer_of

WATER = [[float(x), float(y)] for x, y in river.WATER_POLYGON]


async def river_camera(resources: Resources, *, dwell_s: float = 30) -> tuple[int, str]:
    camera_id, code = await make_camera(resources)
    reference = await resources.reference.get()
    async with resources.unit_of_work() as session:
        await cctv_zones.save_zone(
            session,
            camera_code=code,
            name="kali",
            purpose=ZonePurpose.WATER,
            polygon=WATER,
            frame_size=(river.FULL_W, river.FULL_H),
        )
        await cctv_zones.save_watch_rule(
            session,
            reference,
            data=cctv_zones.RuleInput(
                camera_code=code,
                zone_name="kali",
                kind=AlertKind.RIVER_GARBAGE,
                threshold=0.01,
                dwell_s=dwell_s,
                cooldown_s=3600,
                hold_samples=2,
            ),
        )
    return camera_id, code


def samples(camera_id: int, spec: river.Scene) -> list[Observation]:
    return [
        Observation(
            camera_id=camera_id,
            taken_at=T0 + timedelta(seconds=10 * n),
            frame_size=(river.FULL_W * 2, river.FULL_H * 2),  # twice the zone's reference frame: it is scaled
            health=CameraHealth.OK,
            motion=0.3,
            detected=True,
            snapshot=lambda n=n: jpeg(60 + n),
            colour=one.frame,
        )
        for n, one in enumerate(river.scene(spec))
    ]


async def test_garbage_drifting_down_the_river_alerts_once_with_its_blobs(resources: Resources) -> None:
    # given: a river camera with a water zone and a garbage rule (1 % for 30 s), run by a unit with an officer
    camera_id, code = await river_camera(resources)
    officer = await officer_of(resources, UNIT)

    # when: 40 samples of a river that many pieces of garbage drift down
    raised = await observe_each(resources, samples(camera_id, river.Scene("many", 1.0, 14, seed=3)))

    # then: one alert (not one per sample), with the covered share, the blobs and the snapshot, in the inbox
    assert [(a.kind, a.threshold) for _, alerts in raised for a in alerts] == [(AlertKind.RIVER_GARBAGE, 0.01)]
    [(index, [alert])] = raised
    async with resources.unit_of_work() as session:
        stored = await session.get_one(CctvAlert, alert.id)
        inbox = (await session.scalars(select(Notification.data).where(Notification.user_id == officer))).all()
        state = await session.get_one(ZoneState, camera_id)
    assert stored.value > 0.01
    assert stored.zone_id is not None
    assert stored.objects
    assert {o["label"] for o in stored.objects} == {"debris"}
    assert all(0 <= o["box"][0] < river.FULL_W * 2 for o in stored.objects)
    assert stored.snapshot_key is not None
    assert await resources.storage.read(stored.snapshot_key) == jpeg(60 + index)
    assert inbox == [{"alertId": str(alert.id), "cameraCode": code, "kind": "CCTV_ALERT"}]
    assert list(state.state["water"]) == [str(stored.zone_id)]


async def test_clean_water_in_sun_and_at_dusk_alerts_nothing(resources: Resources) -> None:
    # given: the same camera and rule
    camera_id, _ = await river_camera(resources)

    # when: clean water in bright sun (glints, the sun's reflection), then at dusk after a gap
    sun = samples(camera_id, river.Scene("clean", 1.3, 0, seed=3))
    dusk = [
        Observation(**{**o.__dict__, "taken_at": o.taken_at + timedelta(hours=10)})
        for o in samples(camera_id, river.Scene("clean", 0.45, 0, seed=4))
    ]
    raised = await observe_each(resources, sun + dusk)

    # then: nothing
    assert raised == []


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[LiveCameras, str]]:
    cameras = LiveCameras()
    with serving(cameras.handler()) as url:
        yield cameras, url


async def test_a_live_river_stream_with_garbage_alerts_once_through_the_sampler(
    resources: Resources, live: tuple[LiveCameras, str]
) -> None:
    # given: a river camera streaming live HLS (H.264) of a river that carries garbage from the 8th sample on
    scene = river.scene(river.Scene("many", 1.0, 14, seed=3))
    cameras, base = live
    name = uuid.uuid4().hex[:8]
    cameras.add(name, lambda n: clips.ts_segment([scene[min(n, len(scene) - 1)].picture[..., ::-1].copy()] * 10))
    # (no dwell: the samples come as fast as the sampler takes them, with the time they are taken)
    camera_id, _ = await river_camera(resources, dwell_s=0)
    async with resources.unit_of_work() as session:
        camera = await session.get_one(Camera, camera_id)
        camera.source = f"{base}/{name}/index.m3u8"

    # when: the sampler takes 30 samples, as the cctv-watch jobs would
    outcomes = [
        await cctv_sample.sample_camera(resources, camera_id=camera_id, defer=no_defer)  # type: ignore[arg-type]
        for _ in range(30)
    ]

    # then: every sample was read, and the garbage raised one alert
    assert "unchanged" not in outcomes
    async with resources.unit_of_work() as session:
        kinds = (await session.scalars(select(CctvAlert.kind).where(CctvAlert.camera_id == camera_id))).all()
    assert kinds == [AlertKind.RIVER_GARBAGE]
