"""/metrics on the API and on the worker: refused without the token, and counting what the requests and jobs did."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.applications import Starlette

from api.app import create_app
from domain.resources import Resources
from domain.settings import Settings
from tests.factories import TOMANG, Api, jpeg_with_gps
from workers.metrics import MetricsServer, count_jobs
from workers.queue import QUEUES

TOKEN = "metrics-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
async def guarded(settings: Settings, database: None) -> AsyncIterator[httpx.AsyncClient]:
    """An API whose /metrics wants TOKEN."""
    app: Starlette = create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN), "metrics_cache_s": 0}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
            yield client


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


async def test_without_a_token_setting_metrics_is_not_there(api: Api) -> None:
    response = await api.client.get("/metrics", headers=AUTH)

    assert response.status_code == 404


async def test_an_anonymous_or_wrong_token_scrape_is_refused(guarded: httpx.AsyncClient) -> None:
    anonymous = await guarded.get("/metrics")
    wrong = await guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}-not"})
    basic = await guarded.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})

    assert [anonymous.status_code, wrong.status_code, basic.status_code] == [401, 401, 401]
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "jsc_" not in anonymous.text + wrong.text + basic.text


async def test_operations_routes_and_the_database_figures_are_counted(guarded: httpx.AsyncClient) -> None:
    api = Api(guarded)
    citizen = await api.sign_up()
    before = await scrape(guarded)

    created = await api.create_report(citizen)
    refused = await api.gql("mutation Nope { createReport(input: {}) { report { id } } }", token=citizen.token)
    tile = await guarded.get("/tiles/reports/12/3263/2118.pbf")
    await guarded.get("/no/such/page")
    after = await scrape(guarded)

    assert created["errors"] == []
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert tile.status_code == 200

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("jsc_graphql_operations_total", operation="mutation:createReport", outcome="ok") == 1
    assert (
        delta("jsc_graphql_operations_total", operation="mutation:createReport", outcome="GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    assert delta("jsc_graphql_operation_duration_seconds_count", operation="mutation:createReport") == 2
    assert delta("jsc_http_requests_total", route="/graphql", method="POST", status="200") == 2
    tiles = "/tiles/reports/{z:int}/{x:int}/{y:int}.pbf"
    assert delta("jsc_http_requests_total", route=tiles, method="GET", status="200") == 1
    assert delta("jsc_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(after, "jsc_metrics_database_up") == 1
    assert set(QUEUES.values()) <= {dict(labels)["queue"] for name, labels in after if name == "jsc_job_queue_depth"}
    assert ("jsc_sla_overdue_reports", frozenset({("kota", "Jakarta Barat")})) in after
    assert value(after, "jsc_db_pool_size", pool="main") > 0
    assert ("jsc_outbox_lag_seconds", frozenset()) in after


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def worker_metrics(resources: Resources) -> AsyncIterator[str]:
    """The worker's /metrics server, with TOKEN, on a free port."""
    port = free_port()
    settings = resources.settings.model_copy(
        update={"metrics_token": SecretStr(TOKEN), "worker_metrics_port": port, "metrics_cache_s": 0}
    )
    server = MetricsServer(Resources.create(settings), set(QUEUES.values()))
    await server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.stop()
        await server.database.engine.dispose()


async def test_the_workers_metrics_server_wants_the_token_and_counts_jobs(
    worker_metrics: str, api: Api, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    count_jobs()
    await run_jobs()  # the jobs earlier tests of this process left queued, before counting
    citizen = await api.sign_up()
    key = await api.upload_photo(citizen, jpeg_with_gps())
    async with httpx.AsyncClient(base_url=worker_metrics, timeout=30) as client:
        before = samples((await client.get("/metrics", headers=AUTH)).text)
        await api.create_report(citizen, photo_keys=[key], lat=TOMANG[0], lon=TOMANG[1])
        queued = samples((await client.get("/metrics", headers=AUTH)).text)
        await run_jobs()
        after = samples((await client.get("/metrics", headers=AUTH)).text)
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        elsewhere = await client.get("/", headers=AUTH)
        posted = await client.post("/metrics", headers=AUTH)

    assert [anonymous.status_code, wrong.status_code, elsewhere.status_code, posted.status_code] == [401, 401, 404, 405]
    assert value(queued, "jsc_job_queue_depth", queue="photos") >= 1
    assert value(queued, "jsc_photos_pending") >= 1
    assert value(after, "jsc_job_queue_depth", queue="photos") == 0
    succeeded = {"queue": "photos", "task": "photos.process", "outcome": "succeeded"}
    assert value(after, "jsc_jobs_total", **succeeded) - value(before, "jsc_jobs_total", **succeeded) == 1


async def test_every_answer_says_how_long_the_app_took(api: Api) -> None:
    """Server-Timing: what a browser's developer tools and the soak set beside the time they measured."""
    for method, url, body in [
        ("POST", "/graphql", {"query": "{ categories { code } }"}),
        ("GET", "/tiles/reports/12/3263/2118.pbf", None),
        ("GET", "/no/such/page", None),
    ]:
        started = time.perf_counter()
        response = await api.client.request(method, url, json=body)
        elapsed_ms = (time.perf_counter() - started) * 1000

        name, _, duration = response.headers["server-timing"].partition(";dur=")
        assert name == "app", response.headers["server-timing"]
        assert 0 < float(duration) <= elapsed_ms, (url, duration, elapsed_ms)
