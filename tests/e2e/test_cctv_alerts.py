"""The command center's live CCTV alerts: an alert stored by any process reaches the staff subscribers of an API
process (NOTIFY on cctv_alerts, migration 0008); a citizen cannot subscribe."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from domain.models import AlertKind, Camera, CameraKind, CameraSource, CctvAlert, Role
from domain.resources import Resources
from tests.api.test_workflow import staff_member
from tests.e2e.processes import running
from tests.factories import Api

pytestmark = pytest.mark.e2e

SUBSCRIBE = "subscription { cctvAlertRaised(kinds: [CROWD]) { kind value threshold cameraCode } }"


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


async def next_message(socket: websockets.ClientConnection, timeout_s: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        message: dict[str, Any] = json.loads(await socket.recv())
        return message


async def raise_alerts(resources: Resources, code: str) -> None:
    """Alerts as the cctv.collect job stores them (a worker process, in production)."""
    async with resources.unit_of_work() as session:
        camera = Camera(
            code=code, name="Bundaran HI", operator="Dishub", kind=CameraKind.PUBLIC_SPACE,
            location=from_shape(Point(106.8229, -6.1950), srid=4326), heading_deg=0, fov_deg=90, range_m=100,
            source_kind=CameraSource.ARCHIVE, source=f"cctv/{code}",
        )  # fmt: skip
        session.add(camera)
        await session.flush()
        session.add(CctvAlert(camera_id=camera.id, kind=AlertKind.CONGESTION, value=0.9, threshold=0.5))
        session.add(CctvAlert(camera_id=camera.id, kind=AlertKind.CROWD, value=41, threshold=30))


async def test_staff_get_crowd_alerts_live_and_citizens_cannot_subscribe(
    server: str, api: Api, resources: Resources
) -> None:
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    citizen = await api.sign_up()
    watching = await subscribe(server, officer.token)
    refused = await subscribe(server, citizen.token)
    await asyncio.sleep(0.5)  # the subscriptions are registered
    code = f"hi-{uuid.uuid4().hex[:6]}"

    await raise_alerts(resources, code)

    message = await next_message(watching)
    assert message["type"] == "next", message
    assert message["payload"]["data"]["cctvAlertRaised"] == {
        "kind": "CROWD", "value": 41.0, "threshold": 30.0, "cameraCode": code,
    }  # fmt: skip
    denied = await next_message(refused)
    assert denied["type"] in {"error", "next"}, denied
    errors = denied["payload"] if denied["type"] == "error" else denied["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await watching.close()
    await refused.close()
