"""Plates read with alerts, through the real PostgreSQL and S3: a busway rule that reads plates asks, with its alert,
for a job that reads the violator's plate after the alert's transaction (never while the camera's zone state is
locked) and stores it apart from the alert, once; a rule that does not (the default) asks for none and never runs
the OCR."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select, update

from domain import cctv_zones
from domain.adapters.plates import VehiclePlates
from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth
from domain.errors import DomainError
from domain.jobs import JobBuffer, JobRequest
from domain.models import AlertKind, AlertPlate, CctvAlert, WatchRule, ZonePurpose, ZoneState
from domain.plates import PlateRead, PlateReader
from domain.resources import Resources
from tests.integration.test_cctv_zones import BUSWAY, T0, make_camera, zone_and_rule
from tests.plates import render_plate

CAR = ObjectSeen("car", (800, 420, 300, 220), 0.9)  # in the busway lane (its foot at 950, 640)


def snapshot_with_plate(text: str) -> bytes:
    """A 1280x720 street-grey frame with a car-coloured box and a 140 px plate on its bumper, as JPEG."""
    frame = np.full((720, 1280, 3), 90, np.uint8)
    x, y, w, h = CAR.box
    cv2.rectangle(frame, (x, y), (x + w, y + h), (40, 40, 120), -1)
    plate = cv2.resize(render_plate(text, dark=True, rng=random.Random(1)), (140, 45), interpolation=cv2.INTER_AREA)
    frame[560:605, 880:1020] = plate
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return jpeg.tobytes()


class CountingReader:
    """A reader that counts its calls, reads ``plates`` (one per vehicle, None: unreadable), and may run
    ``during`` while it reads (in the reading thread)."""

    def __init__(self, plates: list[PlateRead | None] | None = None, during: Callable[[], None] | None = None) -> None:
        self.calls = 0
        self.plates = plates
        self.during = during

    def read_vehicles(
        self, jpeg: bytes, frame_size: tuple[int, int], boxes: Sequence[tuple[int, int, int, int]]
    ) -> list[PlateRead | None]:
        self.calls += 1
        if self.during is not None:
            self.during()
        return self.plates if self.plates is not None else [None for _ in boxes]


async def one_alert(resources: Resources, camera_id: int) -> tuple[CctvAlert, list[JobRequest]]:
    observation = Observation(
        camera_id=camera_id,
        taken_at=T0,
        frame_size=(1280, 720),
        health=CameraHealth.OK,
        motion=1.0,
        detected=True,
        objects=(CAR,),
        snapshot=lambda: snapshot_with_plate("B 1234 XYZ"),
    )
    jobs = JobBuffer()
    async with resources.unit_of_work() as session:
        [alert] = await cctv_zones.observe(
            session,
            observation=observation,
            now=T0 + timedelta(seconds=2),
            jobs=jobs,
            storage=resources.storage,
            settings=resources.settings,
            reference=await resources.reference.get(),
        )
    return alert, [job for job in jobs.drain() if job.task == "cctv.read_plates"]


async def read_plates(resources: Resources, job: JobRequest, reader: PlateReader) -> int:
    """What the `cctv.read_plates` task does with the job's arguments."""
    args = job.kwargs
    return await cctv_zones.read_alert_plates(
        resources,
        alert_id=uuid.UUID(args["alert_id"]),
        frame_size=(args["frame_width"], args["frame_height"]),
        reader=reader,
    )


async def plates_of(resources: Resources, alert_id: uuid.UUID) -> list[tuple[int, str]]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(select(AlertPlate).where(AlertPlate.alert_id == alert_id))
        return [(p.track, p.text) for p in rows]


async def test_a_busway_rule_that_reads_plates_stores_the_violators_plate_after_the_alert(
    resources: Resources,
) -> None:
    # given: a busway lane whose rule reads plates
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1, read_plates=True)

    # when: a car stands in the lane, its plate on the snapshot
    alert, [job] = await one_alert(resources, camera_id)

    # then: the alert is stored with one job asked for its plates, none read yet
    assert job.kwargs == {"alert_id": str(alert.id), "frame_width": 1280, "frame_height": 720}
    assert job.queueing_lock == f"plates:{alert.id}"
    assert await plates_of(resources, alert.id) == []

    # and when the job runs, the plate is stored with the alert's vehicle, and nowhere in the alert itself
    assert await read_plates(resources, job, VehiclePlates()) == 1
    async with resources.unit_of_work() as session:
        plates = list(await session.scalars(select(AlertPlate).where(AlertPlate.alert_id == alert.id)))
        stored = await session.get(CctvAlert, alert.id)
    assert [(p.track, p.text) for p in plates] == [(1, "B 1234 XYZ")]
    assert plates[0].confidence >= 0.6
    assert stored is not None
    assert stored.objects == [{"track": 1, "label": "car", "box": list(CAR.box), "confidence": 0.9}]


