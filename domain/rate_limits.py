"""Rate limits: at most N requests per key in a fixed window of S seconds, counted in PostgreSQL so that every
API process sees the same counts. One statement counts every key of a request and says whether any is over.

Counted on a connection of their own, committed at once: a refused login or a failed createReport rolls its own
transaction back, and must still count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.settings import Settings

COUNT = text(
    """
    INSERT INTO rate_counters (key, window_start, hits)
    SELECT k, w, 1 FROM unnest(CAST(:keys AS text[]), CAST(:windows AS timestamptz[])) AS t(k, w)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counters.hits + 1
    RETURNING key, window_start, hits
    """
)
SWEEP = text("DELETE FROM rate_counters WHERE window_start < :before")


@dataclass(frozen=True)
class Limited(Exception):
    """Over a limit: try again in ``retry_after`` seconds."""

    action: str
    retry_after: int


def _window(now: datetime, seconds: int) -> datetime:
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


async def check(
    engine: AsyncEngine, settings: Settings, action: str, who: dict[str, str | None], *, now: datetime
) -> None:
    """Counts this request for each ``who`` (e.g. {"user": id, "ip": address}) that has a limit for ``action``;
    raises Limited when one of them is over it."""
    if not settings.rate_limits_enabled:
        return
    wanted: dict[str, tuple[int, int, datetime]] = {}
    for kind, value in who.items():
        limit = settings.rate_limits.get(f"{action}:{kind}")
        if limit is None or value is None:
            continue
        count, seconds = limit
        window = _window(now, seconds)
        wanted[f"{action}:{kind}:{value}:{seconds}"] = (count, seconds, window)
    if not wanted:
        return
    keys = list(wanted)
    async with engine.connect() as conn:
        rows = (await conn.execute(COUNT, {"keys": keys, "windows": [wanted[k][2] for k in keys]})).all()
        await conn.commit()
    waits = []
    for key, window, hits in rows:
        count, seconds, _ = wanted[key]
        if hits > count:
            waits.append(math.ceil((window + timedelta(seconds=seconds) - now).total_seconds()))
    if waits:
        raise Limited(action, max(1, max(waits)))


async def sweep(engine: AsyncEngine, *, now: datetime, keep: timedelta = timedelta(days=1)) -> int:
    async with engine.connect() as conn:
        result = await conn.execute(SWEEP, {"before": now - keep})
        await conn.commit()
    return int(getattr(result, "rowcount", 0) or 0)
