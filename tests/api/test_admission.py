"""The public lane (api/admission.py): a crowd of anonymous readers waits its turn; citizens and officers do not."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from api.admission import PublicLane, is_read
from domain.cpu_turns import CpuTurns, off_cpu
from domain.resources import Resources
from tests.factories import LOG_IN, Api
from tests.public_views import tile_of

CITY_STATS = "query Stats { cityStats(groupBy: KOTA) { key total } }"
ME = "query Me { me { id } }"
MONAS = (-6.1754, 106.8272)


@contextlib.asynccontextmanager
async def crowded(lane: PublicLane, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Every place of the lane taken (as by a crowd of map readers waiting on slow queries), and a short wait for
    the rest."""
    monkeypatch.setattr(lane, "wait_s", 0.3)
    entered = [asyncio.Event() for _ in range(lane.size)]
    done = asyncio.Event()

    async def slow_reader(inside: asyncio.Event) -> None:
        async with lane.turn():
            with off_cpu():  # as a query's wait
                inside.set()
                await done.wait()

    readers = [asyncio.create_task(slow_reader(inside)) for inside in entered]
    await asyncio.wait_for(asyncio.gather(*(inside.wait() for inside in entered)), 5)
    try:
        yield
    finally:
        done.set()
        await asyncio.gather(*readers)


@contextlib.asynccontextmanager
async def in_the_lane(lane: PublicLane, work: Callable[[], Awaitable[object]]) -> AsyncIterator[asyncio.Task[None]]:
    """An anonymous read's work running in the lane (in a task of its own, as a request's)."""
    started = asyncio.Event()

    async def read() -> None:
        async with lane.turn():
            started.set()
            await work()

    task = asyncio.create_task(read())
    await asyncio.wait_for(started.wait(), 5)
    try:
        yield task
    finally:
        await task


async def test_an_anonymous_read_waits_its_turn_and_is_told_to_come_back_when_it_does_not_come(
    api: Api, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane: PublicLane = app.state.public_lane
    citizen = await api.sign_up()

    async with crowded(lane, monkeypatch):
        refused = await api.raw(CITY_STATS)
        own = await api.gql(ME, token=citizen.token)
        logged_in = await api.gql(LOG_IN, {"login": citizen.email, "password": citizen.password})
        # a read that may wait longer is held while the lane is full, and gets its turn when one frees
        monkeypatch.setattr(lane, "wait_s", 30.0)
        waiting = asyncio.create_task(api.raw(CITY_STATS))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiting), 0.5)
    served_after = await waiting

    # then the crowd's newcomer is refused with a code and when to come back, not an error of ours
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    assert [e["extensions"]["code"] for e in refused.json()["errors"]] == ["OVERLOADED"]
    assert refused.json()["data"] is None
    # and a logged-in citizen's read and a log-in never waited for the lane
    assert own["data"]["me"]["id"] == citizen.user_id
    assert logged_in["data"]["logIn"]["errors"] == []
    # and the waiting read was served once a turn freed
    assert served_after.status_code == 200
    assert "errors" not in served_after.json()
    assert isinstance(served_after.json()["data"]["cityStats"], list)


