"""Continuous watching on the test stack's PostgreSQL and S3: cameras served as live HLS from 127.0.0.1 (segments
made here with PyAV from generated frames), samples taken in-process, and `jsc worker --queue cctv-watch`
processes for the scheduling: at the interval, never two at once, a killed worker's camera taken over."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from sqlalchemy import select, text, update

from domain import cctv, cctv_archive, cctv_sample, cctv_watch
from domain.cctv_rules import CameraHealth
from domain.jobs import JobBuffer, JobRequest
from domain.models import AlertKind, Camera, CameraKind, CameraSource, CameraWatch, CctvAlert
from domain.resources import Resources
from tests import clips
from tests.fakes.hls import LiveCameras, serving
from workers.tasks import STALLED_AFTER_S

# Alone, after the rest (scripts/pytest.sh): it stops PostgreSQL, and it times samples to the camera's interval.
pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
WAIT_S = 60.0  # a failure guard only: every wait ends as soon as the row it waits for is there


# --- scenes: what a camera sends, segment by segment -------------------------------------------------------------

BACKGROUND = clips.textured_background()


def _still(n: int) -> bytes:
    rng = np.random.default_rng(n)
    return clips.ts_segment([clips.with_noise(BACKGROUND, rng) for _ in range(10)])


def _moving(n: int) -> bytes:
    rng = np.random.default_rng(n)
    frame = clips.with_noise(BACKGROUND, rng)
    x = 20 + (n * 67) % 240
    frame[100:160, x : x + 50] = 250
    return clips.ts_segment([frame] * 10)


def _black(n: int) -> bytes:
    rng = np.random.default_rng(n)
    return clips.ts_segment([clips.with_noise(np.zeros_like(BACKGROUND), rng, sigma=2.0)] * 10)


def _covered(n: int) -> bytes:
    rng = np.random.default_rng(n)
    return clips.ts_segment([clips.with_noise(np.full_like(BACKGROUND, 128), rng, sigma=1.5)] * 10)


_FROZEN = clips.ts_segment([clips.with_noise(BACKGROUND, np.random.default_rng(99))] * 10)


def _frozen(n: int) -> bytes:
    return _FROZEN


def _turned(n: int) -> bytes:
    rng = np.random.default_rng(n)
    return clips.ts_segment([clips.with_noise(np.roll(BACKGROUND, 64, axis=1), rng)] * 10)


def _garbage(n: int) -> bytes:
    return np.random.default_rng(n).integers(0, 256, 20_000, dtype=np.uint8).tobytes()


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[LiveCameras, str]]:
    cameras = LiveCameras()
    with serving(cameras.handler()) as url:
        yield cameras, url


async def add_camera(
    resources: Resources, source: str, *, kind: CameraSource = CameraSource.STREAM, **extra: object
) -> int:
    code = f"watch-{uuid.uuid4().hex[:8]}"
    data = cctv.CameraInput(
        code=code, name=f"Watched {code}", operator="Dishub", kind=CameraKind.ROAD, lon=106.79, lat=-6.17,
        heading_deg=90, fov_deg=60, range_m=100, source_kind=kind, source=source, **extra,  # type: ignore[arg-type]
    )  # fmt: skip
    reference = await resources.reference.get()
    async with resources.unit_of_work() as session:
        camera, _ = await cctv.save_camera(session, reference, data=data)
        return camera.id


async def no_defer(session: object, jobs: list[JobRequest]) -> int:
    return 0


async def sample(resources: Resources, camera_id: int) -> str:
    return await cctv_sample.sample_camera(resources, camera_id=camera_id, defer=no_defer)  # type: ignore[arg-type]


async def alerts_of(resources: Resources, camera_id: int) -> list[AlertKind]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(CctvAlert.kind).where(CctvAlert.camera_id == camera_id).order_by(CctvAlert.created_at)
        )
        return list(rows)


async def watch_row(resources: Resources, camera_id: int) -> CameraWatch:
    async with resources.unit_of_work() as session:
        return await session.get_one(CameraWatch, camera_id)


def stream(live: tuple[LiveCameras, str], scene: Callable[[int], bytes]) -> tuple[str, str]:
    cameras, url = live
    name = uuid.uuid4().hex[:8]
    cameras.add(name, scene)
    return name, f"{url}/{name}/index.m3u8"


# --- one sample at a time -----------------------------------------------------------------------------------------


async def test_motion_gates_the_detector(resources: Resources, live: tuple[LiveCameras, str]) -> None:
    # given a still street, then something moving through it
    scenes = {"still": _still}
    _, url = stream(live, lambda n: scenes["still"](n))
    camera_id = await add_camera(resources, url)

    # when it is sampled: first, still, still, then moving, moving
    outcomes = [await sample(resources, camera_id) for _ in range(3)]
    scenes["still"] = _moving
    outcomes += [await sample(resources, camera_id) for _ in range(2)]

    # then the detector ran on the first sample and on the moving ones only
    assert outcomes == ["detected", "sampled", "sampled", "detected", "detected"]
    row = await watch_row(resources, camera_id)
    assert (row.samples, row.detections, row.health, row.failures) == (5, 3, "OK", 0)
    assert row.reference is not None
    assert await alerts_of(resources, camera_id) == []


@pytest.mark.parametrize(
    ("scene", "kind", "samples"),
    [
        (_black, AlertKind.CAMERA_BLACK, 4),
        (_covered, AlertKind.CAMERA_COVERED, 4),
        (_frozen, AlertKind.CAMERA_FROZEN, 5),
        (_garbage, AlertKind.CAMERA_OFFLINE, 5),  # bytes that are no video: a health alert, not a crash
    ],
)
async def test_each_health_state_raises_exactly_one_alert(
    resources: Resources, live: tuple[LiveCameras, str], scene: Callable[[int], bytes], kind: AlertKind, samples: int
) -> None:
    _, url = stream(live, scene)
    camera_id = await add_camera(resources, url)

    for _ in range(samples):
        await sample(resources, camera_id)

    assert await alerts_of(resources, camera_id) == [kind]


async def test_a_camera_that_does_not_answer_is_offline_once(resources: Resources) -> None:
    camera_id = await add_camera(resources, "http://127.0.0.1:9/nobody/index.m3u8")

    outcomes = [await sample(resources, camera_id) for _ in range(5)]

    assert outcomes == ["no_answer"] * 5
    assert await alerts_of(resources, camera_id) == [AlertKind.CAMERA_OFFLINE]
    row = await watch_row(resources, camera_id)
    assert (row.health, row.failures, row.last_error) == ("OFFLINE", 5, "no_answer")


async def test_a_turned_camera_is_moved_once_until_an_admin_takes_its_new_view(
    resources: Resources, live: tuple[LiveCameras, str]
) -> None:
    scenes: dict[str, Callable[[int], bytes]] = {"now": _still}
    _, url = stream(live, lambda n: scenes["now"](n))
    camera_id = await add_camera(resources, url)
    await sample(resources, camera_id)  # the reference view

    scenes["now"] = _turned
    for _ in range(4):
        await sample(resources, camera_id)
    assert await alerts_of(resources, camera_id) == [AlertKind.CAMERA_MOVED]

    # when an admin takes the new view as the reference, it is OK again and nothing more is raised
    async with resources.unit_of_work() as session:
        code = await session.scalar(select(Camera.code).where(Camera.id == camera_id))
        await cctv_watch.reset_reference(session, code=str(code))
    for _ in range(3):
        await sample(resources, camera_id)
    assert await alerts_of(resources, camera_id) == [AlertKind.CAMERA_MOVED]
    assert (await watch_row(resources, camera_id)).health == CameraHealth.OK


async def test_an_archive_camera_is_sampled_from_the_head_of_its_newest_segment(resources: Resources) -> None:
    # given an archive with two segments this hour, the newer one of a black picture
    prefix = f"cctv/watch-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    for age, scene in ((20, _still), (10, _black)):
        key = cctv_archive.segment_key(prefix, now - timedelta(seconds=age))
        await resources.storage.write(key, scene(age), content_type=cctv_archive.SEGMENT_CONTENT_TYPE)
    camera_id = await add_camera(resources, prefix, kind=CameraSource.ARCHIVE)

    # when it is sampled twice
    outcomes = [await sample(resources, camera_id) for _ in range(2)]

    # then the newest segment was read, and the second time there was nothing newer
    row = await watch_row(resources, camera_id)
    assert outcomes == ["sampled", "unchanged"]
    assert row.last_media == cctv_archive.segment_key(prefix, now - timedelta(seconds=10))
    assert (row.candidate, row.streak) == ("BLACK", 1)


async def test_a_crowd_rule_is_alerted_with_its_snapshot_once_per_cooldown(
    resources: Resources, live: tuple[LiveCameras, str]
) -> None:
    # the camera's crowd threshold, judged on every sample by domain/cctv_zones.py: -1 people makes any
    # detection a "crowd"
    _, url = stream(live, _moving)
    camera_id = await add_camera(resources, url)
    async with resources.unit_of_work() as session:
        code = await session.scalar(select(Camera.code).where(Camera.id == camera_id))
        await session.execute(
            text("INSERT INTO cctv_alert_rules (camera_id, crowd_above_persons) VALUES (:id, -1)"), {"id": camera_id}
        )
    assert code is not None

    for _ in range(3):
        await sample(resources, camera_id)

    assert await alerts_of(resources, camera_id) == [AlertKind.CROWD]
    async with resources.unit_of_work() as session:
        key = await session.scalar(select(CctvAlert.snapshot_key).where(CctvAlert.camera_id == camera_id))
    assert key is not None
    assert (await resources.storage.read(key))[:3] == b"\xff\xd8\xff"


# --- workers ------------------------------------------------------------------------------------------------------


def start_watcher(log: Path, *, timeout_s: float = 30) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker", "--queue", "cctv-watch", "--concurrency", "2"],
            cwd=ROOT,
            env={**os.environ, "JSC_CCTV_WATCH_ENABLED": "true", "JSC_CCTV_WATCH_TIMEOUT_S": str(timeout_s)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def only_these_cameras(resources: Resources) -> AsyncIterator[list[int]]:
    """Other tests' cameras switched off while this test's workers watch, and this test's afterwards."""
    mine: list[int] = []
    async with resources.unit_of_work() as session:
        await session.execute(update(Camera).values(active=False))
    yield mine
    async with resources.unit_of_work() as session:
        await session.execute(update(Camera).where(Camera.id.in_(mine)).values(active=False))


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Polls a row (or the server's signal) until it says so; the deadline only fails a test that hangs."""
    deadline = time.monotonic() + WAIT_S
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_S:g} s")
        await asyncio.sleep(0.1)


