"""The public map's cache: repeated questions are answered from memory until a report event hits their box."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from api.live import EventsMissed, MapCache, ReportEventHub, Subscription
from domain.resources import Resources
from tests.api.test_public_map import EXACT, GEOJSON, IN_BBOX, NEAR_TOMANG, STATS, eventually, gql
from tests.factories import TOMANG, Api
from tests.public_views import next_about

FAR_AWAY = {"west": 106.88, "south": -6.32, "east": 106.92, "north": -6.28}  # Jakarta Timur


async def test_answers_are_reused_until_a_report_lands_in_the_box(api: Api, app: Starlette) -> None:
    cache: MapCache = app.state.map_cache
    hub: ReportEventHub = app.state.live
    await asyncio.wait_for(hub.listening.wait(), 10)
    first = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    hits = cache.hits

    again = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    elsewhere = (await gql(api, GEOJSON, bbox=FAR_AWAY, first=100))["mapGeoJSON"]

    assert again == first
    assert cache.hits == hits + 1
    citizen = await api.sign_up()
    async with hub.subscribe() as events:
        report_id = (await api.create_report(citizen))["report"]["id"]  # in Tomang
        await next_about(events, report_id)

    latest = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    assert latest["features"][0]["id"] == report_id
    hits = cache.hits
    assert (await gql(api, GEOJSON, bbox=FAR_AWAY, first=100))["mapGeoJSON"] == elsewhere
    assert cache.hits == hits + 1  # an event in Tomang leaves Jakarta Timur's answer alone


async def test_city_stats_are_reused_until_a_report_changes_anywhere(
    api: Api, app: Starlette, resources: Resources
) -> None:
    cache: MapCache = app.state.map_cache
    hub: ReportEventHub = app.state.live
    await asyncio.wait_for(hub.listening.wait(), 10)
    since = "query($g: StatsGroupBy!, $s: DateTime) { cityStats(groupBy: $g, since: $s) { key total } }"
    citizen = await api.sign_up()
    async with hub.subscribe() as events:
        report_id = (await api.create_report(citizen, category="garbage"))["report"]["id"]
        await next_about(events, report_id)
    before = {g["key"]: g for g in (await gql(api, STATS, groupBy="CATEGORY"))["cityStats"]}
    hits = cache.hits
    again = {g["key"]: g for g in (await gql(api, STATS, groupBy="CATEGORY"))["cityStats"]}
    assert again == before
    assert cache.hits == hits + 1
    # A period is read from the reports' dates every time: asked twice, neither is served from the cache.
    misses = cache.misses
    for _ in range(2):
        await gql(api, since, g="CATEGORY", s="2000-01-01T00:00:00Z")
    assert (cache.hits, cache.misses) == (hits + 1, misses)

    async with hub.subscribe() as events:
        async with resources.unit_of_work() as session:
            await session.execute(text("UPDATE reports SET status = 'IN_PROGRESS' WHERE id = :id"), {"id": report_id})
        await next_about(events, report_id)
        filed = (await api.create_report(citizen, category="garbage"))["report"]["id"]
        await next_about(events, filed)

    after = {g["key"]: g for g in (await gql(api, STATS, groupBy="CATEGORY"))["cityStats"]}
    counts = {s["status"]: s["count"] for s in after["garbage"]["byStatus"]}
    earlier = {s["status"]: s["count"] for s in before["garbage"]["byStatus"]}
    assert after["garbage"]["total"] == before["garbage"]["total"] + 1
    assert counts["IN_PROGRESS"] == earlier.get("IN_PROGRESS", 0) + 1
    assert counts["WAITING"] == earlier["WAITING"]  # one left WAITING, one arrived


async def test_the_listener_comes_back_after_its_connection_is_killed(
    api: Api, app: Starlette, resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    cache: MapCache = app.state.map_cache
    await asyncio.wait_for(hub.listening.wait(), 10)
    await gql(api, GEOJSON, bbox=FAR_AWAY, first=100)  # something cached
    generation = hub.generation
    async with resources.unit_of_work() as session:
        killed = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'jsc-listen-report_events' AND datname = current_database()"
            )
        )
    assert killed == 1

    async def reconnected() -> bool:
        return hub.listening.is_set() and hub.generation >= generation + 2

    assert await eventually(reconnected, within_s=10)
    hits = cache.hits
    await gql(api, GEOJSON, bbox=FAR_AWAY, first=100)
    assert cache.hits == hits  # emptied on reconnect: events may have been missed meanwhile
    async with hub.subscribe() as events:
        citizen = await api.sign_up()
        report_id = (await api.create_report(citizen))["report"]["id"]
        event = await asyncio.wait_for(events.get(), 5)
    assert event["id"] == report_id


async def test_expired_answers_are_dropped_when_the_next_one_is_stored() -> None:
    hub = ReportEventHub("postgresql+asyncpg://jsc:x@127.0.0.1:1/unused")  # never started: no connection
    hub.listening.set()
    now = [1000.0]
    cache = MapCache(hub, max_entries=512, ttl_s=30.0, clock=lambda: now[0])
    box = (106.8, -6.2, 106.9, -6.1)

    async def answer() -> str:
        return "answer"

    await cache.get_or_compute("a", box, answer)
    now[0] += 10
    await cache.get_or_compute("b", box, answer)
    now[0] += 21  # a has expired, b has not
    await cache.get_or_compute("a", box, answer)  # computed again, now the newest
    assert len(cache) == 2
    now[0] += 10  # b has expired, the new a has not
    await cache.get_or_compute("c", box, answer)

    assert len(cache) == 2  # a and c: b went when c was stored, not when 512 answers had piled up
    misses = cache.misses
    await cache.get_or_compute("a", box, answer)
    assert cache.misses == misses


async def test_a_report_moved_elsewhere_leaves_the_answers_of_its_old_box(
    api: Api, app: Starlette, resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    citizen = await api.sign_up()
    async with hub.subscribe() as events:
        report_id = (await api.create_report(citizen))["report"]["id"]  # in Tomang
        assert (await next_about(events, report_id))["kind"] == "CREATED"
    in_tomang = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    in_timur = (await gql(api, GEOJSON, bbox=FAR_AWAY, first=100))["mapGeoJSON"]
    assert report_id in {f["id"] for f in in_tomang["features"]}
    assert report_id not in {f["id"] for f in in_timur["features"]}

    # An operator corrects the point (no use case moves one): the trigger tells every process all the same.
    async with hub.subscribe() as events:
        async with resources.unit_of_work() as session:
            await session.execute(
                text("UPDATE reports SET location = ST_SetSRID(ST_MakePoint(106.90, -6.30), 4326) WHERE id = :id"),
                {"id": report_id},
            )
        moved = await next_about(events, report_id)

    assert (moved["kind"], moved["lon"], moved["lat"]) == ("UPDATED", 106.90, -6.30)
    assert (moved["previous"]["lon"], moved["previous"]["lat"]) == pytest.approx((TOMANG[1], TOMANG[0]))
    in_tomang = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    in_timur = (await gql(api, GEOJSON, bbox=FAR_AWAY, first=100))["mapGeoJSON"]
    assert report_id not in {f["id"] for f in in_tomang["features"]}
    assert report_id in {f["id"] for f in in_timur["features"]}


async def test_a_status_change_is_announced_as_such_and_a_unit_change_as_an_update(
    api: Api, app: Starlette, resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    citizen = await api.sign_up()
    other_unit = "UPDATE reports SET unit_id = (SELECT min(u.id) FROM units u WHERE u.id <> reports.unit_id)"

    async with hub.subscribe() as events:
        report_id = (await api.create_report(citizen))["report"]["id"]
        assert (await next_about(events, report_id))["kind"] == "CREATED"
        for change in (
            "UPDATE reports SET status = 'IN_PROGRESS'",
            other_unit,
            f"{other_unit}, status = 'DISPOSITION'",
        ):
            async with resources.unit_of_work() as session:
                await session.execute(text(f"{change} WHERE id = :id"), {"id": report_id})
        kinds = [(await next_about(events, report_id))["kind"] for _ in range(3)]

    # The unit is not in the public payload, but the map's unitIds filter answers differently now.
    assert kinds == ["STATUS_CHANGED", "UPDATED", "STATUS_CHANGED"]


async def test_a_category_made_sensitive_empties_the_cache_and_ends_every_stream(
    api: Api, app: Starlette, resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    citizen = await api.sign_up()
    async with hub.subscribe() as events:
        report_id = (await api.create_report(citizen, category="beggars", lat=EXACT[0], lon=EXACT[1]))["report"]["id"]
        assert (await next_about(events, report_id))["kind"] == "CREATED"
    exact = {
        p["id"]: (p["lat"], p["lon"]) for p in (await gql(api, IN_BBOX, bbox=NEAR_TOMANG, first=100))["reportsInBbox"]
    }
    assert exact[report_id] == pytest.approx(EXACT)

    async with hub.subscribe() as events:
        try:
            await _set_sensitive(resources, "beggars", True)
            with pytest.raises(EventsMissed):
                await _read_to_the_end(events)
            rounded = (await gql(api, IN_BBOX, bbox=NEAR_TOMANG, first=100))["reportsInBbox"]
        finally:
            await _set_sensitive(resources, "beggars", False)

    point = next((p["lat"], p["lon"]) for p in rounded if p["id"] == report_id)
    assert point == pytest.approx((round(EXACT[0], 3), round(EXACT[1], 3)))


async def _set_sensitive(resources: Resources, category: str, sensitive: bool) -> None:
    async with resources.unit_of_work() as session:
        await session.execute(
            text("UPDATE categories SET sensitive = :s WHERE code = :c"), {"s": sensitive, "c": category}
        )


async def _read_to_the_end(events: Subscription) -> None:
    async with asyncio.timeout(10):
        while True:
            await events.get()
