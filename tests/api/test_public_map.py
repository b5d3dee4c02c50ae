"""The public map: clusters, points, GeoJSON, vector tiles and statistics, and what the public never sees."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from api.live import ReportEventHub
from domain.models import Role
from domain.resources import Resources
from tests.api.test_workflow import CHANGE_STATUS, TOMANG_OFFICE, staff_member
from tests.factories import TOMANG, Api, jpeg_with_gps
from tests.public_views import next_about, tile_of

JAKARTA = {"west": 106.6, "south": -6.45, "east": 107.05, "north": -6.05}
NEAR_TOMANG = {"west": TOMANG[1] - 0.01, "south": TOMANG[0] - 0.01, "east": TOMANG[1] + 0.01, "north": TOMANG[0] + 0.01}
# A point in Tomang with more decimals than the public may see for a sensitive category.
EXACT = (-6.1712345, 106.7912345)

MAP_REPORTS = """
query Map($bbox: BBoxInput!, $zoom: Int!, $filter: MapFilterInput) {
  mapReports(bbox: $bbox, zoom: $zoom, filter: $filter) {
    zoom total truncated clusters { lat lon count } points { id lat lon category status createdAt }
  }
}
"""

GEOJSON = """
query Geo($bbox: BBoxInput!, $first: Int!, $filter: MapFilterInput) {
  mapGeoJSON(bbox: $bbox, first: $first, filter: $filter)
}
"""

IN_BBOX = """
query List($bbox: BBoxInput!, $first: Int!) { reportsInBbox(bbox: $bbox, first: $first) { id lat lon category } }
"""

STATS = """
query Stats($groupBy: StatsGroupBy!) { cityStats(groupBy: $groupBy) { key name total byStatus { status count } } }
"""


@pytest.fixture(scope="module")
async def seeded(api: Api) -> dict[str, str]:
    """One report of each kind the public map must treat differently."""
    citizen = await api.sign_up()
    made = {
        "public": await api.create_report(citizen, category="garbage", lat=EXACT[0], lon=EXACT[1]),
        "sensitive": await api.create_report(citizen, category="crime", lat=EXACT[0], lon=EXACT[1]),
        "confidential": await api.create_report(
            citizen, category="garbage", lat=EXACT[0], lon=EXACT[1], confidential=True
        ),
        "confidential_category": await api.create_report(citizen, category="terrorism", lat=EXACT[0], lon=EXACT[1]),
    }
    ids = {name: payload["report"]["id"] for name, payload in made.items()}
    ids["token"] = citizen.token
    return ids


async def gql(api: Api, query: str, **variables: Any) -> dict[str, Any]:
    body = await api.gql(query, variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def public_count_in(resources: Resources, bbox: dict[str, float]) -> int:
    async with resources.unit_of_work() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM reports WHERE NOT confidential"
                " AND location && ST_MakeEnvelope(:west, :south, :east, :north, 4326)"
            ),
            bbox,
        )
    return int(found or 0)


async def test_points_leave_out_confidential_reports_and_round_sensitive_ones(api: Api, seeded: dict[str, str]) -> None:
    view = (await gql(api, MAP_REPORTS, bbox=NEAR_TOMANG, zoom=17))["mapReports"]

    by_id = {p["id"]: p for p in view["points"]}
    assert seeded["public"] in by_id
    assert (by_id[seeded["public"]]["lat"], by_id[seeded["public"]]["lon"]) == pytest.approx(EXACT)
    sensitive = by_id[seeded["sensitive"]]
    assert (sensitive["lat"], sensitive["lon"]) == pytest.approx((-6.171, 106.791))
    assert seeded["confidential"] not in by_id
    assert seeded["confidential_category"] not in by_id
    listed = {p["id"] for p in (await gql(api, IN_BBOX, bbox=NEAR_TOMANG, first=100))["reportsInBbox"]}
    assert seeded["public"] in listed
    assert seeded["confidential"] not in listed


async def test_clusters_count_every_public_report_whichever_way_they_are_computed(
    api: Api, seeded: dict[str, str], resources: Resources
) -> None:
    expected = await public_count_in(resources, JAKARTA)

    from_cells = (await gql(api, MAP_REPORTS, bbox=JAKARTA, zoom=11))["mapReports"]
    from_reports = (await gql(api, MAP_REPORTS, bbox=JAKARTA, zoom=11, filter={"since": "2000-01-01T00:00:00Z"}))[
        "mapReports"
    ]

    assert from_cells["points"] == []
    assert from_cells["total"] == sum(c["count"] for c in from_cells["clusters"]) == expected
    assert from_reports["total"] == expected
    assert len(from_cells["clusters"]) == len(from_reports["clusters"])
    # No cluster reveals the exact point of the sensitive report: at most 3 decimals for a cluster of it alone.
    alone = (await gql(api, MAP_REPORTS, bbox=NEAR_TOMANG, zoom=14, filter={"categories": ["crime"]}))["mapReports"][
        "clusters"
    ]
    assert all(round(c["lat"], 3) == pytest.approx(c["lat"]) for c in alone if c["count"] == 1)


async def test_cluster_counts_follow_status_changes(
    api: Api, app: Starlette, seeded: dict[str, str], resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    citizen = await api.sign_up()
    in_progress = {"categories": ["fallen-tree"], "statuses": ["IN_PROGRESS"]}
    async with hub.subscribe() as events:
        report_id = (await api.create_report(citizen, category="fallen-tree"))["report"]["id"]
        await next_about(events, report_id)
        before = (await gql(api, MAP_REPORTS, bbox=JAKARTA, zoom=10, filter=in_progress))["mapReports"]["total"]

        moved = await api.gql(
            CHANGE_STATUS, {"input": {"reportId": report_id, "to": "IN_PROGRESS"}}, token=officer.token
        )
        # The map's cache hears of the change by NOTIFY, before any subscriber of this process does.
        assert (await next_about(events, report_id))["kind"] == "STATUS_CHANGED"

    assert moved["data"]["changeReportStatus"]["errors"] == []
    after = (await gql(api, MAP_REPORTS, bbox=JAKARTA, zoom=10, filter=in_progress))["mapReports"]["total"]
    assert after == before + 1


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 3.0) -> bool:
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_geojson_is_a_feature_collection_of_public_reports(api: Api, seeded: dict[str, str]) -> None:
    collection = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]

    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    public = features[seeded["public"]]
    assert public["geometry"]["type"] == "Point"
    assert public["geometry"]["coordinates"] == pytest.approx([EXACT[1], EXACT[0]])
    assert public["properties"]["category"] == "garbage"
    assert public["properties"]["status"] == "WAITING"
    assert features[seeded["sensitive"]]["geometry"]["coordinates"] == pytest.approx([106.791, -6.171])
    assert seeded["confidential"] not in features
    assert seeded["confidential_category"] not in features
    assert all(set(f["properties"]) == {"category", "status", "createdAt"} for f in collection["features"])


async def test_report_tiles_have_etags_and_leave_out_confidential_reports(api: Api, seeded: dict[str, str]) -> None:
    x, y = tile_of(*EXACT, 17)
    client: httpx.AsyncClient = api.client

    response = await client.get(f"/tiles/reports/17/{x}/{y}.pbf")
    again = await client.get(f"/tiles/reports/17/{x}/{y}.pbf", headers={"If-None-Match": response.headers["etag"]})
    city = await client.get("/tiles/reports/10/{}/{}.pbf".format(*tile_of(*TOMANG, 10)))
    filtered = await client.get(f"/tiles/reports/17/{x}/{y}.pbf", params={"categories": "crime"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert response.headers["cache-control"] == "public, max-age=15"
    assert seeded["public"].encode() in response.content
    assert seeded["sensitive"].encode() in response.content
    assert seeded["confidential"].encode() not in response.content
    assert seeded["confidential_category"].encode() not in response.content
    assert again.status_code == 304
    assert city.status_code == 200
    assert b"reports" in city.content
    assert b"count" in city.content
    assert seeded["public"].encode() not in filtered.content
    assert seeded["sensitive"].encode() in filtered.content


async def test_the_kelurahan_base_layer_and_bad_tiles(api: Api) -> None:
    client: httpx.AsyncClient = api.client
    x, y = tile_of(*TOMANG, 13)

    base = await client.get(f"/tiles/kelurahan/13/{x}/{y}.pbf")
    outside = await client.get("/tiles/reports/3/1/1.pbf")
    impossible = await client.get("/tiles/reports/2/7/1.pbf")
    bad_status = await client.get(f"/tiles/reports/13/{x}/{y}.pbf", params={"statuses": "NOPE"})

    assert base.status_code == 200
    assert b"Tomang" in base.content
    assert base.headers["cache-control"] == "public, max-age=86400"
    assert outside.status_code == 200
    assert impossible.status_code == 400
    assert impossible.json()["error"]["code"] == "INVALID_TILE"
    assert bad_status.status_code == 400


async def test_city_stats_count_public_reports_by_area_and_category(
    api: Api, seeded: dict[str, str], resources: Resources
) -> None:
    by_kota = {g["key"]: g for g in (await gql(api, STATS, groupBy="KOTA"))["cityStats"]}
    by_category = {g["key"]: g for g in (await gql(api, STATS, groupBy="CATEGORY"))["cityStats"]}
    async with resources.unit_of_work() as session:
        public_in_barat = await session.scalar(
            text(
                "SELECT count(*) FROM reports r JOIN kota k ON k.id = r.kota_id"
                " WHERE k.code = '31.73' AND NOT r.confidential"
            )
        )

    barat = by_kota["31.73"]
    assert barat["name"] == "Jakarta Barat"
    assert barat["total"] == public_in_barat
    assert barat["total"] == sum(s["count"] for s in barat["byStatus"])
    assert "terrorism" not in by_category
    assert by_category["crime"]["total"] >= 1


async def test_confidential_reports_are_hidden_from_lookups_but_not_from_their_reporter_or_staff(
    api: Api, seeded: dict[str, str], resources: Resources
) -> None:
    lookup = "query($id: ID!) { report(id: $id) { id confidential } }"
    stranger = await api.sign_up()
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)

    public = await api.gql(lookup, {"id": seeded["confidential"]})
    other = await api.gql(lookup, {"id": seeded["confidential"]}, token=stranger.token)
    own = await api.gql(lookup, {"id": seeded["confidential"]}, token=seeded["token"])
    staff = await api.gql(lookup, {"id": seeded["confidential_category"]}, token=officer.token)

    assert public["data"]["report"] is None
    assert other["data"]["report"] is None
    assert own["data"]["report"] == {"id": seeded["confidential"], "confidential": True}
    assert staff["data"]["report"]["confidential"] is True


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"bbox": {"west": 100.0, "south": -10.0, "east": 110.0, "north": 0.0}, "zoom": 10}, "BBOX_TOO_LARGE"),
        ({"bbox": {"west": 107.0, "south": -6.3, "east": 106.9, "north": -6.2}, "zoom": 10}, "INVALID_BBOX"),
        ({"bbox": {**NEAR_TOMANG, "north": 95.0}, "zoom": 10}, "INVALID_BBOX"),
        ({"bbox": NEAR_TOMANG, "zoom": 23}, "INVALID_ZOOM"),
    ],
)
async def test_map_caps_are_bad_user_input(api: Api, variables: dict[str, Any], reason: str) -> None:
    body = await api.gql(MAP_REPORTS, variables)

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["reason"] == reason


@pytest.mark.parametrize("unit_id", [str(2**31), "-1", "x"])
async def test_a_unit_id_no_unit_can_have_is_bad_user_input(api: Api, unit_id: str) -> None:
    body = await api.gql(MAP_REPORTS, {"bbox": NEAR_TOMANG, "zoom": 10, "filter": {"unitIds": [unit_id]}})

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_first_is_capped_at_100(api: Api) -> None:
    body = await api.gql(GEOJSON, {"bbox": NEAR_TOMANG, "first": 101})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_photo_on_the_map_detail_is_only_the_processed_one(api: Api, seeded: dict[str, str]) -> None:
    citizen = await api.sign_up()
    key = await api.upload_photo(citizen, jpeg_with_gps())
    report_id = (await api.create_report(citizen, photo_keys=[key]))["report"]["id"]

    public = await api.gql("query($id: ID!) { report(id: $id) { photos { id url } } }", {"id": report_id})

    assert public["data"]["report"]["photos"] == []  # not processed yet: nothing to show


async def test_the_newest_reports_of_a_box_are_those_plain_sql_finds_ties_included(
    api: Api, resources: Resources
) -> None:
    # given: reports of their own box (Menteng), two of them filed at the same instant, one confidential
    centre = (-6.1960, 106.8420)
    box = {"west": centre[1] - 0.001, "south": centre[0] - 0.001, "east": centre[1] + 0.001, "north": centre[0] + 0.001}
    citizen = await api.sign_up()
    made = [
        (await api.create_report(citizen, lat=centre[0], lon=centre[1] + i * 0.0001, confidential=i == 2))["report"][
            "id"
        ]
        for i in range(6)
    ]
    async with resources.unit_of_work() as session:
        await session.execute(
            text("UPDATE reports SET created_at = (SELECT created_at FROM reports WHERE id = :a) WHERE id = :b"),
            {"a": made[4], "b": made[5]},
        )
        expected = [
            str(i)
            for i in await session.scalars(
                text(
                    "SELECT id FROM reports WHERE NOT confidential"
                    " AND location && ST_MakeEnvelope(:west, :south, :east, :north, 4326)"
                    " ORDER BY created_at DESC, id DESC"
                ),
                box,
            )
        ]
    assert len(expected) == 5

    # when
    collection = (await gql(api, GEOJSON, bbox=box, first=3))["mapGeoJSON"]
    listed = (await gql(api, IN_BBOX, bbox=box, first=3))["reportsInBbox"]
    everything = (await gql(api, IN_BBOX, bbox=box, first=100))["reportsInBbox"]

    # then: the same reports in the same order, the tie broken the same way, through both queries
    assert [f["id"] for f in collection["features"]] == expected[:3]
    assert [p["id"] for p in listed] == expected[:3]
    assert [p["id"] for p in everything] == expected
