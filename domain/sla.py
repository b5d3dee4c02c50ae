"""SLA clocks: working time in Jakarta's government offices, with the national holidays and cuti bersama.

Pure functions over plain values; the holidays come from ``data/jakarta/holidays.csv`` (see its HOLIDAYS.md).
Every instant returned is in UTC; every instant taken must carry its time zone.
"""

from __future__ import annotations

import bisect
import csv
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)
HOLIDAYS_FILE = "holidays.csv"
HOLIDAY_KINDS = frozenset({"libur_nasional", "cuti_bersama"})

# Jakarta keeps WIB all year (no daylight saving), so a fixed offset is exact and needs no tz database.
JAKARTA = timezone(timedelta(hours=7), "WIB")

Window = tuple[time, time]
# Seven entries, Monday first; None is a closed day.
WeeklyHours = tuple[Window | None, ...]


def weekly_hours(windows: Mapping[int, Window]) -> WeeklyHours:
    """Office hours from ``{weekday: (opens, closes)}`` (0 is Monday); days not named are closed."""
    unknown = set(windows) - set(range(7))
    if unknown:
        raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), not {sorted(unknown)}")
    return tuple(windows.get(day) for day in range(7))


# Pemprov DKI offices: Monday to Friday, 07:30-16:00 (some close at 16:30 on Friday: pass other hours).
OFFICE_HOURS = weekly_hours({day: (time(7, 30), time(16, 0)) for day in range(5)})


@dataclass(frozen=True)
class Holiday:
    day: date
    kind: str
    name_id: str
    name_en: str


