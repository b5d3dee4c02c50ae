"""Faults with a real worker process: killed in the middle of a delivery, FCM down for a while, the database gone for
a moment. Nothing lost. Every wait is for a signal (a row, a log line), never for a clock."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from domain import notifications
from domain.adapters.push import OUTBOX_ID_KEY
from domain.jobs import JobBuffer
from domain.models import DevicePlatform, Notification, PushStatus, User
from domain.notifications import DELIVER_TASK
from domain.resources import Resources
from domain.settings import Settings
from tests.e2e.processes import start_worker, stop
from tests.fakes.fcm import FakeFcm
from workers.queue import defer_in_transaction

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
COUNT = 30
RESTART_LINE = "starting it again"  # what `jsc worker` logs when procrastinate's worker stopped (cli/main.py)
LOG_TAIL_LINES = 80
STOPPING_LINE = ", stopping worker"  # procrastinate, when a side task (listener, heartbeat, deferrer) failed


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture(autouse=True)
async def only_these_notifications(resources: Resources) -> None:
    """Earlier tests leave notifications pending (to users with devices, too): settled here, so that the worker
    of these tests sends only theirs, and an outage test is not held up by others' retries."""
    async with resources.unit_of_work() as session:
        await session.execute(
            update(Notification)
            .where(Notification.push_status.in_([PushStatus.PENDING, PushStatus.SENDING]))
            .values(push_status=PushStatus.FAILED, push_error="settled by the test")
        )


def start_push_worker(fcm: FakeFcm, tmp_path: Path, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    return start_worker(
        log_file=log_file,
        JSC_FIREBASE_CREDENTIALS_FILE=str(fcm.write_service_account(tmp_path)),
        JSC_FCM_ENDPOINT=fcm.url,
        JSC_PUSH_LEASE_S="2",
        JSC_PUSH_BACKOFF_BASE_S="0.5",
        JSC_PUSH_BACKOFF_MAX_S="2",
    )


async def queue_notifications(resources: Resources) -> tuple[uuid.UUID, str]:
    """A user with one phone and COUNT notifications, committed with their delivery job, as an event does."""
    token = f"phone-{uuid.uuid4()}"
    async with resources.unit_of_work() as session:
        user = User(email=f"{uuid.uuid4().hex[:12]}@example.id", password_hash="x", display_name="Warga")
        session.add(user)
        await session.flush()
        await notifications.register_device(
            session, user_id=user.id, token=token, platform=DevicePlatform.IOS, now=datetime.now(UTC)
        )
        jobs = JobBuffer()
        for n in range(COUNT):
            message = notifications.Message("STATUS_CHANGED", f"Laporan #{n}", "Proses", None)
            await notifications.notify_users(session, [user.id], message, jobs=jobs, now=datetime.now(UTC))
        await defer_in_transaction(session, jobs.drain())
    return user.id, token


async def statuses(resources: Resources, user_id: uuid.UUID) -> dict[PushStatus, int]:
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            select(Notification.push_status, func.count())
            .where(Notification.user_id == user_id)
            .group_by(Notification.push_status)
        )
        return {PushStatus(status): int(count) for status, count in rows.all()}


