"""Rate limits as GCRA (the generic cell rate algorithm): a limit of N requests per S seconds lets N through at once
and then one more every S/N seconds, with no window edge where 2N pass in a moment (a fixed window lets N through
at the end of one window and N more at the start of the next).

Each key keeps one time, its theoretical arrival time (TAT): when the key would be back to a full allowance. A
request is let through when the TAT is at most S - S/N ahead of now, and moves it S/N later. The keys of a request
are judged and moved by one UPSERT in PostgreSQL, so every API process sees the same state, and the row lock it
takes makes concurrent requests queue on the key instead of all reading the same TAT. A key that refuses is left
as it was; the request's other keys still count it (a request refused per address uses up its account's
allowance too: an error on the safe side).

Counted on a connection of their own, committed at once: a refused login or a failed createReport rolls its own
transaction back, and must still count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.metrics import RATE_LIMIT_REFUSALS
from domain.settings import Settings

# The row proposed for a key carries the request's limit into the UPDATE: excluded.tat is now plus the key's
# interval, excluded.tolerance its tolerance. A refusing key matches no UPDATE and is left out of RETURNING.
# The keys are sorted so that two requests sharing keys lock their rows in the same order (no deadlock).
CHECK = text(
    """
    INSERT INTO rate_limits AS r (key, tat, tolerance)
    SELECT k, CAST(:now AS timestamptz) + make_interval(secs => i), make_interval(secs => t)
    FROM unnest(CAST(:keys AS text[]), CAST(:intervals AS float8[]), CAST(:tolerances AS float8[])) AS w(k, i, t)
    ORDER BY k
    ON CONFLICT (key) DO UPDATE
        SET tat = greatest(r.tat, CAST(:now AS timestamptz)) + (excluded.tat - CAST(:now AS timestamptz)),
            tolerance = excluded.tolerance
        WHERE r.tat <= CAST(:now AS timestamptz) + excluded.tolerance
    RETURNING key
    """
)
REFUSED = text("SELECT key, tat, tolerance FROM rate_limits WHERE key = ANY(CAST(:keys AS text[]))")
# A TAT in the past is a full allowance, the same as no row at all.
SWEEP = text("DELETE FROM rate_limits WHERE tat < :now")


@dataclass(frozen=True)
class Limited(Exception):
    """Over a limit: try again in ``retry_after`` seconds."""

    action: str
    retry_after: int


@dataclass(frozen=True)
class Cell:
    """One limit in GCRA terms: a request every ``interval`` seconds, ``tolerance`` seconds of it in advance."""

    interval: float
    tolerance: float


def cell(count: int, seconds: int) -> Cell:
    interval = seconds / count
    return Cell(interval=interval, tolerance=seconds - interval)


def retry_after(tat: datetime, tolerance: timedelta, now: datetime) -> int:
    """Whole seconds until a refused key lets a request through again."""
    return max(1, math.ceil((tat - tolerance - now).total_seconds()))


async def check(
    engine: AsyncEngine, settings: Settings, action: str, who: dict[str, str | None], *, now: datetime
) -> None:
    """Counts this request for each ``who`` (e.g. {"user": id, "ip": address}) that has a limit for ``action``;
    raises Limited when one of them is over it."""
    if not settings.rate_limits_enabled:
        return
    wanted: dict[str, Cell] = {}
    for kind, value in who.items():
        limit = settings.rate_limits.get(f"{action}:{kind}")
        if limit is None or value is None:
            continue
        count, seconds = limit
        wanted[f"{action}:{kind}:{value}:{count}/{seconds}"] = cell(count, seconds)
    if not wanted:
        return
    keys = sorted(wanted)
    params = {
        "now": now,
        "keys": keys,
        "intervals": [wanted[k].interval for k in keys],
        "tolerances": [wanted[k].tolerance for k in keys],
    }
    async with engine.connect() as conn:
        passed = set((await conn.scalars(CHECK, params)).all())
        refused = [k for k in keys if k not in passed]
        rows = (await conn.execute(REFUSED, {"keys": refused})).all() if refused else []
        await conn.commit()
    if refused:
        RATE_LIMIT_REFUSALS.labels(action).inc()
        raise Limited(action, max((retry_after(tat, tolerance, now) for _, tat, tolerance in rows), default=1))


async def sweep(engine: AsyncEngine, *, now: datetime) -> int:
    async with engine.connect() as conn:
        result = await conn.execute(SWEEP, {"now": now})
        await conn.commit()
    return int(getattr(result, "rowcount", 0) or 0)
