"""Faults with a real worker process: killed in the middle of a delivery, FCM down for a while. Nothing lost."""

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
from domain.resources import Resources
from domain.settings import Settings
from tests.e2e.processes import start_worker, stop
from tests.fakes.fcm import FakeFcm
from workers.queue import defer_in_transaction

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
COUNT = 30


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


def start_push_worker(fcm: FakeFcm, tmp_path: Path) -> subprocess.Popen[bytes]:
    return start_worker(
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


async def wait_for(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        await asyncio.sleep(0.2)


async def ids_received(fcm: FakeFcm, user_id: uuid.UUID, resources: Resources) -> set[str]:
    async with resources.unit_of_work() as session:
        mine = {str(i) for i in await session.scalars(select(Notification.id).where(Notification.user_id == user_id))}
    return {m.data[OUTBOX_ID_KEY] for m in fcm.received} & mine


async def test_a_worker_killed_in_the_middle_of_a_delivery_loses_nothing(
    resources: Resources, fcm: FakeFcm, tmp_path: Path
) -> None:
    from workers.notifications import sweep_notifications
    from workers.runtime import app

    fcm.hang(60)  # every send is held: the worker is caught inside the batch
    user_id, _ = await queue_notifications(resources)
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

    fcm.hang(0)
    worker = start_push_worker(fcm, tmp_path)
    try:
        await asyncio.sleep(2.5)  # the dead worker's lease runs out
        async with app.open_async():
            assert await sweep_notifications(timestamp=0) is True  # what the periodic sweep does each minute

        async def all_sent() -> bool:
            return await statuses(resources, user_id) == {PushStatus.SENT: COUNT}

        await wait_for(all_sent)
    finally:
        stop(worker)
    assert len(await ids_received(fcm, user_id, resources)) == COUNT


async def test_everything_is_delivered_after_fcm_comes_back(resources: Resources, fcm: FakeFcm, tmp_path: Path) -> None:
    fcm.go_down()
    worker = start_push_worker(fcm, tmp_path)
    try:
        user_id, token = await queue_notifications(resources)

        async def refused_while_down() -> bool:
            # Several sends refused: firebase-admin retries each 503 itself (about 7 s a message) before the
            # outbox's backoff, so waiting for every row's second attempt would take minutes.
            return fcm.send_requests >= 6

        await wait_for(refused_while_down)
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


async def test_a_worker_that_loses_the_database_for_a_moment_keeps_working(
    resources: Resources, settings: Settings, fcm: FakeFcm, tmp_path: Path
) -> None:
    """procrastinate stops a worker whose listener, heartbeat or periodic deferrer cannot reach the database (a
    PostgreSQL restart, a failover); `jsc worker` starts it again rather than exit. The outage is made on this
    session's database alone: new connections refused, the open ones ended, for two seconds."""
    newest_worker = text("SELECT coalesce(max(id), 0) FROM procrastinate_workers")
    async with resources.unit_of_work() as session:
        before = await session.scalar(newest_worker)
    worker = start_push_worker(fcm, tmp_path)
    try:

        async def worker_registered() -> bool:
            async with resources.unit_of_work() as session:
                return bool(await session.scalar(newest_worker) > before)

        await wait_for(worker_registered)
        await asyncio.sleep(1)  # its listener is connected
        url = make_url(settings.database_url)
        admin = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database="postgres"
        )
        try:
            await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
            dropped = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", url.database
            )
            await asyncio.sleep(2)
        finally:
            await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
            await admin.close()
        assert dropped > 0
        await asyncio.sleep(3)
        assert worker.poll() is None, "the worker exited"

        user_id, _ = await queue_notifications(resources)

        async def all_sent() -> bool:
            return await statuses(resources, user_id) == {PushStatus.SENT: COUNT}

        await wait_for(all_sent)
    finally:
        stop(worker)
