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

import bench.common
from bench.common import cpu_probe_ms
from bench.soak import (
    Account,
    Agent,
    Recorder,
    Sampler,
    api_command,
    check_my_reports,
    judge_memory,
    parse_args,
    rss_kib,
    spike_starts,
    timing_full_collections,
)
from bench.timeline import slope_per_s

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


async def test_a_304_answers_the_etag_sent_even_when_another_tile_took_its_place_in_the_cache_meanwhile() -> None:
    # given a user whose bounded cache holds one tile's ETag, and a server that answers it 304
    etags = {"/tiles/reports/1/1/1.pbf": '"a"'}

    def answer(request: httpx.Request) -> httpx.Response:
        etags.pop("/tiles/reports/1/1/1.pbf")  # another tile of the window, answered first, took its place
        if request.headers.get("if-none-match") == '"a"':
            return httpx.Response(304)
        return httpx.Response(200, content=b"tile")

    class Load:
        rec = Recorder()

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://api.test") as http:
        agent = Agent(Load(), http)  # type: ignore[arg-type]

        # when
        await agent.get("tile reports", "/tiles/reports/1/1/1.pbf", etags)

    # then it is no error: the 304 answered what was asked
    assert Load.rec.error_count() == 0
    assert len(Load.rec.ops["tile reports"].latencies) == 1


async def test_a_304_to_a_request_that_sent_no_etag_is_an_error() -> None:
    class Load:
        rec = Recorder()

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(304))) as http:
        await Agent(Load(), http).get("tile reports", "http://api.test/tiles/reports/1/1/1.pbf", {})  # type: ignore[arg-type]

    assert Load.rec.error_count() == 1


def test_two_spikes_by_default_each_in_the_middle_of_its_half_with_room_after_it(tmp_path: Path) -> None:
    opts = parse_args(["--log-dir", str(tmp_path)])

    assert opts.spikes == [(90.0, 210.0), (390.0, 510.0)]
    assert parse_args(["--spikes", "1", "--log-dir", str(tmp_path)]).spikes == [(240.0, 360.0)]
    assert parse_args(["--spikes", "1", "--spike-at", "60", "--log-dir", str(tmp_path)]).spikes == [(60.0, 180.0)]
    assert parse_args(["--spikes", "0", "--log-dir", str(tmp_path)]).spikes == []
    # each spike in the middle of its half, with its 30 s recovery and 30 s of steady load on both sides
    assert spike_starts(470.0, 2, 120.0, None) == ()
    assert spike_starts(480.0, 2, 120.0, None) == (60.0, 300.0)
    with pytest.raises(SystemExit):
        parse_args(["--spike-at", "60", "--log-dir", str(tmp_path)])  # which of the two?


def test_memory_with_two_spikes_is_judged_between_them_and_by_the_later_spike_s_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a run with two spikes, 200 MiB before them, 300 during each; then 240 after the first
    opts = parse_args(["--log-dir", str(tmp_path)])

    def run(after_second: float) -> list[tuple[float, float]]:
        def level(t: float) -> float:
            if any(start <= t < end for start, end in opts.spikes):
                return 300.0
            return 200.0 if t < 90 else 240.0 if t < 390 else after_second

        return [(float(t), level(float(t)) * 1024) for t in range(0, 600, 5)]

    def judged(points: list[tuple[float, float]]) -> list[str]:
        growth = slope_per_s(points) * 600 / (200 * 1024) * 100
        return judge_memory(opts, "api", points, growth, 200 * 1024, 600.0)

    # when the second spike reuses what the first left, the first's step is reported and nothing fails
    assert judged(run(after_second=241.0)) == []
    assert "+40.0 MiB (+20.0 %), +1.0 MiB (+0.5 %)" in capsys.readouterr().out
    # when it steps again, that fails
    assert judged(run(after_second=280.0)) == ["api memory stepped again at a later spike (+20.0 %)"]
    # and with one spike the whole run's slope is judged, the step with it
    one = parse_args(["--spikes", "1", "--log-dir", str(tmp_path)])
    points = run(after_second=240.0)
    assert judge_memory(one, "api", points, 25.0, 200 * 1024, 600.0) == [
        "api memory grew 25.0 % by its slope (limit 10 %)"
    ]


def test_a_sample_taken_while_a_password_is_hashed_is_marked_and_left_out_of_the_series() -> None:
    hashing = False
    sampler = Sampler({"api": os.getpid()}, hashing=lambda: hashing)

    sampler.take(0.0)
    hashing = True
    sampler.take(5.0)
    hashing = False
    sampler.take(10.0)

    assert sampler.marked == {1}  # a password was being hashed while the second sample was read
    assert [t for t, _ in sampler.series("api", since=0.0)] == [0.0, 10.0]
    assert [t for t, _ in sampler.series("api", since=5.0)] == [5.0]  # the third, on the clock from 5 s


def test_the_machine_speed_probe_reports_its_fastest_round_in_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a clock by which the three rounds take 0.3, 0.1 and 0.2 s
    ticks = iter([10.0, 10.3, 20.0, 20.1, 30.0, 30.2])
    monkeypatch.setattr(bench.common.time, "perf_counter", lambda: next(ticks))

    # then the best of them, in ms (a busy moment of the machine slows one round, not the machine's figure)
    assert cpu_probe_ms(rounds=3) == pytest.approx(100.0)
