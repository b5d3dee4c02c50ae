"""Zones and watch rules over the API: admins draw and remove them, staff read them on Camera, every refusal
has its code and stores nothing, and alerts name their zone, objects and report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from domain import cctv_zones
from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth
from domain.jobs import JobBuffer
from domain.models import Camera, CameraZone, Role, WatchRule
from domain.resources import Resources
from tests.api.test_cctv import save_camera
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen

SAVE_ZONE = """
mutation Z($input: CameraZoneInput!) {
  saveCameraZone(input: $input) { zone { name purpose polygon frameWidth frameHeight } errors { code field } }
}
"""
DELETE_ZONE = """
mutation D($camera: String!, $name: String!) {
  deleteCameraZone(cameraCode: $camera, name: $name) { zone { name } errors { code } }
}
"""
SAVE_RULE = """
mutation R($input: WatchRuleInput!) {
  saveWatchRule(input: $input) {
    rule { zoneName kind threshold dwellS cooldownS holdSamples reportCategory openReportId } errors { code field }
  }
}
"""
DELETE_RULE = """
mutation D($camera: String!, $zone: String, $kind: AlertKind!) {
  deleteWatchRule(cameraCode: $camera, zoneName: $zone, kind: $kind) { rule { kind } errors { code } }
}
"""
CAMERA_ZONES = """
query { cameras(activeOnly: false) { code zones { name purpose } watchRules { zoneName kind dwellS reportCategory } } }
"""
ALERTS = "query { cctvAlerts(first: 100) { kind cameraCode zoneName reportId objects { track label box } } }"
LANE = [[640, 360], [1280, 360], [1280, 720], [640, 720]]


@pytest.fixture
async def admin(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.ADMIN)


def zone_input(camera: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cameraCode": camera,
        "name": "lane",
        "purpose": "BUSWAY",
        "polygon": LANE,
        "frameWidth": 1280,
        "frameHeight": 720,
        **overrides,
    }


async def new_camera(api: Api, admin: Citizen) -> str:
    code = f"zone-{uuid.uuid4().hex[:8]}"
    await save_camera(api, admin, code, kind="ROAD", unitCode="kel-31.71.01.1001")
    return code


async def counts(resources: Resources, code: str) -> tuple[int, int]:
    async with resources.unit_of_work() as session:
        camera_id = await session.scalar(select(Camera.id).where(Camera.code == code))
        zones = await session.scalar(select(func.count()).where(CameraZone.camera_id == camera_id))
        rules = await session.scalar(select(func.count()).where(WatchRule.camera_id == camera_id))
        return zones or 0, rules or 0


async def test_admins_draw_zones_and_rules_that_staff_read_on_the_camera(
    api: Api, admin: Citizen, resources: Resources
) -> None:
    code = await new_camera(api, admin)
    zone = await api.gql(SAVE_ZONE, {"input": zone_input(code)}, token=admin.token)
    assert zone["data"]["saveCameraZone"] == {
        "zone": {"name": "lane", "purpose": "BUSWAY", "polygon": LANE, "frameWidth": 1280, "frameHeight": 720},
        "errors": [],
    }
    rule_input = {"cameraCode": code, "zoneName": "lane", "kind": "BUSWAY", "reportCategory": "transjakarta"}
    rule = await api.gql(SAVE_RULE, {"input": rule_input}, token=admin.token)
    assert rule["data"]["saveWatchRule"] == {
        "rule": {
            "zoneName": "lane",
            "kind": "BUSWAY",
            "threshold": 0.0,
            "dwellS": 0.0,
            "cooldownS": 300.0,
            "holdSamples": 2,
            "reportCategory": "transjakarta",
            "openReportId": None,
        },
        "errors": [],
    }
    # saving the same rule again changes it, not adds one
    again = {**rule_input, "dwellS": 5, "reportCategory": None}
    assert (await api.gql(SAVE_RULE, {"input": again}, token=admin.token))["data"]["saveWatchRule"]["errors"] == []
    whole_view = {"cameraCode": code, "kind": "CONGESTION", "threshold": 0.8, "dwellS": 60}
    assert (await api.gql(SAVE_RULE, {"input": whole_view}, token=admin.token))["data"]["saveWatchRule"]["errors"] == []

    # staff read them (an auditor: an officer would join a unit whose recipients other tests count)
    auditor = await staff_member(api, resources, Role.AUDITOR)
    cameras = (await api.gql(CAMERA_ZONES, token=auditor.token))["data"]["cameras"]
    [mine] = [c for c in cameras if c["code"] == code]
    assert mine["zones"] == [{"name": "lane", "purpose": "BUSWAY"}]
    assert mine["watchRules"] == [
        {"zoneName": "lane", "kind": "BUSWAY", "dwellS": 5.0, "reportCategory": None},
        {"zoneName": None, "kind": "CONGESTION", "dwellS": 60.0, "reportCategory": None},
    ]

    # removing: the rule, then the zone (and with it any rule left in it)
    removed = await api.gql(DELETE_RULE, {"camera": code, "kind": "CONGESTION"}, token=admin.token)
    assert removed["data"]["deleteWatchRule"] == {"rule": None, "errors": []}
    removed = await api.gql(DELETE_ZONE, {"camera": code, "name": "lane"}, token=admin.token)
    assert removed["data"]["deleteCameraZone"] == {"zone": None, "errors": []}
    assert await counts(resources, code) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"polygon": [[0, 0], [100, 100], [100, 0], [0, 100]]}, "SELF_INTERSECTING", "polygon"),
        ({"polygon": [[0, 0], [1300, 0], [100, 100]]}, "OUT_OF_FRAME", "polygon"),
        ({"polygon": [[0, 0], [100, 0]]}, "INVALID_POLYGON", "polygon"),
        ({"frameWidth": 0}, "INVALID_FRAME", "frameWidth"),
        ({"name": "  "}, "INVALID_NAME", "name"),
        ({"cameraCode": "no-such-camera"}, "UNKNOWN_CAMERA", "code"),
    ],
)
async def test_bad_zones_are_refused_with_a_code_and_nothing_stored(
    api: Api, admin: Citizen, resources: Resources, overrides: dict[str, Any], code: str, field: str
) -> None:
    camera = await new_camera(api, admin)
    body = await api.gql(SAVE_ZONE, {"input": zone_input(camera, **overrides)}, token=admin.token)
    assert body["data"]["saveCameraZone"] == {"zone": None, "errors": [{"code": code, "field": field}]}
    assert await counts(resources, camera) == (0, 0)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"zoneName": "lane", "kind": "NO_STOPPING"}, "KIND_NOT_FOR_ZONE"),
        ({"kind": "BUSWAY"}, "KIND_NOT_FOR_ZONE"),  # a busway rule needs its lane
        ({"zoneName": "kerb", "kind": "NO_STOPPING"}, "UNKNOWN_ZONE"),
        ({"zoneName": "lane", "kind": "BUSWAY", "reportCategory": "no-such"}, "UNKNOWN_CATEGORY"),
        ({"zoneName": "lane", "kind": "BUSWAY", "holdSamples": 0}, "INVALID_THRESHOLD"),
        ({"kind": "CONGESTION", "threshold": 1.5}, "INVALID_THRESHOLD"),
        ({"kind": "CROWD", "cooldownS": -1}, "INVALID_THRESHOLD"),
    ],
)
async def test_bad_rules_are_refused_with_a_code_and_nothing_stored(
    api: Api, admin: Citizen, resources: Resources, rule: dict[str, Any], code: str
) -> None:
    camera = await new_camera(api, admin)
    assert (await api.gql(SAVE_ZONE, {"input": zone_input(camera)}, token=admin.token))["data"]["saveCameraZone"][
        "errors"
    ] == []
    body = await api.gql(SAVE_RULE, {"input": {"cameraCode": camera, **rule}}, token=admin.token)
    assert [e["code"] for e in body["data"]["saveWatchRule"]["errors"]] == [code]
    assert await counts(resources, camera) == (1, 0)


async def test_removing_what_is_not_there_and_repurposing_a_zone_with_rules_are_refused(
    api: Api, admin: Citizen, resources: Resources
) -> None:
    camera = await new_camera(api, admin)
    await api.gql(SAVE_ZONE, {"input": zone_input(camera)}, token=admin.token)
    await api.gql(SAVE_RULE, {"input": {"cameraCode": camera, "zoneName": "lane", "kind": "BUSWAY"}}, token=admin.token)

    repurposed = await api.gql(SAVE_ZONE, {"input": zone_input(camera, purpose="CROWD_AREA")}, token=admin.token)
    assert [e["code"] for e in repurposed["data"]["saveCameraZone"]["errors"]] == ["ZONE_HAS_RULES"]
    no_zone = await api.gql(DELETE_ZONE, {"camera": camera, "name": "kerb"}, token=admin.token)
    assert no_zone["data"]["deleteCameraZone"]["errors"] == [{"code": "UNKNOWN_ZONE"}]
    no_rule = await api.gql(DELETE_RULE, {"camera": camera, "kind": "CROWD"}, token=admin.token)
    assert no_rule["data"]["deleteWatchRule"]["errors"] == [{"code": "UNKNOWN_RULE"}]
    assert await counts(resources, camera) == (1, 1)


async def test_an_alert_names_its_zone_objects_and_report(api: Api, admin: Citizen, resources: Resources) -> None:
    # given: a busway lane whose rule files a transjakarta report
    camera = await new_camera(api, admin)
    await api.gql(SAVE_ZONE, {"input": zone_input(camera)}, token=admin.token)
    rule = {
        "cameraCode": camera,
        "zoneName": "lane",
        "kind": "BUSWAY",
        "holdSamples": 1,
        "reportCategory": "transjakarta",
    }
    await api.gql(SAVE_RULE, {"input": rule}, token=admin.token)
    async with resources.unit_of_work() as session:
        camera_id = await session.scalar(select(Camera.id).where(Camera.code == camera))
    assert camera_id is not None
    now = datetime.now(UTC)

    # when: a sample with a car in the lane
    async with resources.unit_of_work() as session:
        [alert] = await cctv_zones.observe(
            session,
            observation=Observation(
                camera_id=camera_id,
                taken_at=now - timedelta(seconds=3),
                frame_size=(1280, 720),
                health=CameraHealth.OK,
                motion=1.0,
                detected=True,
                objects=(ObjectSeen("car", (800, 500, 120, 80), 0.9),),
            ),
            now=now,
            jobs=JobBuffer(),
            storage=resources.storage,
            settings=resources.settings,
            reference=await resources.reference.get(),
        )

    # then: staff see it with its zone, the car and the report it filed; the rule shows the open report
    alerts = (await api.gql(ALERTS, token=admin.token))["data"]["cctvAlerts"]
    [mine] = [a for a in alerts if a["cameraCode"] == camera]
    assert mine == {
        "kind": "BUSWAY",
        "cameraCode": camera,
        "zoneName": "lane",
        "reportId": str(alert.report_id),
        "objects": [{"track": 1, "label": "car", "box": [800, 500, 120, 80]}],
    }
    cameras = await api.gql("query { cameras { code watchRules { openReportId reportCategory } } }", token=admin.token)
    [seen] = [c for c in cameras["data"]["cameras"] if c["code"] == camera]
    assert seen["watchRules"] == [{"openReportId": str(alert.report_id), "reportCategory": "transjakarta"}]
