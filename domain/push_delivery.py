"""Push delivery of the notification outbox: claim a batch, send it to every device of each user, record.

At least once, never lost:
- a batch is claimed (status SENDING, a lease) and committed before anything is sent, so a worker killed while
  sending leaves rows that any delivery run takes again once the lease has run out;
- a transient failure (FCM down, 503, a network error) puts the row back to PENDING with an exponential
  backoff, up to `push_max_attempts`;
- the notification id travels in the push data, so the app drops a push it has already shown.
Tokens FCM reports as unregistered are deleted.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import BigInteger

from domain.adapters.push import OUTBOX_ID_KEY, PushMessage, PushOutcome, PushResult, PushSender
from domain.metrics import PUSH_MESSAGES, PUSH_NOTIFICATIONS
from domain.models import Device, Notification, PushStatus
from domain.notifications import claimable
from domain.settings import Settings


@dataclass
class BatchReport:
    claimed: int = 0
    messages: int = 0
    statuses: dict[PushStatus, int] = field(default_factory=lambda: defaultdict(int))
    pruned_tokens: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    user_id: uuid.UUID
    title: str
    body: str
    data: dict[str, Any]
    attempts: int


def backoff(settings: Settings, attempts: int, retry_after_s: float | None = None) -> timedelta:
    """Wait before the next attempt: doubling from the base, capped; FCM's Retry-After when it is longer."""
    wait = min(settings.push_backoff_base_s * 2 ** max(attempts - 1, 0), settings.push_backoff_max_s)
    return timedelta(seconds=max(wait, retry_after_s or 0.0))


async def claim(session: AsyncSession, settings: Settings, *, now: datetime, limit: int) -> list[_Claimed]:
    due = (
        select(Notification.id)
        .where(claimable(now))
        .order_by(Notification.push_next_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(Notification)
        .where(Notification.id.in_(due.scalar_subquery()))
        .values(
            push_status=PushStatus.SENDING,
            push_lease_until=now + timedelta(seconds=settings.push_lease_s),
            push_attempts=Notification.push_attempts + 1,
        )
        .returning(
            Notification.id,
            Notification.user_id,
            Notification.title,
            Notification.body,
            Notification.data,
            Notification.push_attempts,
        )
    )
    return [_Claimed(*row) for row in rows]


def _data(row: _Claimed) -> dict[str, str]:
    data = {str(k): str(v) for k, v in row.data.items()}
    data[OUTBOX_ID_KEY] = str(row.id)
    data["notificationId"] = str(row.id)
    return data


def decide(
    settings: Settings, row: _Claimed, results: list[PushResult], now: datetime
) -> tuple[PushStatus, datetime | None, str | None]:
    """A notification's new status from its devices' results: (status, next attempt, error)."""
    if not results:
        return PushStatus.NO_DEVICE, None, None
    outcomes = {r.outcome for r in results}
    transient = [r for r in results if r.outcome == PushOutcome.TRANSIENT]
    if transient:
        # Sent again to every device of the user, the ones that got it too: the app drops the duplicate.
        error = transient[0].error or "transient"
        if row.attempts >= settings.push_max_attempts:
            return PushStatus.FAILED, None, f"gave up after {row.attempts} attempts: {error}"[:200]
        retry_after = max((r.retry_after_s or 0.0) for r in transient)
        return PushStatus.PENDING, now + backoff(settings, row.attempts, retry_after), error[:200]
    if PushOutcome.DELIVERED in outcomes:
        return PushStatus.SENT, None, None
    if outcomes == {PushOutcome.SKIPPED}:
        return PushStatus.INBOX_ONLY, None, None
    if outcomes == {PushOutcome.UNREGISTERED}:
        return PushStatus.NO_DEVICE, None, "every device token was unregistered"
    failed = next((r for r in results if r.outcome == PushOutcome.FAILED), results[0])
    return PushStatus.FAILED, None, (failed.error or failed.outcome.value)[:200]


_RECORD = (
    update(Notification)
    .where(Notification.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))
    .values(push_lease_until=None)
)


async def deliver_batch(
    sessions: async_sessionmaker[AsyncSession],
    sender: PushSender,
    settings: Settings,
    *,
    now: datetime,
    limit: int | None = None,
) -> BatchReport:
    """Claims up to `limit` due notifications, pushes them, records the outcome. Returns what happened."""
    report = BatchReport()
    async with sessions() as session, session.begin():
        claimed = await claim(session, settings, now=now, limit=limit or settings.push_batch_size)
        if not claimed:
            return report
        tokens = await session.execute(
            select(Device.user_id, Device.token).where(Device.user_id.in_({row.user_id for row in claimed}))
        )
        devices: dict[uuid.UUID, list[str]] = defaultdict(list)
        for user_id, token in tokens:
            devices[user_id].append(token)
    report.claimed = len(claimed)

    messages: list[PushMessage] = []
    owners: list[int] = []
    for index, row in enumerate(claimed):
        data = _data(row)
        for token in devices.get(row.user_id, ()):
            messages.append(PushMessage(token=token, title=row.title, body=row.body, data=data))
            owners.append(index)
    results = await sender.send(messages) if messages else []
    report.messages = len(messages)

    per_row: list[list[PushResult]] = [[] for _ in claimed]
    dead_tokens: list[str] = []
    for owner, message, result in zip(owners, messages, results, strict=True):
        per_row[owner].append(result)
        PUSH_MESSAGES.labels(result.outcome.value).inc()
        if result.outcome == PushOutcome.UNREGISTERED:
            dead_tokens.append(message.token)

    groups: dict[tuple[PushStatus, datetime | None, str | None], list[int]] = defaultdict(list)
    for row, row_results in zip(claimed, per_row, strict=True):
        groups[decide(settings, row, row_results, now)].append(row.id)
    async with sessions() as session, session.begin():
        for (status, next_at, error), ids in groups.items():
            values: dict[str, Any] = {"push_status": status, "push_error": error}
            if next_at is not None:
                values["push_next_at"] = next_at
            if status == PushStatus.SENT:
                values["pushed_at"] = now
            await session.execute(_RECORD.values(**values), {"ids": ids})
            report.statuses[status] += len(ids)
            PUSH_NOTIFICATIONS.labels(status.value).inc(len(ids))
        if dead_tokens:
            pruned = await session.execute(delete(Device).where(Device.token.in_(dead_tokens)).returning(Device.id))
            report.pruned_tokens = len(pruned.all())
    return report


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest waiting notification becomes due (None: nothing waits)."""
    when = case(
        (Notification.push_status == PushStatus.SENDING, Notification.push_lease_until),
        else_=Notification.push_next_at,
    )
    found: datetime | None = await session.scalar(
        select(func.min(when)).where(Notification.push_status.in_([PushStatus.PENDING, PushStatus.SENDING]))
    )
    return found
