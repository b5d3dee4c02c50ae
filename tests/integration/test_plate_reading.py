"""Plates read with alerts, through the real PostgreSQL and S3: a busway rule that reads plates stores the
violator's plate apart from the alert; a rule that does not (the default) stores none and never runs the OCR."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from domain import cctv_zones
from domain.adapters.plates import VehiclePlates
from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import AlertKind, AlertPlate, CctvAlert, ZonePurpose
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
    """A reader that counts its calls and reads nothing."""

    def __init__(self) -> None:
        self.calls = 0

    def read_vehicles(
        self, jpeg: bytes, frame_size: tuple[int, int], boxes: Sequence[tuple[int, int, int, int]]
    ) -> list[PlateRead | None]:
        self.calls += 1
        return [None for _ in boxes]


async def one_alert(resources: Resources, camera_id: int, reader: PlateReader) -> CctvAlert:
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
    async with resources.unit_of_work() as session:
        [alert] = await cctv_zones.observe(
            session,
            observation=observation,
            now=T0 + timedelta(seconds=2),
            jobs=JobBuffer(),
            storage=resources.storage,
            settings=resources.settings,
            reference=await resources.reference.get(),
            plate_reader=reader,
        )
    return alert


async def test_a_busway_rule_that_reads_plates_stores_the_violators_plate(resources: Resources) -> None:
    # given: a busway lane whose rule reads plates
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1, read_plates=True)

    # when: a car stands in the lane, its plate on the snapshot
    alert = await one_alert(resources, camera_id, VehiclePlates())

    # then: the plate is stored with the alert's vehicle, and nowhere in the alert itself
    async with resources.unit_of_work() as session:
        plates = list(await session.scalars(select(AlertPlate).where(AlertPlate.alert_id == alert.id)))
        stored = await session.get(CctvAlert, alert.id)
    assert [(p.track, p.text) for p in plates] == [(1, "B 1234 XYZ")]
    assert plates[0].confidence >= 0.6
    assert stored is not None
    assert stored.objects == [{"track": 1, "label": "car", "box": list(CAR.box), "confidence": 0.9}]


async def test_by_default_no_plate_is_read_or_stored(resources: Resources) -> None:
    # given: a busway rule left as it comes
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1)
    reader = CountingReader()

    # when: a car stands in the lane
    alert = await one_alert(resources, camera_id, reader)

    # then: the alert stands, the OCR never ran, no plate is stored
    assert alert.kind == AlertKind.BUSWAY
    assert reader.calls == 0
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
