"""A real Prometheus (Debian's) scrapes the API (two uvicorn processes sharing a multiprocess folder) and a worker
with the metrics token, and sees what the test did."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.stack import start_prometheus
from tests.e2e.processes import ROOT, free_port, start_worker, stop, wait_healthy
from tests.factories import Api

pytestmark = pytest.mark.e2e
TOKEN = "e2e-metrics-token-0123456789abcdef0123"
CREATED = 'sum(jsc_graphql_operations_total{job="jsc-api",operation="mutation:createReport",outcome="ok"})'


def start_api_processes(port: int, workers: int, **env: str) -> subprocess.Popen[bytes]:
    uvicorn = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--no-proxy-headers"]
    return subprocess.Popen(
        [*uvicorn, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env={**os.environ, **env},
    )


async def query(prometheus: httpx.AsyncClient, promql: str) -> list[dict[str, Any]]:
    response = await prometheus.get("/api/v1/query", params={"query": promql})
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


async def wait_for_value(prometheus: httpx.AsyncClient, promql: str, expected: float) -> float:
    """Until Prometheus's answer is `expected` (it scrapes every second); the deadline only guards a failure."""
    deadline = time.monotonic() + 90
    seen: float | None = None
    while time.monotonic() < deadline:
        result = await query(prometheus, promql)
        seen = float(result[0]["value"][1]) if result else None
        if seen == expected:
            return seen
        await asyncio.sleep(0.5)
    pytest.fail(f"Prometheus answered {seen} to {promql}, not {expected}")


async def test_prometheus_scrapes_what_the_api_and_the_worker_counted(database: None, tmp_path: Path) -> None:
    api_port, worker_port, prometheus_port = free_port(), free_port(), free_port()
    for folder in ("api", "worker"):
        (tmp_path / folder).mkdir()
    api = start_api_processes(api_port, 2, JSC_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "api"))
    worker = start_worker(
        JSC_METRICS_TOKEN=TOKEN,
        JSC_WORKER_METRICS_PORT=str(worker_port),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker"),
        JSC_METRICS_DISK_PATHS=f'["{tmp_path}"]',
    )
    prometheus = None
    try:
        base_url = f"http://127.0.0.1:{api_port}"
        wait_healthy(base_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            api_client = Api(client)
            citizen = await api_client.sign_up()
            for _ in range(4):
                assert (await api_client.create_report(citizen))["errors"] == []
            assert (await client.get("/metrics")).status_code == 401

        prometheus = start_prometheus(
            {"jsc-api": f"127.0.0.1:{api_port}", "jsc-worker": f"127.0.0.1:{worker_port}"},
            TOKEN,
            folder=tmp_path / "prometheus",
            port=prometheus_port,
            log_file=tmp_path / "prometheus.log",
            interval="1s",
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{prometheus_port}", timeout=10) as prom:
            # Four, whichever of the two API processes filed each and whichever Prometheus scraped.
            assert await wait_for_value(prom, CREATED, 4) == 4
            assert await wait_for_value(prom, 'up{job="jsc-worker"}', 1) == 1
            assert await wait_for_value(prom, 'jsc_metrics_database_up{job="jsc-worker"}', 1) == 1
            queues = await query(prom, 'jsc_job_queue_depth{job="jsc-worker"}')
            disk = await query(prom, 'jsc_disk_free_bytes{job="jsc-worker"}')
            rules = (await prom.get("/api/v1/rules")).json()["data"]["groups"]

        assert {"photos", "notifications", "cctv", "cctv-watch"} <= {r["metric"]["queue"] for r in queues}
        assert [r["metric"]["path"] for r in disk] == [str(tmp_path)]
        assert float(disk[0]["value"][1]) > 0
        assert sum(len(group["rules"]) for group in rules) == 17
    finally:
        stop(*(proc for proc in (prometheus, worker, api) if proc is not None))
