"""Performance figures per unit, for auditors: exact, fair and explainable (the README's "Performance figures").

Every figure is a sum over report_cases (migration 0009): one row per spell of one unit with one report, kept
by a trigger on the history. A period selects the cases a unit *received* in it, and every figure describes
those cases as they stand now, so a rate never mixes two groups of reports. The fairness rules:

- a case the unit passed on (a disposition: the report was outside its remit) or that an admin re-routed
  away does not count against it: it is left out of every rate except the response and escalation ones
  (passing a report on is a response, and the time it took is the unit's);
- a duplicate the unit closed as such is left out the same way;
- each unit is measured from the moment it received the report, against its own deadlines (the category's
  SLA counted from then), so an agency is not blamed for the days a kelurahan sat on a report;
- rates are per report; a unit is ranked only with at least ``min_reports`` assessed cases;
- in a category whose completions are verified (domain/verification.py), a completion counts once the supervisor
  accepted it, at the time the unit made it; one sent back never counts, and while one waits the unit's clock is
  stopped (a case waiting for verification is overdue only if the unit completed it late).

A kecamatan's figures are its area's (the kecamatan office and its kelurahan offices), a kota's likewise;
kelurahan offices and agencies answer for their own cases.

The API keeps what it computed in a ``FiguresCache`` per process, each entry labelled with the change counters of
its units' cases (unit_case_versions, migration 0026) read before it was computed; an entry is used only while
those counters have not moved, so a cached figure is the figure. ``overdueOpen`` depends on the time of the
question too: an entry keeps it with the instants between which it holds (the latest deadline already passed and
the earliest still ahead among the open cases whose clock runs, taken in the same query), and it is counted again
(ix_report_cases_open holds the open cases only) once the question's time leaves them.
"""

from __future__ import annotations

import asyncio
import enum
import math
import operator
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.models import Report, Unit, UnitKind
from domain.reference import ReferenceData
from domain.sla import JAKARTA

T = TypeVar("T")

MAX_PERIOD_DAYS = 3 * 366
MAX_BUCKETS = 800


class Interval(enum.StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"  # ISO weeks, Monday first
    MONTH = "MONTH"


LEVELS = (UnitKind.KELURAHAN, UnitKind.KECAMATAN, UnitKind.KOTA, UnitKind.AGENCY)


@dataclass(frozen=True)
class Period:
    """Jakarta calendar days, both ends included."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), JAKARTA).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.until + timedelta(days=1), time(), JAKARTA).astimezone(UTC)


def check_period(since: date, until: date) -> Period:
    if until < since:
        raise DomainError("INVALID_PERIOD", "`until` is before `since`.", field="until")
    if (until - since).days >= MAX_PERIOD_DAYS:
        raise DomainError("INVALID_PERIOD", f"A period is at most {MAX_PERIOD_DAYS} days.", field="until")
    return Period(since, until)


@dataclass(frozen=True)
class Figures:
    """One unit's (or one time bucket's) figures over the cases it received in the period."""

    received: int = 0
    passed_on: int = 0
    duplicates: int = 0
    completed: int = 0
    rejected: int = 0
    still_open: int = 0
    overdue_open: int = 0
    responded: int = 0
    responded_on_time: int = 0
    completed_on_time: int = 0
    escalated: int = 0
    reopened: int = 0
    ratings: int = 0
    rating_sum: int = 0
    median_response_hours: float | None = None
    p90_response_hours: float | None = None
    median_completion_hours: float | None = None
    p90_completion_hours: float | None = None

    @property
    def assessed(self) -> int:
        """The cases the unit answers for: received, less those passed on, re-routed away or duplicates."""
        return self.received - self.passed_on - self.duplicates

    @property
    def completion_rate(self) -> float | None:
        return _ratio(self.completed, self.assessed)

    @property
    def response_within_sla_rate(self) -> float | None:
        return _ratio(self.responded_on_time, self.received)

    @property
    def completion_within_sla_rate(self) -> float | None:
        return _ratio(self.completed_on_time, self.completed)

    @property
    def escalation_rate(self) -> float | None:
        return _ratio(self.escalated, self.received)

    @property
    def reopen_rate(self) -> float | None:
        return _ratio(self.reopened, self.completed)

    @property
    def mean_rating(self) -> float | None:
        return _ratio(self.rating_sum, self.ratings)

    @cached_property
    def scored(self) -> tuple[tuple[Component, ...], float | None]:
        """The leaderboard's parts of the score and the score, worked out once per figures: the cache keeps a
        unit's figures across questions, and each question ranks every unit of the level (a fifth of a cached
        question's time before)."""
        parts = components(self)
        return parts, score(parts)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# A unit (or bucket) that received nothing: one object, so that an answer made from it can tell it is the same.
