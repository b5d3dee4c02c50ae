"""Every view the public has of one report, asked the way an anonymous client asks: the map's GraphQL queries,
the tiles, Open311, `report(id)` and the community lists. Shared by the in-process moderation test and the test
across API processes with the map cache on; and the signal that a process has heard of a change."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.live import Subscription
from tests.factories import Api

MAP_POINTS = """
query Points($bbox: BBoxInput!) { mapReports(bbox: $bbox, zoom: 17) { points { id } } }
"""
MAP_CLUSTERS = """
query Clusters($bbox: BBoxInput!) { mapReports(bbox: $bbox, zoom: 14) { total } }
"""
IN_BBOX = "query List($bbox: BBoxInput!) { reportsInBbox(bbox: $bbox, first: 100) { id } }"
GEOJSON = "query Geo($bbox: BBoxInput!) { mapGeoJSON(bbox: $bbox, first: 100) }"
ONE = "query One($id: ID!) { report(id: $id) { id } }"
NEARBY = """
query Nearby($lat: Float!, $lon: Float!) {
  nearbyReports(lat: $lat, lon: $lon, radiusM: 50, first: 50) { edges { node { report { id } } } }
}
"""
SIMILAR = """
query Similar($lat: Float!, $lon: Float!, $category: String!) {
  similarReports(lat: $lat, lon: $lon, category: $category) { report { id } }
}
"""
STATS = "query Stats { cityStats(groupBy: CATEGORY) { key total } }"
# Listed views answer whether the report is in them; counted views how many reports they count around it.
LISTED = (
    "mapReports points",
    "reportsInBbox",
    "mapGeoJSON",
    "tile",
    "open311 requests",
    "open311 request",
    "report",
    "nearbyReports",
    "similarReports",
)
CACHED = (
    "mapReports points",
    "mapReports clusters",
    "reportsInBbox",
    "mapGeoJSON",
    "cityStats",
)  # api/live.py MapCache


@dataclass(frozen=True)
class Seen:
    listed: dict[str, bool]
    counted: dict[str, int]


def around(lat: float, lon: float, half_deg: float = 0.002) -> dict[str, float]:
    return {"west": lon - half_deg, "south": lat - half_deg, "east": lon + half_deg, "north": lat + half_deg}


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


async def _data(api: Api, query: str, **variables: Any) -> dict[str, Any]:
    body = await api.gql(query, variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def public_views(
    api: Api, report_id: str, *, lat: float, lon: float, category: str, filed_since: datetime
) -> Seen:
    """What each public view shows of the report filed at (lat, lon) in `category` after `filed_since`."""
    box = around(lat, lon)
    points = (await _data(api, MAP_POINTS, bbox=box))["mapReports"]["points"]
    clusters = (await _data(api, MAP_CLUSTERS, bbox=box))["mapReports"]["total"]
    listed = (await _data(api, IN_BBOX, bbox=box))["reportsInBbox"]
    features = (await _data(api, GEOJSON, bbox=box))["mapGeoJSON"]["features"]
    x, y = tile_of(lat, lon, 17)
    tile = await api.client.get(f"/tiles/reports/17/{x}/{y}.pbf")
    assert tile.status_code == 200, tile.text
    since = filed_since.isoformat().replace("+00:00", "Z")
    requests = await api.client.get(
        "/open311/v2/requests.json", params={"service_code": category, "start_date": since, "page_size": 100}
    )
    assert requests.status_code == 200, requests.text
    request = await api.client.get(f"/open311/v2/requests/{report_id}.json")
    assert request.status_code in (200, 404), request.text
    one = (await _data(api, ONE, id=report_id))["report"]
    nearby = (await _data(api, NEARBY, lat=lat, lon=lon))["nearbyReports"]["edges"]
    similar = (await _data(api, SIMILAR, lat=lat, lon=lon, category=category))["similarReports"]
    stats = {g["key"]: g["total"] for g in (await _data(api, STATS))["cityStats"]}
    return Seen(
        listed={
            "mapReports points": report_id in {p["id"] for p in points},
            "reportsInBbox": report_id in {r["id"] for r in listed},
            "mapGeoJSON": report_id in {f["id"] for f in features},
            "tile": report_id.encode() in tile.content,
            "open311 requests": report_id in {r["service_request_id"] for r in requests.json()},
            "open311 request": request.status_code == 200,
            "report": one is not None,
            "nearbyReports": report_id in {e["node"]["report"]["id"] for e in nearby},
            "similarReports": report_id in {s["report"]["id"] for s in similar},
        },
        counted={"mapReports clusters": clusters, "cityStats": stats.get(category, 0)},
    )


def without_it(seen: Seen) -> Seen:
    """`seen` as it must be once the report has left every public view."""
    return Seen(listed=dict.fromkeys(seen.listed, False), counted={view: n - 1 for view, n in seen.counted.items()})


async def next_about(events: Subscription, report_id: str) -> dict[str, Any]:
    """The next event about the report; by then this process's cache has heard it (it hears before subscribers)."""
    async with asyncio.timeout(10):
        while (event := await events.get())["id"] != report_id:
            pass
    return event
