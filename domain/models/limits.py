from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, Interval, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class RateLimit(Base):
    """One rate-limited key (action, who, limit) in GCRA terms, shared by every API process (domain/rate_limits.py).

    UNLOGGED: no WAL for limits; a database crash forgets them, which only lets some requests through.
    """

    __tablename__ = "rate_limits"
    __table_args__ = ({"prefixes": ["UNLOGGED"]},)

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tat: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="theoretical arrival time: when the key is back to its full allowance"
    )
    tolerance: Mapped[timedelta] = mapped_column(Interval, comment="how far ahead of now the TAT may be")
