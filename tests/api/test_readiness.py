"""/healthz says the process lives; /readyz says whether its database, S3 and LISTEN connections work, and which not."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from api.app import create_app
from domain import sla, workflow
from domain.settings import Settings
from tests.api.test_public_map import eventually
from tests.e2e.processes import free_port

OK = {"status": "ok"}


async def readiness(app: Starlette) -> tuple[int, dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
        response = await client.get("/readyz")
    return response.status_code, response.json()


async def listening(app: Starlette) -> bool:
    hubs = (app.state.live, app.state.alerts, app.state.account_changes)
    return all(hub.listening.is_set() for hub in hubs)


@asynccontextmanager
async def another_app(settings: Settings, **changes: Any) -> AsyncIterator[Starlette]:
    """A second API instance of this test session, with some settings changed."""
    application = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def silent_s3() -> Iterator[str]:
    """An S3 endpoint that takes connections and never answers, as a hung server does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


async def test_ready_when_every_dependency_answers(app: Starlette) -> None:
    assert await eventually(lambda: listening(app), within_s=30)

    status, body = await readiness(app)

    assert status == 200
    assert body["status"] == "ready"
    assert body["checks"] == {"database": OK, "s3": OK, "listen": OK}


async def test_healthz_stays_a_liveness_probe(settings: Settings, database: None) -> None:
    # given an instance whose database cannot be reached
    async with another_app(settings, database_url=_unreachable(settings.database_url)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            response = await client.get("/healthz")

    # then it still lives
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_an_unreachable_database_is_named(settings: Settings, database: None) -> None:
    async with another_app(settings, database_url=_unreachable(settings.database_url)) as app:
        status, body = await readiness(app)

    assert status == 503
    assert body["status"] == "unready"
    assert body["checks"]["database"]["status"] == "failed"
    assert "ConnectionRefusedError" in body["checks"]["database"]["error"]
    assert body["checks"]["s3"] == OK
    # the listeners use the same database
    assert body["checks"]["listen"] == {
        "status": "failed",
        "error": "ConnectionError: not listening on report_events, cctv_alerts, account_changes",
    }


async def test_a_stopped_s3_is_named(settings: Settings, database: None) -> None:
    async with another_app(settings, s3_endpoint_url=f"http://127.0.0.1:{free_port()}") as app:
        assert await eventually(lambda: listening(app), within_s=30)
        status, body = await readiness(app)

    assert status == 503
    assert body["checks"]["s3"]["status"] == "failed"
    assert "EndpointConnectionError" in body["checks"]["s3"]["error"]
    assert (body["checks"]["database"], body["checks"]["listen"]) == (OK, OK)


async def test_a_hung_s3_fails_the_probe_instead_of_hanging_it(
    settings: Settings, database: None, silent_s3: str
) -> None:
    async with another_app(settings, s3_endpoint_url=silent_s3, ready_timeout_s=0.5) as app:
        assert await eventually(lambda: listening(app), within_s=30)
        status, body = await readiness(app)

    assert status == 503
    assert body["checks"]["s3"] == {"status": "failed", "error": "no answer within 0.5 s"}
    assert (body["checks"]["database"], body["checks"]["listen"]) == (OK, OK)


async def test_a_lost_listen_connection_is_named_until_it_is_back(app: Starlette, settings: Settings) -> None:
    # given a ready instance
    assert await eventually(lambda: listening(app), within_s=30)
    assert (await readiness(app))[0] == 200

    # when its LISTEN connections are ended and the database takes no new connection for a while
    async with _refusing_new_connections(settings) as end_listeners:
        assert await end_listeners() == 3

        async def unready() -> bool:
            return (await readiness(app))[0] == 503

        # then the probe names them, while the database (a pooled connection) still answers
        assert await eventually(unready, within_s=30)
        status, body = await readiness(app)
        assert status == 503
        assert body["checks"] == {
            "database": OK,
            "s3": OK,
            "listen": {
                "status": "failed",
                "error": "ConnectionError: not listening on report_events, cctv_alerts, account_changes",
            },
        }

    # and it is ready again once the listeners are back
    assert await eventually(lambda: listening(app), within_s=60)
    assert (await readiness(app))[0] == 200


async def test_a_year_without_holiday_data_is_a_warning_that_does_not_fail_it(
    app: Starlette, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a process that computed a deadline running into 2028, which holidays.csv does not cover
    monkeypatch.setattr(sla, "uncovered_years", set())
    assert await eventually(lambda: listening(app), within_s=30)
    calendar = workflow.calendar_for(settings)
    sla.add_working_hours(calendar, datetime(2027, 12, 31, 15, tzinfo=sla.JAKARTA), 2)

    # when
    status, body = await readiness(app)

    # then
    assert status == 200
    assert body["warnings"] == ["holiday calendar does not cover 2028"]


def _unreachable(database_url: str) -> str:
    return make_url(database_url).set(host="127.0.0.1", port=free_port()).render_as_string(hide_password=False)


@asynccontextmanager
async def _refusing_new_connections(settings: Settings) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """The test database refuses new connections inside the block; yields a function that ends the listeners'."""
    url = make_url(settings.database_url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
    )

    async def end_listeners() -> int:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND application_name LIKE 'jsc-listen-%'",
            url.database,
        )
        return killed

    try:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        yield end_listeners
    finally:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
        await admin.close()
