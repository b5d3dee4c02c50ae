from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, text_enum
from domain.models.enums import ReportStatus


class ResponseTemplate(Base):
    """A ready answer officers start a public note from: for one category or all, for one target status or any.

    Admins write them (domain/templates.py); an archived one (active false) is kept for the record and no longer
    offered. Templates seeded from data/jakarta/response_templates.csv carry their seed_key, so `jsc load-jakarta`
    adds each once and never brings back one an admin archived or changed.
    """

    __tablename__ = "response_templates"
    __table_args__ = (
        # Two active templates of one category and status never share a title: the officer picks by title.
        Index(
            "uq_response_templates_active_title",
            "category_id",
            "status",
            "title",
            unique=True,
            postgresql_where=text("active"),
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), comment="NULL: every category"
    )
    status: Mapped[ReportStatus | None] = mapped_column(
        text_enum(ReportStatus, "template_status"), comment="the status the officer moves the report to; NULL: any"
    )
    title: Mapped[str] = mapped_column(String(120))
    body_id: Mapped[str] = mapped_column(Text, comment="the note in Indonesian")
    body_en: Mapped[str | None] = mapped_column(Text, comment="the note in English, when there is one")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    seed_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
