"""Floodgates over the API: admins name a gate with its Siaga levels and draw the gauge a camera reads it on,
every refusal has its code and stores nothing, and the wall's floodgateLevels shows the gate's newest reading,
its held Siaga and a sparkline of its readings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from domain import floodgates
from domain.gauge_reading import Reading
from domain.models import Camera, CameraGauge, Floodgate, Role
from domain.resources import Resources
from tests.api.test_cctv import save_camera
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen

SAVE_GATE = """
mutation F($input: FloodgateInput!) {
  saveFloodgate(input: $input) {
    floodgate { name siaga3Cm siaga2Cm siaga1Cm holdSamples cooldownS } errors { code field }
  }
}
"""
SAVE_GAUGE = """
mutation G($input: CameraGaugeInput!) {
  saveCameraGauge(input: $input) { gauge { cameraCode floodgateName marks } errors { code field } }
}
"""
DELETE_GAUGE = "mutation D($c: String!) { deleteCameraGauge(cameraCode: $c) { gauge { cameraCode } errors { code } } }"
WALL = "query { floodgateLevels(hours: 24) { camera { code } siaga3Cm levelCm siaga series { at levelCm } } }"
POLYGON = [[600, 100], [680, 100], [680, 600], [600, 600]]
MARKS = [[640, 120, 1000], [640, 580, 600]]


@pytest.fixture
async def admin(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.ADMIN)


def gate_input(name: str, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "siaga3Cm": 750, "siaga2Cm": 850, "siaga1Cm": 950, "holdSamples": 2, **overrides}


def gauge_input(camera: str, gate: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cameraCode": camera, "floodgateName": gate, "polygon": POLYGON, "marks": MARKS,
        "frameWidth": 1280, "frameHeight": 720, **overrides,
    }  # fmt: skip


async def call(api: Api, who: Citizen, document: str, **variables: Any) -> dict[str, Any]:
    body = await api.gql(document, variables, token=who.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def test_a_gate_and_its_gauge_are_refused_with_a_code_and_nothing_stored(
    api: Api, admin: Citizen, resources: Resources
) -> None:
    name, camera = f"Pintu Air {uuid.uuid4().hex[:6]}", f"gate-{uuid.uuid4().hex[:8]}"
    await save_camera(api, admin, camera, kind="FLOODGATE")
    cases = [
        (SAVE_GATE, gate_input(name, siaga2Cm=700), ("INVALID_LEVELS", "siaga3Cm")),
        (SAVE_GATE, gate_input(name, holdSamples=0), ("INVALID_HOLD", "holdSamples")),
        (SAVE_GATE, gate_input(" "), ("INVALID_NAME", "name")),
        (SAVE_GAUGE, gauge_input(camera, name), ("UNKNOWN_FLOODGATE", "floodgateName")),
    ]
    for document, data, expected in cases:
        payload = await call(api, admin, document, input=data)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [expected]
    assert (await call(api, admin, SAVE_GATE, input=gate_input(name)))["errors"] == []
    for data, expected in [
        (gauge_input(camera, name, marks=[[640, 120, 1000]]), ("INVALID_CALIBRATION", "marks")),
        (gauge_input(camera, name, marks=[[640, 120, 1000], [640, 580]]), ("INVALID_CALIBRATION", "marks")),
        (gauge_input(camera, name, polygon=[[0, 0], [2000, 0], [0, 100]]), ("OUT_OF_FRAME", "polygon")),
        (gauge_input(camera, name, frameWidth=4), ("INVALID_FRAME", "frameWidth")),
        (gauge_input("no-such-camera", name), ("UNKNOWN_CAMERA", "code")),
    ]:
        payload = await call(api, admin, SAVE_GAUGE, input=data)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [expected]
    assert (await call(api, admin, DELETE_GAUGE, c=camera))["errors"] == [{"code": "UNKNOWN_GAUGE"}]
    async with resources.unit_of_work() as session:
        gates = await session.scalar(select(func.count()).where(Floodgate.name == name))
        gauges = await session.scalar(
            select(func.count()).select_from(CameraGauge).join(Camera).where(Camera.code == camera)
        )
    assert (gates, gauges) == (1, 0)


async def test_the_wall_shows_the_gates_newest_level_its_held_siaga_and_a_sparkline(
    api: Api, admin: Citizen, resources: Resources
) -> None:
    # given a gate, a camera reading it on a gauge, and five readings over the last hour rising into Siaga 3
    name, camera = f"Pintu Air {uuid.uuid4().hex[:6]}", f"gate-{uuid.uuid4().hex[:8]}"
    await save_camera(api, admin, camera, kind="RIVER")  # not a floodgate camera: its gauge puts it on the wall
    await call(api, admin, SAVE_GATE, input=gate_input(name))
    saved = await call(api, admin, SAVE_GAUGE, input=gauge_input(camera, name))
    assert saved == {"gauge": {"cameraCode": camera, "floodgateName": name, "marks": MARKS}, "errors": []}
    now = datetime.now(UTC)
    async with resources.unit_of_work() as session:
        camera_id = await session.scalar(select(Camera.id).where(Camera.code == camera))
        assert camera_id is not None
        for minutes, cm in ((50, 700.0), (40, 720.0), (30, 760.0), (20, 770.0), (10, 765.0)):
            at = now - timedelta(minutes=minutes)
            await floodgates.record_level(session, camera_id=camera_id, reading=Reading(cm, 0.8), at=at, now=at)

    # when the wall asks
    body = await api.gql(WALL, token=admin.token)

    # then the gate's newest reading and held Siaga 3 are there, and the sparkline has one bucket per reading
    [gate] = [g for g in body["data"]["floodgateLevels"] if g["camera"]["code"] == camera]
    assert (gate["siaga3Cm"], gate["levelCm"], gate["siaga"]) == (750.0, 765.0, 3)
    assert [p["levelCm"] for p in gate["series"]] == [700.0, 720.0, 760.0, 770.0, 765.0]

    # and when the gauge is removed, the camera leaves the wall and the readings stay with the gate
    assert (await call(api, admin, DELETE_GAUGE, c=camera))["errors"] == []
    body = await api.gql(WALL, token=admin.token)
    assert camera not in [g["camera"]["code"] for g in body["data"]["floodgateLevels"]]
    async with resources.unit_of_work() as session:
        gate_id = await session.scalar(select(Floodgate.id).where(Floodgate.name == name))
        assert gate_id is not None
        assert len((await floodgates.series(
            session, floodgate_ids=[gate_id], since=now - timedelta(hours=1), now=now
        ))[gate_id]) == 5  # fmt: skip


GAUGE = """
query G($c: String!) {
  cameraGauge(cameraCode: $c) { cameraCode floodgateName polygon marks frameWidth frameHeight }
}
"""
GATE = "query F($n: String!) { floodgate(name: $n) { name siaga3Cm siaga2Cm siaga1Cm holdSamples cooldownS } }"
GATES = "query L($first: Int!) { floodgates(first: $first) { name siaga1Cm } }"


def refusal(body: dict[str, Any]) -> tuple[Any, ...]:
    """The one error's code, reason and field, and that nothing came with it."""
    [error] = body["errors"]
    extensions = error["extensions"]
    return extensions["code"], extensions.get("reason"), extensions.get("field"), body["data"]