async def sample_jobs(resources: Resources, camera_id: int) -> list[tuple[str, str, int | None]]:
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT status, args->>'due_at', worker_id FROM procrastinate_jobs "
                "WHERE task_name = 'cctv.watch_sample' AND lock = :lock ORDER BY id"
            ),
            {"lock": f"watch:{camera_id}"},
        )
        return [(str(s), str(d), w) for s, d, w in rows]


async def test_a_tick_hands_out_what_is_due_before_the_next_one_scheduled_at_its_due_time(
    resources: Resources, only_these_cameras: list[int]
) -> None:
    ids = [await add_camera(resources, f"rtsp://127.0.0.1:9/{n}") for n in range(3)]
    only_these_cameras.extend(ids)
    now = datetime.now(UTC)
    late, soon, later = now - timedelta(seconds=3), now + timedelta(seconds=1), now + timedelta(seconds=3)
    async with resources.unit_of_work() as session:
        for camera_id, due in zip(ids, (late, soon, later), strict=True):
            await session.execute(update(CameraWatch).where(CameraWatch.camera_id == camera_id).values(next_due_at=due))
    jobs = JobBuffer()
    async with resources.unit_of_work() as session:
        assert await cctv_watch.claim_due(session, now=now, horizon=now + timedelta(seconds=2), jobs=jobs) == 2
    handed = {request.kwargs["camera_id"]: request for request in jobs.drain()}
    assert set(handed) == set(ids[:2])  # the third is due after the next tick: that tick hands it out
    assert handed[ids[0]].schedule_at is None  # overdue: at once
    assert handed[ids[1]].schedule_at == soon  # not before its due time
    assert datetime.fromisoformat(handed[ids[1]].kwargs["due_at"]) == soon
    rows = {row.camera_id: row.next_due_at for row in [await watch_row(resources, i) for i in ids]}
    interval = timedelta(seconds=10)  # the default
    # The next due times are next_due's, computed in SQL: each camera on its own grid, one interval or so on.
    horizon = now + timedelta(seconds=2)
    expected = {i: cctv_watch.next_due(i, due, interval, horizon) for i, due in ((ids[0], late), (ids[1], soon))}
    for camera_id, due in expected.items():
        assert abs(rows[camera_id] - due) < timedelta(milliseconds=1)
        assert rows[camera_id].timestamp() % 10 == pytest.approx(cctv_watch.phase_s(camera_id, 10.0), abs=1e-3)
    assert rows[ids[2]] == later


