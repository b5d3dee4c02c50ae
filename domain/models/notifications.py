from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, text_enum
from domain.models.enums import DevicePlatform, PushStatus


class Device(Base):
    """A phone (or browser) that receives the user's push notifications: its FCM registration token."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(4096), unique=True)
    platform: Mapped[DevicePlatform] = mapped_column(text_enum(DevicePlatform, "device_platform"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Notification(Base):
    """The outbox and the in-app inbox in one row: written in the transaction of the event that causes it.

    The push delivery state lives on the row; the app drops a push it has already seen by `id`, which every
    push carries in its data, so delivery can be at-least-once.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_inbox", "user_id", "id"),
        Index(
            "ix_notifications_push_due",
            "push_next_at",
            postgresql_where="push_status IN ('PENDING', 'SENDING')",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    push_status: Mapped[PushStatus] = mapped_column(text_enum(PushStatus, "push_status"), default=PushStatus.PENDING)
    push_attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    push_next_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="not before: backoff after a transient error"
    )
    push_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    push_error: Mapped[str | None] = mapped_column(String(200))
