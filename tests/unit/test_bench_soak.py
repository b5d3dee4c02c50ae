"""bench/soak.py's virtual users: an error the soak counts must be the API's, never the load generator's own."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.soak import (
    Account,
    Agent,
    Recorder,
    Sampler,
    api_command,
    check_my_reports,
    parse_args,
    rss_kib,
    timing_full_collections,
)

REPORT = "r-1"


class Citizens:
    """Two virtual users playing the same citizen, whose one report is completed: what the API is asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.both_looked = asyncio.Event()
        self.looked = 0

    async def pause(self, mean_s: float) -> None:
        await asyncio.sleep(0)

    async def call(self, op: str, query: str, variables: dict[str, Any], who: Account | None = None) -> Any:
        self.calls.append(op)
        if op == "myReports":
            return {"edges": [{"node": {"id": REPORT, "status": "COMPLETED"}}]}
        if op == "report (own)":
            # Both users open the report before either acts on it, as two phones of one citizen may.
            self.looked += 1
            if self.looked == 2:
                self.both_looked.set()
            await self.both_looked.wait()
            return {"id": REPORT, "status": "COMPLETED"}
        return {"report": {"id": REPORT}}


async def test_two_virtual_users_of_one_citizen_rate_a_completed_report_once() -> None:
    # given one citizen's account, played by two virtual users at once
    citizens = Citizens()
    citizens.load = citizens  # type: ignore[attr-defined]  # the agent's load: its think times
    who = Account("citizen", "token", "refresh")

    # when both look at their completed report and act on it
    await asyncio.gather(*(check_my_reports(citizens, random.Random(seed), who) for seed in (1, 2)))  # type: ignore[arg-type]

    # then it is rated (or reopened) once: a second rating would be ALREADY_RATED, counted as an error
    assert sum(op in {"rateReport", "reopenReport"} for op in citizens.calls) == 1
    assert who.rated == {REPORT}


def test_the_api_is_started_as_make_run_starts_it_with_the_workers_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JSC_API_PORT", "49480")
    opts = parse_args(["--api-workers", "2", "--log-dir", str(tmp_path)])

    command = api_command(opts)

    assert command[1:5] == ["-m", "cli.main", "api", "--host"]
    assert command[-2:] == ["--workers", "2"]
    assert parse_args(["--log-dir", str(tmp_path)]).api_workers == 1  # `jsc api`'s own default, as `make run`


def test_the_memory_of_a_process_counts_its_children() -> None:
    # given a process with a child (as uvicorn's supervisor has its workers)
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        sampler = Sampler({"api": os.getpid()})

        # when
        reading = sampler.take(0.0)["api"]

        # then both are in it, each with its own reading
        processes = sampler.by_process["api"]
        assert {os.getpid(), child.pid} <= processes.keys()
        assert processes[child.pid] > 0
        assert reading == sum(processes.values())
        assert reading > (rss_kib(os.getpid()) or 0)
    finally:
        child.communicate(b"")


async def test_the_api_s_own_time_is_recorded_beside_the_generator_s() -> None:
    # given an API that says it took 12.5 ms for GraphQL, and a tile server that says nothing
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/graphql":
            body = {"data": {"report": {"id": REPORT}}}
            return httpx.Response(200, json=body, headers={"server-timing": "app;dur=12.5"})
        return httpx.Response(200, content=b"tile")

    class Load:
        rec = Recorder()

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://api.test") as http:
        agent = Agent(Load(), http)  # type: ignore[arg-type]

        # when one GraphQL request and one tile are timed
        await agent.call("report", "{ report }", {})
        await agent.get("tile reports", "/tiles/reports/1/1/1.pbf", {})

    # then the GraphQL request keeps the API's figure beside the generator's, and the tile only the generator's
    assert Load.rec.ops["report"].server == [0.0125]
    assert len(Load.rec.ops["report"].latencies) == 1
    assert Load.rec.ops["tile reports"].server == []
    assert Load.rec.error_count() == 0


def test_the_generator_s_own_full_collections_are_timed_into_the_current_recorder() -> None:
    class Load:
        rec = Recorder()

    with timing_full_collections(Load()):  # type: ignore[arg-type]
        gc.collect(1)  # not a full collection
        gc.collect()
        Load.rec = Recorder()  # the timed phase's recorder replaces the warm-up's
        gc.collect()
    gc.collect()  # after: not timed

    assert len(Load.rec.full_gcs) == 1
    assert Load.rec.full_gcs[0] > 0
