from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class RateCounter(Base):
    """Requests per key (action, who) in a fixed window, shared by every API process (domain/rate_limits.py).

    UNLOGGED: no WAL for counters; a database crash forgets them, which only lets some requests through.
    """

    __tablename__ = "rate_counters"
    __table_args__ = ({"prefixes": ["UNLOGGED"]},)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
