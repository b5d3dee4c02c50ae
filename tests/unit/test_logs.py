"""Log lines: the request id and trace id on each, JSON or text, and the redaction still in force."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from api.app import UVICORN
from domain import log_redaction
from domain.settings import Settings
from domain.telemetry import REQUEST_ID, accepted_request_id, log_handler


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger
    logger.handlers.clear()
    logger.filters.clear()


def capture(logger: logging.Logger, log_format: str) -> io.StringIO:
    stream = io.StringIO()
    logger.addHandler(log_handler(Settings(log_format=log_format), stream))
    return stream


def test_a_json_line_carries_the_request_id_the_trace_and_the_extras(logger: logging.Logger) -> None:
    # given: JSON logs, a request and a sampled span around the line
    stream = capture(logger, "json")
    tracer = TracerProvider().get_tracer("tests")
    token = REQUEST_ID.set("req-1234abcd")
    try:
        with tracer.start_as_current_span("mutation Create") as span:
            # when
            logger.warning("stored %s", "report", extra={"report_id": 7})
    finally:
        REQUEST_ID.reset(token)
    logger.info("after the request")

    # then: one object a line, with the ids while they applied
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    context = span.get_span_context()
    assert first["message"] == "stored report"
    assert (first["level"], first["logger"], first["request_id"]) == ("WARNING", "tests.logs", "req-1234abcd")
    assert first["trace_id"] == format(context.trace_id, "032x")
    assert first["span_id"] == format(context.span_id, "016x")
    assert first["report_id"] == 7
    assert first["time"].endswith("+00:00")
    assert second["request_id"] == "-"
    assert "trace_id" not in second


def test_a_json_line_keeps_an_exception(logger: logging.Logger) -> None:
    stream = capture(logger, "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    line = json.loads(stream.getvalue())
    assert line["message"] == "failed"
    assert "ValueError: boom" in line["exception"]


def test_a_text_line_carries_the_request_id(logger: logging.Logger) -> None:
    stream = capture(logger, "text")
    token = REQUEST_ID.set("req-5678efgh")
    try:
        logger.info("hello")
    finally:
        REQUEST_ID.reset(token)
    assert " INFO tests.logs [req-5678efgh] hello" in stream.getvalue()


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_redaction_applies_in_either_format(logger: logging.Logger, log_format: str) -> None:
    # given: the filters the API installs for uvicorn (query strings) and one that blanks an extra field
    stream = capture(logger, log_format)
    logger.addFilter(UVICORN)
    logger.addFilter(log_redaction.Redact(extras=("headers",)))

    # when: a GET with its query in the URL is logged, with headers as an extra
    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/graphql?query=secret-password",
        "1.1",
        200,
        extra={"headers": {"authorization": "Bearer secret-token"}},
    )

    # then
    out = stream.getvalue()
    assert "secret" not in out
    assert "/graphql?[redacted]" in out
    if log_format == "json":
        assert json.loads(out)["headers"] == log_redaction.REDACTED


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("Root=1-5759e988-bd862e3fe1be46a994272793", True),
        ("abc", False),  # too short to be anyone's id
        ("x" * 129, False),
        ("id with spaces", False),
        ("forged\nINFO line", False),
        ("", False),
        (None, False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_plausible(incoming: str | None, kept: bool) -> None:
    chosen = accepted_request_id(incoming)
    assert (chosen == incoming) is kept
    if not kept:
        assert len(chosen) == 32