async def test_two_workers_sample_a_camera_at_its_interval_and_never_twice_at_once(
    resources: Resources, live: tuple[LiveCameras, str], only_these_cameras: list[int], tmp_path: Path
) -> None:
    cameras, _ = live
    name, url = stream(live, _still)
    camera_id = await add_camera(resources, url, watch_interval_s=2.0)
    only_these_cameras.append(camera_id)
    cameras.hold(name)  # the first sample is held at its segment until a second job is waiting for the camera
    workers = [start_watcher(tmp_path / "a.log"), start_watcher(tmp_path / "b.log")]
    try:
        await until(lambda: asyncio.to_thread(cameras.held[name].wait, 0.1), "a sample in progress")
        await until(
            lambda: _has(
                sample_jobs(resources, camera_id),
                lambda jobs: [s for s, _, _ in jobs if s in {"doing", "todo"}] == ["doing", "todo"],
            ),
            "a second sample waiting for the first",
        )
        cameras.release(name)
        await until(lambda: _has(watch_row(resources, camera_id), lambda row: row.samples >= 3), "three samples")
    finally:
        stop(*workers)
    jobs = [j for j in await sample_jobs(resources, camera_id) if j[0] == "succeeded"]
    due = [datetime.fromisoformat(d) for _, d, _ in jobs]
    assert cameras.most_at_once[name] == 1
    assert len(jobs) >= 3
    assert all(later - earlier >= timedelta(seconds=2) for earlier, later in itertools.pairwise(due))


