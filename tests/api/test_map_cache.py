"""The public map's cache: repeated questions are answered from memory until a report event hits their box."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.applications import Starlette

from api.live import MapCache, ReportEventHub
from domain.resources import Resources
from tests.api.test_public_map import GEOJSON, NEAR_TOMANG, eventually, gql
from tests.factories import Api

FAR_AWAY = {"west": 106.88, "south": -6.32, "east": 106.92, "north": -6.28}  # Jakarta Timur


async def test_answers_are_reused_until_a_report_lands_in_the_box(api: Api, app: Starlette) -> None:
    cache: MapCache = app.state.map_cache
    assert await eventually(lambda: _listening(app))
    first = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    hits = cache.hits

    again = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
    elsewhere = (await gql(api, GEOJSON, bbox=FAR_AWAY, first=100))["mapGeoJSON"]

    assert again == first
    assert cache.hits == hits + 1
    citizen = await api.sign_up()
    report_id = (await api.create_report(citizen))["report"]["id"]  # in Tomang

    async def shows_it() -> bool:
        latest = (await gql(api, GEOJSON, bbox=NEAR_TOMANG, first=100))["mapGeoJSON"]
        return bool(latest["features"] and latest["features"][0]["id"] == report_id)

    assert await eventually(shows_it)
    hits = cache.hits
    assert (await gql(api, GEOJSON, bbox=FAR_AWAY, first=100))["mapGeoJSON"] == elsewhere
    assert cache.hits == hits + 1  # an event in Tomang leaves Jakarta Timur's answer alone


async def _listening(app: Starlette) -> bool:
    return bool(app.state.live.listening.is_set())


async def test_the_listener_comes_back_after_its_connection_is_killed(
    api: Api, app: Starlette, resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    cache: MapCache = app.state.map_cache
    assert await eventually(lambda: _listening(app))
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
    async with hub.subscribe() as queue:
        citizen = await api.sign_up()
        report_id = (await api.create_report(citizen))["report"]["id"]
        event = await asyncio.wait_for(queue.get(), 5)
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