NO_FIGURES = Figures()


# --- the aggregate --------------------------------------------------------------------------------------


class Reads(Protocol):
    """Where the figures' queries run: ``PublicReads`` (read-only autocommit connections, used by the API) or
    ``SessionReads`` (a session, used by jobs and tests)."""

    async def rows(self, sql: str, params: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]: ...


class SessionReads:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def rows(self, sql: str, params: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        return [dict(row._mapping) for row in await self._session.execute(text(sql), dict(params))]


# One row per key (a unit, a group of units or a time bucket) over the cases received in [start, end). The hours
# are columns computed when a case is written (migration 0009), so the query does no arithmetic on each row; a
# unit-level query reads the cases from ix_report_cases_unit_cover in unit order, with no sort.
FIGURES_SQL = """
SELECT {key} AS key,
    count(*) AS received,
    count(*) FILTER (WHERE c.ending IN ('PASSED_ON', 'REROUTED') AND c.first_completed_at IS NULL) AS passed_on,
    count(*) FILTER (WHERE c.ending = 'DUPLICATE' AND c.first_completed_at IS NULL) AS duplicates,
    count(c.first_completed_at) AS completed,
    count(*) FILTER (WHERE c.ending = 'REJECTED' AND c.first_completed_at IS NULL) AS rejected,
    count(*) FILTER (WHERE c.ended_at IS NULL) AS still_open,
    count(*) FILTER (WHERE c.ended_at IS NULL AND c.first_completed_at IS NULL
                       AND c.completion_due_at < coalesce(c.verifying_since, :now)) AS overdue_open,
    max(c.completion_due_at) FILTER (WHERE c.ended_at IS NULL AND c.first_completed_at IS NULL
                       AND c.verifying_since IS NULL AND c.completion_due_at < :now) AS overdue_after,
    min(c.completion_due_at) FILTER (WHERE c.ended_at IS NULL AND c.first_completed_at IS NULL
                       AND c.verifying_since IS NULL AND c.completion_due_at >= :now) AS overdue_until,
    count(c.first_response_at) AS responded,
    count(*) FILTER (WHERE c.first_response_at <= c.response_due_at) AS responded_on_time,
    count(*) FILTER (WHERE c.first_completed_at <= c.completion_due_at) AS completed_on_time,
    count(*) FILTER (WHERE c.escalations > 0) AS escalated,
    count(*) FILTER (WHERE c.reopenings > 0) AS reopened,
    count(c.rating) AS ratings,
    coalesce(sum(c.rating), 0) AS rating_sum,
    percentile_disc(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY c.response_hours) AS response_hours,
    percentile_disc(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY c.completion_hours) AS completion_hours
FROM report_cases c {join}
WHERE c.unit_id = ANY(:units) AND c.arrived_at >= :start AND c.arrived_at < :end
  AND (CAST(:category AS integer) IS NULL OR c.category_id = :category)
GROUP BY 1
"""
UNIT_KEY = "c.unit_id"
GROUP_KEY = "g.group_id"
GROUP_JOIN = (
    "JOIN unnest(CAST(:members AS integer[]), CAST(:groups AS integer[])) AS g(unit_id, group_id) USING (unit_id)"
)
# Jakarta keeps UTC+7 all year: its wall clock is UTC's plus 7 hours, with no time zone database.
BUCKET_KEY = "date_trunc('{trunc}', timezone('UTC', c.arrived_at + interval '7 hours'))::date"


# overdueOpen alone, over the open cases not completed (ix_report_cases_open), with the instants between which the
# count holds: it is the one figure that changes with the time of the question. A case waiting for verification has
# its clock stopped (overdue or not for good); any other open case becomes overdue the moment its deadline is
# passed. So the count taken at `now` is the count at every instant after the latest deadline already passed
# (overdue_after) up to and including the earliest one still ahead (overdue_until); FIGURES_SQL takes both too.
OVERDUE_SQL = """
SELECT {key} AS key,
    count(*) FILTER (WHERE c.completion_due_at < coalesce(c.verifying_since, :now)) AS overdue_open,
    max(c.completion_due_at) FILTER (WHERE c.verifying_since IS NULL AND c.completion_due_at < :now) AS overdue_after,
    min(c.completion_due_at) FILTER (WHERE c.verifying_since IS NULL AND c.completion_due_at >= :now)
        AS overdue_until
FROM report_cases c {join}
WHERE c.unit_id = ANY(:units) AND c.arrived_at >= :start AND c.arrived_at < :end
  AND c.ended_at IS NULL AND c.first_completed_at IS NULL
  AND (CAST(:category AS integer) IS NULL OR c.category_id = :category)
GROUP BY 1
"""
VERSIONS_SQL = "SELECT unit_id, version FROM unit_case_versions WHERE unit_id = ANY(:units)"
# How many of the units' change counters differ from the ones given (a unit with no counter has 0): zero when
# none of their cases changed, in one row, where the counters themselves are a row per unit.
CHANGED_SQL = """
SELECT count(*) AS changed
FROM unnest(CAST(:units AS integer[]), CAST(:versions AS bigint[])) AS given (unit_id, version)
LEFT JOIN unit_case_versions v ON v.unit_id = given.unit_id
WHERE coalesce(v.version, 0) <> given.version
"""


@dataclass(frozen=True)
class OverdueWindow:
    """When an overdue count taken at some instant still holds while the cases stay as they were: after ``after``
    (the latest deadline then passed) and up to and including ``until`` (the earliest still ahead); None where
    there is no such deadline."""

    after: datetime | None = None
    until: datetime | None = None

    def holds(self, now: datetime) -> bool:
        return (self.after is None or self.after < now) and (self.until is None or now <= self.until)


def _window(rows: Sequence[Mapping[str, Any]]) -> OverdueWindow:
    """Where the overdue counts of all the rows hold at once."""
    return _within(OverdueWindow(row["overdue_after"], row["overdue_until"]) for row in rows)


def _within(windows: Iterable[OverdueWindow]) -> OverdueWindow:
    """Where every one of the windows holds."""
    after: list[datetime] = []
    until: list[datetime] = []
    for w in windows:
        if w.after is not None:
            after.append(w.after)
        if w.until is not None:
            until.append(w.until)
    return OverdueWindow(max(after, default=None), min(until, default=None))


@dataclass(frozen=True)
class _Level:
    """A whole level's figures over a period as `_cached` last gave them, with the counters they were read at
    and where all their overdue counts hold: while no counter moved and the window holds, the same answer."""

    members: dict[int, list[int]]
    units: list[int]
    versions: list[int]
    window: OverdueWindow
    found: dict[int, Figures]


class Counted(NamedTuple):
    """A group's figures and when their overdue count holds."""

    figures: Figures
    window: OverdueWindow


class CountedSeries(NamedTuple):
    """A time series' figures by bucket start and when all their overdue counts hold."""

    buckets: dict[date, Figures]
    window: OverdueWindow


# Answers kept as presented (FiguresCache.presented): a level, period and category each, for the questions asked most.
PRESENTED_ANSWERS = 64


class FiguresCache:
    """Figures computed in this process, least recently used first out, each with the versions (change counters)
    of the units whose cases it was computed from. The versions are read before the figures are computed: a
    change committed in between only makes an entry look older than it is, never newer."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], object]] = OrderedDict()
        self._presented: OrderedDict[Hashable, tuple[tuple[object, ...], object]] = OrderedDict()
        self.presented_again = 0  # answers served as presented before (tests, and a figure to watch)
        self._levels: OrderedDict[Hashable, _Level] = OrderedDict()
        self.levels_again = 0  # levels answered by one check of their counters (tests)

    def get(self, key: Hashable, versions: tuple[int, ...]) -> object | None:
        found = self._entries.get(key)
        if found is None or found[0] != versions:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, versions: tuple[int, ...], value: object) -> None:
        if self.capacity <= 0:
            return
        self._entries[key] = (versions, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def level(self, key: Hashable, members: dict[int, list[int]]) -> _Level | None:
        found = self._levels.get(key)
        return found if found is not None and found.members is members else None

    def keep_level(self, key: Hashable, level: _Level) -> None:
        if self.capacity <= 0:
            return
        self._levels[key] = level
        self._levels.move_to_end(key)
        while len(self._levels) > PRESENTED_ANSWERS:
            self._levels.popitem(last=False)

    def presented(self, key: Hashable, sources: Sequence[object], make: Callable[[], T]) -> T:
        """What `make()` makes of `sources` (the figures this cache gave out, and what else the answer is made
        from): the one made before as long as every source is the very object it was made from, else made now.

        An auditor's question is answered from the figures of every unit of a level, and while none changed the
        cache hands out the same objects; so the answer presented from them (ranked, turned into the API's
        types, completed by GraphQL: most of a cached question's time) can be the one presented before. The entry
        holds its sources, so no other object can take the identity of one of them while it is kept."""
        if self.capacity <= 0:
            return make()
        found = self._presented.get(key)
        if found is not None and len(found[0]) == len(sources) and all(map(operator.is_, found[0], sources)):
            self._presented.move_to_end(key)
            self.presented_again += 1
            return cast(T, found[1])
        made = make()
        self._presented[key] = (tuple(sources), made)
        self._presented.move_to_end(key)
        while len(self._presented) > PRESENTED_ANSWERS:
            self._presented.popitem(last=False)
        return made


async def _versions(reads: Reads, units: Sequence[int]) -> dict[int, int]:
    """Each unit's change counter; a unit that never had a case has none (0)."""
    return {row["unit_id"]: row["version"] for row in await reads.rows(VERSIONS_SQL, {"units": list(units)})}


NOT_FIGURES = frozenset({"key", "response_hours", "completion_hours", "overdue_after", "overdue_until"})


def _figures(row: Mapping[str, Any]) -> Figures:
    values = {k: v for k, v in row.items() if k not in NOT_FIGURES}
    response = row["response_hours"] or (None, None)
    completion = row["completion_hours"] or (None, None)
    return Figures(
        **values,
        median_response_hours=response[0],
        p90_response_hours=response[1],
        median_completion_hours=completion[0],
        p90_completion_hours=completion[1],
    )


def _params(period: Period, category_id: int | None, now: datetime, **more: object) -> dict[str, object]:
    return {"start": period.start, "end": period.end, "category": category_id, "now": now, **more}


def groups(reference: ReferenceData, level: UnitKind) -> dict[int, list[int]]:
    """The units whose cases make up each unit's figures at a level, by the unit's id, worked out once per
    reference snapshot (every question asks; the kecamatan level compares every office with every kelurahan's).

    A kelurahan office or an agency answers for its own cases. A camat answers for the area: the kecamatan
    office and every kelurahan office in it; a walikota office likewise for its kota.
    """
    return reference.derived(("performance.groups", level), lambda: _groups(reference, level))


def _groups(reference: ReferenceData, level: UnitKind) -> dict[int, list[int]]:
    heads = reference.units_of_kind(level)
    if level == UnitKind.KECAMATAN:
        inside = [u for u in reference.units.values() if u.kind == UnitKind.KELURAHAN]
        return {h.id: [h.id, *(u.id for u in inside if u.kecamatan_id == h.kecamatan_id)] for h in heads}
    if level == UnitKind.KOTA:
        area = (UnitKind.KELURAHAN, UnitKind.KECAMATAN)
        inside = [u for u in reference.units.values() if u.kind in area]
        return {h.id: [h.id, *(u.id for u in inside if u.kota_id == h.kota_id)] for h in heads}
    return {h.id: [h.id] for h in heads}


def _by_group(sql: str, members: dict[int, list[int]], params: dict[str, object]) -> tuple[str, dict[str, object]]:
    """The query keyed by unit when every group is its head alone, else by group through GROUP_JOIN."""
    units = sorted({unit for group in members.values() for unit in group})
    if all(group == [head] for head, group in members.items()):
        return sql.format(key=UNIT_KEY, join=""), {**params, "units": units}
    pairs = [(unit, head) for head, group in members.items() for unit in group]
    pairs_params = {"units": units, "members": [u for u, _ in pairs], "groups": [g for _, g in pairs]}
    return sql.format(key=GROUP_KEY, join=GROUP_JOIN), {**params, **pairs_params}


async def _figures_of(
    reads: Reads, members: dict[int, list[int]], period: Period, category_id: int | None, now: datetime
) -> dict[int, Counted]:
    sql, params = _by_group(FIGURES_SQL, members, _params(period, category_id, now))
    return {row["key"]: Counted(_figures(row), _window([row])) for row in await reads.rows(sql, params)}


async def _overdue_of(
    reads: Reads, members: dict[int, list[int]], period: Period, category_id: int | None, now: datetime
) -> dict[int, tuple[int, OverdueWindow]]:
    sql, params = _by_group(OVERDUE_SQL, members, _params(period, category_id, now))
    return {row["key"]: (row["overdue_open"], _window([row])) for row in await reads.rows(sql, params)}


async def _computed(
    reads: Reads,
    members: dict[int, list[int]],
    period: Period,
    category_id: int | None,
    now: datetime,
    parallel: int,
) -> dict[int, Counted]:
    """The groups' figures, split into ``parallel`` queries run at once."""
    heads = list(members)
    size = max(1, -(-len(heads) // max(1, parallel)))
    chunks = [{head: members[head] for head in heads[i : i + size]} for i in range(0, len(heads), size)]
    found: dict[int, Counted] = {}
    for part in await asyncio.gather(*(_figures_of(reads, chunk, period, category_id, now) for chunk in chunks)):
        found |= part
    return found


async def _cached(
    reads: Reads,
    cache: FiguresCache,
    members: dict[int, list[int]],
    period: Period,
    category_id: int | None,
    now: datetime,
    parallel: int,
) -> dict[int, Figures]:
    """As ``_computed``, computing only the groups whose cached figures are older than their units' cases, and
    counting overdueOpen again only for the groups whose count does not hold at ``now``. A level asked again with
    none of its units' cases changed, and every overdue count still holding, is answered by one check of the
    counters (CHANGED_SQL), not by reading them all and looking up each group (most of a cached question's time).
    """
    level_key = (id(members), period, category_id)
    level = cache.level(level_key, members)
    if level is not None and level.window.holds(now):
        changed = await reads.rows(CHANGED_SQL, {"units": level.units, "versions": level.versions})
        if changed[0]["changed"] == 0:
            cache.levels_again += 1
            return level.found
    units = sorted({unit for group in members.values() for unit in group})
    versions = await _versions(reads, units)
    labels = {head: tuple(versions.get(unit, 0) for unit in group) for head, group in members.items()}
    keys = {head: ("units", tuple(group), period, category_id) for head, group in members.items()}
    found: dict[int, Figures] = {}
    windows: list[OverdueWindow] = []
    expired: dict[int, Figures] = {}
    for head in members:
        hit = cache.get(keys[head], labels[head])
        if isinstance(hit, Counted):
            if hit.window.holds(now):
                found[head] = hit.figures
                windows.append(hit.window)
            else:
                expired[head] = hit.figures
    if expired:
        recounted = await _overdue_of(reads, {head: members[head] for head in expired}, period, category_id, now)
        for head, figures in expired.items():
            overdue_open, window = recounted.get(head, (0, OverdueWindow()))
            found[head] = _with_overdue(figures, overdue_open)
            windows.append(window)
            cache.put(keys[head], labels[head], Counted(found[head], window))
    stale = {head: group for head, group in members.items() if head not in found}
    if stale:
        fresh = await _computed(reads, stale, period, category_id, now, parallel)
        for head in stale:
            counted = fresh.get(head) or Counted(NO_FIGURES, OverdueWindow())
            found[head] = counted.figures
            windows.append(counted.window)
            cache.put(keys[head], labels[head], counted)
    # The counters as read before computing: a change committed meanwhile makes the level look older, never newer.
    level = _Level(members, units, [versions.get(unit, 0) for unit in units], _within(windows), found)
    cache.keep_level(level_key, level)
    return found


def _with_overdue(figures: Figures, overdue_open: int) -> Figures:
    # Most units' overdue count is the one their figures were computed with: no copy for them.
    return figures if figures.overdue_open == overdue_open else replace(figures, overdue_open=overdue_open)


async def figures_by_unit(
    reads: Reads,
    reference: ReferenceData,
    level: UnitKind,
    period: Period,
    *,
    category_id: int | None,
    now: datetime,
    parallel: int = 1,
    cache: FiguresCache | None = None,
) -> dict[int, Figures]:
    """Every unit of the level with its figures (see ``groups``); a unit that received nothing gets zeros.

    With ``parallel`` > 1 the units are split into that many queries run at once (``reads`` must then allow
    concurrent queries, as PublicReads' pool does): PostgreSQL cannot run ordered-set aggregates (the medians)
    in parallel itself, and a year of a city's cases is a few hundred thousand rows. With a ``cache``, only the
    units (or areas) whose cases changed since they were last computed are computed again.
    """
    members = groups(reference, level)
    if cache is None:
        found = {
            head: counted.figures
            for head, counted in (await _computed(reads, members, period, category_id, now, parallel)).items()
        }
    else:
        found = await _cached(reads, cache, members, period, category_id, now, parallel)
    return {unit_id: found.get(unit_id, NO_FIGURES) for unit_id in members}


# --- time series -------------------------------------------------------------------------------------------


def bucket_starts(period: Period, interval: Interval) -> list[date]:
    """The first day of every bucket touching the period (weeks start on Monday, months on the 1st)."""
    first = _bucket_of(period.since, interval)
    starts = []
    day = first
    while day <= period.until:
        starts.append(day)
        day = _next_bucket(day, interval)
    return starts


def _bucket_of(day: date, interval: Interval) -> date:
    if interval == Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval == Interval.MONTH:
        return day.replace(day=1)
    return day


def _next_bucket(day: date, interval: Interval) -> date:
    if interval == Interval.WEEK:
        return day + timedelta(days=7)
    if interval == Interval.MONTH:
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


@dataclass(frozen=True)
class Bucket:
    """A bucket's cases are those received from ``start`` (or the period's start) to its end or the period's."""

    start: date
    figures: Figures


async def time_series(
    reads: Reads,
    reference: ReferenceData,
    unit: Unit,
    period: Period,
    interval: Interval,
    *,
    category_id: int | None,
    now: datetime,
    cache: FiguresCache | None = None,
) -> list[Bucket]:
    """A unit's figures per bucket (a kecamatan or kota office's are its area's, as in ``groups``); with a
    ``cache``, computed again only when the unit's cases changed, overdueOpen counted again only when the time of
    the question leaves the window of the cached counts."""
    starts = bucket_starts(period, interval)
    if len(starts) > MAX_BUCKETS:
        raise DomainError(
            "INVALID_PERIOD", f"At most {MAX_BUCKETS} buckets: choose a longer interval.", field="interval"
        )
    members = sorted(groups(reference, unit.kind).get(unit.id, [unit.id]))
    trunc = {Interval.DAY: "day", Interval.WEEK: "week", Interval.MONTH: "month"}[interval]
    key = BUCKET_KEY.format(trunc=trunc)
    params = _params(period, category_id, now, units=members)
    if cache is None:
        rows = await reads.rows(FIGURES_SQL.format(key=key, join=""), params)
        found = {row["key"]: _figures(row) for row in rows}
        return [Bucket(start, found.get(start, NO_FIGURES)) for start in starts]
    versions = await _versions(reads, members)
    label = tuple(versions.get(member, 0) for member in members)
    entry = ("series", tuple(members), period, interval, category_id)
    cached = cache.get(entry, label)
    if isinstance(cached, CountedSeries) and cached.window.holds(now):
        found = cached.buckets
    elif isinstance(cached, CountedSeries):
        rows = await reads.rows(OVERDUE_SQL.format(key=key, join=""), params)
        overdue = {row["key"]: row["overdue_open"] for row in rows}
        found = {
            start: _with_overdue(cached.buckets.get(start, NO_FIGURES), overdue.get(start, 0))
            for start in cached.buckets.keys() | overdue.keys()
        }
        cache.put(entry, label, CountedSeries(found, _window(rows)))
    else:
        rows = await reads.rows(FIGURES_SQL.format(key=key, join=""), params)
        found = {row["key"]: _figures(row) for row in rows}
        cache.put(entry, label, CountedSeries(found, _window(rows)))
    return [Bucket(start, found.get(start, NO_FIGURES)) for start in starts]


# --- the leaderboard ---------------------------------------------------------------------------------------


class Component(NamedTuple):
    # A tuple rather than a frozen dataclass: a leaderboard makes five for each of hundreds of units per question.
    name: str
    weight: float
    value: float | None  # 0 (worst) to 1 (best); None when the unit has no case it could be measured on


# The score's parts and their weights; a part without a value is left out and the others share its weight.
WEIGHTS = (
    ("completion", 0.35),  # completion rate
    ("completionOnTime", 0.25),  # of the completed, the share completed within the unit's deadline
    ("responseOnTime", 0.20),  # of the received, the share answered within the unit's deadline
    ("notReopened", 0.10),  # 1 - reopen rate
    ("rating", 0.10),  # mean citizen rating mapped from 1..5 to 0..1
)


def components(f: Figures) -> tuple[Component, ...]:
    values = {
        "completion": f.completion_rate,
        "completionOnTime": f.completion_within_sla_rate,
        "responseOnTime": f.response_within_sla_rate,
        "notReopened": None if f.reopen_rate is None else 1 - f.reopen_rate,
        "rating": None if f.mean_rating is None else (f.mean_rating - 1) / 4,
    }
    return tuple(Component(name, weight, values[name]) for name, weight in WEIGHTS)


def score(parts: Iterable[Component]) -> float | None:
    """0 to 100: the weighted mean of the parts that have a value."""
    present = [p for p in parts if p.value is not None]
    total = sum(p.weight for p in present)
    if not total:
        return None
    return round(100 * math.fsum(p.weight * p.value for p in present if p.value is not None) / total, 2)


@dataclass(frozen=True)
class Standing:
    unit: Unit
    figures: Figures
    components: tuple[Component, ...]
    score: float | None
    rank: int | None = None  # None: fewer than the minimum of assessed cases, or nothing to score
    unranked_reason: str | None = field(default=None)


def rank(standings: Iterable[tuple[Unit, Figures]], *, min_reports: int) -> list[Standing]:
    """Best score first; equal scores share a rank (1, 2, 2, 4). Units below the minimum come last, unranked,
    in code order."""
    scored: list[tuple[float, Unit, Figures, tuple[Component, ...]]] = []
    unranked: list[Standing] = []
    too_few = f"fewer than {min_reports} assessed reports"
    for unit, figures in standings:
        parts, total = figures.scored
        if figures.assessed < min_reports:
            unranked.append(Standing(unit, figures, parts, total, unranked_reason=too_few))
        elif total is None:
            unranked.append(Standing(unit, figures, parts, None, unranked_reason="nothing to score"))
        else:
            scored.append((total, unit, figures, parts))
    scored.sort(key=lambda s: (-s[0], s[1].code))
    ranked: list[Standing] = []
    for position, (total, unit, figures, parts) in enumerate(scored, start=1):
        same = ranked and ranked[-1].score == total
        ranked.append(Standing(unit, figures, parts, total, ranked[-1].rank if same else position))
    unranked.sort(key=lambda s: s.unit.code)
    return ranked + unranked


async def standings(
    reads: Reads,
    reference: ReferenceData,
    level: UnitKind,
    period: Period,
    *,
    category_id: int | None,
    now: datetime,
    min_reports: int,
    parallel: int = 1,
    cache: FiguresCache | None = None,
) -> list[Standing]:
    """The leaderboard of a level: every unit's figures, scored and ranked."""
    figures = await figures_by_unit(
        reads, reference, level, period, category_id=category_id, now=now, parallel=parallel, cache=cache
    )
    return rank(((u, figures[u.id]) for u in reference.units_of_kind(level)), min_reports=min_reports)


# --- overdue reports now --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    kelurahan_id: int
    reports: int
    oldest_due_at: datetime


async def overdue_by_kelurahan(session: AsyncSession, *, now: datetime) -> list[Overdue]:
    """Open reports past their next deadline, per kelurahan, now (closed reports have no deadline)."""
    rows = await session.execute(
        select(Report.kelurahan_id, func.count(), func.min(Report.due_at))
        .where(Report.due_at.is_not(None), Report.due_at < now)
        .group_by(Report.kelurahan_id)
        .order_by(Report.kelurahan_id)
    )
    return [Overdue(kelurahan_id, count, oldest) for kelurahan_id, count, oldest in rows if oldest is not None]