async def _has(value: Awaitable[T], test: Callable[[T], bool]) -> bool:
    return test(await value)


async def test_the_camera_of_a_killed_worker_is_taken_by_the_other_at_the_next_tick(
    resources: Resources, live: tuple[LiveCameras, str], only_these_cameras: list[int], tmp_path: Path
) -> None:
    cameras, _ = live
    name, url = stream(live, _still)
    camera_id = await add_camera(resources, url, watch_interval_s=2.0)
    only_these_cameras.append(camera_id)
    cameras.hold(name)
    first = start_watcher(tmp_path / "first.log")
    second = None
    try:
        # given the first worker caught in the middle of the camera's sample
        await until(lambda: asyncio.to_thread(cameras.held[name].wait, 0.1), "a sample in progress")
        doing = [w for s, _, w in await sample_jobs(resources, camera_id) if s == "doing"]
        assert len(doing) == 1
        second = start_watcher(tmp_path / "second.log")

        # when it is killed (its connection, and so the camera's lease, goes with it)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        cameras.release(name)

        # then a tick soon after gives its job up and the other worker samples the camera, long before the dead
        # worker's heartbeat would be missed (STALLED_AFTER_S)
        await until(lambda: _has(watch_row(resources, camera_id), lambda row: row.samples >= 1), "a sample")
        taken_after = time.monotonic() - killed
    finally:
        stop(*(p for p in (first, second) if p is not None))
    assert taken_after < cctv_watch.LEASE_GRACE_S + 3 * cctv_watch.TICK_S + 5 < STALLED_AFTER_S
    statuses = [s for s, _, _ in await sample_jobs(resources, camera_id)]
    assert statuses[0] == "failed"
    assert "succeeded" in statuses[1:]


