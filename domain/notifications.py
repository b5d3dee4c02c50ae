"""The notification outbox: rows written in the transaction of the event that causes them.

Each row is one user's inbox item and the record of its push delivery (domain/push_delivery.py). Writing a
row also asks for the delivery job; a periodic sweep finds any row whose delivery was left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import Device, DevicePlatform, Notification, PushStatus, Role, User

DELIVER_TASK = "notifications.deliver"
TITLE_MAX = 200
BODY_MAX = 500


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    report_id: uuid.UUID | None = None
    data: dict[str, str] | None = None

    def payload(self) -> dict[str, Any]:
        data = dict(self.data or {})
        data["kind"] = self.kind
        if self.report_id is not None:
            data["reportId"] = str(self.report_id)
        return data


def _values(message: Message, now: datetime) -> dict[str, Any]:
    return {
        "report_id": message.report_id,
        "kind": message.kind,
        "title": message.title[:TITLE_MAX],
        "body": message.body[:BODY_MAX],
        "data": message.payload(),
        "created_at": now,
        "push_status": PushStatus.PENDING,
        "push_next_at": now,
    }


def _ask_for_delivery(jobs: JobBuffer) -> None:
    # One waiting delivery job is enough: it takes every pending row when it runs.
    jobs.add(DELIVER_TASK, queueing_lock=DELIVER_TASK)


async def notify_users(
    session: AsyncSession,
    user_ids: Iterable[uuid.UUID],
    message: Message,
    *,
    jobs: JobBuffer,
    now: datetime,
    skip: uuid.UUID | None = None,
) -> int:
    """One inbox row per user (duplicates and `skip`, usually the actor, left out); returns how many."""
    recipients = sorted({u for u in user_ids if u != skip})
    if not recipients:
        return 0
    values = _values(message, now)
    await session.execute(insert(Notification), [{**values, "user_id": user_id} for user_id in recipients])
    _ask_for_delivery(jobs)
    return len(recipients)


async def notify_unit(
    session: AsyncSession,
    unit_id: int,
    message: Message,
    *,
    jobs: JobBuffer,
    now: datetime,
    skip: uuid.UUID | None = None,
) -> int:
    """One inbox row for every officer of the unit, in one statement; returns how many."""
    values = _values(message, now)
    officers = select(
        User.id,
        *(literal(value, Notification.__table__.c[name].type) for name, value in values.items()),
    ).where(User.unit_id == unit_id, User.role == Role.OFFICER, User.closed_at.is_(None))
    if skip is not None:
        officers = officers.where(User.id != skip)
    result = await session.execute(
        insert(Notification).from_select(["user_id", *values], officers).returning(Notification.id)
    )
    count = len(result.all())
    if count:
        _ask_for_delivery(jobs)
    return count


def inbox_query(user_id: uuid.UUID, *, before_id: int | None, limit: int) -> Select[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return query.order_by(Notification.id.desc()).limit(limit)


async def inbox(session: AsyncSession, user_id: uuid.UUID, *, before_id: int | None, limit: int) -> list[Notification]:
    return list(await session.scalars(inbox_query(user_id, before_id=before_id, limit=limit)))


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(found or 0)


async def mark_read(session: AsyncSession, user_id: uuid.UUID, *, ids: list[int] | None, now: datetime) -> int:
    """Marks the user's own notifications read: the given ids, or all of them when `ids` is None."""
    condition = and_(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        condition = and_(condition, Notification.id.in_(ids))
    result = await session.execute(update(Notification).where(condition).values(read_at=now).returning(Notification.id))
    return len(result.all())


def claimable(now: datetime) -> Any:
    """Rows a delivery job may take: pending and due, or claimed by a job whose lease ran out (it died)."""
    return and_(
        Notification.push_next_at <= now,
        or_(
            Notification.push_status == PushStatus.PENDING,
            and_(Notification.push_status == PushStatus.SENDING, Notification.push_lease_until < now),
        ),
    )


# --- devices ----------------------------------------------------------------------------------------

TOKEN_MAX = 4096


async def register_device(
    session: AsyncSession, *, user_id: uuid.UUID, token: str, platform: DevicePlatform, now: datetime
) -> Device:
    """Registers the device's FCM token for the user. A token moves to whoever registers it last (a shared
    phone logs in as someone else), so a push never reaches the previous account."""
    token = token.strip()
    if not 0 < len(token) <= TOKEN_MAX or any(c.isspace() for c in token):
        raise DomainError("INVALID_TOKEN", "That is not a push token.", field="token")
    statement = (
        pg_insert(Device)
        .values(user_id=user_id, token=token, platform=platform, created_at=now, last_seen_at=now)
        .on_conflict_do_update(
            index_elements=[Device.token],
            set_={"user_id": user_id, "platform": platform, "last_seen_at": now},
        )
        .returning(Device)
    )
    device: Device = (await session.scalars(statement, execution_options={"populate_existing": True})).one()
    return device


async def unregister_device(session: AsyncSession, *, user_id: uuid.UUID, token: str) -> bool:
    result = await session.execute(
        delete(Device).where(Device.user_id == user_id, Device.token == token.strip()).returning(Device.id)
    )
    return result.first() is not None
