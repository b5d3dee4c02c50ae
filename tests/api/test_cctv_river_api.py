"""River garbage over the API: it is off until an admin adds the rule to a WATER zone, and a river garbage rule
anywhere else, or with a share of 1 or more, is refused with a code and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from domain.resources import Resources
from tests.api.test_cctv_zones_api import (
    CAMERA_ZONES,
    SAVE_RULE,
    SAVE_ZONE,
    admin,  # noqa: F401 (the fixture)
    counts,
    new_camera,
    zone_input,
)
from tests.factories import Api, Citizen

RIVER = [[0, 300], [1280, 250], [1280, 720], [0, 720]]


async def test_a_river_garbage_rule_exists_only_once_an_admin_adds_it_to_a_water_zone(
    api: Api,
    admin: Citizen,  # noqa: F811
    resources: Resources,
) -> None:
    # given: a camera with its river drawn as a WATER zone
    code = await new_camera(api, admin)
    zone = await api.gql(
        SAVE_ZONE, {"input": zone_input(code, name="kali", purpose="WATER", polygon=RIVER)}, token=admin.token
    )
    assert zone["data"]["saveCameraZone"]["errors"] == []
    # then: nothing watches it for garbage yet
    assert await counts(resources, code) == (1, 0)

    # when: the admin adds the rule
    rule = {"cameraCode": code, "zoneName": "kali", "kind": "RIVER_GARBAGE", "threshold": 0.01, "dwellS": 60}
    body = await api.gql(SAVE_RULE, {"input": rule}, token=admin.token)

    # then: it is there, with its share
    assert body["data"]["saveWatchRule"]["errors"] == []
    assert body["data"]["saveWatchRule"]["rule"]["threshold"] == 0.01
    cameras = (await api.gql(CAMERA_ZONES, token=admin.token))["data"]["cameras"]
    [mine] = [c for c in cameras if c["code"] == code]
    assert mine["zones"] == [{"name": "kali", "purpose": "WATER"}]
    assert [(r["zoneName"], r["kind"]) for r in mine["watchRules"]] == [("kali", "RIVER_GARBAGE")]


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"zoneName": "lane", "kind": "RIVER_GARBAGE"}, "KIND_NOT_FOR_ZONE"),  # a busway is no river
        ({"kind": "RIVER_GARBAGE"}, "KIND_NOT_FOR_ZONE"),  # nor is the whole view
        ({"zoneName": "kali", "kind": "BUSWAY"}, "KIND_NOT_FOR_ZONE"),
        ({"zoneName": "kali", "kind": "RIVER_GARBAGE", "threshold": 1.0}, "INVALID_THRESHOLD"),
    ],
)
async def test_river_garbage_rules_out_of_place_are_refused_with_a_code_and_nothing_stored(
    api: Api,
    admin: Citizen,  # noqa: F811
    resources: Resources,
    rule: dict[str, Any],
    code: str,
) -> None:
    camera = await new_camera(api, admin)
    await api.gql(SAVE_ZONE, {"input": zone_input(camera)}, token=admin.token)
    await api.gql(
        SAVE_ZONE, {"input": zone_input(camera, name="kali", purpose="WATER", polygon=RIVER)}, token=admin.token
    )

    body = await api.gql(SAVE_RULE, {"input": {"cameraCode": camera, **rule}}, token=admin.token)

    assert [e["code"] for e in body["data"]["saveWatchRule"]["errors"]] == [code]
    assert await counts(resources, camera) == (2, 0)
