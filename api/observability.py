"""The request id of each HTTP request and WebSocket, and the request's span named after its GraphQL operation."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.settings import Settings
from domain.telemetry import REQUEST_ID, REQUEST_ID_ATTRIBUTE, accepted_request_id

# Probes and files are not worth a trace each.
UNTRACED_PATHS = "/healthz,/readyz,/static/.*,/metrics"
# Names the request's span already carries, kept on the ASGI scope so that a batch's operations add up.
_OPERATIONS = "jsc.graphql_operations"


class RequestIds:
    """Gives each request (and WebSocket) its id: the caller's X-Request-ID when plausible, else a new one.

    The id is in the context of everything the request runs, so in every log line it causes, in the request's
    span as ``jsc.request_id``, and in the response's X-Request-ID header; a masked error shows it to the client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == b"x-request-id"), None)
        request_id = accepted_request_id(incoming.decode("latin-1") if incoming is not None else None)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def observability(settings: Settings) -> list[Middleware]:
    """The outermost middleware: the request's server span when tracing is on, then its request id.

    Only the request is a span, with the SQL statements it runs below it: not its ASGI messages, and not each
    GraphQL field (strawberry's own tracing extension would make one per field, thousands on a map page).
    """
    tracing = []
    if settings.otlp_endpoint:
        tracing = [Middleware(OpenTelemetryMiddleware, excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"])]
    return [*tracing, Middleware(RequestIds)]


def name_request_span(scope: Scope, operation_type: str, operation_name: str | None) -> None:
    """Names the HTTP request's span after its GraphQL operation ("mutation createReport"), the attributes of
    OpenTelemetry's GraphQL conventions beside it; a batch's span lists its operations."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    name = f"{operation_type} {operation_name or 'anonymous'}"
    names: list[str] = scope.setdefault(_OPERATIONS, [])
    names.append(name)
    attributes: dict[str, Any] = {"graphql.operation.type": operation_type}
    if operation_name:
        attributes["graphql.operation.name"] = operation_name
    if len(names) == 1:
        span.update_name(name)
        span.set_attributes(attributes)
    else:
        span.update_name(f"batch {', '.join(names)}")
        span.set_attribute("graphql.batch.size", len(names))
