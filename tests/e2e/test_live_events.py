"""Live report events across API processes: a report filed through one reaches a subscriber of the other; a
report hidden through one leaves every public view of the other at once, map cache included; a subscriber that
could not be told everything is told so (RESYNC_REQUIRED) instead of silently missing events."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from domain.models import Role
from domain.resources import Resources
from tests.api.test_workflow import staff_member
from tests.e2e.live import Subscriber, notify
from tests.e2e.processes import running
from tests.factories import TOMANG, Api
from tests.public_views import CACHED, Seen, around, public_views, without_it

pytestmark = pytest.mark.e2e

SUBSCRIBE = """
subscription Live($bbox: BBoxInput, $categories: [String!]) {
  reportEvents(bbox: $bbox, categories: $categories) {
    kind report { id lat lon category status } previous { id lat lon }
  }
}
"""
AROUND_TOMANG = {"west": 106.77, "south": -6.19, "east": 106.81, "north": -6.15}
HIDE_REPORT = """
mutation Hide($id: ID!) { hideReport(reportId: $id, reason: "Iklan", hidden: true) { errors { code } } }
"""
SPOT = (-6.1671, 106.7958)  # in Tomang, apart from the other tests' reports
SMALL_QUEUE = 2


@pytest.fixture(scope="module")
def two_servers(database: None) -> Iterator[list[str]]:
    # Answers are kept an hour: one that leaves the map cache within this test was dropped, it did not expire.
    with running(apis=2, worker=False, JSC_MAP_CACHE_TTL_S="3600") as urls:
        yield urls


@pytest.fixture(scope="module")
def small_queue_server(database: None) -> Iterator[str]:
    with running(apis=1, worker=False, JSC_LIVE_QUEUE_SIZE=str(SMALL_QUEUE)) as urls:
        yield urls[0]


@pytest.fixture
async def api_a(two_servers: list[str]) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=two_servers[0], timeout=30) as client:
        yield Api(client)


@pytest.fixture
async def api_b(two_servers: list[str]) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=two_servers[1], timeout=30) as client:
        yield Api(client)


def report_event(report_id: str, *, lat: float, lon: float, category: str = "garbage") -> dict[str, Any]:
    """A CREATED event as the trigger writes it (migration 0014)."""
    created = datetime.now(UTC).isoformat()
    return {"kind": "CREATED", "id": report_id, "lat": lat, "lon": lon, "category": category, "status": "WAITING",
            "createdAt": created}  # fmt: skip


async def subscribe(
    host: str, resources: Resources, variables: dict[str, Any], *, canary_at: tuple[float, float] = TOMANG
) -> Subscriber:
    """A reportEvents subscriber whose subscription the server has registered."""
    subscriber = await Subscriber.open(
        host, SUBSCRIBE, variables, field="reportEvents", id_of=lambda event: str(event["report"]["id"])
    )
    category = (variables.get("categories") or ["garbage"])[0]
    await subscriber.registered(
        resources,
        "report_events",
        lambda canary_id: report_event(canary_id, lat=canary_at[0], lon=canary_at[1], category=category),
    )
    return subscriber


async def test_a_report_filed_through_one_process_reaches_a_subscriber_of_the_other(
    two_servers: list[str], api_a: Api, resources: Resources
) -> None:
    subscriber = await subscribe(two_servers[1], resources, {"bbox": AROUND_TOMANG})
    floods = await subscribe(two_servers[1], resources, {"categories": ["flood"]})
    citizen = await api_a.sign_up()

    report = (await api_a.create_report(citizen, category="garbage"))["report"]
    flood = (await api_a.create_report(citizen, category="flood"))["report"]

    events = await subscriber.events_until(report["id"])
    last = events[-1]
    assert last["kind"] == "CREATED"
    assert last["report"]["category"] == "garbage"
    assert last["report"]["status"] == "WAITING"
    assert (last["report"]["lat"], last["report"]["lon"]) == pytest.approx(TOMANG)
    assert last["previous"] is None
    # Events arrive in commit order: had the garbage report passed the flood filter, it would come first.
    assert [e["report"]["id"] for e in await floods.events_until(flood["id"])] == [flood["id"]]
    await subscriber.close()
    await floods.close()


async def test_confidential_and_faraway_reports_are_not_sent(
    two_servers: list[str], api_a: Api, resources: Resources
) -> None:
    subscriber = await subscribe(two_servers[1], resources, {"bbox": AROUND_TOMANG})
    citizen = await api_a.sign_up()

    await api_a.create_report(citizen, category="garbage", confidential=True)
    await api_a.create_report(citizen, category="garbage", lat=-6.30, lon=106.90)  # Jakarta Timur, outside the box
    marker = (await api_a.create_report(citizen, category="crime"))["report"]
    events = await subscriber.events_until(marker["id"])

    assert [e["report"]["id"] for e in events] == [marker["id"]]
    assert events[0]["report"]["lat"] == pytest.approx(round(TOMANG[0], 3))  # sensitive: rounded
    await subscriber.close()


async def silently_confidential(resources: Resources, report_id: str, confidential: bool) -> None:
    """Changes the report with the events trigger off (as cli/demo.py loads its batches): no process hears it."""
    async with resources.unit_of_work() as session:
        await session.execute(text("ALTER TABLE reports DISABLE TRIGGER reports_events_update"))
        await session.execute(
            text("UPDATE reports SET confidential = :c WHERE id = :id"), {"c": confidential, "id": report_id}
        )
        # The map tiles' change counting (a deferred trigger, migration 0022) runs now: ALTER TABLE refuses while
        # trigger events are pending.
        await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        await session.execute(text("ALTER TABLE reports ENABLE TRIGGER reports_events_update"))


async def test_a_report_hidden_through_one_process_leaves_every_public_view_of_the_other_at_once(
    two_servers: list[str], api_a: Api, api_b: Api, resources: Resources
) -> None:
    watching = await subscribe(two_servers[1], resources, {"bbox": around(*SPOT)}, canary_at=SPOT)
    citizen, admin = await api_a.sign_up(), await staff_member(api_a, resources, Role.ADMIN)
    filed_since = datetime.now(UTC) - timedelta(seconds=1)
    report = (await api_a.create_report(citizen, lat=SPOT[0], lon=SPOT[1]))["report"]["id"]
    # B's cache has heard of the new report before its subscriber does: the answers below are not dropped by it.
    assert [e["kind"] for e in await watching.events_until(report)] == ["CREATED"]
    views = functools.partial(
        public_views, api_b, report, lat=SPOT[0], lon=SPOT[1], category="garbage", filed_since=filed_since
    )
    shown = await views()  # asks every view of B once: the cached ones are kept now
    assert all(shown.listed.values()), shown
    # The cache is warm: with the report made confidential behind its back, B still answers from memory.
    await silently_confidential(resources, report, True)
    behind_its_back = await views()
    await silently_confidential(resources, report, False)
    assert behind_its_back == Seen(
        listed={view: view in CACHED for view in shown.listed},
        counted={view: n if view in CACHED else n - 1 for view, n in shown.counted.items()},
    )

    hidden = await api_a.gql(HIDE_REPORT, {"id": report}, token=admin.token)
    assert hidden["data"]["hideReport"]["errors"] == []

    # B's subscriber hears it; B's cache heard it first (api/live.py), so B's next answers are fresh.
    [removed] = await watching.events_until(report)
    assert removed == {
        "kind": "REMOVED",
        "report": {"id": report, "lat": pytest.approx(SPOT[0]), "lon": pytest.approx(SPOT[1]), "category": "garbage",
                   "status": "WAITING"},
        "previous": None,
    }  # fmt: skip
    assert await views() == without_it(shown)
    await watching.close()


async def resync_error(subscriber: Subscriber) -> dict[str, Any]:
    """The error that ends the stream (a `next` with errors, then `complete`), after the events queued before it."""
    while "errors" not in (message := await subscriber.message())["payload"]:
        assert message["type"] == "next", message
    assert message["type"] == "next", message
    [error] = message["payload"]["errors"]
    assert error["extensions"]["code"] == "RESYNC_REQUIRED", error
    assert await subscriber.message() == {"id": "1", "type": "complete"}
    return dict(error)


async def test_a_subscriber_that_falls_behind_is_told_to_resync(small_queue_server: str, resources: Resources) -> None:
    subscriber = await subscribe(small_queue_server, resources, {})
    burst = [report_event(f"00000000-0000-4000-8000-{n:012d}", lat=TOMANG[0], lon=TOMANG[1]) for n in range(200)]

    await notify(resources, "report_events", *burst)  # one commit: the process hears them in one go

    error = await resync_error(subscriber)
    assert "subscribe again" in error["message"]
    await subscriber.close()


async def test_subscribers_are_told_to_resync_when_the_listener_loses_its_connection(
    small_queue_server: str, resources: Resources
) -> None:
    subscriber = await subscribe(small_queue_server, resources, {})

    async with resources.unit_of_work() as session:
        killed = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'jsc-listen-report_events' AND datname = current_database()"
            )
        )
    assert killed >= 1  # this server's listener, and those of any other server of this module

    await resync_error(subscriber)
    await subscriber.close()
    # A new subscription is registered once the listener is back, and hears what is filed from then on.
    again = await subscribe(small_queue_server, resources, {})
    async with httpx.AsyncClient(base_url=small_queue_server, timeout=30) as client:
        api = Api(client)
        report = (await api.create_report(await api.sign_up()))["report"]["id"]
    assert [e["kind"] for e in await again.events_until(report)][-1] == "CREATED"
    await again.close()