async def test_a_tile_render_takes_a_turn_and_a_revalidation_or_a_kept_tile_does_not(
    api: Api, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane: PublicLane = app.state.public_lane
    x, y = tile_of(*MONAS, 15)
    url = f"/tiles/reports/15/{x}/{y}.pbf"
    rendered = await api.client.get(url)
    assert rendered.status_code == 200

    async with crowded(lane, monkeypatch):
        # a filter no one asked for yet: a tile to render
        refused = await api.client.get(url, params={"statuses": "REJECTED,DUPLICATE", "categories": "flood"})
        revalidated = await api.client.get(url, headers={"If-None-Match": rendered.headers["ETag"]})
        kept = await api.client.get(url)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["error"]["code"] == "OVERLOADED"
    assert revalidated.status_code == 304
    assert (kept.status_code, kept.content) == (200, rendered.content)


async def test_a_read_waiting_on_postgresql_gives_its_cpu_turn_to_the_next(
    api: Api, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane: PublicLane = app.state.public_lane
    resources: Resources = app.state.resources
    monkeypatch.setattr(lane, "cpu", CpuTurns(1))
    monkeypatch.setattr(lane, "wait_s", 0.3)

    async def orm_sleep() -> None:
        async with resources.sessions() as session:
            await session.execute(text("SELECT pg_sleep(1)"))

    # one read at a time on the CPU, and one in the lane whose query runs for a second (public reads or the ORM)
    async with in_the_lane(lane, lambda: resources.public_reads.scalar("SELECT pg_sleep(1)", {})) as slow:
        through_public_reads = await api.raw(CITY_STATS)
        assert not slow.done()
    async with in_the_lane(lane, orm_sleep) as slow:
        through_the_orm = await api.raw(CITY_STATS)
        assert not slow.done()

    # another anonymous read was answered meanwhile (the lane's wait is 0.3 s, the query's 1 s)
    for response in (through_public_reads, through_the_orm):
        assert response.status_code == 200
        assert "errors" not in response.json()


async def test_a_read_whose_statement_failed_counts_at_the_cpu_again(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane: PublicLane = app.state.public_lane
    resources: Resources = app.state.resources
    monkeypatch.setattr(lane, "cpu", CpuTurns(1))
    running_after: list[int] = []

    async def failing_statement() -> None:
        async with resources.sessions() as session:
            with pytest.raises(DBAPIError):
                await session.execute(text("SELECT 1 / 0"))
        running_after.append(lane.cpu.running)

    async with in_the_lane(lane, failing_statement):
        pass

    # back on the CPU after the error (not left uncounted until the read ends), and nothing held after it
    assert running_after == [1]
    assert lane.cpu.running == 0


async def test_a_read_on_the_cpu_holds_its_turn(api: Api, app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    lane: PublicLane = app.state.public_lane
    monkeypatch.setattr(lane, "cpu", CpuTurns(1))
    monkeypatch.setattr(lane, "wait_s", 0.3)
    release = asyncio.Event()

    def lane_reads(state: str) -> float:
        return REGISTRY.get_sample_value("jsc_public_lane_reads", {"state": state}) or 0.0

    before = {state: lane_reads(state) for state in ("admitted", "waiting")}
    # a read that holds the one turn without waiting on the database (Python at work, to the lane)
    async with in_the_lane(lane, release.wait):
        refusing = asyncio.create_task(api.raw(CITY_STATS))
        await asyncio.sleep(0.1)
        during = {state: lane_reads(state) - before[state] for state in ("admitted", "waiting")}
        refused = await refusing
        release.set()

    # what the operators see meanwhile: one read in the lane, one waiting to start
    assert during == {"admitted": 1, "waiting": 1}
    assert {state: lane_reads(state) for state in ("admitted", "waiting")} == before
    assert refused.status_code == 503
    assert [e["extensions"]["code"] for e in refused.json()["errors"]] == ["OVERLOADED"]
    assert lane.cpu.running == 0


@pytest.mark.parametrize(
    ("query", "name", "read"),
    [
        ("query { me { id } }", None, True),
        ("{ me { id } }", None, True),
        ("mutation In { logIn(login: 1) { ok } }", None, False),
        ("query A { me { id } } mutation B { logOut { ok } }", "B", False),
        ("query A { me { id } } mutation B { logOut { ok } }", "A", True),
        ("query A { me { id } } mutation B { logOut { ok } }", None, True),  # strawberry refuses it, in the lane
        ("subscription S { reportEvents { kind } }", None, False),
        ("not graphql {", None, True),
        (None, None, True),
    ],
)
def test_what_counts_as_a_read(query: str | None, name: str | None, read: bool) -> None:
    assert is_read(query, name) is read
