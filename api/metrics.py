"""The API's side of the metrics (domain/metrics.py): requests by route template, GraphQL operations by a bounded
name, and the token-guarded /metrics route."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorCode
from domain import metrics
from domain.settings import Settings

# Routes nobody matched (404s, probes of random paths) share one label.
UNMATCHED = "unmatched"
OK = metrics.OK
KNOWN_CODES = frozenset(code.value for code in ErrorCode)
_MAX_CACHED_LABELS = 2048


def trusted_operation_names(texts: Iterable[str]) -> frozenset[str]:
    """The operation names of the trusted documents: the only client-chosen names counted as they are."""
    names: set[str] = set()
    for text in texts:
        try:
            document = parse(text)
        except GraphQLError:  # the manifest's texts are the apps' own; one that does not parse names nothing
            continue
        names.update(
            d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name is not None
        )
    return frozenset(names)


class OperationLabels:
    """An operation's label: its name when a trusted document carries that name, else ``type:rootField`` when it
    asks for one root field (bounded by the schema), else ``other``. Found once per text and name."""

    def __init__(self, trusted_names: frozenset[str]) -> None:
        self.trusted_names = trusted_names
        self._cache: dict[tuple[str, str | None], str] = {}

    def label(self, query: str | None, operation_name: str | None, document: DocumentNode | None) -> str:
        if query is None or document is None:
            return metrics.OTHER_OPERATION
        key = (query, operation_name)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _MAX_CACHED_LABELS:
                self._cache.clear()
            found = self._cache[key] = self._find(document, operation_name)
        return found

    def _find(self, document: DocumentNode, operation_name: str | None) -> str:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
        if len(chosen) != 1:
            return metrics.OTHER_OPERATION
        operation = chosen[0]
        if operation.name is not None and operation.name.value in self.trusted_names:
            return operation.name.value
        selections = operation.selection_set.selections
        fields = [s.name.value for s in selections if isinstance(s, FieldNode) and s.name.value != "__typename"]
        only_fields = all(isinstance(s, FieldNode) for s in selections)
        if only_fields and len(fields) == 1:
            return f"{operation.operation.value}:{fields[0]}"
        return metrics.OTHER_OPERATION


def outcome(errors: list[Any] | None) -> str:
    """``ok``, or the first error's code (one of ErrorCode's; anything else is ``error``)."""
    if not errors:
        return metrics.OK
    extensions = getattr(errors[0], "extensions", None) or {}
    code = extensions.get("code")
    return code if code in KNOWN_CODES else "error"


def observe_operation(label: str, result: str, seconds: float | None) -> None:
    metrics.GRAPHQL_OPERATIONS.labels(label, result).inc()
    if seconds is not None:
        metrics.GRAPHQL_SECONDS.labels(label).observe(seconds)


def route_templates(routes: Iterable[BaseRoute]) -> dict[int, str]:
    """What the router puts in the scope as the endpoint (by id) -> the route's template."""
    templates: dict[int, str] = {}
    for route in routes:
        if isinstance(route, Route | WebSocketRoute):
            templates[id(route.endpoint)] = route.path
        elif isinstance(route, Mount):
            templates[id(route.app)] = f"{route.path}/*"
    return templates


class RequestMetrics:
    """Counts each HTTP request by route template, method and status, and times it to its last byte; tells the
    client the time to its answer's first byte in a ``Server-Timing`` header."""

    def __init__(self, app: ASGIApp, templates: Mapping[int, str]) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # How long the app took to answer (W3C Server-Timing): what a browser's developer tools and a load
                # generator set beside the time they measured, the difference being the network and the queues.
                took = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", ()), (b"server-timing", took)]}
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            endpoint = scope.get("endpoint")
            route = self.templates.get(id(endpoint), UNMATCHED) if endpoint is not None else UNMATCHED
            method = scope["method"] if scope["method"] in ("GET", "POST", "HEAD", "OPTIONS") else "other"
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
            metrics.HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)


def metrics_endpoint(settings: Settings, database: metrics.DatabaseMetrics) -> Any:
    async def serve(request: Request) -> Response:
        allowed = metrics.authorized(settings, request.headers.get("authorization"))
        if allowed is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        if not allowed:
            return Response(
                "A bearer token is needed.",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        await database.refresh()
        return Response(metrics.exposition(database), media_type=metrics.CONTENT_TYPE)

    return serve
