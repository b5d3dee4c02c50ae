"""Cross-origin access: only the origins of JSC_CORS_ALLOWED_ORIGINS, on every route (GraphQL, tiles, Open311)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from domain.settings import Settings
from tests.api.test_public_map import tile_of
from tests.factories import TOMANG, Api

ALLOWED = "https://peta.jakarta.go.id"
OTHER = "https://evil.example"
ME = {"query": "query { me { id } }"}
PATHS = ["/graphql", "/tiles/reports/14/{}/{}.pbf".format(*tile_of(*TOMANG, 14)), "/open311/v2/services.json"]


@pytest.fixture
async def client(settings: Settings, database: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"cors_allowed_origins": [ALLOWED]}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api.test") as http,
    ):
        yield http


async def preflight(http: httpx.AsyncClient, path: str, origin: str) -> httpx.Response:
    return await http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST" if path == "/graphql" else "GET",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


async def simple(http: httpx.AsyncClient, path: str, origin: str) -> httpx.Response:
    if path == "/graphql":
        return await http.post(path, json=ME, headers={"Origin": origin})
    return await http.get(path, headers={"Origin": origin})


@pytest.mark.parametrize("path", PATHS)
async def test_an_allowed_origin_passes_the_preflight(client: httpx.AsyncClient, path: str) -> None:
    response = await preflight(client, path, ALLOWED)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("path", PATHS)
async def test_another_origin_fails_the_preflight(client: httpx.AsyncClient, path: str) -> None:
    response = await preflight(client, path, OTHER)

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path", PATHS)
async def test_a_simple_request_is_readable_by_the_allowed_origin_only(client: httpx.AsyncClient, path: str) -> None:
    allowed = await simple(client, path, ALLOWED)
    other = await simple(client, path, OTHER)

    assert allowed.status_code == other.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("path", PATHS)
async def test_by_default_no_origin_is_allowed(api: Api, settings: Settings, path: str) -> None:
    assert settings.cors_allowed_origins == []

    asked = await preflight(api.client, path, ALLOWED)
    served = await simple(api.client, path, ALLOWED)

    assert asked.status_code == 400
    assert served.status_code == 200
    assert "access-control-allow-origin" not in asked.headers
    assert "access-control-allow-origin" not in served.headers


def test_live_updates_take_websockets_from_the_same_origins(settings: Settings, database: None) -> None:
    app = create_app(settings.model_copy(update={"cors_allowed_origins": [ALLOWED]}))
    accepted = []
    with TestClient(app) as http:
        for origin in (ALLOWED, "http://testserver", OTHER):
            try:
                with http.websocket_connect(
                    "/graphql", subprotocols=["graphql-transport-ws"], headers={"Origin": origin}
                ) as socket:
                    socket.send_json({"type": "connection_init"})
                    assert socket.receive_json()["type"] == "connection_ack"
                    accepted.append(origin)
            except WebSocketDisconnect:
                pass

    assert accepted == [ALLOWED, "http://testserver"]  # the API's own pages, and the origins the settings name