async def test_finished_sample_jobs_are_removed_after_the_setting_and_the_rest_kept(resources: Resources) -> None:
    from workers.cctv import watch_cleanup, watch_sample
    from workers.runtime import app

    keep_s = resources.settings.cctv_watch_keep_jobs_s
    async with app.open_async():
        # given three sample jobs: one finished long ago, one finished lately, one still waiting since long ago
        ids = {
            name: await watch_sample.configure(queueing_lock=f"test-cleanup-{uuid.uuid4()}").defer_async(
                camera_id=0, due_at=name
            )
            for name in ("old", "recent", "waiting")
        }
        async with resources.unit_of_work() as session:
            await session.execute(
                text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id IN (:old, :recent)"), ids
            )
            await session.execute(
                text(
                    "UPDATE procrastinate_events SET at = at - make_interval(secs => :age) "
                    "WHERE job_id IN (:old, :waiting)"
                ),
                {**ids, "age": keep_s + 60},
            )

        # when the cleanup runs
        await watch_cleanup(timestamp=0)

    # then only the old finished one is gone
    async with resources.unit_of_work() as session:
        left = set(
            await session.scalars(
                text("SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids)"), {"ids": list(ids.values())}
            )
        )
    assert left == {ids["recent"], ids["waiting"]}


# --- faults: a killed worker, a camera that hangs, a stream of garbage, PostgreSQL restarted -----------------------


