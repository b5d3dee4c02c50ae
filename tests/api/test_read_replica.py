"""Public reads on the real streaming replica (scripts/stack.py replica-up --profile test), and their fallbacks.

The proof that a read was served by the replica: replay is paused on the replica (pg_wal_replay_pause()), a report
is filed on the primary, and the public map does not show it although the primary has it. The verdicts are
renewed by calling the gate's check, never by waiting for its period; waits are for a signal (the replica having
replayed the primary's WAL position).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from api.app import create_app
from domain import public_map
from domain.db import ReplicaGate
from domain.replica import Fallback, parse_lsn, record_start
from domain.resources import Resources
from domain.settings import Settings
from tests.factories import TOMANG, Api, report_input

# Alone, after the rest (scripts/pytest.sh): it pauses the replica's replay of the whole cluster.
pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parents[2]
NEAR_TOMANG = {"west": TOMANG[1] - 0.01, "south": TOMANG[0] - 0.01, "east": TOMANG[1] + 0.01, "north": TOMANG[0] + 0.01}
BOX = public_map.BBox(NEAR_TOMANG["west"], NEAR_TOMANG["south"], NEAR_TOMANG["east"], NEAR_TOMANG["north"])

IN_BBOX = """
query List($bbox: BBoxInput!) { reportsInBbox(bbox: $bbox, first: 100) { id } }
"""
CREATE = """
mutation Create($input: CreateReportInput!) { createReport(input: $input) { report { id } errors { code } } }
"""
MINE = "query { myReports(first: 5) { edges { node { id } } } }"


def _stack(command: str) -> str:
    done = subprocess.run(
        [sys.executable, "scripts/stack.py", command, "--profile", "test"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


async def _connect(url: str, database: str | None = None) -> asyncpg.Connection:
    u = make_url(url)
    return await asyncpg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, database=database or u.database
    )


@pytest.fixture(scope="module")
async def replica_url(database: None, settings: Settings) -> str:
    url = await asyncio.to_thread(_stack, "replica-up")
    # A replica started just now may still be replaying this session's DROP and CREATE of the test database:
    # waited for on the `postgres` database, which always exists.
    primary, standby = await _connect(settings.database_url, "postgres"), await _connect(url, "postgres")
    try:
        await Replica(primary, standby).caught_up()
    finally:
        await primary.close()
        await standby.close()
    return url


@pytest.fixture(scope="module")
def replica_settings(settings: Settings, replica_url: str) -> Settings:
    # A lag limit no test reaches and a check period no test waits for: each test renews the verdict itself.
    return settings.model_copy(
        update={
            "read_replica_url": replica_url,
            "read_replica_max_lag_s": 3600.0,
            "read_replica_check_s": 3600.0,
            "map_cache_entries": 0,
        }
    )


@pytest.fixture(scope="module")
async def replica_app(replica_settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(replica_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def api_r(replica_app: Starlette) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=replica_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
        yield Api(client)


class Replica:
    """The replica and the primary, as their superuser, to pause replay and to wait for it."""

    def __init__(self, primary: asyncpg.Connection, replica: asyncpg.Connection) -> None:
        self.primary, self.replica = primary, replica

    async def caught_up(self) -> None:
        """Until the replica has replayed everything the primary had written when this was called."""
        target = record_start(parse_lsn(await self.primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")) or 0)
        await self.replica.execute("SELECT pg_wal_replay_resume()")
        for _ in range(2000):
            if (parse_lsn(await self.replica.fetchval("SELECT pg_last_wal_replay_lsn()::text")) or 0) >= target:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the replica did not replay up to {target}")

    async def pause(self) -> None:
        await self.replica.execute("SELECT pg_wal_replay_pause()")


@pytest.fixture
async def replica(settings: Settings, replica_url: str) -> AsyncIterator[Replica]:
    primary, standby = await _connect(settings.database_url), await _connect(replica_url)
    r = Replica(primary, standby)
    await r.caught_up()
    try:
        yield r
    finally:
        await r.caught_up()
        await primary.close()
        await standby.close()


def _gate(app: Starlette) -> ReplicaGate:
    gate = app.state.resources.public_reads.gate
    assert gate is not None
    return gate


def _ids(body: dict[str, Any]) -> set[str]:
    return {p["id"] for p in body["data"]["reportsInBbox"]}


async def test_public_map_is_read_on_the_replica(api_r: Api, replica_app: Starlette, replica: Replica) -> None:
    # given a healthy replica whose replay is paused, and a report filed on the primary after the pause
    gate = _gate(replica_app)
    assert (await gate.check()).healthy
    citizen = await api_r.sign_up()
    await replica.pause()
    report = await api_r.create_report(citizen)
    served_before = gate.metrics.replica_reads_total

    # when an anonymous reader asks the public map
    before_replay = _ids(await api_r.gql(IN_BBOX, {"bbox": NEAR_TOMANG}))
    # then the answer lacks the report the primary holds: it came from the replica
    assert report["report"]["id"] not in before_replay
    assert gate.metrics.replica_reads_total == served_before + 1
    assert await replica.primary.fetchval("SELECT count(*) FROM reports WHERE id = $1::uuid", report["report"]["id"])
    # and so does Open311's list, read on the replica through the ORM; the request by id, missing there, is looked
    # up on the primary (a client asking for what it has just filed)
    listed = await api_r.client.get("/open311/v2/requests.json", params={"service_request_id": report["report"]["id"]})
    assert listed.json() == []
    one = await api_r.client.get(f"/open311/v2/requests/{report['report']['id']}.json")
    assert [r["service_request_id"] for r in one.json()] == [report["report"]["id"]]
    assert gate.metrics.replica_reads_total == served_before + 3

    # and once the replica has replayed it, the same read shows it
    await replica.caught_up()
    assert (await gate.check()).lag_s == 0.0
    assert report["report"]["id"] in _ids(await api_r.gql(IN_BBOX, {"bbox": NEAR_TOMANG}))


async def test_own_write_is_read_on_the_primary(api_r: Api, replica_app: Starlette, replica: Replica) -> None:
    # given a replica the gate trusts but that replays nothing
    gate = _gate(replica_app)
    assert (await gate.check()).healthy
    citizen = await api_r.sign_up()
    await replica.pause()
    served_before = gate.metrics.replica_reads_total

    # when the citizen files a report and, in the same request, reads the public map
    batch = [
        {"query": CREATE, "variables": {"input": report_input()}},
        {"query": IN_BBOX, "variables": {"bbox": NEAR_TOMANG}},
    ]
    response = await api_r.client.post("/graphql", json=batch, headers={"Authorization": f"Bearer {citizen.token}"})
    created, seen = response.json()
    new_id = created["data"]["createReport"]["report"]["id"]
    # then the map read after the mutation sees it (the primary's answer), and so do their own reports
    assert new_id in _ids(seen)
    mine = await api_r.gql(MINE, token=citizen.token)
    assert [e["node"]["id"] for e in mine["data"]["myReports"]["edges"]] == [new_id]
    assert gate.metrics.replica_reads_total == served_before

    # while an anonymous reader's map, read on the replica, does not have it yet
    assert new_id not in _ids(await api_r.gql(IN_BBOX, {"bbox": NEAR_TOMANG}))
    assert gate.metrics.replica_reads_total == served_before + 1


async def test_lagging_replica_falls_back_to_the_primary(
    replica_settings: Settings, api_r: Api, replica: Replica
) -> None:
    # given a lag limit of 0 s and a replica whose replay is paused behind a new report
    resources = Resources.create(replica_settings.model_copy(update={"read_replica_max_lag_s": 0.0}))
    try:
        reads, gate = resources.public_reads, resources.public_reads.gate
        assert gate is not None
        reference = await resources.reference.get()
        await replica.pause()
        report = await api_r.create_report(await api_r.sign_up())

        # when the gate checks and a public read comes
        verdict = await gate.check()
        found = await public_map.points(reads, reference, BOX, public_map.MapFilter(), limit=100)

        # then the replica is judged behind, and the read, on the primary, has the report
        assert verdict.reason is Fallback.LAG
        assert verdict.lag_s is not None
        assert verdict.lag_s > 0
        assert gate.metrics.state == "lag"
        assert report["report"]["id"] in {str(p.id) for p in found}
        assert gate.metrics.fallback_total == {"down": 0, "not_standby": 0, "lag": 1, "error": 0}
        assert gate.metrics.replica_reads_total == 0
    finally:
        await resources.close()


async def test_stopped_replica_falls_back_and_stays_ready(
    api_r: Api, replica_app: Starlette, replica_url: str, settings: Settings
) -> None:
    # given a report, and then the replica stopped
    gate = _gate(replica_app)
    report = await api_r.create_report(await api_r.sign_up())
    down_before = gate.metrics.fallback_total["down"]
    await asyncio.to_thread(_stack, "replica-down")
    try:
        # when the gate checks and an anonymous reader asks the public map and Open311
        verdict = await gate.check()
        seen = _ids(await api_r.gql(IN_BBOX, {"bbox": NEAR_TOMANG}))
        open311 = await api_r.client.get(f"/open311/v2/requests/{report['report']['id']}.json")
        ready = await api_r.client.get("/readyz")

        # then both are answered by the primary, counted as fallbacks, and the API stays ready
        assert verdict.reason is Fallback.DOWN
        assert report["report"]["id"] in seen
        assert open311.status_code == 200, open311.text
        assert gate.metrics.fallback_total["down"] == down_before + 2
        assert ready.status_code == 200, ready.text
        assert ready.json()["replica"]["state"] == "down"
    finally:
        await asyncio.to_thread(_stack, "replica-up")
    # and once it is back, the next check finds it healthy again
    primary, standby = await _connect(settings.database_url), await _connect(replica_url)
    try:
        await Replica(primary, standby).caught_up()
    finally:
        await primary.close()
        await standby.close()
    assert (await gate.check()).healthy
