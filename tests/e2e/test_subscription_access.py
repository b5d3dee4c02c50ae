"""A staff subscription (cctvAlertRaised) lasts only as long as the token that opened it counts: it ends with
UNAUTHENTICATED and a reason when the token expires, and when an admin closes the account (heard by the API
process through NOTIFY account_changes, migration 0013)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from domain.models import AlertKind, Camera, CameraKind, CameraSource, CctvAlert, Role, Unit
from domain.resources import Resources
from domain.security import AccessClaims, issue_access_token
from domain.settings import Settings
from tests.api.test_workflow import TOMANG_OFFICE, staff_member
from tests.e2e.processes import running
from tests.factories import Api

pytestmark = pytest.mark.e2e

SUBSCRIBE = "subscription { cctvAlertRaised { kind cameraCode } }"
CLOSE = """
mutation Close($userId: ID!, $reason: String!) {
  closeStaffAccount(userId: $userId, reason: $reason) { errors { code } }
}
"""


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running(apis=1, worker=False) as urls:
        yield urls[0]


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


async def subscribe(server: str, token: str) -> websockets.ClientConnection:
    socket = await websockets.connect(
        f"ws://{server.removeprefix('http://')}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Bearer {token}"},
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    return socket


async def until_complete(socket: websockets.ClientConnection, within_s: float = 60.0) -> list[dict[str, Any]]:
    """Every message up to and including the server's `complete` of the subscription."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(within_s):
        while not messages or messages[-1]["type"] != "complete":
            messages.append(json.loads(await socket.recv()))
    return messages


def ending(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The extensions of the errors the stream ended with."""
    *_, last_result, complete = messages
    assert complete == {"id": "1", "type": "complete"}, messages
    assert last_result["type"] == "next", messages
    return [error["extensions"] for error in last_result["payload"]["errors"]]


async def a_camera(resources: Resources) -> int:
    async with resources.unit_of_work() as session:
        camera = Camera(
            code=f"acc-{uuid.uuid4().hex[:6]}", name="Tomang Raya", operator="Dishub", kind=CameraKind.PUBLIC_SPACE,
            location=from_shape(Point(106.7896, -6.1693), srid=4326), heading_deg=0, fov_deg=90, range_m=100,
            source_kind=CameraSource.ARCHIVE, source="cctv/acc",
        )  # fmt: skip
        session.add(camera)
        await session.flush()
        return camera.id


async def until_live(socket: websockets.ClientConnection, resources: Resources) -> None:
    """Raises alerts until the subscription passes one on: it is registered and running then."""
    camera_id = await a_camera(resources)
    for _ in range(30):
        async with resources.unit_of_work() as session:
            session.add(CctvAlert(camera_id=camera_id, kind=AlertKind.CROWD, value=41, threshold=30))
        try:
            async with asyncio.timeout(1.0):
                message = json.loads(await socket.recv())
        except TimeoutError:
            continue
        assert message["type"] == "next", message
        assert message["payload"]["data"]["cctvAlertRaised"]["kind"] == "CROWD", message
        return
    pytest.fail("the subscription passed on none of 30 alerts")


async def test_a_subscription_ends_when_the_token_that_opened_it_expires(
    server: str, api: Api, resources: Resources, settings: Settings
) -> None:
    # given an officer's token with about two seconds left
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    async with resources.unit_of_work() as session:
        unit_id = await session.scalar(select(Unit.id).where(Unit.code == TOMANG_OFFICE))
    issued_at = datetime.now(UTC) - timedelta(seconds=settings.access_token_ttl_s - 2)
    token = issue_access_token(settings, AccessClaims(uuid.UUID(officer.user_id), Role.OFFICER, unit_id), issued_at)

    # when
    socket = await subscribe(server, token)
    messages = await until_complete(socket)

    # then
    assert ending(messages) == [{"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}]
    await socket.close()


async def test_a_subscription_ends_when_its_account_is_closed(server: str, api: Api, resources: Resources) -> None:
    # given an officer's running subscription
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    admin = await staff_member(api, resources, Role.ADMIN)
    socket = await subscribe(server, officer.token)
    await until_live(socket, resources)

    # when
    closed = await api.gql(CLOSE, {"userId": officer.user_id, "reason": "Akun bocor"}, token=admin.token)

    # then
    assert closed["data"]["closeStaffAccount"]["errors"] == [], closed
    messages = await until_complete(socket)
    assert ending(messages) == [{"code": "UNAUTHENTICATED", "reason": "ACCOUNT_CLOSED"}]
    await socket.close()
