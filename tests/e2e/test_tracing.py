"""Traces and logs as deployed: `jsc api` and `jsc worker` exporting over OTLP/HTTP to a local collector."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import free_port, start_api, start_worker, stop, wait_healthy
from tests.factories import CREATE_REPORT, Api, jpeg_with_gps, report_input
from tests.fakes.otlp import FakeCollector, Span

pytestmark = pytest.mark.e2e
DESCRIPTION = f"Saluran air tersumbat {uuid.uuid4().hex}"


def json_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


async def test_create_report_is_one_span_named_after_its_operation_with_one_span_per_sql_statement(
    database: None, tmp_path: Path
) -> None:
    # given: the API and a worker tracing every request and job to a collector, logging JSON
    with FakeCollector() as collector:
        env = {
            "JSC_OTLP_ENDPOINT": collector.url,
            "JSC_TRACE_SAMPLE_RATIO": "1",
            "JSC_LOG_FORMAT": "json",
            # The SDK's own setting: batches every 100 ms instead of 5 s, so the test waits less.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        api_process = start_api(port, log_file=tmp_path / "api.log", **env)
        worker = start_worker(log_file=tmp_path / "worker.log", **env)
        try:
            await asyncio.to_thread(wait_healthy, url)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                http = Api(client)
                citizen = await http.sign_up()
                key = await http.upload_photo(citizen, jpeg_with_gps())

                # when: a citizen files a report with a photo, the app naming the request
                request_id = f"app-{uuid.uuid4()}"
                response = await client.post(
                    "/graphql",
                    json={
                        "query": CREATE_REPORT,
                        "variables": {"input": report_input(photo_keys=[key], description=DESCRIPTION)},
                    },
                    headers={"Authorization": f"Bearer {citizen.token}", "X-Request-ID": request_id},
                )

            # then: the request is one server span, named after the operation, carrying the request id ...
            assert response.status_code == 200
            assert response.json()["data"]["createReport"]["errors"] == []
            assert response.headers["x-request-id"] == request_id
            operation = await asyncio.to_thread(
                collector.wait_for, lambda s: s.kind == "SERVER" and s.attributes.get("jsc.request_id") == request_id
            )
            job = await asyncio.to_thread(collector.wait_for, lambda s: s.name == "job photos.process")
        finally:
            stop(api_process, worker)

    assert (operation.service, operation.name, operation.parent_span_id) == ("jsc-api", "mutation Create", "")
    assert operation.attributes["graphql.operation.name"] == "Create"
    assert operation.attributes["graphql.operation.type"] == "mutation"
    assert operation.attributes["http.route" if "http.route" in operation.attributes else "http.target"] == "/graphql"
    # ... with a span per SQL statement below it, the statement's text without its parameters, and nothing for
    # the operation's fields (its 40-odd fields resolved without a span each)
    spans = collector.trace(operation.trace_id)
    sql = [span for span in spans if span.attributes.get("db.system") == "postgresql"]
    others = sorted(span.name for span in spans if span not in sql and span != operation)
    assert others == ["connect"] * len(others), others
    verbs = {span.name.split()[0] for span in sql}
    assert {"SELECT", "INSERT"} <= verbs, verbs
    # createReport's own six (routing, the photos, the report, its notifications, the reporter, the jobs); the
    # reference rows are read when the API starts (api/app.py), not in the first request that needs them.
    assert len([span for span in sql if span.name != "connect"]) >= 6, [span.name for span in sql]
    assert all(span.kind == "CLIENT" and under(span, operation, spans) for span in sql)
    statements = [str(span.attributes.get("db.statement", "")) for span in sql]
    assert any("INSERT INTO reports" in statement for statement in statements), statements
    assert not any(DESCRIPTION in statement for statement in statements)

    # the photo job is a span of the worker's, with its SQL below it and its job id as request id
    assert job.service == "jsc-worker"
    assert job.kind == "CONSUMER"
    assert job.status_code == "UNSET"
    assert str(job.attributes["jsc.request_id"]) == f"job-{job.attributes['messaging.message.id']}"
    assert job.attributes["messaging.destination.name"] == "photos"
    assert any(
        span.attributes.get("db.system") == "postgresql" and under(span, job, collector.trace(job.trace_id))
        for span in collector.trace(job.trace_id)
    )

    # the API's log lines about the request carry its request id and trace id (uvicorn's access line among them)
    lines = [line for line in json_lines(tmp_path / "api.log") if line.get("request_id") == request_id]
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert len(access) == 1, lines
    assert access[0]["trace_id"] == operation.trace_id
    assert "POST /graphql" in str(access[0]["message"])
    assert {"time", "level", "logger", "message", "span_id"} <= set(access[0])


def under(span: Span, ancestor: Span, spans: list[Span]) -> bool:
    by_id = {s.span_id: s for s in spans}
    parent = by_id.get(span.parent_span_id)
    while parent is not None:
        if parent.span_id == ancestor.span_id:
            return True
        parent = by_id.get(parent.parent_span_id)
    return False
