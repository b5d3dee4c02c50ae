"""The API process as deployed: ``jsc api`` (and so `make run` and the systemd unit) serves ``serve``, which each
uvicorn worker process calls once: logging, then tracing (its exporter thread is the worker's own), then the app."""

from __future__ import annotations

from starlette.applications import Starlette

from api.app import create_app
from domain.settings import get_settings
from domain.telemetry import configure_logging, configure_tracing, trace_engines


def serve() -> Starlette:
    settings = get_settings()
    configure_logging(settings)
    provider = configure_tracing(settings, "jsc-api")
    app = create_app(settings, freeze_heap=True)
    trace_engines(provider, app.state.resources.engine)
    return app