async def test_staff_read_a_cameras_gauge_as_drawn_and_no_one_else_does(
    api: Api, admin: Citizen, citizen: Citizen, resources: Resources
) -> None:
    # given a gate and the gauge an admin drew on a camera, a camera without a gauge, and an auditor (staff who
    # change nothing)
    name, camera, bare = (
        f"Pintu Air {uuid.uuid4().hex[:6]}",
        f"gate-{uuid.uuid4().hex[:8]}",
        f"gate-{uuid.uuid4().hex[:8]}",
    )
    await save_camera(api, admin, camera, kind="FLOODGATE")
    await save_camera(api, admin, bare, kind="FLOODGATE")
    await call(api, admin, SAVE_GATE, input=gate_input(name))
    await call(api, admin, SAVE_GAUGE, input=gauge_input(camera, name, frameWidth=1920, frameHeight=1080))
    auditor = await staff_member(api, resources, Role.AUDITOR)

    # when each asks for the gauges
    as_auditor = await api.gql(GAUGE, {"c": camera}, token=auditor.token)
    as_admin = await api.gql(GAUGE, {"c": camera}, token=admin.token)
    none_drawn = await api.gql(GAUGE, {"c": bare}, token=auditor.token)
    unknown = await api.gql(GAUGE, {"c": "no-such-camera"}, token=auditor.token)
    as_citizen = await api.gql(GAUGE, {"c": camera}, token=citizen.token)
    anonymous = await api.gql(GAUGE, {"c": camera})

    # then staff get the polygon, marks and frame as saved; a camera without a gauge has none; an unknown camera
    # is NOT_FOUND with its reason; a citizen is FORBIDDEN and the public UNAUTHENTICATED, with nothing shown
    drawn = {
        "cameraCode": camera, "floodgateName": name, "polygon": POLYGON, "marks": MARKS,
        "frameWidth": 1920, "frameHeight": 1080,
    }  # fmt: skip
    assert as_auditor == {"data": {"cameraGauge": drawn}}
    assert as_admin == as_auditor
    assert none_drawn == {"data": {"cameraGauge": None}}
    assert refusal(unknown) == ("NOT_FOUND", "UNKNOWN_CAMERA", "cameraCode", {"cameraGauge": None})
    assert refusal(as_citizen) == ("FORBIDDEN", None, None, {"cameraGauge": None})
    assert refusal(anonymous)[0] == "UNAUTHENTICATED"
    assert anonymous["data"] == {"cameraGauge": None}


async def test_a_gates_siaga_levels_are_public_and_an_unknown_gate_is_not_found(api: Api, admin: Citizen) -> None:
    # given a gate an admin saved with its levels (named to come first among the other tests' gates, in any
    # collation, so that the first page of the list has it)
    name = f"Aaa Pintu Air {uuid.uuid4().hex[:6]}"
    await call(api, admin, SAVE_GATE, input=gate_input(name, cooldownS=1800))

    # when anyone, logged in or not, asks for it, for the list, or for a gate that does not exist
    one = await api.gql(GATE, {"n": name})
    listed = await api.gql(GATES, {"first": 100})
    unknown = await api.gql(GATE, {"n": "Pintu Air Tidak Ada"})
    too_many = await api.gql(GATES, {"first": 101})

    # then its levels are as saved; the list has it; an unknown gate is NOT_FOUND with its reason; a list longer
    # than 100 is refused
    assert one == {
        "data": {
            "floodgate": {
                "name": name, "siaga3Cm": 750.0, "siaga2Cm": 850.0, "siaga1Cm": 950.0, "holdSamples": 2,
                "cooldownS": 1800.0,
            }
        }
    }  # fmt: skip
    assert {"name": name, "siaga1Cm": 950.0} in listed["data"]["floodgates"]
    assert refusal(unknown) == ("NOT_FOUND", "UNKNOWN_FLOODGATE", "name", None)
    assert refusal(too_many)[:1] == ("BAD_USER_INPUT",)
