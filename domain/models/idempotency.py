from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class IdempotencyKey(Base):
    """An action a client asked for with its own request id (domain/idempotency.py): a replay of it gets the
    recorded outcome instead of doing it again. Swept after JSC_IDEMPOTENCY_KEEP_DAYS."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64), comment="the mutation, e.g. changeReportStatus")
    fingerprint: Mapped[str] = mapped_column(String(64), comment="sha256 of the operation's normalised input")
    outcome: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB, comment="what the first call did (ids, per-item errors); NULL only inside that call's transaction"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
