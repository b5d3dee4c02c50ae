"""Liveness and readiness of an API process.

``/healthz`` answers while the process serves requests at all (restart it when it does not). ``/readyz`` answers
200 only when the process can do its work: the database answers, S3 answers, and its LISTEN connections are up
(without them the map cache is off and live subscribers hear nothing); otherwise 503, naming what failed. Each
check is bounded by ``JSC_READY_TIMEOUT_S``, so a hung dependency makes the probe fail, not hang. Warnings
(a year the holiday calendar does not cover) are shown but do not fail it, and so is the read replica's state
(``replica``): while it is down or behind, the public reads fall back to the primary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.live import ReportEventHub
from domain import sla
from domain.resources import Resources


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz(resources: Resources, hubs: Sequence[ReportEventHub]) -> Callable[[Request], Awaitable[Response]]:
    timeout_s = resources.settings.ready_timeout_s

    async def database() -> None:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def listen() -> None:
        down = [hub.channel for hub in hubs if not hub.listening.is_set()]
        if down:
            raise ConnectionError(f"not listening on {', '.join(down)}")

    async def check(probe: Callable[[], Awaitable[None]]) -> dict[str, str]:
        try:
            await asyncio.wait_for(probe(), timeout_s)
        except TimeoutError:
            return {"status": "failed", "error": f"no answer within {timeout_s:g} s"}
        except Exception as exc:  # noqa: BLE001 - whatever fails, the probe reports it
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:300]}
        return {"status": "ok"}

    async def replica() -> dict[str, object]:
        """The read replica's state, shown but never failing the probe: without it the public reads go to the
        primary."""
        gate = resources.public_reads.gate
        if gate is not None:
            await gate.verdict()
        return resources.public_reads.metrics.as_dict()

    async def endpoint(_: Request) -> Response:
        names = ("database", "s3", "listen")
        results = await asyncio.gather(check(database), check(resources.storage.check), check(listen))
        checks = dict(zip(names, results, strict=True))
        ready = all(result["status"] == "ok" for result in results)
        body: dict[str, Any] = {
            "status": "ready" if ready else "unready",
            "checks": checks,
            "replica": await replica(),
            "warnings": [f"holiday calendar does not cover {year}" for year in sorted(sla.uncovered_years)],
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    return endpoint
