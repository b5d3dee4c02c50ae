from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, TimestampMixin, text_enum
from domain.models.enums import AccountEventKind, Role


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),
        CheckConstraint("(role = 'OFFICER') = (unit_id IS NOT NULL)", name="officer_has_unit"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, comment="stored lower-case")
    phone: Mapped[str | None] = mapped_column(String(20), unique=True, comment="E.164, e.g. +6281234567890")
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[Role] = mapped_column(text_enum(Role, "role"), default=Role.CITIZEN)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="staff accounts closed by an admin: no login, no session, no push"
    )
    token_version: Mapped[int] = mapped_column(
        Integer,
        default=0,
        server_default="0",
        comment="in every access token; bumped when the account's powers change, which ends the tokens issued before",
    )


class RefreshToken(TimestampMixin, Base):
    """One link of a rotating refresh-token chain; the family is the chain started by one login."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, comment="sha256 of the token")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountEvent(Base):
    """Append-only audit of what was done to an account (closing a staff account, moving it), by whom and why."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No cascade: only staff accounts have events, and staff accounts are closed, never deleted.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), comment="the admin; NULL for the jsc command (an operator)"
    )
    kind: Mapped[AccountEventKind] = mapped_column(text_enum(AccountEventKind, "account_event_kind"))
    reason: Mapped[str] = mapped_column(String(500))
    from_role: Mapped[Role] = mapped_column(text_enum(Role, "from_role"))
    to_role: Mapped[Role] = mapped_column(text_enum(Role, "to_role"))
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