def _postgres() -> tuple[Callable[[], None], Callable[[], None]]:
    """Stops and starts the test stack's own PostgreSQL (scripts/stack.py)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import stack  # type: ignore[import-not-found]

    profile = stack.Profile("test")
    return (lambda: stack.pg_stop(profile)), (lambda: stack.pg_start(profile))


async def _sample_ends(resources: Resources, camera_ids: list[int]) -> dict[int, datetime | None]:
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            select(CameraWatch.camera_id, CameraWatch.last_sample_at).where(CameraWatch.camera_id.in_(camera_ids))
        )
        return {row.camera_id: row.last_sample_at for row in rows}


async def _worker_ids(resources: Resources) -> list[int]:
    async with resources.unit_of_work() as session:
        return list(await session.scalars(text("SELECT id FROM procrastinate_workers")))


async def _live_workers(resources: Resources, since: datetime) -> int:
    async with resources.unit_of_work() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat >= :since"), {"since": since}
        )
        return int(found or 0)


async def test_watching_outlives_a_killed_worker_a_hanging_camera_garbage_and_a_postgresql_restart(
    resources: Resources, live: tuple[LiveCameras, str], only_these_cameras: list[int], tmp_path: Path
) -> None:
    interval = 2.0
    cameras, _ = live
    steady: list[int] = []
    names: dict[int, str] = {}
    for _ in range(3):
        name, url = stream(live, _still)
        steady.append(await add_camera(resources, url, watch_interval_s=interval))
        names[steady[-1]] = name
    hanging_name, hanging_url = stream(live, _still)
    cameras.hold(hanging_name)  # answers the playlist, then never the segment
    faulty = {
        await add_camera(resources, hanging_url, watch_interval_s=interval): AlertKind.CAMERA_OFFLINE,
        await add_camera(resources, stream(live, _garbage)[1], watch_interval_s=interval): AlertKind.CAMERA_OFFLINE,
        await add_camera(resources, stream(live, _black)[1], watch_interval_s=interval): AlertKind.CAMERA_BLACK,
    }
    only_these_cameras.extend([*steady, *faulty])
    pg_stop, pg_start = _postgres()
    ends: dict[int, set[datetime]] = {camera_id: set() for camera_id in steady}
    polling = True

    async def record() -> None:  # every sample end of the steady cameras, as the watch rows show them
        while polling:
            with contextlib.suppress(Exception):  # PostgreSQL is away for a while on purpose
                for camera_id, at in (await _sample_ends(resources, steady)).items():
                    if at is not None:
                        ends[camera_id].add(at)
            await asyncio.sleep(0.2)

    def first_end_after(camera_id: int, moment: datetime) -> datetime | None:
        return min((at for at in ends[camera_id] if at > moment), default=None)

    # three workers, started one after the other so that each one's procrastinate id is known
    workers: dict[int, subprocess.Popen[bytes]] = {}
    before = set(await _worker_ids(resources))
    for n in range(3):
        proc = start_watcher(tmp_path / f"{n}.log", timeout_s=3)
        await until(lambda: _has(_worker_ids(resources), lambda ids: bool(set(ids) - before)), "a new worker")
        (new,) = set(await _worker_ids(resources)) - before
        workers[new] = proc
        before.add(new)
    recorder = asyncio.create_task(record())
    try:
        # given every camera watched: the steady ones sampled, the faulty ones alerted
        await until(lambda: _has(_sample_ends(resources, steady), lambda e: all(e.values())), "steady cameras sampled")
        await until(
            lambda: _has(
                asyncio.gather(*(alerts_of(resources, c) for c in faulty)), lambda found: all(len(a) for a in found)
            ),
            "the faulty cameras' alerts",
        )

        # when the worker in the middle of a steady camera's sample is SIGKILLed (before its 3 s timeout)
        cameras.hold(names[steady[0]])
        await until(lambda: asyncio.to_thread(cameras.held[names[steady[0]]].wait, 0.05), "a sample in progress")
        holder = next(w for s, _, w in await sample_jobs(resources, steady[0]) if s == "doing")
        assert holder in workers
        workers[holder].send_signal(signal.SIGKILL)
        workers.pop(holder).wait()
        killed = datetime.now(UTC)
        cameras.release(names[steady[0]])
        await asyncio.sleep(3 * interval + cctv_watch.LEASE_GRACE_S)
        workers[0] = start_watcher(tmp_path / "back.log", timeout_s=3)  # and started again

        # and PostgreSQL is restarted in the middle of another one's sample
        cameras.hold(names[steady[1]])
        await until(lambda: asyncio.to_thread(cameras.held[names[steady[1]]].wait, 0.1), "a sample in progress")
        await asyncio.to_thread(pg_stop)
        await asyncio.sleep(1)
        await asyncio.to_thread(pg_start)
        cameras.release(names[steady[1]])
        await resources.close()  # this process's pools: their connections died with the server
        restarted = datetime.now(UTC)
        await until(lambda: _has(_live_workers(resources, restarted), lambda n: n >= 1), "a worker reconnected")
        reconnected = datetime.now(UTC)
        await asyncio.sleep(3 * interval + cctv_watch.LEASE_GRACE_S)
    finally:
        polling = False
        await recorder
        stop(*workers.values())
        for name in names.values():
            cameras.release(name)
        cameras.release(hanging_name)

    # then no steady camera went unwatched for longer than two intervals once a worker could take it: after the
    # kill, as soon as the dead worker's lease is seen gone (not a heartbeat timeout later), and after the restart
    limit = timedelta(seconds=2 * interval + cctv_watch.TICK_S)
    for moment in (killed + timedelta(seconds=cctv_watch.LEASE_GRACE_S), reconnected):
        for camera_id in steady:
            resumed = first_end_after(camera_id, moment)
            assert resumed is not None, (camera_id, moment)
            assert resumed - moment <= limit, (camera_id, moment, resumed)
    # each camera was sampled by one worker at a time, and nothing was alerted twice
    assert [cameras.most_at_once[names[camera_id]] for camera_id in steady] == [1] * len(steady)
    for camera_id in steady:
        assert await alerts_of(resources, camera_id) == []
    for camera_id, kind in faulty.items():
        assert await alerts_of(resources, camera_id) == [kind]
