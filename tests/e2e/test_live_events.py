"""Live report events across API processes: a report filed through one reaches a subscriber of the other."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.processes import running
from tests.factories import TOMANG, Api

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

SUBSCRIBE = """
subscription Live($bbox: BBoxInput, $categories: [String!]) {
  reportEvents(bbox: $bbox, categories: $categories) { kind report { id lat lon category status } }
}
"""
AROUND_TOMANG = {"west": 106.77, "south": -6.19, "east": 106.81, "north": -6.15}


@pytest.fixture(scope="module")
def two_servers(database: None) -> Iterator[list[str]]:
    with running(apis=2, worker=False) as urls:
        yield [url.removeprefix("http://") for url in urls]


@pytest.fixture
async def api_a(two_servers: list[str]) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=f"http://{two_servers[0]}", timeout=30) as client:
        yield Api(client)


class Subscriber:
    """A graphql-transport-ws client: connection_init, subscribe, then the `next` messages."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def open(cls, host: str, variables: dict[str, Any]) -> Subscriber:
        socket = await websockets.connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}})
        )
        return cls(socket)

    async def events_until(self, report_id: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Every event received until one about `report_id` (which ends the list)."""
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout_s):
            while True:
                message = json.loads(await self.socket.recv())
                assert message["type"] == "next", message
                event = message["payload"]["data"]["reportEvents"]
                seen.append(event)
                if event["report"]["id"] == report_id:
                    return seen

    async def nothing_for(self, seconds: float) -> list[dict[str, Any]]:
        try:
            async with asyncio.timeout(seconds):
                return [json.loads(await self.socket.recv())]
        except TimeoutError:
            return []


async def test_a_report_filed_through_one_process_reaches_a_subscriber_of_the_other(
    two_servers: list[str], api_a: Api
) -> None:
    subscriber = await Subscriber.open(two_servers[1], {"bbox": AROUND_TOMANG})
    others = await Subscriber.open(two_servers[1], {"categories": ["flood"]})
    await asyncio.sleep(0.5)  # the subscriptions are registered
    citizen = await api_a.sign_up()

    report = (await api_a.create_report(citizen, category="garbage"))["report"]
    events = await subscriber.events_until(report["id"])

    last = events[-1]
    assert last["kind"] == "CREATED"
    assert last["report"]["category"] == "garbage"
    assert last["report"]["status"] == "WAITING"
    assert (last["report"]["lat"], last["report"]["lon"]) == pytest.approx(TOMANG)
    assert await others.nothing_for(1.0) == []  # not a flood
    await subscriber.socket.close()
    await others.socket.close()


async def test_confidential_and_faraway_reports_are_not_sent(two_servers: list[str], api_a: Api) -> None:
    subscriber = await Subscriber.open(two_servers[1], {"bbox": AROUND_TOMANG})
    await asyncio.sleep(0.5)
    citizen = await api_a.sign_up()

    await api_a.create_report(citizen, category="garbage", confidential=True)
    await api_a.create_report(citizen, category="garbage", lat=-6.30, lon=106.90)  # Jakarta Timur, outside the box
    marker = (await api_a.create_report(citizen, category="crime"))["report"]
    events = await subscriber.events_until(marker["id"])

    assert [e["report"]["id"] for e in events] == [marker["id"]]
    assert events[0]["report"]["lat"] == pytest.approx(round(TOMANG[0], 3))  # sensitive: rounded
    await subscriber.socket.close()
