"""Every performance figure equals a plain SQL computation over the raw history, on simulated data.

report_cases is kept row by row by a trigger (migrations 0009 and 0016); the query below knows nothing of it: it
finds each unit's spells with a report from the history rows alone, with window functions, and counts the same
figures. domain/performance.py must agree with it to the last bit, for every level, several periods, a
category, and time series by day, week and month.

Verified categories are in the history too (the simulation's supervisors accept most completions and send some
back; some wait at the cut-off): a completion counts once accepted, at the time the unit made it (its VERIFYING
row); a sent-back one never counts; a case waiting for verification is overdue only if it was completed late.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from cli.demo import generate
from domain import performance
from domain.models import UnitKind
from domain.resources import Resources
from domain.settings import Settings

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

RAW_SPELLS = """
WITH h AS (
    SELECT h.*, (h.from_status IS NULL
                 OR (h.kind = 'STATUS' AND h.to_status = 'DISPOSITION' AND h.to_unit_id IS NOT NULL)
                 OR (h.kind = 'REROUTE' AND h.to_unit_id IS NOT NULL)) AS is_arrival,
           -- When the work was done: a supervisor's acceptance dates from the completion it accepted.
           CASE WHEN h.from_status = 'VERIFYING' THEN
               (SELECT v.at FROM report_status_changes v
                WHERE v.report_id = h.report_id AND v.id < h.id AND v.kind = 'STATUS' AND v.to_status = 'VERIFYING'
                ORDER BY v.id DESC LIMIT 1)
           ELSE h.at END AS done_at
    FROM report_status_changes h
), arrivals AS (
    SELECT h.id AS arrival_id, h.report_id, coalesce(h.to_unit_id, r.unit_id) AS unit_id, r.category_id,
           h.at AS arrived_at, h.response_due_at, h.completion_due_at,
           lead(h.id) OVER w AS next_id, lead(h.kind) OVER w AS next_kind
    FROM h JOIN reports r ON r.id = h.report_id
    WHERE h.is_arrival
    WINDOW w AS (PARTITION BY h.report_id ORDER BY h.id)
), members AS (
    -- A spell's rows: after its arrival, up to the next arrival, which ends it (and may be its response).
    SELECT a.arrival_id, m.id, m.kind, m.to_status, m.at, m.done_at, m.rating,
           m.id IS NOT DISTINCT FROM a.next_id AS is_next
    FROM arrivals a JOIN h m ON m.report_id = a.report_id AND m.id > a.arrival_id
                              AND (a.next_id IS NULL OR m.id <= a.next_id)
), tallies AS (
    SELECT arrival_id,
        min(at) FILTER (WHERE kind = 'STATUS') AS responded_at,
        min(done_at) FILTER (WHERE kind = 'STATUS' AND to_status = 'COMPLETED') AS completed_at,
        (array_agg(to_status ORDER BY id DESC) FILTER (WHERE kind = 'STATUS' AND NOT is_next))[1] AS last_status,
        (array_agg(at ORDER BY id DESC) FILTER (WHERE kind = 'STATUS' AND NOT is_next))[1] AS last_status_at,
        (array_agg(to_status ORDER BY id DESC) FILTER (
            WHERE NOT is_next AND kind = 'STATUS' AND to_status IN ('COMPLETED', 'REJECTED', 'DUPLICATE', 'REOPENED')
        ))[1] AS last_close,
        count(*) FILTER (WHERE kind = 'STATUS' AND to_status = 'REOPENED') AS reopens,
        count(*) FILTER (WHERE kind = 'ESCALATION') AS escalations,
        (array_agg(rating ORDER BY id DESC) FILTER (WHERE kind = 'RATING'))[1] AS rating
    FROM members GROUP BY arrival_id
), spells AS (
    SELECT a.*, t.responded_at, t.completed_at, t.last_close, coalesce(t.reopens, 0) AS reopens,
           coalesce(t.escalations, 0) AS escalations, t.rating,
           CASE WHEN t.last_status = 'VERIFYING' THEN t.last_status_at END AS pending_since
    FROM arrivals a LEFT JOIN tallies t USING (arrival_id)
), cases AS (
    SELECT s.*,
        CASE WHEN s.last_close IN ('COMPLETED', 'REJECTED', 'DUPLICATE') THEN s.last_close
             WHEN s.next_id IS NULL THEN NULL
             WHEN s.next_kind = 'REROUTE' THEN 'REROUTED' ELSE 'PASSED_ON' END AS ending
    FROM spells s
)
"""
RAW_CASES = (
    RAW_SPELLS
    + """