@dataclass(frozen=True)
class WorkingCalendar:
    """When officers work: the weekly office hours, minus holidays.

    ``years`` are the years the holiday data speaks for; other years count as having no holidays at all,
    which ``covers`` lets a caller notice, and which a calendar with holiday data logs (see ``uncovered_years``).
    """

    holidays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()
    hours: WeeklyHours = OFFICE_HOURS
    tz: timezone = JAKARTA
    working_week: timedelta = field(init=False, repr=False, compare=False)
    _sorted_holidays: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("hours needs seven entries, Monday first")
        for window in self.hours:
            if window is not None and not window[0] < window[1]:
                raise ValueError(f"an office window must open before it closes, not {window}")
        if all(window is None for window in self.hours):
            raise ValueError("a calendar needs at least one working day a week")
        object.__setattr__(self, "working_week", sum((_length(w) for w in self.hours if w is not None), timedelta()))
        object.__setattr__(self, "_sorted_holidays", tuple(sorted(self.holidays)))

    def covers(self, day: date) -> bool:
        """Whether the holiday data speaks for ``day``'s year."""
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        return self.hours[day.weekday()] is not None and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening and closing instants of ``day`` (local), or None when nobody works that day."""
        hours = self.hours[day.weekday()]
        if hours is None or day in self.holidays:
            return None
        opens, closes = hours
        return datetime.combine(day, opens, self.tz), datetime.combine(day, closes, self.tz)

    def holiday_free_weeks(self, monday: date, at_most: int) -> int:
        """How many whole weeks from ``monday`` on, up to ``at_most``, hold no holiday."""
        i = bisect.bisect_left(self._sorted_holidays, monday)
        if i == len(self._sorted_holidays):
            return at_most
        return min(at_most, (self._sorted_holidays[i] - monday).days // 7)


def _length(window: Window) -> timedelta:
    opens, closes = window
    return datetime.combine(date.min, closes) - datetime.combine(date.min, opens)


def read_holidays(path: Path) -> tuple[Holiday, ...]:
    """The rows of a holidays CSV (lines starting with ``#`` are notes); raises on a bad or repeated row."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    holidays: list[Holiday] = []
    seen: set[date] = set()
    for number, row in enumerate(rows, start=1):
        day = date.fromisoformat(row["date"])
        if row["kind"] not in HOLIDAY_KINDS:
            raise ValueError(f"{path.name} row {number}: kind {row['kind']!r} is not one of {sorted(HOLIDAY_KINDS)}")
        if day in seen:
            raise ValueError(f"{path.name} row {number}: {day} is listed twice")
        seen.add(day)
        holidays.append(Holiday(day, row["kind"], row["name_id"], row["name_en"]))
    return tuple(holidays)


@cache
def load_calendar(path: Path, *, hours: WeeklyHours = OFFICE_HOURS) -> WorkingCalendar:
    """The working calendar of a holidays CSV; read once per path and hours."""
    holidays = read_holidays(path)
    return WorkingCalendar(
        holidays=frozenset(h.day for h in holidays),
        years=frozenset(h.day.year for h in holidays),
        hours=hours,
    )


# The years a deadline or a duration of this process ran through without holiday data, each logged once at WARNING
# when first met; /readyz shows them. A calendar built without any holiday data (``years`` empty) is one that means
# to have no holidays and is not counted.
uncovered_years: set[int] = set()


def _note_uncovered(calendar: WorkingCalendar, first: date, last: date) -> None:
    if not calendar.years:
        return
    for year in range(first.year, last.year + 1):
        if year not in calendar.years and year not in uncovered_years:
            uncovered_years.add(year)
            log.warning(
                "the holiday calendar does not cover %d: SLA time in %d is counted without holidays (extend %s)",
                year,
                year,
                HOLIDAYS_FILE,
            )


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")


def add_working_hours(calendar: WorkingCalendar, start: datetime, hours: float) -> datetime:
    """The instant (UTC) at which ``hours`` of working time have passed since ``start``.

    Time outside office hours does not count, so a report filed at night or on a holiday starts its clock
    when the next office window opens. A deadline that uses up a window exactly lands on its closing time,
    not on the next opening. ``hours=0`` means due at once: ``start`` itself, even outside office hours.
    """
    _require_aware("start", start)
    if not (math.isfinite(hours) and hours >= 0):
        raise ValueError(f"hours must be a finite number of at least 0, not {hours!r}")
    if hours == 0:
        return start.astimezone(UTC)
    remaining = timedelta(hours=hours)
    local = start.astimezone(calendar.tz)
    first_day = local.date()
    day = first_day
    while True:
        if day != first_day and day.weekday() == 0:
            # Whole weeks are skipped in one step, but never all of ``remaining``: the last day decides.
            weeks = calendar.holiday_free_weeks(day, (remaining - timedelta.resolution) // calendar.working_week)
            day += timedelta(weeks=weeks)
            remaining -= weeks * calendar.working_week
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(opens, local)
            if begin < closes:
                if remaining <= closes - begin:
                    _note_uncovered(calendar, first_day, day)
                    return (begin + remaining).astimezone(UTC)
                remaining -= closes - begin
        day += timedelta(days=1)


def working_hours_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Hours of working time from ``start`` to ``end``; 0 when ``end`` is not after ``start``."""
    _require_aware("start", start)
    _require_aware("end", end)
    if end <= start:
        return 0.0
    first_day = start.astimezone(calendar.tz).date()
    last_day = end.astimezone(calendar.tz).date()
    _note_uncovered(calendar, first_day, last_day)
    total = timedelta()
    day = first_day
    while day <= last_day:
        if first_day < day and day.weekday() == 0:
            weeks = calendar.holiday_free_weeks(day, (last_day - day).days // 7)
            total += weeks * calendar.working_week
            day += timedelta(weeks=weeks)
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total / timedelta(hours=1)


@dataclass(frozen=True)
class SlaTarget:
    """Working hours a category allows until the first response and until completion."""

    response_hours: float
    completion_hours: float

    def __post_init__(self) -> None:
        for name in ("response_hours", "completion_hours"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of at least 0, not {value!r}")
        if self.completion_hours < self.response_hours:
            raise ValueError("completion cannot be due before the first response")


@dataclass(frozen=True)
class Deadlines:
    respond_by: datetime
    complete_by: datetime


def deadlines(calendar: WorkingCalendar, created_at: datetime, target: SlaTarget) -> Deadlines:
    """When a report filed at ``created_at`` must have its first response and be completed (UTC)."""
    return Deadlines(
        respond_by=add_working_hours(calendar, created_at, target.response_hours),
        complete_by=add_working_hours(calendar, created_at, target.completion_hours),
    )


def is_overdue(due_at: datetime, now: datetime) -> bool:
    """A deadline is missed only once ``now`` is past it; at the deadline itself there is still time."""
    _require_aware("due_at", due_at)
    _require_aware("now", now)
    return now > due_at
