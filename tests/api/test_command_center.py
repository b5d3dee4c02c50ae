"""The command-center wall's reads: figures per kota and unit under its filters, what each camera last showed,
and the floodgates with their Siaga levels (no levels yet)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from domain.models import AlertKind, Camera, CctvAlert, CctvEvidence, EvidenceStatus, Report, Role, Unit
from domain.resources import Resources
from tests.api.test_cctv import camera_input
from tests.api.test_floodgates_api import SAVE_GATE, SAVE_GAUGE, call, gauge_input
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen

STATS = """
query Stats($filter: WallFilterInput) {
  wallStats(filter: $filter) { open overdue filedToday byKota { key open overdue filedToday } byUnit { key open } }
}
"""
CAMERAS = "query { cameras { code health lastAlertAt latestSnapshotUrl } }"
FLOODGATES = """
query { floodgateLevels { camera { code kind } siaga3Cm siaga2Cm siaga1Cm levelCm siaga series { at levelCm } } }
"""
SAVE_CAMERA = "mutation S($input: CameraInput!) { saveCamera(input: $input) { camera { code } errors { code } } }"
JAKARTA_BARAT = "31.73"
TOMANG_UNIT = "kel-31.73.02.1003"
SECOND = timedelta(seconds=1)


async def stats(api: Api, who: Citizen, flt: dict[str, Any] | None = None) -> dict[str, Any]:
    body = await api.gql(STATS, {"filter": flt}, token=who.token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["wallStats"]
    return result


def kota(figures: dict[str, Any], code: str) -> tuple[int, int, int]:
    row = next((r for r in figures["byKota"] if r["key"] == code), {"open": 0, "overdue": 0, "filedToday": 0})
    return row["open"], row["overdue"], row["filedToday"]


@pytest.fixture
async def auditor(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.AUDITOR)


@pytest.fixture
async def admin(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.ADMIN)


async def test_figures_count_open_overdue_and_filed_today_under_the_filter(
    api: Api, resources: Resources, citizen: Citizen, auditor: Citizen
) -> None:
    # given the figures before, then two fallen-tree reports (one late) and one garbage report in Tomang
    async with resources.unit_of_work() as session:
        tomang_unit = await session.scalar(select(Unit.id).where(Unit.code == TOMANG_UNIT))
    trees = {"categories": ["fallen-tree"]}
    before_all, before_trees = await stats(api, auditor), await stats(api, auditor, trees)
    late = await api.create_report(citizen, category="fallen-tree")
    await api.create_report(citizen, category="fallen-tree")
    await api.create_report(citizen, category="garbage")
    async with resources.unit_of_work() as session:
        await session.execute(
            update(Report)
            .where(Report.id == uuid.UUID(late["report"]["id"]))
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )

    # when the wall counts again
    after_all, after_trees = await stats(api, auditor), await stats(api, auditor, trees)
    completed = await stats(api, auditor, {"categories": ["fallen-tree"], "statuses": ["COMPLETED"]})
    elsewhere = await stats(api, auditor, {"unitIds": [str(tomang_unit + 1)], "categories": ["fallen-tree"]})
    in_tomang = await stats(api, auditor, {"unitIds": [str(tomang_unit)]})

    # then each filter changes the numbers by exactly what was filed
    delta = lambda a, b: tuple(x - y for x, y in zip(kota(a, JAKARTA_BARAT), kota(b, JAKARTA_BARAT), strict=True))  # noqa: E731
    assert delta(after_all, before_all) == (3, 1, 3)
    assert delta(after_trees, before_trees) == (2, 1, 2)
    assert (after_all["open"] - before_all["open"], after_all["filedToday"] - before_all["filedToday"]) == (3, 3)
    assert after_trees["overdue"] - before_trees["overdue"] == 1
    assert completed["open"] == 0
    assert all(row["key"] != TOMANG_UNIT for row in elsewhere["byUnit"])
    assert [row["key"] for row in in_tomang["byUnit"]] == [TOMANG_UNIT]
    assert in_tomang["open"] == in_tomang["byUnit"][0]["open"] >= 3


async def test_a_filter_naming_what_does_not_exist_is_refused(api: Api, auditor: Citizen) -> None:
    for flt in ({"categories": ["no-such-thing"]}, {"unitIds": ["tomang"]}):
        body = await api.gql(STATS, {"filter": flt}, token=auditor.token)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_a_camera_shows_its_newest_alert_snapshot_and_health(
    api: Api, resources: Resources, citizen: Citizen, admin: Citizen
) -> None:
    # given a camera that has never alerted
    code = f"cam-{uuid.uuid4().hex[:8]}"
    body = await api.gql(SAVE_CAMERA, {"input": camera_input(code, kind="ROAD")}, token=admin.token)
    assert body["data"]["saveCamera"]["errors"] == []
    fresh = await cameras(api, admin, code)
    assert (fresh["health"], fresh["lastAlertAt"], fresh["latestSnapshotUrl"]) == (None, None, None)

    # when evidence reads it frozen, then an alert is raised with a snapshot
    report = await api.create_report(citizen)
    now = datetime.now(UTC)
    async with resources.unit_of_work() as session:
        camera = await session.scalar(select(Camera.id).where(Camera.code == code))
        assert camera is not None
        session.add(
            CctvEvidence(
                report_id=uuid.UUID(report["report"]["id"]),
                camera_id=camera,
                rank=1,
                distance_m=20.0,
                status=EvidenceStatus.READY,
                window_start=now - timedelta(minutes=2),
                window_end=now,
                snapshot_key=f"cctv-snapshots/{code}/evidence.jpg",
                summary={"health": "FROZEN"},
                updated_at=now - timedelta(minutes=1),
            )
        )
        alert = CctvAlert(
            camera_id=camera,
            kind=AlertKind.CROWD,
            value=41,
            threshold=30,
            snapshot_key=f"cctv-snapshots/{code}/alert.jpg",
            created_at=now,
        )
        session.add(alert)
        later = CctvAlert(
            camera_id=camera, kind=AlertKind.CONGESTION, value=0.9, threshold=0.5, created_at=now + SECOND
        )
        session.add(later)

    # then the registry shows the health, the newest alert's time and the newest snapshot (the first alert's: the
    # later alert kept no picture)
    seen = await cameras(api, admin, code)
    assert seen["health"] == "FROZEN"
    assert datetime.fromisoformat(seen["lastAlertAt"]) == now + SECOND
    assert f"cctv-snapshots/{code}/alert.jpg" in seen["latestSnapshotUrl"]


async def cameras(api: Api, who: Citizen, code: str) -> dict[str, Any]:
    body = await api.gql(CAMERAS, token=who.token)
    assert "errors" not in body, body
    found: dict[str, Any] = next(c for c in body["data"]["cameras"] if c["code"] == code)
    return found


async def test_floodgates_come_with_their_siaga_levels_and_no_readings_yet(api: Api, admin: Citizen) -> None:
    # given a floodgate camera reading the gauge of a gate with its Siaga levels, a floodgate camera without a
    # gauge and a river camera
    suffix = uuid.uuid4().hex[:6]
    manggarai, other, river = f"pintu-air-manggarai-{suffix}", f"pintu-air-x-{suffix}", f"kali-{suffix}"
    for code, kind in ((manggarai, "FLOODGATE"), (other, "FLOODGATE"), (river, "RIVER")):
        body = await api.gql(SAVE_CAMERA, {"input": camera_input(code, kind=kind)}, token=admin.token)
        assert body["data"]["saveCamera"]["errors"] == []
    gate = {"name": f"Manggarai {suffix}", "siaga3Cm": 750, "siaga2Cm": 850, "siaga1Cm": 950}
    assert (await call(api, admin, SAVE_GATE, input=gate))["errors"] == []
    assert (await call(api, admin, SAVE_GAUGE, input=gauge_input(manggarai, gate["name"])))["errors"] == []

    # when the wall asks for the floodgates
    body = await api.gql(FLOODGATES, token=admin.token)

    # then both floodgates are there, the one with a gauge with its gate's levels, and nobody has readings yet
    gates = {g["camera"]["code"]: g for g in body["data"]["floodgateLevels"]}
    assert river not in gates
    assert gates[manggarai] == {
        "camera": {"code": manggarai, "kind": "FLOODGATE"},
        "siaga3Cm": 750.0,
        "siaga2Cm": 850.0,
        "siaga1Cm": 950.0,
        "levelCm": None,
        "siaga": None,
        "series": [],
    }
    assert (gates[other]["siaga3Cm"], gates[other]["series"]) == (None, [])
    # every other camera listed (other tests') is there for the gauge drawn on it, with its gate's levels
    assert all(g["siaga3Cm"] is not None for g in gates.values() if g["camera"]["kind"] != "FLOODGATE")


async def test_the_series_length_is_bounded(api: Api, admin: Citizen) -> None:
    body = await api.gql("query { floodgateLevels(hours: 169) { siaga } }", token=admin.token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_tiles_refuse_a_unit_filter_that_is_not_ids(api: Api) -> None:
    response = await api.client.get("/tiles/reports/16/52245/33792.pbf?units=tomang")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_FILTER")
