"""The leaderboard's rules without the database: components, score, ranks, ties, periods, buckets, and when a
counted overdue figure still holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import performance
from domain.errors import DomainError
from domain.models import Unit, UnitKind
from domain.performance import Figures, Interval, Period
from domain.reference import ReferenceData


def unit(code: str) -> Unit:
    return Unit(id=hash(code) % 10_000, code=code, kind=UnitKind.KELURAHAN, name=code)


def good(received: int = 20, completed: int = 20) -> Figures:
    return Figures(
        received=received,
        completed=completed,
        responded=received,
        responded_on_time=received,
        completed_on_time=completed,
    )


def test_a_perfect_unit_scores_100_and_missing_parts_give_their_weight_away() -> None:
    parts = performance.components(good())
    assert {p.name: p.value for p in parts} == {
        "completion": 1.0,
        "completionOnTime": 1.0,
        "responseOnTime": 1.0,
        "notReopened": 1.0,
        "rating": None,  # nobody rated: not a zero, just not counted
    }
    assert performance.score(parts) == 100.0
    assert performance.score(performance.components(Figures())) is None


def test_the_score_is_the_weighted_mean_of_the_parts() -> None:
    f = Figures(
        received=10,
        completed=5,
        responded=10,
        responded_on_time=5,
        completed_on_time=5,
        reopened=1,
        ratings=2,
        rating_sum=6,
    )
    values = {p.name: p.value for p in performance.components(f)}
    assert values == {
        "completion": 0.5,
        "completionOnTime": 1.0,
        "responseOnTime": 0.5,
        "notReopened": 0.8,
        "rating": 0.5,
    }
    expected = 100 * (0.35 * 0.5 + 0.25 * 1.0 + 0.20 * 0.5 + 0.10 * 0.8 + 0.10 * 0.5)
    assert performance.score(performance.components(f)) == round(expected, 2)


def test_passed_on_and_duplicate_reports_are_not_assessed() -> None:
    f = Figures(received=10, passed_on=3, duplicates=2, completed=5)
    assert f.assessed == 5
    assert f.completion_rate == 1.0


def test_ranks_skip_after_ties_and_small_units_are_not_ranked() -> None:
    board = performance.rank(
        [
            (unit("kel-b"), good()),
            (unit("kel-a"), good()),  # ties with kel-b: same rank, code order
            (unit("kel-c"), Figures(received=20, completed=10, responded=20, responded_on_time=20)),
            (unit("kel-d"), good(received=9, completed=9)),  # one short of the minimum
            (unit("kel-e"), Figures()),
        ],
        min_reports=10,
    )
    assert [(s.unit.code, s.rank) for s in board] == [
        ("kel-a", 1),
        ("kel-b", 1),
        ("kel-c", 3),
        ("kel-d", None),
        ("kel-e", None),
    ]
    assert board[3].unranked_reason == "fewer than 10 assessed reports"


def test_periods_are_checked() -> None:
    with pytest.raises(DomainError) as backwards:
        performance.check_period(date(2026, 2, 1), date(2026, 1, 1))
    assert backwards.value.code == "INVALID_PERIOD"
    with pytest.raises(DomainError):
        performance.check_period(date(2020, 1, 1), date(2026, 1, 1))
    assert performance.check_period(date(2026, 1, 1), date(2026, 1, 1)) == Period(date(2026, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize(
    ("interval", "first", "count"),
    [
        (Interval.DAY, date(2026, 1, 28), 8),
        (Interval.WEEK, date(2026, 1, 26), 2),  # Monday 26 January holds the 28th
        (Interval.MONTH, date(2026, 1, 1), 2),
    ],
)
def test_buckets_start_on_their_calendar_boundary(interval: Interval, first: date, count: int) -> None:
    starts = performance.bucket_starts(Period(date(2026, 1, 28), date(2026, 2, 4)), interval)
    assert starts[0] == first
    assert len(starts) == count


def test_an_overdue_count_holds_after_the_last_deadline_passed_up_to_the_next_one_included() -> None:
    # given a count taken when the last deadline passed was at 08:00 and the next is at 10:00
    passed, ahead = datetime(2026, 11, 30, 8, tzinfo=UTC), datetime(2026, 11, 30, 10, tzinfo=UTC)
    window = performance.OverdueWindow(after=passed, until=ahead)
    tick = timedelta(microseconds=1)

    # then it holds from just after 08:00 to 10:00 itself (a case due at 10:00 is not overdue at 10:00), not beyond
    assert [window.holds(t) for t in (passed, passed + tick, ahead, ahead + tick)] == [False, True, True, False]
    # a side without a deadline is open: no case to pass its deadline there
    assert performance.OverdueWindow(until=ahead).holds(datetime(2000, 1, 1, tzinfo=UTC))
    assert performance.OverdueWindow(after=passed).holds(datetime(2100, 1, 1, tzinfo=UTC))
    assert performance.OverdueWindow().holds(passed)


def test_a_levels_groups_are_worked_out_once_per_reference_snapshot() -> None:
    kecamatan = Unit(id=1, code="kec-1", kind=UnitKind.KECAMATAN, name="Kec", kecamatan_id=10, kota_id=100)
    inside = Unit(id=2, code="kel-1", kind=UnitKind.KELURAHAN, name="Kel", kelurahan_id=5, kecamatan_id=10, kota_id=100)
    elsewhere = Unit(
        id=3, code="kel-2", kind=UnitKind.KELURAHAN, name="Kel", kelurahan_id=6, kecamatan_id=11, kota_id=100
    )

    def snapshot() -> ReferenceData:
        units = {u.id: u for u in (kecamatan, inside, elsewhere)}
        return ReferenceData({}, {}, {}, {}, {}, {}, units, {u.code: u for u in units.values()})

    first = snapshot()
    by_kecamatan = performance.groups(first, UnitKind.KECAMATAN)

    assert by_kecamatan == {1: [1, 2]}
    assert performance.groups(first, UnitKind.KECAMATAN) is by_kecamatan
    assert performance.groups(first, UnitKind.KELURAHAN) == {2: [2], 3: [3]}
    later = performance.groups(snapshot(), UnitKind.KECAMATAN)
    assert later == by_kecamatan
    assert later is not by_kecamatan


def test_a_presented_answer_is_made_again_only_when_one_of_its_sources_is_another_object() -> None:
    cache = performance.FiguresCache(capacity=10)
    first, second = good(), good()
    made: list[str] = []

    def make(name: str) -> Callable[[], str]:
        return lambda: made.append(name) or name

    assert cache.presented("board", [first, second], make("one")) == "one"
    assert cache.presented("board", [first, second], make("two")) == "one"  # the very same figures
    # equal figures, but another object (counted again): made again, since only identity says nothing changed
    assert cache.presented("board", [first, good()], make("three")) == "three"
    assert cache.presented("board", [first], make("four")) == "four"  # a unit fewer
    assert made == ["one", "three", "four"]
    assert cache.presented_again == 1
    # with the cache off, always made
    off = performance.FiguresCache(capacity=0)
    assert off.presented("board", [first], make("five")) == "five"
    assert off.presented("board", [first], make("six")) == "six"


def test_presented_answers_are_bounded_the_least_recently_served_going_first() -> None:
    cache = performance.FiguresCache(capacity=10)
    sources = [good()]
    for n in range(performance.PRESENTED_ANSWERS + 1):
        cache.presented(("level", n), sources, lambda n=n: n)  # type: ignore[misc]

    assert cache.presented(("level", 0), sources, lambda: "again") == "again"  # the first was let go
    assert cache.presented(("level", performance.PRESENTED_ANSWERS), sources, lambda: "kept") == (
        performance.PRESENTED_ANSWERS
    )


def test_a_units_score_is_worked_out_once_per_figures_and_ranking_uses_it() -> None:
    figures = good()

    assert figures.scored is figures.scored
    assert figures.scored == (performance.components(figures), performance.score(performance.components(figures)))
    ranked = performance.rank([(unit("a"), figures)], min_reports=1)
    assert ranked[0].components is figures.scored[0]