SELECT {key} AS key,
    count(*) AS received,
    count(*) FILTER (WHERE ending IN ('PASSED_ON', 'REROUTED') AND completed_at IS NULL) AS passed_on,
    count(*) FILTER (WHERE ending = 'DUPLICATE' AND completed_at IS NULL) AS duplicates,
    count(completed_at) AS completed,
    count(*) FILTER (WHERE ending = 'REJECTED' AND completed_at IS NULL) AS rejected,
    count(*) FILTER (WHERE ending IS NULL) AS still_open,
    count(*) FILTER (WHERE ending IS NULL AND completed_at IS NULL
                       AND completion_due_at < coalesce(pending_since, :now)) AS overdue_open,
    count(responded_at) AS responded,
    count(*) FILTER (WHERE responded_at <= response_due_at) AS responded_on_time,
    count(*) FILTER (WHERE completed_at <= completion_due_at) AS completed_on_time,
    count(*) FILTER (WHERE escalations > 0) AS escalated,
    count(*) FILTER (WHERE reopens > 0) AS reopened,
    count(rating) AS ratings,
    coalesce(sum(rating), 0) AS rating_sum,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY date_part('epoch', responded_at - arrived_at) / 3600.0)
        AS median_response_hours,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY date_part('epoch', responded_at - arrived_at) / 3600.0)
        AS p90_response_hours,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY date_part('epoch', completed_at - arrived_at) / 3600.0)
        AS median_completion_hours,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY date_part('epoch', completed_at - arrived_at) / 3600.0)
        AS p90_completion_hours
FROM cases JOIN unnest(CAST(:members AS int[]), CAST(:groups AS int[])) AS g(unit_id, group_id) USING (unit_id)
WHERE arrived_at >= :start AND arrived_at < :end
  AND (CAST(:category AS int) IS NULL OR category_id = :category)
GROUP BY 1
"""
)
# The deadlines ahead of :now of the groups' open cases received in the period whose clock runs (not completed,
# not waiting for a supervisor): each is an instant at which the overdue count of its group grows by one.
RAW_DEADLINES_AHEAD = (
    RAW_SPELLS
    + """
SELECT group_id, completion_due_at AS due
FROM cases JOIN unnest(CAST(:members AS int[]), CAST(:groups AS int[])) AS g(unit_id, group_id) USING (unit_id)
WHERE arrived_at >= :start AND arrived_at < :end AND ending IS NULL AND completed_at IS NULL
  AND pending_since IS NULL AND completion_due_at >= :now
"""
)
UNIT_KEY = "group_id"
BUCKET_KEY = "date_trunc('{trunc}', timezone('UTC', arrived_at + interval '7 hours'))::date"


# Completions still waiting for the camat at the cut-off, past the kelurahan's deadline: one the kelurahan made in
# time (not overdue: its clock stopped), one it made late (overdue). The simulation's supervisors are quick, so it
# seldom leaves one waiting that long; these are written as the workflow would have, through the same trigger.
WAITING_PAST_THE_DEADLINE = {"in-time": NOW - timedelta(days=5), "late": NOW - timedelta(days=1)}
DEADLINE = NOW - timedelta(days=2)
SCRIPTED_REPORT = """
INSERT INTO reports (id, client_request_id, fingerprint, category_id, description, location, kelurahan_id,
                     kecamatan_id, kota_id, routing_distance_m, unit_id, status, anonymous, created_at, updated_at,
                     response_due_at, completion_due_at, first_response_at)
SELECT CAST(:id AS uuid), 'scripted-' || CAST(:id AS text), md5(CAST(:id AS text)), :category, 'Skenario verifikasi',
       ST_PointOnSurface(k.geom), k.id, k.kecamatan_id, k.kota_id, 0, u.id, 'VERIFYING', false, :filed, :done,
       :respond_by, :complete_by, :started
FROM units u JOIN kelurahan k ON k.id = u.kelurahan_id WHERE u.code = :unit
"""
SCRIPTED_ROW = """
INSERT INTO report_status_changes (report_id, from_status, to_status, at, kind, to_unit_id, response_due_at,
                                   completion_due_at)
