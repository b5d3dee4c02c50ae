"""The ASGI application: the composition root of the API process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.types import QueryParams
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage, SubscribeMessagePayload
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from api.access import ACCOUNT_CHANNEL, AccountWatch
from api.admission import RETRY_AFTER_S, Overloaded, PublicLane, is_read, overloaded_error
from api.context import Context
from api.errors import ErrorCode
from api.graphql import build_schema
from api.health import healthz, readyz
from api.live import ALERT_CHANNEL, MapCache, ReportEventHub
from api.metrics import RequestMetrics, metrics_endpoint, route_templates
from api.observability import observability
from api.open311 import open311_routes
from api.proxies import TrustedProxies
from api.tiles import tile_routes
from api.trusted_documents import DocumentRefused, TrustedDocuments, load_trusted_documents
from api.webapps import webapp_routes
from domain import log_redaction, metrics
from domain.access import TOKEN_EXPIRED
from domain.heap import collect_fully_less_often, freeze_startup_objects, time_collections
from domain.resources import Resources
from domain.security import AccessClaims, access_token_expired, decode_access_token
from domain.settings import Settings, get_settings
from workers.queue import QUEUES

log = logging.getLogger("api")
# The web pages and their files; vendor/ is MapLibre GL JS and Chart.js, copied there from npm by
# scripts/bootstrap.sh.
STATIC_DIR = Path(__file__).resolve().parent / "static"
# uvicorn logs each request's path with its query string (a GET /graphql carries the query and its variables
# there) and, at DEBUG, each WebSocket handshake header (a bearer token) and frame (a connection_init payload).
UVICORN = log_redaction.Redact(r"(/[^\s?\"]*\?)[^\s\"]+", drop=lambda record: str(record.msg)[:2] in ("< ", "> "))


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, where a subscribe payload may name a trusted document instead of sending its text."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload")
        if isinstance(self.view, GraphQLEndpoint) and isinstance(payload, dict):
            try:
                resolved = self.view.documents.resolve(cast(dict[str, Any], payload))
            except DocumentRefused as refused:
                # Refused as the operation's error; a subscribe the protocol forbids is strawberry's to close on.
                if self.connection_acknowledged and message["id"] not in self.operations:
                    error = refused.error().formatted
                    await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                    return
            else:
                message = {**message, "payload": cast(SubscribeMessagePayload, resolved)}
        await super().handle_subscribe(message)


class GraphQLEndpoint(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        resources: Resources,
        live: ReportEventHub,
        map_cache: MapCache,
        alerts: ReportEventHub,
        accounts: AccountWatch,
        documents: TrustedDocuments,
        lane: PublicLane,
    ) -> None:
        super().__init__(
            build_schema(resources.settings, documents),
            graphql_ide="graphiql" if resources.settings.graphiql else None,
            # A browser opens a WebSocket from any page it likes; strawberry takes the API's own pages and these.
            allowed_origins=resources.settings.cors_allowed_origins,
        )
        self.resources = resources
        self.live = live
        self.alerts = alerts
        self.map_cache = map_cache
        self.accounts = accounts
        self.documents = documents
        self.lane = lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            # What strawberry refuses before any operation runs (not JSON, no query, a batch too long), in the
            # form of every other error: a JSON body with a code, not plain text.
            code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.BAD_REQUEST
            response = _refusal(exc.status_code, exc.reason, code)
        except DocumentRefused as exc:
            response = _refusal(400, exc.message, exc.code)
        await response(scope, receive, send)

    async def execute_operation(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if not isinstance(request_data, list):
            return await self._admitted(request, request_adapter, request_data, context, sub_response)
        # strawberry would run a batch's operations at once in one context, so one session and one commit for
        # them all. Here each runs after the one before, in a transaction of its own, as if sent alone: a batch
        # holds one database connection at a time, and a later operation sees what an earlier one wrote.
        results: list[ExecutionResult] = []
        for data in request_data:
            result = await self._admitted(request, request_adapter, data, context, sub_response)
            assert isinstance(result, ExecutionResult)
            results.append(result)
            context = context.for_next_operation()
        return results

    async def _admitted(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        data: GraphQLRequestData,
        context: Context,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """An anonymous query runs in the public lane (api/admission.py); anything else at once."""
        if context.viewer is not None or not is_read(data.query, data.operation_name):
            return await super().execute_operation(request, request_adapter, data, context, None, sub_response)
        try:
            async with self.lane.turn():
                return await super().execute_operation(request, request_adapter, data, context, None, sub_response)
        except Overloaded:
            sub_response.status_code = 503
            sub_response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return ExecutionResult(data=None, errors=[overloaded_error()])

    def parse_json(self, data: str | bytes) -> Any:
        # A request body is an object, or for a batch a list of objects; strawberry assumes so and fails on
        # anything else with an AttributeError, a 500. (A GET's variables go through parse_query_params.)
        parsed = super().parse_json(data)
        items = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(item, dict) for item in items):
            raise HTTPException(400, "The request must be a JSON object, or a list of them for a batch.")
        # Every named document is found before any operation of a batch runs.
        if not isinstance(parsed, list):
            return self.documents.resolve(parsed)
        parsed = [self.documents.resolve(item) for item in parsed]
        if not all(_is_operation(item) for item in parsed):
            # Checked before any of them runs: strawberry checks a batch's items only as it reaches each one,
            # after the ones before it have committed.
            raise HTTPException(
                400,
                "Each operation of a batch needs a query (text), and objects or null for "
                "its variables and extensions, and text or null for its operationName.",
            )
        return parsed

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        # A GET's query string is the request; its variables and extensions are JSON objects in it, not requests.
        data: dict[str, Any] = dict(params)
        for key in ("variables", "extensions"):
            if data.get(key):
                data[key] = super().parse_json(data[key])
        return self.documents.resolve(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET naming its document has no `query`, which is what strawberry takes for a browser wanting GraphiQL.
        named = any(request.query_params.get(key) is not None for key in ("documentId", "extensions"))
        return not named and super().should_render_graphql_ide(request)

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json, and embeds the GeoJSON PostgreSQL already wrote
        # (orjson.Fragment, see api/resolvers/public_map.py) without parsing it again. Text, not bytes:
        # strawberry sends bytes as binary WebSocket frames, which graphql-transport-ws clients do not read.
        return orjson.dumps(data).decode()

    def _bearer(self, header: str) -> tuple[AccessClaims | None, str | None]:
        """The viewer a bearer header speaks for, and why it does not when it came but does not count."""
        if header[:7].lower() != "bearer ":
            return None, None
        token = header[7:].strip()
        viewer = decode_access_token(self.resources.settings, token)
        expired = viewer is None and access_token_expired(self.resources.settings, token)
        return viewer, TOKEN_EXPIRED if expired else None

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # A browser's WebSocket cannot send an Authorization header: its page sends the same header in the
        # connection_init payload ({"Authorization": "Bearer ..."}), read here before any operation runs.
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        if context.viewer is None and context.viewer_problem is None and isinstance(header, str):
            context.viewer, context.viewer_problem = self._bearer(header)
        return UNSET

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        viewer, problem = self._bearer(request.headers.get("authorization", ""))
        # Whether the token still speaks for its account is checked before each operation (api/access.py).
        context = Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            resources=self.resources,
            viewer=viewer,
            viewer_problem=problem,
            live=self.live,
            alerts=self.alerts,
            map_cache=self.map_cache,
            accounts=self.accounts,
        )
        return context


def cors(settings: Settings) -> Middleware:
    """Cross-origin access for the browser pages of the origins the settings name, and for no other; bearer
    tokens travel in a header, so no cookies or credentials mode."""
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match"],
        expose_headers=["X-Request-ID", "Retry-After", "ETag"],
        max_age=600,
    )


def _refusal(status: int, message: str, code: ErrorCode) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}, status_code=status
    )


def _is_operation(item: dict[str, Any]) -> bool:
    return (
        isinstance(item.get("query"), str)
        and isinstance(item.get("variables"), dict | None)
        and isinstance(item.get("extensions"), dict | None)
        and isinstance(item.get("operationName"), str | None)
    )


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> Starlette:
    """The app; `freeze_heap` for a server process (api/main.py): what is alive once it has started is left out of
    the garbage collector's full collections (domain/heap.py). Not for the many apps one test process makes."""
    settings = settings or get_settings()
    log_redaction.install(UVICORN, "uvicorn.access", "uvicorn.error")
    # First: a manifest that is not what it says stops the start before anything is opened.
    documents = load_trusted_documents(settings)
    resources = Resources.create(settings)
    live = ReportEventHub(settings.database_url, queue_size=settings.live_queue_size)
    map_cache = MapCache(live, max_entries=settings.map_cache_entries, ttl_s=settings.map_cache_ttl_s)
    # Which categories are sensitive comes from the reference snapshot: a RESET must not wait for its reload.
    live.on_reconnect(resources.reference.invalidate)
    alerts = ReportEventHub(settings.database_url, channel=ALERT_CHANNEL, queue_size=settings.live_queue_size)
    account_changes = ReportEventHub(settings.database_url, channel=ACCOUNT_CHANNEL)
    accounts = AccountWatch(account_changes, resources.account_states)
    lane = PublicLane(settings.public_lane_size, settings.public_lane_wait_s, settings.public_lane_cpu)
    graphql = GraphQLEndpoint(resources, live, map_cache, alerts, accounts, documents, lane)
    database_metrics = metrics.DatabaseMetrics(resources.engine, settings, queues=set(QUEUES.values()))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        live.start()
        alerts.start()
        account_changes.start()
        if freeze_heap:
            # The reference snapshot first, so that it is frozen with the rest (a database not up yet: it is
            # loaded at the first request instead).
            try:
                await asyncio.wait_for(resources.reference.get(), 10)
            except Exception:  # the first request that needs it loads it
                log.warning("api: the reference data could not be loaded at start-up", exc_info=True)
            log.info("api: %d start-up objects left out of full garbage collections", freeze_startup_objects())
            collect_fully_less_often()
            time_collections()
        try:
            yield
        finally:
            await account_changes.stop()
            await alerts.stop()
            await live.stop()
            await resources.close()
            metrics.process_ended()

    async def map_page(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "map.html", media_type="text/html; charset=utf-8")

    async def dashboard_page(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html; charset=utf-8")

    routes: list[Any] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz(resources, (live, alerts, account_changes))),
        Route("/map", map_page, methods=["GET"]),
        Route("/dashboard", dashboard_page, methods=["GET"]),
        Mount("/static", GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=512), name="static"),
        *webapp_routes(STATIC_DIR, resources.settings),
        *tile_routes(resources, lane),
        *open311_routes(resources),
        Route("/metrics", metrics_endpoint(settings, database_metrics), methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            *observability(settings),
            Middleware(TrustedProxies, proxies=settings.trusted_proxies),
            # Inside TrustedProxies, which may hand on a copy of the scope: the router writes the endpoint into
            # the one this middleware holds.
            Middleware(RequestMetrics, templates=route_templates(routes)),
            cors(settings),
        ],
    )
    app.state.resources = resources
    app.state.live = live
    app.state.alerts = alerts
    app.state.map_cache = map_cache
    app.state.account_changes = account_changes
    app.state.accounts = accounts
    app.state.public_lane = lane
    return app
