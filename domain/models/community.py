from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class ReportSupport(Base):
    """A citizen's "me too" on someone else's report: counted, and they hear about its progress."""

    __tablename__ = "report_supports"
    __table_args__ = (Index("ix_report_supports_recent", "created_at"),)

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportComment(Base):
    """A public comment on a report. A moderator may hide it, with a reason; it is never deleted."""

    __tablename__ = "report_comments"
    __table_args__ = (
        Index("ix_report_comments_report", "report_id", "created_at", "id"),
        Index("ix_report_comments_recent", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, comment="NULL once the account is deleted"
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class AbuseFlag(Base):
    """Someone's "this is abuse" on a report or a comment, for the moderators; once per person and thing."""

    __tablename__ = "abuse_flags"
    __table_args__ = (
        Index("uq_abuse_flags_report", "user_id", "report_id", unique=True, postgresql_where="comment_id IS NULL"),
        Index(
            "uq_abuse_flags_comment", "user_id", "comment_id", unique=True, postgresql_where="comment_id IS NOT NULL"
        ),
        Index("ix_abuse_flags_open", "created_at", postgresql_where="resolved_at IS NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report_comments.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="when a moderator hid the thing flagged (or decided to keep it)"
    )
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
