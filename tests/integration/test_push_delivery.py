"""Delivery of the notification outbox through firebase-admin to a local FCM (tests/fakes/fcm.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from domain import notifications, push_delivery
from domain.adapters.push import OUTBOX_ID_KEY, LogOnlyPushSender, PushSender, create_push_sender
from domain.jobs import JobBuffer
from domain.models import Device, DevicePlatform, Notification, PushStatus, User
from domain.resources import Resources
from domain.settings import Settings
from tests.fakes.fcm import FakeFcm

# Real time: rows these tests leave behind must not look due (or not due) to other tests' workers.
NOW = datetime.now(UTC)


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture
async def sender(fcm: FakeFcm, tmp_path: Path) -> AsyncIterator[PushSender]:
    sender = create_push_sender(fcm.write_service_account(tmp_path), fcm.url)
    yield sender
    await sender.aclose()


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.model_copy(update={"push_backoff_base_s": 1.0, "push_max_attempts": 3})


async def user_with_devices(resources: Resources, *tokens: str) -> uuid.UUID:
    async with resources.unit_of_work() as session:
        user = User(email=f"{uuid.uuid4().hex[:12]}@example.id", password_hash="x", display_name="Warga")
        session.add(user)
        await session.flush()
        for token in tokens:
            await notifications.register_device(
                session, user_id=user.id, token=token, platform=DevicePlatform.ANDROID, now=NOW
            )
    return user.id


async def notify(resources: Resources, user_id: uuid.UUID, title: str = "Laporan Anda: Proses") -> int:
    async with resources.unit_of_work() as session:
        await notifications.notify_users(
            session,
            [user_id],
            notifications.Message("STATUS_CHANGED", title, "Petugas sedang menangani", None, {"status": "IN_PROGRESS"}),
            jobs=JobBuffer(),
            now=NOW - timedelta(seconds=1),
        )
        found = await session.scalar(select(Notification.id).where(Notification.user_id == user_id))
    assert found is not None
    return found


async def row(resources: Resources, notification_id: int) -> Notification:
    async with resources.unit_of_work() as session:
        found = await session.get(Notification, notification_id)
    assert found is not None
    return found


async def tokens_of(resources: Resources, user_id: uuid.UUID) -> list[str]:
    async with resources.unit_of_work() as session:
        return sorted(await session.scalars(select(Device.token).where(Device.user_id == user_id)))


async def deliver(resources: Resources, sender: PushSender, settings: Settings, now: datetime = NOW) -> None:
    while (await push_delivery.deliver_batch(resources.sessions, sender, settings, now=now)).claimed:
        pass


async def test_every_device_gets_the_push_with_the_outbox_id(
    resources: Resources, fcm: FakeFcm, sender: PushSender, settings: Settings
) -> None:
    user = await user_with_devices(resources, f"phone-{uuid.uuid4()}", f"tablet-{uuid.uuid4()}")
    notification_id = await notify(resources, user)

    await deliver(resources, sender, settings)

    mine = [m for m in fcm.received if m.data.get(OUTBOX_ID_KEY) == str(notification_id)]
    assert sorted(m.token or "" for m in mine) == await tokens_of(resources, user)
    assert {m.notification["title"] for m in mine} == {"Laporan Anda: Proses"}
    assert {m.data["status"] for m in mine} == {"IN_PROGRESS"}
    assert {m.data["notificationId"] for m in mine} == {str(notification_id)}
    delivered = await row(resources, notification_id)
    assert (delivered.push_status, delivered.push_attempts, delivered.pushed_at) == (PushStatus.SENT, 1, NOW)


async def test_unregistered_tokens_are_removed(
    resources: Resources, fcm: FakeFcm, sender: PushSender, settings: Settings
) -> None:
    alive, dead = f"alive-{uuid.uuid4()}", f"dead-{uuid.uuid4()}"
    user = await user_with_devices(resources, alive, dead)
    only_dead = await user_with_devices(resources, f"gone-{uuid.uuid4()}")
    fcm.mark_unregistered(dead, *(await tokens_of(resources, only_dead)))
    first, second = await notify(resources, user), await notify(resources, only_dead)

    await deliver(resources, sender, settings)

    assert await tokens_of(resources, user) == [alive]
    assert await tokens_of(resources, only_dead) == []
    assert (await row(resources, first)).push_status == PushStatus.SENT
    assert (await row(resources, second)).push_status == PushStatus.NO_DEVICE


async def test_fcm_unavailable_is_retried_with_backoff_until_it_is_back(
    resources: Resources, fcm: FakeFcm, sender: PushSender, quick: Settings
) -> None:
    token = f"phone-{uuid.uuid4()}"
    user = await user_with_devices(resources, token)
    notification_id = await notify(resources, user)
    fcm.go_down()
    before = {outcome: pushed(outcome) for outcome in ("transient", "delivered")}

    await deliver(resources, sender, quick)
    transient = pushed("transient") - before["transient"]
    waiting = await row(resources, notification_id)
    await deliver(resources, sender, quick, NOW + timedelta(seconds=0.5))  # still backing off: not tried
    fcm.go_up()
    await deliver(resources, sender, quick, NOW + timedelta(seconds=1))

    assert (waiting.push_status, waiting.push_attempts) == (PushStatus.PENDING, 1)
    assert waiting.push_next_at == NOW + timedelta(seconds=1)
    assert waiting.push_error == "UNAVAILABLE"
    delivered = await row(resources, notification_id)
    assert (delivered.push_status, delivered.push_attempts) == (PushStatus.SENT, 2)
    assert [m.token for m in fcm.received if m.data[OUTBOX_ID_KEY] == str(notification_id)] == [token]
    # Other tests' notifications may be due in the same rounds: at least this one's two outcomes are counted.
    assert transient >= 1
    assert pushed("delivered") - before["delivered"] >= 1


def pushed(outcome: str) -> float:
    return REGISTRY.get_sample_value("jsc_push_messages_total", {"outcome": outcome}) or 0.0


async def test_a_push_is_given_up_after_the_last_attempt_but_stays_in_the_inbox(
    resources: Resources, fcm: FakeFcm, sender: PushSender, quick: Settings
) -> None:
    user = await user_with_devices(resources, f"phone-{uuid.uuid4()}")
    notification_id = await notify(resources, user)
    fcm.go_down()

    for attempt in range(3):
        await deliver(resources, sender, quick, NOW + timedelta(seconds=10 * attempt))

    failed = await row(resources, notification_id)
    assert (failed.push_status, failed.push_attempts) == (PushStatus.FAILED, 3)
    assert (failed.push_error or "").startswith("gave up after 3 attempts")
    async with resources.unit_of_work() as session:
        inbox = await notifications.inbox(session, user, before_id=None, limit=5)
    assert [n.id for n in inbox] == [notification_id]


async def test_a_claim_left_by_a_dead_worker_is_taken_again_after_its_lease(
    resources: Resources, fcm: FakeFcm, sender: PushSender, settings: Settings
) -> None:
    user = await user_with_devices(resources, f"phone-{uuid.uuid4()}")
    notification_id = await notify(resources, user)
    async with resources.unit_of_work() as session:
        claimed = await push_delivery.claim(session, settings, now=NOW, limit=10_000)
    assert notification_id in [c.id for c in claimed]  # ... and the worker dies before sending

    await deliver(resources, sender, settings, NOW + timedelta(seconds=settings.push_lease_s / 2))
    assert (await row(resources, notification_id)).push_status == PushStatus.SENDING
    await deliver(resources, sender, settings, NOW + timedelta(seconds=settings.push_lease_s + 1))

    assert (await row(resources, notification_id)).push_status == PushStatus.SENT
    assert [m.data[OUTBOX_ID_KEY] for m in fcm.received].count(str(notification_id)) == 1


async def test_without_devices_or_credentials_the_inbox_is_the_delivery(
    resources: Resources, settings: Settings
) -> None:
    no_device = await user_with_devices(resources)
    with_device = await user_with_devices(resources, f"phone-{uuid.uuid4()}")
    first, second = await notify(resources, no_device), await notify(resources, with_device)

    await deliver(resources, LogOnlyPushSender(), settings)

    assert (await row(resources, first)).push_status == PushStatus.NO_DEVICE
    assert (await row(resources, second)).push_status == PushStatus.INBOX_ONLY