async def test_the_plates_are_read_while_the_camera_is_free_to_be_judged(resources: Resources) -> None:
    # given: an alert of a busway rule that reads plates, and a reader that, while it reads, takes the camera's
    # zone state row and the alert's row FOR UPDATE NOWAIT from another connection
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1, read_plates=True)
    alert, [job] = await one_alert(resources, camera_id)
    loop = asyncio.get_running_loop()
    taken: list[bool] = []

    async def lock_both() -> bool:
        async with resources.unit_of_work() as session:
            await session.execute(
                select(ZoneState.camera_id).where(ZoneState.camera_id == camera_id).with_for_update(nowait=True)
            )
            await session.execute(select(CctvAlert.id).where(CctvAlert.id == alert.id).with_for_update(nowait=True))
            return True

    def during() -> None:
        taken.append(asyncio.run_coroutine_threadsafe(lock_both(), loop).result(timeout=10))

    reader = CountingReader([PlateRead("B 1234 XYZ", 0.9)], during=during)

    # when: the job runs
    stored = await read_plates(resources, job, reader)

    # then: both rows could be locked while the OCR ran (no transaction of the job held them), and the plate
    # was stored after it
    assert (taken, reader.calls, stored) == ([True], 1, 1)
    assert await plates_of(resources, alert.id) == [(1, "B 1234 XYZ")]


async def test_reading_plates_again_stores_nothing_twice_and_a_switched_off_rule_reads_nothing(
    resources: Resources,
) -> None:
    # given: an alert of a busway rule that reads plates, a reader that fails
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1, read_plates=True)
    alert, [job] = await one_alert(resources, camera_id)

    def fail() -> None:
        raise RuntimeError("the OCR crashed")

    # when: the job fails, then is retried twice
    with pytest.raises(RuntimeError):
        await read_plates(resources, job, CountingReader([PlateRead("B 1234 XYZ", 0.9)], during=fail))
    failed = await plates_of(resources, alert.id)
    reader = CountingReader([PlateRead("B 1234 XYZ", 0.9)])
    first, again = await read_plates(resources, job, reader), await read_plates(resources, job, reader)

    # then: the failure stored nothing, the retry one plate, the second retry neither read nor stored again
    assert failed == []
    assert (first, again, reader.calls) == (1, 0, 1)
    assert await plates_of(resources, alert.id) == [(1, "B 1234 XYZ")]

    # and when: an admin switches plates off before a later alert's job runs (the camera's state forgotten, so
    # that the same car alerts again), the OCR never runs for it
    async with resources.unit_of_work() as session:
        await session.execute(update(ZoneState).where(ZoneState.camera_id == camera_id).values(state={}))
    later, [later_job] = await one_alert(resources, camera_id)
    async with resources.unit_of_work() as session:
        await session.execute(update(WatchRule).where(WatchRule.camera_id == camera_id).values(read_plates=False))
    switched_off = CountingReader([PlateRead("B 1234 XYZ", 0.9)])
    assert await read_plates(resources, later_job, switched_off) == 0
    assert switched_off.calls == 0
    assert await plates_of(resources, later.id) == []


async def test_by_default_no_plate_is_read_or_stored(resources: Resources) -> None:
    # given: a busway rule left as it comes
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1)

    # when: a car stands in the lane
    alert, jobs = await one_alert(resources, camera_id)

    # then: the alert stands, no plate reading is asked for, no plate is stored
    assert alert.kind == AlertKind.BUSWAY
    assert jobs == []
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(func.count()).where(AlertPlate.alert_id == alert.id)) == 0


async def test_a_crowd_rule_cannot_read_plates(resources: Resources) -> None:
    _, code = await make_camera(resources)
    with pytest.raises(DomainError) as refused:
        await zone_and_rule(
            resources,
            code,
            ZonePurpose.CROWD_AREA,
            [[0, 0], [640, 0], [640, 360]],
            AlertKind.CROWD,
            threshold=5,
            read_plates=True,
        )
    assert refused.value.code == "PLATES_NOT_FOR_KIND"
