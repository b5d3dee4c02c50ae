"""bench/timeline.py: the soak's figures over time (stall seconds, memory slope and steps, windows)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from bench.timeline import Request, by_second, p99_ms, slope_per_s, stall_evidence, steady_memory, window

PASSWORD_OPS = frozenset({"signUp", "logIn"})


def test_a_second_where_several_operations_are_slow_together_is_a_stall_and_knows_a_log_in_ran() -> None:
    # given a quiet second, then a log-in during which a map query, a tile and a report page are all slow
    requests = [
        Request("mapReports", 0.1, 0.02),
        Request("tile reports", 0.2, 0.03),
        Request("logIn", 1.0, 0.4),
        Request("mapReports", 1.1, 0.5),
        Request("tile reports", 1.2, 0.4),
        Request("report", 1.3, 0.3),
        Request("workQueue", 2.1, 0.6),  # one slow query alone, no password work: not a stall
    ]

    # when
    seconds = by_second(requests, slow_s=0.25, password_ops=PASSWORD_OPS)

    # then
    assert [s.second for s in seconds] == [0, 1, 2]
    assert [s.is_stall for s in seconds] == [False, True, False]
    assert seconds[1].slow == {"logIn": 1, "mapReports": 1, "tile reports": 1, "report": 1}
    assert [s.password_work for s in seconds] == [False, True, False]
    stalls, total, with_work, overall = stall_evidence(seconds)
    assert (stalls, total, with_work) == (1, 3, 1.0)
    assert overall == pytest.approx(1 / 3)


def test_no_requests_give_no_seconds_and_no_evidence() -> None:
    seconds = by_second([], slow_s=0.25, password_ops=PASSWORD_OPS)

    assert seconds == []
    stalls, total, with_work, overall = stall_evidence(seconds)
    assert (stalls, total) == (0, 0)
    assert math.isnan(with_work)
    assert math.isnan(overall)


def test_the_slope_of_a_series_is_its_least_squares_growth_and_noise_does_not_make_it() -> None:
    growing = [(float(t), 100.0 + 0.5 * t) for t in range(0, 600, 5)]
    # a flat series with one 64 MiB peak in the middle (a password being hashed when the sample was taken)
    flat = [(float(t), 180.0 + (64.0 if t == 300 else 0.0)) for t in range(0, 600, 5)]

    assert slope_per_s(growing) == pytest.approx(0.5)
    assert abs(slope_per_s(flat) * 600) < 1.0
    assert math.isnan(slope_per_s([(0.0, 1.0)]))


SPIKES = [(90.0, 210.0), (390.0, 510.0)]


def series(level: Callable[[float], float]) -> list[tuple[float, float]]:
    """A sample every 5 s of a 600 s run, as the soak takes them."""
    return [(float(t), level(float(t))) for t in range(0, 600, 5)]


def test_a_high_water_mark_steps_at_the_first_spike_only_and_leaves_the_stretches_flat() -> None:
    # given 200 MiB, 300 during each spike, 240 after the first (the allocator keeps it) and after the second too
    def level(t: float) -> float:
        if any(start <= t < end for start, end in SPIKES):
            return 300.0
        return 200.0 if t < 90 else 240.0

    # when
    memory = steady_memory(series(level), SPIKES, settle_s=30.0)

    # then the spikes and their 30 s after are left out, and only the first spike moved the level
    assert memory.points == 120 - 2 * 30
    assert memory.slope_per_s == pytest.approx(0.0, abs=1e-9)
    assert memory.steps == pytest.approx((40.0, 0.0))
    # while one slope over the whole run takes the step for growth: more than 10 % of 200 MiB
    assert slope_per_s(series(level)) * 600 > 20


def test_a_leak_shows_as_a_step_at_every_spike_or_as_growth_between_them() -> None:
    def stepping(t: float) -> float:
        return 200.0 + 20.0 * sum(1 for _, end in SPIKES if t >= end)

    def growing(t: float) -> float:
        return 200.0 + 0.1 * t

    stepped = steady_memory(series(stepping), SPIKES, settle_s=30.0)
    grown = steady_memory(series(growing), SPIKES, settle_s=30.0)

    assert stepped.steps == pytest.approx((20.0, 20.0))
    assert stepped.slope_per_s == pytest.approx(0.0, abs=1e-9)
    assert grown.slope_per_s == pytest.approx(0.1)
    # the growth carried on the slope is not counted as a step as well
    assert grown.steps == pytest.approx((0.0, 0.0), abs=1e-9)


def test_without_spikes_the_steady_slope_is_the_whole_run_s() -> None:
    points = series(lambda t: 200.0 + 0.05 * t)

    memory = steady_memory(points, [], settle_s=30.0)

    assert memory.slope_per_s == pytest.approx(slope_per_s(points))
    assert memory.steps == ()


def test_a_window_holds_the_requests_that_started_in_it_and_p99_reads_only_the_asked_operations() -> None:
    requests = [Request("createReport", t / 10, 0.1 + t / 1000) for t in range(100)]
    requests.append(Request("mapReports", 5.0, 9.0))

    during = window(requests, 2.0, 4.0)

    assert [r.start for r in during] == [t / 10 for t in range(20, 40)]
    assert p99_ms(during, frozenset({"createReport"})) == pytest.approx(139.0)
    assert math.isnan(p99_ms(during, frozenset({"workQueue"})))
