"""The command center's live CCTV alerts: an alert stored by any process reaches the staff subscribers of an API
process (NOTIFY on cctv_alerts, migration 0008); a citizen cannot subscribe."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from domain.models import AlertKind, Camera, CameraKind, CameraSource, CctvAlert, Role
from domain.resources import Resources
from tests.api.test_workflow import staff_member
from tests.e2e.live import Subscriber
from tests.e2e.processes import running
from tests.factories import Api

pytestmark = pytest.mark.e2e

SUBSCRIBE = "subscription { cctvAlertRaised(kinds: [CROWD]) { id kind value threshold cameraCode } }"


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running(apis=1, worker=False) as urls:
        yield urls[0]


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


def crowd_alert(alert_id: str) -> dict[str, Any]:
    """A CROWD alert as the trigger writes it (migration 0008), of no camera."""
    return {"id": alert_id, "cameraId": 0, "kind": "CROWD", "value": 50, "threshold": 30, "evidenceId": None,
            "createdAt": datetime.now(UTC).isoformat()}  # fmt: skip


async def subscribe(server: str, token: str, *, token_in_init: bool = False) -> Subscriber:
    return await Subscriber.open(
        server,
        SUBSCRIBE,
        token=token,
        field="cctvAlertRaised",
        id_of=lambda alert: str(alert["id"]),
        token_in_init=token_in_init,
    )


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
    await watching.registered(resources, "cctv_alerts", crowd_alert)
    code = f"hi-{uuid.uuid4().hex[:6]}"

    await raise_alerts(resources, code)

    message = await watching.message()
    assert message["type"] == "next", message
    alert = message["payload"]["data"]["cctvAlertRaised"]
    assert {k: v for k, v in alert.items() if k != "id"} == {
        "kind": "CROWD", "value": 41.0, "threshold": 30.0, "cameraCode": code,
    }  # fmt: skip
    denied = await refused.message()
    assert denied["type"] in {"error", "next"}, denied
    errors = denied["payload"] if denied["type"] == "error" else denied["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await watching.close()
    await refused.close()


async def test_a_browser_sends_its_token_in_connection_init(server: str, api: Api, resources: Resources) -> None:
    # given staff and a citizen whose WebSockets carry their tokens in connection_init (a browser cannot add headers)
    auditor = await staff_member(api, resources, Role.AUDITOR)
    citizen = await api.sign_up()
    watching = await subscribe(server, auditor.token, token_in_init=True)
    refused = await subscribe(server, citizen.token, token_in_init=True)
    await watching.registered(resources, "cctv_alerts", crowd_alert)

    # when a crowd alert is raised
    code = f"hi-{uuid.uuid4().hex[:6]}"
    await raise_alerts(resources, code)

    # then the staff member gets it and the citizen is refused as a citizen, not as nobody
    message = await watching.message()
    assert message["payload"]["data"]["cctvAlertRaised"]["cameraCode"] == code
    denied = await refused.message()
    errors = denied["payload"] if denied["type"] == "error" else denied["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await watching.close()
    await refused.close()
