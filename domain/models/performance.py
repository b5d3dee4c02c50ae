from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, text_enum
from domain.models.enums import CaseArrival, CaseEnding, ExportStatus

RESPONSE_HOURS = "date_part('epoch', first_response_at - arrived_at) / 3600.0"
COMPLETION_HOURS = "date_part('epoch', first_completed_at - arrived_at) / 3600.0"


class ReportCase(Base):
    """One unit's spell with one report, from the history row that gave it the report to the one that took it
    away or closed it. The performance figures (domain/performance.py) are sums over these rows.

    Written only by the trigger on report_status_changes (migration 0009), in the transaction of the history
    row, so it can never disagree with the history; tests/integration/test_performance_exact.py recomputes
    every figure from the raw history with plain SQL.
    """

    __tablename__ = "report_cases"
    __table_args__ = (
        Index("ix_report_cases_report", "report_id", "id"),
        # The figures of a level's units over a period are read from this index alone, unit after unit, so the
        # per-unit aggregates need no sort (domain/performance.py FIGURES_SQL).
        Index(
            "ix_report_cases_unit_cover",
            "unit_id",
            "arrived_at",
            postgresql_include=[
                "category_id",
                "response_due_at",
                "completion_due_at",
                "first_response_at",
                "first_completed_at",
                "verifying_since",
                "ended_at",
                "ending",
                "reopenings",
                "escalations",
                "rating",
                "response_hours",
                "completion_hours",
            ],
        ),
        # The open cases not completed, for overdueOpen, which depends on the time of the question and so is
        # counted again whenever that time leaves the window in which a cached count holds (domain/performance.py).
        Index(
            "ix_report_cases_open",
            "unit_id",
            "arrived_at",
            postgresql_include=["category_id", "completion_due_at", "verifying_since"],
            postgresql_where="ended_at IS NULL AND first_completed_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    arrival: Mapped[CaseArrival] = mapped_column(text_enum(CaseArrival, "case_arrival"))
    arrival_event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("report_status_changes.id", ondelete="CASCADE"), unique=True
    )
    arrived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completion_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="the first status change (or disposition) while the unit held it"
    )
    first_completed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="the unit's first completion that counts: for a verified one, when the unit completed it, set once "
        "the supervisor accepted it",
    )
    verifying_since: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="a completion waiting for the supervisor's verification: when it was made"
    )
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ending: Mapped[CaseEnding | None] = mapped_column(text_enum(CaseEnding, "case_ending"))
    reopenings: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalations: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    rating: Mapped[int | None] = mapped_column(SmallInteger, comment="the reporter's last rating in this case")
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Hours from receipt to the first response and to the first completion, computed as the row is written.
    response_hours: Mapped[float | None] = mapped_column(Float, Computed(RESPONSE_HOURS, persisted=True))
    completion_hours: Mapped[float | None] = mapped_column(Float, Computed(COMPLETION_HOURS, persisted=True))


class UnitCaseVersion(Base):
    """A counter per unit that moves whenever one of its cases is written (a deferred trigger on report_cases,
    migration 0026): figures computed from a unit's cases hold while its counter has not moved."""

    __tablename__ = "unit_case_versions"
    __table_args__ = ({"comment": "Committed changes to each unit's report_cases (the figures cache's versions)"},)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default="1")


class Export(Base):
    """A CSV of performance figures made by a job (workers/exports.py) for the staff member who asked."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_pending", "created_at", postgresql_where="status = 'PENDING'"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="level, since, until, category")
    status: Mapped[ExportStatus] = mapped_column(text_enum(ExportStatus, "export_status"))
    object_key: Mapped[str | None] = mapped_column(String(200))
    rows: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