async def wait_for(condition, timeout_s: float = 60.0, log_file: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``condition``; on a timeout the failure carries the end of the worker's log, when there is one."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            tail = "" if log_file is None else await asyncio.to_thread(log_tail, log_file)
            pytest.fail(f"timed out after {timeout_s:.0f} s{tail}")
        await asyncio.sleep(0.2)


def log_tail(log_file: Path) -> str:
    if not log_file.exists():
        return "\nthe worker wrote no log"
    lines = log_file.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return "\nthe worker's log ends:\n" + "\n".join(lines)


async def ids_received(fcm: FakeFcm, user_id: uuid.UUID, resources: Resources) -> set[str]:
    async with resources.unit_of_work() as session:
        mine = {str(i) for i in await session.scalars(select(Notification.id).where(Notification.user_id == user_id))}
    return {m.data[OUTBOX_ID_KEY] for m in fcm.received} & mine


async def test_a_worker_killed_in_the_middle_of_a_delivery_loses_nothing(
    resources: Resources, fcm: FakeFcm, tmp_path: Path
) -> None:
    from workers.runtime import app
    from workers.tasks import retry_stalled_jobs

    fcm.hang(60)  # every send is held: the worker is caught inside the batch
    user_id, _ = await queue_notifications(resources)
    before = await newest_worker(resources)
    worker = start_push_worker(fcm, tmp_path)
    try:

        async def sending() -> bool:
            return (await statuses(resources, user_id)).get(PushStatus.SENDING) == COUNT and fcm.send_requests > 0

        await wait_for(sending)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finally:
        stop(worker)
    assert await statuses(resources, user_id) == {PushStatus.SENDING: COUNT}
    assert await ids_received(fcm, user_id, resources) == set()
    # procrastinate leaves the dead worker's job `doing` (procrastinate#1518)
    [(job_id, dead_worker)] = await deliveries_doing(resources, after_worker=before)

    # when its heartbeat is as old as a dead worker's gets (30 s) and the periodic task runs
    async with resources.unit_of_work() as session:
        await session.execute(
            text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute' WHERE id = :id"),
            {"id": dead_worker},
        )
    async with app.open_async():
        assert await retry_stalled_jobs(timestamp=0) >= 1
    assert await job_status(resources, job_id) == "todo"

    # then a new worker runs that job again; it finds the batch leased, comes back when the lease ends and sends it
    fcm.hang(0)
    worker = start_push_worker(fcm, tmp_path)
    try:

        async def all_sent() -> bool:
            return await statuses(resources, user_id) == {PushStatus.SENT: COUNT}

        await wait_for(all_sent)
    finally:
        stop(worker)
    assert await job_status(resources, job_id) == "succeeded"
    assert len(await ids_received(fcm, user_id, resources)) == COUNT


async def test_everything_is_delivered_after_fcm_comes_back(resources: Resources, fcm: FakeFcm, tmp_path: Path) -> None:
    fcm.go_down()
    worker = start_push_worker(fcm, tmp_path)
    try:
        user_id, token = await queue_notifications(resources)

        async def each_refused_twice() -> bool:
            # firebase-admin's own retries are off (domain/adapters/push.py): each 503 comes back at once and the
            # outbox tries again after its backoff (0.5 s, then 1 s here).
            found = await attempts(resources, user_id)
            return found is not None and found[0] is PushStatus.PENDING and found[1] >= 2

        await wait_for(each_refused_twice)
        assert await ids_received(fcm, user_id, resources) == set()
        fcm.go_up()

        async def all_sent() -> bool:
            return await statuses(resources, user_id) == {PushStatus.SENT: COUNT}

        await wait_for(all_sent, timeout_s=180.0)
    finally:
        stop(worker)
    assert len(await ids_received(fcm, user_id, resources)) == COUNT
    assert {m.token for m in fcm.received if m.data[OUTBOX_ID_KEY] in await ids_received(fcm, user_id, resources)} == {
        token
    }


# Alone (scripts/pytest.sh): waits on procrastinate's own timers to notice the outage, which a second test process
# on the same two cores once delayed past the minute.
@pytest.mark.serial
async def test_a_worker_that_loses_the_database_for_a_moment_keeps_working(
    resources: Resources, settings: Settings, fcm: FakeFcm, tmp_path: Path
) -> None:
    """procrastinate stops a worker whose listener, heartbeat or periodic deferrer cannot reach the database (a
    PostgreSQL restart, a failover); `jsc worker` starts it again rather than exit. The outage is made on this
    session's database alone: new connections refused and the open ones ended, until procrastinate says it stops.

    Stopping waits for the jobs running then, which can take a while (each gives up on the database after 30 s), so the
    wait for the restart is longer."""
    log_file = tmp_path / "worker.log"
    before = await newest_worker(resources)
    worker = start_push_worker(fcm, tmp_path, log_file)
    try:

        async def listening() -> bool:
            return await newest_worker(resources) > before and await procrastinate_listeners(resources) > 0

        await wait_for(listening, log_file=log_file)
        first = await newest_worker(resources)
        url = make_url(settings.database_url)
        admin = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
        )
        try:
            await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
            dropped = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", url.database
            )

            # Within 40 s by procrastinate's timers (a heartbeat every 10 s, its pool's 30 s to give up on a
            # connection); the rest is room for a loaded machine, not a clock the test relies on.
            await wait_for(lambda: logged(log_file, STOPPING_LINE), timeout_s=120.0, log_file=log_file)
        finally:
            await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
            await admin.close()
        assert dropped > 0

        # then `jsc worker` starts procrastinate's worker again, which registers anew
        await wait_for(lambda: logged(log_file, RESTART_LINE), timeout_s=120.0, log_file=log_file)

        async def registered_again() -> bool:
            return await newest_worker(resources) > first

        await wait_for(registered_again, log_file=log_file)
        assert worker.poll() is None, "the worker exited"

        user_id, _ = await queue_notifications(resources)

        async def all_sent() -> bool:
            return await statuses(resources, user_id) == {PushStatus.SENT: COUNT}

        await wait_for(all_sent, log_file=log_file)
    finally:
        stop(worker)


async def logged(log_file: Path, line: str) -> bool:
    return line in await asyncio.to_thread(log_file.read_text, errors="replace")


async def newest_worker(resources: Resources) -> int:
    async with resources.unit_of_work() as session:
        return int(await session.scalar(text("SELECT coalesce(max(id), 0) FROM procrastinate_workers")))


async def procrastinate_listeners(resources: Resources) -> int:
    """Connections of this database that listen for procrastinate's job notifications (a worker's listener)."""
    async with resources.unit_of_work() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN %procrastinate%'"
            )
        )
    return int(count or 0)


async def deliveries_doing(resources: Resources, *, after_worker: int) -> list[tuple[int, int]]:
    """(job id, worker id) of the delivery jobs `doing` on workers registered after ``after_worker``."""
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT id, worker_id FROM procrastinate_jobs "
                "WHERE task_name = :task AND status = 'doing' AND worker_id > :after ORDER BY id"
            ),
            {"task": DELIVER_TASK, "after": after_worker},
        )
        return [(int(job_id), int(worker_id)) for job_id, worker_id in rows.all()]


async def job_status(resources: Resources, job_id: int) -> str | None:
    async with resources.unit_of_work() as session:
        status = await session.scalar(text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id})
    return None if status is None else str(status)


async def attempts(resources: Resources, user_id: uuid.UUID) -> tuple[PushStatus, int] | None:
    """The one status and the fewest attempts of a user's notifications, when they all share that status."""
    async with resources.unit_of_work() as session:
        rows = (
            await session.execute(
                select(Notification.push_status, func.min(Notification.push_attempts))
                .where(Notification.user_id == user_id)
                .group_by(Notification.push_status)
            )
        ).all()
    if len(rows) != 1:
        return None
    return PushStatus(rows[0][0]), int(rows[0][1])
