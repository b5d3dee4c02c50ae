"""Logs and traces of every process: the request id of what a line is about, JSON lines on request, and
OpenTelemetry traces exported over OTLP/HTTP when ``JSC_OTLP_ENDPOINT`` is set.

Each process entry (the API's factory, ``jsc worker``, the other ``jsc`` commands) calls ``configure_logging``
once, and ``configure_tracing`` after any fork (uvicorn's workers each make their own exporter thread).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.settings import Settings

# What the current line of work is: an HTTP request or WebSocket (its X-Request-ID), or a job ("job-<id>").
REQUEST_ID: ContextVar[str | None] = ContextVar("jsc_request_id", default=None)
# An X-Request-ID from a proxy or a client is kept when it looks like an id (a UUID, a hex or base64 token, a
# load balancer's "Root=1-5f..."); anything else (too long, spaces, control characters that would forge a log
# line) is replaced by one of ours.
INCOMING_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{8,128}")
REQUEST_ID_ATTRIBUTE = "jsc.request_id"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# LogRecord's own attributes; anything else on a record came as `extra=` and is written as a field of its own.
_RECORD_FIELDS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "trace_id",
    "span_id",
    "color_message",  # uvicorn's message again, with terminal colours
}
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when it is a plausible id, else a new one."""
    if incoming is not None and INCOMING_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


class LogContext(logging.Filter):
    """Puts the request id and, inside a sampled span, the trace and span ids on every record a handler gets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        record.span_id = format(span.span_id, "016x") if span.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, trace_id, span_id when
    tracing, exception and stack when there is one, and whatever the record carries as ``extra=``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        if getattr(record, "trace_id", None):
            line["trace_id"] = getattr(record, "trace_id", None)
            line["span_id"] = getattr(record, "span_id", None)
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


def log_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(LogContext())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(settings: Settings) -> None:
    """The root logger writes every line to stderr (journald keeps it under systemd), in the chosen format.

    uvicorn's loggers lose the handlers its own configuration gave them and go through the root logger too, so
    that its access and error lines carry the request id. The redaction filters (domain/log_redaction.py) sit
    on the loggers, so they run before this handler sees a record.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(log_handler(settings))
    root.setLevel(settings.log_level)
    for name in _UVICORN:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def configure_tracing(settings: Settings, service_name: str) -> TracerProvider | None:
    """The process's tracer provider, exporting in batches over OTLP/HTTP (protobuf); None when tracing is off.

    Sampling is decided once per trace at its root (``JSC_TRACE_SAMPLE_RATIO``) and followed by its children,
    so that a sampled request has all its SQL spans and an unsampled one costs next to nothing.
    """
    if not settings.otlp_endpoint:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "deployment.environment": settings.environment}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    exporter = OTLPSpanExporter(
        endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces",
        headers=settings.otlp_headers or None,
        timeout=settings.otlp_timeout_s,
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def trace_engines(provider: TracerProvider | None, *engines: AsyncEngine) -> None:
    """One span per SQL statement (named by its verb and database, the text without parameters) on each
    engine. The statements' parameters never reach a span: the instrumentation records only the text."""
    if provider is None:
        return
    # The instrumentation declares SQLAlchemy < 2.1 and would do nothing on our 2.1; what it uses (the engine's
    # before/after_cursor_execute events) is unchanged in 2.1, and tests/e2e/test_tracing.py sees its spans.
    SQLAlchemyInstrumentor().instrument(
        engines=[engine.sync_engine for engine in engines], tracer_provider=provider, skip_dep_check=True
    )