SELECT CAST(:id AS uuid), CAST(:from_status AS text), :to_status, :at, 'STATUS',
       CASE WHEN CAST(:from_status AS text) IS NULL THEN u.id END,
       CASE WHEN CAST(:from_status AS text) IS NULL THEN CAST(:respond_by AS timestamptz) END,
       CASE WHEN CAST(:from_status AS text) IS NULL THEN CAST(:complete_by AS timestamptz) END
FROM units u WHERE u.code = :unit
"""


async def _script_waiting_completions(resources: Resources) -> dict[str, uuid.UUID]:
    reference = await resources.reference.get()
    made = {}
    filed, started = NOW - timedelta(days=12), NOW - timedelta(days=11)
    async with resources.unit_of_work() as session:
        for name, done in WAITING_PAST_THE_DEADLINE.items():
            report_id = uuid.uuid4()
            values = {
                "id": str(report_id),
                "category": reference.category_codes["street-vendors"].id,
                "unit": "kel-31.73.02.1003",
                "filed": filed,
                "started": started,
                "done": done,
                "respond_by": filed + timedelta(hours=8),
                "complete_by": DEADLINE,
            }
            await session.execute(text(SCRIPTED_REPORT), values)
            for before, after, at in (
                (None, "WAITING", filed),
                ("WAITING", "IN_PROGRESS", started),
                ("IN_PROGRESS", "VERIFYING", done),
            ):
                await session.execute(
                    text(SCRIPTED_ROW), {**values, "from_status": before, "to_status": after, "at": at}
                )
            made[name] = report_id
    return made


@pytest.fixture(scope="module")
async def simulated(settings: Settings, resources: Resources) -> dict[str, uuid.UUID]:
    # Two years of history for all of Jakarta, cut off at NOW, as `make demo-data` makes it.
    summary = await generate(settings, reports=6_000, seed=7, years=2, now=NOW, progress=False)
    assert summary.reports == 6_000
    return await _script_waiting_completions(resources)


async def _raw(
    resources: Resources,
    key: str,
    groups: dict[int, list[int]],
    period: performance.Period,
    category: int | None,
    *,
    now: datetime = NOW,
) -> dict[object, performance.Figures]:
    pairs = [(member, group) for group, members in groups.items() for member in members]
    values = {
        "now": now,
        "start": period.start,
        "end": period.end,
        "members": [m for m, _ in pairs],
        "groups": [g for _, g in pairs],
        "category": category,
    }
    async with resources.unit_of_work() as session:
        rows = await session.execute(text(RAW_CASES.format(key=key)), values)
        return {row.key: performance.Figures(**{k: v for k, v in row._mapping.items() if k != "key"}) for row in rows}


async def _deadlines_ahead(
    resources: Resources, groups: dict[int, list[int]], period: performance.Period, *, now: datetime
) -> dict[datetime, set[int]]:
    """Each deadline ahead of ``now`` in the period, earliest first, with the groups holding a case due then."""
    pairs = [(member, group) for group, members in groups.items() for member in members]
    values = {
        "now": now,
        "start": period.start,
        "end": period.end,
        "members": [m for m, _ in pairs],
        "groups": [g for _, g in pairs],
    }
    holders: dict[datetime, set[int]] = {}
    async with resources.unit_of_work() as session:
        for row in await session.execute(text(RAW_DEADLINES_AHEAD), values):
            holders.setdefault(row.due, set()).add(row.group_id)
    return dict(sorted(holders.items()))


PERIODS = [
    performance.Period(date(2026, 11, 1), date(2026, 11, 30)),  # the last 30 days
    performance.Period(date(2025, 12, 1), date(2026, 11, 30)),  # a year
    performance.Period(date(2024, 11, 1), date(2026, 11, 30)),  # everything
    performance.Period(date(2026, 3, 17), date(2026, 3, 17)),  # one day
]


@pytest.mark.parametrize("level", performance.LEVELS)
async def test_every_unit_figure_equals_plain_sql_over_the_history(
    simulated: object, resources: Resources, level: UnitKind
) -> None:
    reference = await resources.reference.get()
    units = reference.units_of_kind(level)
    # The grouping is written out here too: a kecamatan is its office and its kelurahan offices, a kota all
    # the area offices in it.
    area_kinds = {UnitKind.KECAMATAN: {UnitKind.KELURAHAN}, UnitKind.KOTA: {UnitKind.KELURAHAN, UnitKind.KECAMATAN}}
    area_of = {UnitKind.KECAMATAN: "kecamatan_id", UnitKind.KOTA: "kota_id"}
    groups = {
        u.id: [u.id]
        + [
            m.id
            for m in reference.units.values()
            if m.kind in area_kinds.get(level, set()) and getattr(m, area_of[level]) == getattr(u, area_of[level])
        ]
        for u in units
    }
    compared = 0
    cache = performance.FiguresCache(10_000)
    for period in PERIODS:
        for category in (None, reference.category_codes["garbage"].id):
            async with resources.unit_of_work() as session:
                ours = await performance.figures_by_unit(
                    performance.SessionReads(session), reference, level, period, category_id=category, now=NOW
                )
            raw = await _raw(resources, UNIT_KEY, groups, period, category)
            # The API's way: the read-only pool, the units split into three queries run at once.
            split = await performance.figures_by_unit(
                resources.public_reads, reference, level, period, category_id=category, now=NOW, parallel=3
            )
            assert split == ours
            # The API's cache: computed once, then read back while nothing changes; the same figures both times.
            for _ in range(2):
                cached = await performance.figures_by_unit(
                    resources.public_reads, reference, level, period, category_id=category, now=NOW, cache=cache
                )
                assert cached == ours
            for unit in units:
                assert ours[unit.id] == raw.get(unit.id, performance.Figures()), (unit.code, period, category)
            compared += sum(1 for f in ours.values() if f.received)
    # The comparison is about real figures, not rows of zeros: most units received something.
    assert compared > len(units)


async def test_the_simulated_history_exercises_every_rule(simulated: object, resources: Resources) -> None:
    reference = await resources.reference.get()
    figures: dict[int, performance.Figures] = {}
    for level in (UnitKind.KELURAHAN, UnitKind.AGENCY):
        async with resources.unit_of_work() as session:
            figures |= await performance.figures_by_unit(
                performance.SessionReads(session), reference, level, PERIODS[2], category_id=None, now=NOW
            )
    total = {
        f.name: sum(getattr(x, f.name) or 0 for x in figures.values()) for f in dataclasses.fields(performance.Figures)
    }
    for name in (
        "passed_on",
        "duplicates",
        "rejected",
        "still_open",
        "overdue_open",
        "escalated",
        "reopened",
        "ratings",
    ):
        assert total[name] > 0, name
    assert 0 < total["completed_on_time"] < total["completed"]
    assert 0 < total["responded_on_time"] < total["responded"]


async def test_the_simulated_history_exercises_verification(
    simulated: dict[str, uuid.UUID], resources: Resources
) -> None:
    async with resources.unit_of_work() as session:
        moves = dict(
            (
                await session.execute(
                    text(
                        "SELECT to_status, count(*) FROM report_status_changes"
                        " WHERE kind = 'STATUS' AND from_status = 'VERIFYING' GROUP BY 1"
                    )
                )
            ).all()
        )
        waiting = await session.scalar(text("SELECT count(*) FROM reports WHERE status = 'VERIFYING'"))
        scripted = {
            name: (
                await session.execute(
                    text(
                        "SELECT verifying_since, first_completed_at, ended_at FROM report_cases WHERE report_id = :id"
                    ),
                    {"id": report_id},
                )
            ).one()
            for name, report_id in simulated.items()
        }
        # Accepted after the deadline, the work done before it: on time.
        accepted_late_done_in_time = await session.scalar(
            text(
                "SELECT count(*) FROM report_cases c JOIN report_status_changes h ON h.report_id = c.report_id"
                " WHERE h.from_status = 'VERIFYING' AND h.to_status = 'COMPLETED'"
                " AND c.first_completed_at <= c.completion_due_at AND h.at > c.completion_due_at"
            )
        )

    # Accepted, sent back, still waiting at the cut-off: all three are in the comparison above.
    assert moves.get("COMPLETED", 0) > moves.get("IN_PROGRESS", 0) > 0
    assert waiting
    assert accepted_late_done_in_time
    # The scripted completions wait as the workflow leaves them: pending, not completed, not ended.
    assert scripted == {name: (done, None, None) for name, done in WAITING_PAST_THE_DEADLINE.items()}


async def test_a_completion_made_in_time_is_not_overdue_while_it_waits(
    simulated: dict[str, uuid.UUID], resources: Resources
) -> None:
    # given the two scripted completions waiting past the deadline, and the kelurahan's figures for the month
    reference = await resources.reference.get()
    tomang = reference.unit_codes["kel-31.73.02.1003"]
    period = PERIODS[0]
    street_vendors = reference.category_codes["street-vendors"].id

    # when
    async with resources.unit_of_work() as session:
        ours = await performance.figures_by_unit(
            performance.SessionReads(session),
            reference,
            UnitKind.KELURAHAN,
            period,
            category_id=street_vendors,
            now=NOW,
        )
        others = await session.scalar(
            text(
                "SELECT count(*) FROM report_cases WHERE unit_id = :unit AND category_id = :category"
                " AND arrived_at >= :start AND arrived_at < :end AND ended_at IS NULL AND first_completed_at IS NULL"
                " AND completion_due_at < coalesce(verifying_since, :now) AND NOT report_id = ANY(:scripted)"
            ),
            {
                "unit": tomang.id,
                "category": street_vendors,
                "start": period.start,
                "end": period.end,
                "now": NOW,
                "scripted": list(simulated.values()),
            },
        )

    # then both are open, and only the late one is overdue
    assert ours[tomang.id].overdue_open == (others or 0) + 1


@pytest.mark.parametrize("interval", list(performance.Interval))
async def test_time_series_equal_plain_sql(
    simulated: object, resources: Resources, interval: performance.Interval
) -> None:
    reference = await resources.reference.get()
    # Two kelurahan offices, and a kecamatan office whose series is its area's.
    kelurahan = reference.units_of_kind(UnitKind.KELURAHAN)
    busiest = [*kelurahan[:2], reference.units_of_kind(UnitKind.KECAMATAN)[0]]
    period = (
        PERIODS[1] if interval != performance.Interval.DAY else performance.Period(date(2026, 9, 1), date(2026, 11, 30))
    )
    trunc = {"DAY": "day", "WEEK": "week", "MONTH": "month"}[interval.value]
    for unit in busiest:
        async with resources.unit_of_work() as session:
            series = await performance.time_series(
                performance.SessionReads(session), reference, unit, period, interval, category_id=None, now=NOW
            )
        members = performance.groups(reference, unit.kind)[unit.id]
        raw = await _raw(resources, BUCKET_KEY.format(trunc=trunc), {unit.id: members}, period, None)
        assert {b.start for b in series} >= set(raw)
        for bucket in series:
            assert bucket.figures == raw.get(bucket.start, performance.Figures()), (unit.code, bucket.start)
        # The buckets add up to the whole period.
        async with resources.unit_of_work() as session:
            whole = (
                await performance.figures_by_unit(
                    performance.SessionReads(session), reference, unit.kind, period, category_id=None, now=NOW
                )
            )[unit.id]
        assert sum(b.figures.received for b in series) == whole.received
        assert sum(b.figures.completed for b in series) == whole.completed


def test_periods_are_jakarta_days() -> None:
    period = performance.Period(date(2026, 11, 1), date(2026, 11, 30))
    assert period.start == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert period.end - period.start == timedelta(days=30)


class CountingReads:
    """The read-only pool, remembering the units of every figures query it ran (``computed``) and of every query
    counting overdueOpen alone (``recounted``); not the counters'."""

    def __init__(self, inner: performance.Reads) -> None:
        self.inner = inner
        self.computed: list[list[int]] = []
        self.recounted: list[list[int]] = []

    async def rows(self, sql: str, params: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        if "percentile_disc" in sql:
            self.computed.append(list(params["units"]))
        elif "overdue_open" in sql:
            self.recounted.append(list(params["units"]))
        return await self.inner.rows(sql, params)


FILED_WAITING = """
INSERT INTO reports (id, client_request_id, fingerprint, category_id, description, location, kelurahan_id,
                     kecamatan_id, kota_id, routing_distance_m, unit_id, status, anonymous, created_at, updated_at,
                     response_due_at, completion_due_at)
SELECT CAST(:id AS uuid), 'cached-' || CAST(:id AS text), md5(CAST(:id AS text)), :category, 'Sampah menumpuk',
       ST_PointOnSurface(k.geom), k.id, k.kecamatan_id, k.kota_id, 0, u.id, 'WAITING', false, :filed, :filed,
       :respond_by, :complete_by
FROM units u JOIN kelurahan k ON k.id = u.kelurahan_id WHERE u.code = :unit
"""


async def _file_waiting(resources: Resources, *, unit: str, category: int, filed: datetime) -> None:
    """A report filed at a kelurahan office and left waiting, written as createReport writes it."""
    values = {
        "id": str(uuid.uuid4()),
        "category": category,
        "unit": unit,
        "filed": filed,
        "respond_by": filed + timedelta(hours=8),
        "complete_by": filed + timedelta(days=3),
    }
    async with resources.unit_of_work() as session:
        await session.execute(text(FILED_WAITING), values)
        await session.execute(text(SCRIPTED_ROW), {**values, "from_status": None, "to_status": "WAITING", "at": filed})


@pytest.mark.parametrize("level", [UnitKind.KELURAHAN, UnitKind.KECAMATAN])
async def test_cached_figures_follow_every_change_and_compute_only_what_changed(
    simulated: object, resources: Resources, level: UnitKind
) -> None:
    # given a cache holding the level's figures for the month, equal to plain SQL
    reference = await resources.reference.get()
    cache = performance.FiguresCache(10_000)
    reads = CountingReads(resources.public_reads)
    period, garbage = PERIODS[0], reference.category_codes["garbage"].id
    groups = performance.groups(reference, level)

    async def cached() -> dict[int, performance.Figures]:
        return await performance.figures_by_unit(
            reads, reference, level, period, category_id=None, now=NOW, parallel=2, cache=cache
        )

    first = await cached()
    raw = await _raw(resources, UNIT_KEY, groups, period, None)
    assert first == {head: raw.get(head, performance.Figures()) for head in groups}
    again = await cached()
    assert again == first
    assert cache.levels_again == 1  # answered by one check of the level's counters
    assert all(again[head] is first[head] for head in groups)  # the very figures: an answer made of them holds
    computed_before = len(reads.computed)

    # when a report is filed at one kelurahan office, in the period
    tomang = reference.unit_codes["kel-31.73.02.1003"]
    await _file_waiting(resources, unit=tomang.code, category=garbage, filed=NOW - timedelta(days=1))

    # then the figures are plain SQL's again, and only the group holding that office was computed again
    after = await cached()
    raw = await _raw(resources, UNIT_KEY, groups, period, None)
    assert after == {head: raw.get(head, performance.Figures()) for head in groups}
    (holder,) = (head for head, members in groups.items() if tomang.id in members)
    assert after[holder].received == first[holder].received + 1
    assert after[holder].still_open == first[holder].still_open + 1
    assert {h: f for h, f in after.items() if h != holder} == {h: f for h, f in first.items() if h != holder}
    assert reads.computed[computed_before:] == [sorted(groups[holder])]
    assert cache.levels_again == 1  # the moved counter was seen: the level was read again
    assert all(after[h] is first[h] for h in groups if h != holder)


async def test_cached_overdue_counts_follow_the_clock_without_any_change(
    simulated: object, resources: Resources
) -> None:
    # given the month's figures cached at NOW
    reference = await resources.reference.get()
    cache = performance.FiguresCache(10_000)
    reads = CountingReads(resources.public_reads)
    period = PERIODS[0]
    groups = performance.groups(reference, UnitKind.KELURAHAN)
    at_now = await performance.figures_by_unit(
        reads, reference, UnitKind.KELURAHAN, period, category_id=None, now=NOW, cache=cache
    )
    computed = len(reads.computed)

    # when the same question is asked ten days later, nothing having changed
    later = NOW + timedelta(days=10)
    at_later = await performance.figures_by_unit(
        reads, reference, UnitKind.KELURAHAN, period, category_id=None, now=later, cache=cache
    )

    # then nothing was computed again, yet more open cases are overdue, as plain SQL says at that time
    assert len(reads.computed) == computed
    async with resources.unit_of_work() as session:
        raw_later = await session.execute(
            text(RAW_CASES.replace(":now", ":later").format(key=UNIT_KEY)),
            {"now": NOW, "later": later, "start": period.start, "end": period.end, "category": None,
             "members": list(groups), "groups": list(groups)},
        )  # fmt: skip
        expected = {row.key: row.overdue_open for row in raw_later}
    assert {h: f.overdue_open for h, f in at_later.items()} == {h: expected.get(h, 0) for h in groups}
    assert sum(f.overdue_open for f in at_later.values()) > sum(f.overdue_open for f in at_now.values())


TICK = timedelta(microseconds=1)  # PostgreSQL's resolution, and Python's


@pytest.mark.parametrize("level", [UnitKind.KELURAHAN, UnitKind.KECAMATAN])
async def test_a_cached_overdue_count_is_plain_sqls_either_side_of_each_deadline(
    simulated: object, resources: Resources, level: UnitKind
) -> None:
    # given the month's figures cached at NOW, and the next three deadlines of open cases after it
    reference = await resources.reference.get()
    cache = performance.FiguresCache(10_000)
    reads = CountingReads(resources.public_reads)
    period = PERIODS[0]
    groups = performance.groups(reference, level)

    async def cached(now: datetime) -> dict[int, performance.Figures]:
        return await performance.figures_by_unit(
            reads, reference, level, period, category_id=None, now=now, parallel=2, cache=cache
        )

    async def plain(now: datetime) -> dict[int, performance.Figures]:
        raw = await _raw(resources, UNIT_KEY, groups, period, None, now=now)
        return {head: raw.get(head, performance.Figures()) for head in groups}

    assert await cached(NOW) == await plain(NOW)
    deadlines = list((await _deadlines_ahead(resources, groups, period, now=NOW)).items())[:3]
    assert len(deadlines) == 3

    for due, holders in deadlines:
        # when the question is asked at a deadline, then a microsecond after it, nothing having changed
        reads.computed.clear()
        reads.recounted.clear()
        at_due = await cached(due)
        recounted_at_due = list(reads.recounted)
        past_due = await cached(due + TICK)

        # then both answers are plain SQL's, the second with more cases overdue; nothing was computed again, and
        # the overdue count only of the groups holding a case due then, once past it
        assert at_due == await plain(due), due
        assert past_due == await plain(due + TICK), due
        grown = {head for head in groups if past_due[head].overdue_open > at_due[head].overdue_open}
        assert grown == holders
        assert reads.computed == []
        assert recounted_at_due == []
        assert reads.recounted == [sorted({unit for head in holders for unit in groups[head]})]

    # when a case changes (a report filed at a kelurahan office, due an hour after the last question) and the
    # question is asked again, at that deadline and past it
    last = deadlines[-1][0] + TICK
    tomang = reference.unit_codes["kel-31.73.02.1003"]
    garbage = reference.category_codes["garbage"].id
    await _file_waiting(resources, unit=tomang.code, category=garbage, filed=last + timedelta(hours=1, days=-3))
    (holder,) = (head for head, members in groups.items() if tomang.id in members)
    for moment in (last, last + timedelta(hours=1), last + timedelta(hours=1) + TICK):
        reads.computed.clear()
        answer = await cached(moment)

        # then every answer is plain SQL's, and only the group holding that office was computed again, once
        assert answer == await plain(moment), moment
        assert reads.computed == ([sorted(groups[holder])] if moment == last else [])
    assert answer[holder].overdue_open > (await plain(last + timedelta(hours=1)))[holder].overdue_open


async def test_a_cached_time_series_overdue_count_is_plain_sqls_either_side_of_a_deadline(
    simulated: object, resources: Resources
) -> None:
    # given the daily series of the month of the kelurahan office holding the next deadline after NOW, cached
    reference = await resources.reference.get()
    cache = performance.FiguresCache(10_000)
    reads = CountingReads(resources.public_reads)
    period = PERIODS[0]
    offices = performance.groups(reference, UnitKind.KELURAHAN)
    due, holders = next(iter((await _deadlines_ahead(resources, offices, period, now=NOW)).items()))
    office = reference.units[min(holders)]

    async def cached(now: datetime) -> list[performance.Bucket]:
        return await performance.time_series(
            reads, reference, office, period, performance.Interval.DAY, category_id=None, now=now, cache=cache
        )

    async def plain(now: datetime) -> list[performance.Figures]:
        raw = await _raw(resources, BUCKET_KEY.format(trunc="day"), {office.id: [office.id]}, period, None, now=now)
        return [
            raw.get(start, performance.Figures())
            for start in performance.bucket_starts(period, performance.Interval.DAY)
        ]

    at_now = await cached(NOW)
    reads.recounted.clear()

    # when it is asked again at that deadline and a microsecond past it, nothing having changed
    at_due = await cached(due)
    recounted_at_due = list(reads.recounted)
    past_due = await cached(due + TICK)

    # then every answer is plain SQL's, one more case overdue past the deadline, counted again only then
    assert [b.figures for b in at_now] == await plain(NOW)
    assert [b.figures for b in at_due] == await plain(due)
    assert [b.figures for b in past_due] == await plain(due + TICK)
    assert sum(b.figures.overdue_open for b in past_due) > sum(b.figures.overdue_open for b in at_due)
    assert recounted_at_due == []
    assert reads.recounted == [[office.id]]
    assert len(reads.computed) == 1


async def test_a_cached_time_series_follows_a_change(simulated: object, resources: Resources) -> None:
    # given a kelurahan's daily series over the month, cached
    reference = await resources.reference.get()
    cache = performance.FiguresCache(10_000)
    office = reference.units_of_kind(UnitKind.KELURAHAN)[5]
    period = PERIODS[0]

    async def series() -> list[performance.Bucket]:
        return await performance.time_series(
            resources.public_reads, reference, office, period, performance.Interval.DAY,
            category_id=None, now=NOW, cache=cache,
        )  # fmt: skip

    before = await series()

    # when a report is filed there on the 20th
    filed = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    await _file_waiting(resources, unit=office.code, category=reference.category_codes["garbage"].id, filed=filed)

    # then the series is plain SQL's, one more received on that day
    after = await series()
    raw = await _raw(resources, BUCKET_KEY.format(trunc="day"), {office.id: [office.id]}, period, None)
    assert [b.figures for b in after] == [raw.get(b.start, performance.Figures()) for b in after]
    changed = {b.start: (a.figures.received - b.figures.received) for a, b in zip(after, before, strict=True)}
    assert {day: n for day, n in changed.items() if n} == {date(2026, 11, 20): 1}


VERSIONS = "SELECT unit_id, version FROM unit_case_versions WHERE unit_id = ANY(:units)"


async def test_a_units_counter_moves_with_every_committed_change_to_its_cases(
    simulated: object, resources: Resources
) -> None:
    reference = await resources.reference.get()
    office, other = reference.units_of_kind(UnitKind.KELURAHAN)[7:9]
    units = {"units": [office.id, other.id]}

    async def counters() -> dict[int, int]:
        async with resources.unit_of_work() as session:
            return {row.unit_id: row.version for row in await session.execute(text(VERSIONS), units)}

    start = await counters()
    # a new case (createReport's history row)
    await _file_waiting(resources, unit=office.code, category=reference.category_codes["garbage"].id, filed=NOW)
    filed = await counters()
    # a change rolled back counts nothing
    async with resources.sessions() as session:
        await session.execute(
            text("UPDATE report_cases SET escalations = escalations + 1 WHERE unit_id = :u"), {"u": office.id}
        )
        await session.rollback()
    rolled_back = await counters()
    # a case moved to another unit counts for both; its report deleted counts for the unit holding it
    async with resources.unit_of_work() as session:
        report_id = await session.scalar(
            text("SELECT report_id FROM report_cases WHERE unit_id = :u ORDER BY id DESC LIMIT 1"), {"u": office.id}
        )
        await session.execute(text("UPDATE report_cases SET unit_id = :to WHERE report_id = :r"),
                              {"to": other.id, "r": report_id})  # fmt: skip
    moved = await counters()
    async with resources.unit_of_work() as session:
        await session.execute(text("DELETE FROM reports WHERE id = :r"), {"r": report_id})
    deleted = await counters()

    assert filed.get(office.id) == start.get(office.id, 0) + 1
    assert filed.get(other.id) == start.get(other.id)
    assert rolled_back == filed
    assert moved[office.id] == filed[office.id] + 1
    assert moved[other.id] == filed.get(other.id, 0) + 1
    assert deleted == {office.id: moved[office.id], other.id: moved[other.id] + 1}
