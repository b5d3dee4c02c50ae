"""The ASGI application: the composition root of the API process."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.context import Context
from api.graphql import build_schema
from api.live import ALERT_CHANNEL, MapCache, ReportEventHub
from api.open311 import open311_routes
from api.tiles import tile_routes
from domain.resources import Resources
from domain.security import decode_access_token
from domain.settings import Settings, get_settings

log = logging.getLogger("api")
# The web pages and their files; vendor/ is MapLibre GL JS and Chart.js, copied there from npm by
# scripts/bootstrap.sh.
STATIC_DIR = Path(__file__).resolve().parent / "static"


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, resources: Resources, live: ReportEventHub, map_cache: MapCache, alerts: ReportEventHub) -> None:
        super().__init__(
            build_schema(resources.settings), graphql_ide="graphiql" if resources.settings.graphiql else None
        )
        self.resources = resources
        self.live = live
        self.alerts = alerts
        self.map_cache = map_cache

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json, and embeds the GeoJSON PostgreSQL already wrote
        # (orjson.Fragment, see api/resolvers/public_map.py) without parsing it again. Text, not bytes:
        # strawberry sends bytes as binary WebSocket frames, which graphql-transport-ws clients do not read.
        return orjson.dumps(data).decode()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        viewer = None
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            viewer = decode_access_token(self.resources.settings, header[7:].strip())
        context = Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            resources=self.resources,
            viewer=viewer,
            live=self.live,
            alerts=self.alerts,
            map_cache=self.map_cache,
        )
        if isinstance(response, Response):
            response.headers["X-Request-ID"] = context.request_id
        return context


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    resources = Resources.create(settings)
    live = ReportEventHub(settings.database_url)
    map_cache = MapCache(live, max_entries=settings.map_cache_entries, ttl_s=settings.map_cache_ttl_s)
    alerts = ReportEventHub(settings.database_url, channel=ALERT_CHANNEL)
    graphql = GraphQLEndpoint(resources, live, map_cache, alerts)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        live.start()
        alerts.start()
        try:
            yield
        finally:
            await alerts.stop()
            await live.stop()
            await resources.close()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def map_page(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "map.html", media_type="text/html; charset=utf-8")

    async def dashboard_page(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html; charset=utf-8")

    routes: list[Any] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/map", map_page, methods=["GET"]),
        Route("/dashboard", dashboard_page, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        *tile_routes(resources),
        *open311_routes(resources),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.resources = resources
    app.state.live = live
    app.state.map_cache = map_cache
    return app
