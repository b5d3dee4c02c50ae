"""domain.sla: working time in Jakarta's offices, holidays and cuti bersama from data/jakarta/holidays.csv."""

from __future__ import annotations

import csv
import random
import time as clock
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from domain import sla
from domain.settings import Settings
from domain.sla import (
    HOLIDAY_KINDS,
    HOLIDAYS_FILE,
    JAKARTA,
    OFFICE_HOURS,
    Deadlines,
    SlaTarget,
    WorkingCalendar,
    add_working_hours,
    deadlines,
    is_overdue,
    load_calendar,
    read_holidays,
    weekly_hours,
    working_hours_between,
)

HOLIDAYS_CSV = Settings().jakarta_data_dir / HOLIDAYS_FILE
CALENDAR = load_calendar(HOLIDAYS_CSV)


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def due(start: datetime, hours: float, calendar: WorkingCalendar = CALENDAR) -> datetime:
    return add_working_hours(calendar, start, hours)


def csv_rows() -> list[dict[str, str]]:
    with HOLIDAYS_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def easter(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus), independent of the CSV."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def reference_hours_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """The plain day-by-day sum, without the week skipping the real code does."""
    total = timedelta()
    day = start.astimezone(JAKARTA).date()
    while day <= end.astimezone(JAKARTA).date():
        window = calendar.window(day)
        if window is not None:
            overlap = min(window[1], end) - max(window[0], start)
            total += max(overlap, timedelta())
        day += timedelta(days=1)
    return total / timedelta(hours=1)


# --- the holiday data -----------------------------------------------------------------------------


def test_every_row_has_a_real_date_a_known_kind_and_both_names() -> None:
    # given the shipped CSV, read without the loader's checks
    rows = csv_rows()

    # then
    assert rows
    for row in rows:
        assert date.fromisoformat(row["date"]).isoformat() == row["date"]
        assert row["kind"] in HOLIDAY_KINDS
        assert row["name_id"].strip()
        assert row["name_en"].strip()


def test_no_date_is_listed_twice_and_rows_are_in_date_order() -> None:
    # given
    days = [row["date"] for row in csv_rows()]

    # then
    assert [d for d, n in Counter(days).items() if n > 1] == []
    assert days == sorted(days)


def test_the_data_covers_2026_and_2027_and_nothing_else() -> None:
    assert CALENDAR.covers(date(2026, 1, 1))
    assert CALENDAR.covers(date(2027, 12, 31))
    assert not CALENDAR.covers(date(2025, 12, 31))
    assert not CALENDAR.covers(date(2028, 1, 1))


def test_2026_matches_the_skb_counts_17_national_holidays_and_8_days_of_cuti_bersama() -> None:
    # given
    kinds_2026 = Counter(row["kind"] for row in csv_rows() if row["date"].startswith("2026-"))

    # then
    assert kinds_2026 == {"libur_nasional": 17, "cuti_bersama": 8}


@pytest.mark.parametrize("year", [2026, 2027])
def test_fixed_date_holidays_are_there_every_year(year: int) -> None:
    for month, day in [(1, 1), (5, 1), (6, 1), (8, 17), (12, 25)]:
        assert date(year, month, day) in CALENDAR.holidays, f"{year}-{month:02}-{day:02}"


@pytest.mark.parametrize("year", [2026, 2027])
def test_good_friday_easter_and_ascension_follow_easter(year: int) -> None:
    # given
    names = {row["date"]: row["name_en"] for row in csv_rows()}
    sunday = easter(year)

    # then
    assert names[(sunday - timedelta(days=2)).isoformat()] == "Good Friday"
    assert names[sunday.isoformat()] == "Easter Sunday"
    assert names[(sunday + timedelta(days=39)).isoformat()] == "Ascension Day"


def test_cuti_bersama_is_always_a_weekday() -> None:
    # Weekend national holidays are real (Idul Fitri 2026 is a Saturday); collective leave on a weekend is not.
    weekend_leave = [
        row["date"]
        for row in csv_rows()
        if row["kind"] == "cuti_bersama" and date.fromisoformat(row["date"]).weekday() >= 5
    ]

    assert weekend_leave == []


def test_idul_fitri_2026_and_its_cuti_bersama_close_offices_from_18_to_24_march() -> None:
    closed = [day for day in (date(2026, 3, d) for d in range(16, 27)) if not CALENDAR.is_working_day(day)]

    assert closed == [date(2026, 3, d) for d in range(18, 25)]


def test_the_loader_rejects_a_repeated_date(tmp_path: Path) -> None:
    # given
    path = tmp_path / "holidays.csv"
    path.write_text(
        "# a note\n"
        "date,kind,name_id,name_en\n"
        "2026-01-01,libur_nasional,Tahun Baru,New Year\n"
        "2026-01-01,cuti_bersama,Tahun Baru,New Year\n",
        encoding="utf-8",
    )

    # when / then
    with pytest.raises(ValueError, match="2026-01-01 is listed twice"):
        read_holidays(path)


def test_the_loader_rejects_an_unknown_kind(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text("date,kind,name_id,name_en\n2026-06-22,libur_daerah,HUT Jakarta,Jakarta Day\n", encoding="utf-8")

    with pytest.raises(ValueError, match="libur_daerah"):
        read_holidays(path)


def test_the_loader_reads_each_file_once() -> None:
    assert load_calendar(HOLIDAYS_CSV) is CALENDAR


# --- adding working hours -------------------------------------------------------------------------


def test_a_report_on_friday_afternoon_rolls_into_monday_morning() -> None:
    # given a report at 15:00 on Friday 20 November 2026 with two hours to a response

    # when
    deadline = due(wib(2026, 11, 20, 15), 2)

    # then one hour on Friday, one on Monday; the answer is in UTC
    assert deadline == wib(2026, 11, 23, 8, 30)
    assert deadline.tzinfo is UTC
    assert deadline == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def test_idul_fitri_2026_and_its_cuti_bersama_stop_the_clock() -> None:
    # given Tuesday 17 March 2026, 15:00: Nyepi, Idul Fitri and their cuti bersama run from Wednesday to Tuesday

    # when
    deadline = due(wib(2026, 3, 17, 15), 2)

    # then
    assert deadline == wib(2026, 3, 25, 8, 30)


def test_three_working_days_from_monday_before_lebaran_end_the_week_after() -> None:
    assert due(wib(2026, 3, 16, 7, 30), 3 * 8.5) == wib(2026, 3, 25, 16)


def test_a_report_filed_on_idul_fitri_starts_counting_when_offices_reopen() -> None:
    assert due(wib(2026, 3, 21, 10), 1) == wib(2026, 3, 25, 8, 30)


def test_christmas_and_new_year_2027_stop_the_clock() -> None:
    # Wednesday 23 December 2026, then cuti bersama on the 24th, Christmas on the 25th, a weekend
    assert due(wib(2026, 12, 23, 15), 2) == wib(2026, 12, 28, 8, 30)
    # Thursday 31 December 2026, then New Year's Day on Friday and a weekend
    assert due(wib(2026, 12, 31, 14), 4) == wib(2027, 1, 4, 9, 30)


@pytest.mark.parametrize(
    ("filed", "expected"),
    [
        (wib(2026, 11, 24, 22), wib(2026, 11, 25, 8, 30)),
        (wib(2026, 11, 25, 0, 1), wib(2026, 11, 25, 8, 30)),
        (wib(2026, 11, 25, 5), wib(2026, 11, 25, 8, 30)),
        (wib(2026, 11, 21, 13), wib(2026, 11, 23, 8, 30)),
    ],
    ids=["late-evening", "just-after-midnight", "before-opening", "saturday"],
)
def test_a_report_filed_outside_office_hours_starts_at_the_next_opening(filed: datetime, expected: datetime) -> None:
    assert due(filed, 1) == expected


def test_the_zone_of_the_input_does_not_matter() -> None:
    # 00:30 UTC is 07:30 in Jakarta
    assert due(datetime(2026, 11, 23, 0, 30, tzinfo=UTC), 1) == wib(2026, 11, 23, 8, 30)


def test_a_deadline_that_fills_the_day_exactly_is_at_closing_time_not_the_next_morning() -> None:
    assert due(wib(2026, 11, 23, 7, 30), 8.5) == wib(2026, 11, 23, 16)
    assert due(wib(2026, 11, 23, 15, 59), 1 / 60) == wib(2026, 11, 23, 16)


def test_a_report_filed_at_closing_time_counts_from_the_next_opening() -> None:
    assert due(wib(2026, 11, 23, 16), 0.5) == wib(2026, 11, 24, 8)


def test_zero_hours_is_due_at_once_even_at_night() -> None:
    filed = wib(2026, 11, 24, 22, 15)

    assert due(filed, 0) == filed
    assert due(filed, 0).tzinfo is UTC


def test_a_year_without_data_counts_every_weekday() -> None:
    # given Friday 31 December 2027, 15:00; 2028 has no holiday data yet
    assert not CALENDAR.covers(date(2028, 1, 3))

    # when / then Monday 3 January 2028 counts as a working day
    assert due(wib(2027, 12, 31, 15), 2) == wib(2028, 1, 3, 8, 30)


def test_a_deadline_into_a_year_without_data_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a process that has met no uncovered year yet
    monkeypatch.setattr(sla, "uncovered_years", set())
    caplog.set_level("WARNING", logger="domain.sla")

    # when three deadlines run into 2028 and one duration spans 2028 and 2029
    due(wib(2027, 12, 31, 15), 2)
    due(wib(2027, 12, 30, 15), 20)
    working_hours_between(CALENDAR, wib(2027, 12, 31, 8), wib(2028, 1, 4, 8))
    working_hours_between(CALENDAR, wib(2028, 12, 29, 8), wib(2029, 1, 2, 8))

    # then each uncovered year is logged once, at WARNING, and kept for /readyz
    warnings = [r for r in caplog.records if r.name == "domain.sla"]
    assert [(r.levelname, r.getMessage()[:45]) for r in warnings] == [
        ("WARNING", "the holiday calendar does not cover 2028: SLA"),
        ("WARNING", "the holiday calendar does not cover 2029: SLA"),
    ]
    assert sla.uncovered_years == {2028, 2029}


def test_covered_years_and_calendars_without_holiday_data_are_not_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sla, "uncovered_years", set())
    caplog.set_level("WARNING", logger="domain.sla")

    due(wib(2026, 12, 30, 15), 20)
    due(wib(2031, 1, 6, 8), 20, WorkingCalendar())

    assert [r for r in caplog.records if r.name == "domain.sla"] == []
    assert sla.uncovered_years == set()


def test_friday_can_close_later() -> None:
    # given an office open until 16:30 on Friday
    hours = weekly_hours({**{d: (time(7, 30), time(16)) for d in range(4)}, 4: (time(7, 30), time(16, 30))})
    late_friday = WorkingCalendar(holidays=CALENDAR.holidays, years=CALENDAR.years, hours=hours)

    # then
    assert due(wib(2026, 11, 20, 16), 0.5, late_friday) == wib(2026, 11, 20, 16, 30)
    assert due(wib(2026, 11, 20, 16), 0.5) == wib(2026, 11, 23, 8)
    assert late_friday.working_week == timedelta(hours=43)
    assert CALENDAR.working_week == timedelta(hours=42.5)


def test_ten_thousand_hours_is_quick_and_exact() -> None:
    # given
    start = wib(2026, 1, 2, 9)

    # when
    began = clock.perf_counter()
    deadline = due(start, 10_000)
    elapsed = clock.perf_counter() - began

    # then
    assert elapsed < 0.5
    assert working_hours_between(CALENDAR, start, deadline) == pytest.approx(10_000, abs=1e-9)
    assert reference_hours_between(CALENDAR, start, deadline) == pytest.approx(10_000, abs=1e-9)


@pytest.mark.parametrize("hours", [-0.5, float("nan"), float("inf")])
def test_hours_must_be_a_finite_number_of_at_least_zero(hours: float) -> None:
    with pytest.raises(ValueError, match="hours must be"):
        due(wib(2026, 11, 23, 9), hours)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="start must carry a time zone"):
        add_working_hours(CALENDAR, datetime(2026, 11, 23, 9), 1)  # noqa: DTZ001


# --- measuring working time -----------------------------------------------------------------------


def test_working_hours_between_skips_nights_weekends_and_holidays() -> None:
    assert working_hours_between(CALENDAR, wib(2026, 11, 20, 15), wib(2026, 11, 23, 8, 30)) == 2
    assert working_hours_between(CALENDAR, wib(2026, 3, 17, 15), wib(2026, 3, 25, 8, 30)) == 2
    assert working_hours_between(CALENDAR, wib(2026, 11, 21), wib(2026, 11, 22, 23, 59)) == 0


def test_a_whole_holiday_free_week_is_42_and_a_half_hours() -> None:
    assert working_hours_between(CALENDAR, wib(2026, 11, 22), wib(2026, 11, 29)) == 42.5


def test_an_end_before_the_start_gives_zero() -> None:
    assert working_hours_between(CALENDAR, wib(2026, 11, 23, 12), wib(2026, 11, 23, 9)) == 0


def test_a_naive_end_is_refused() -> None:
    with pytest.raises(ValueError, match="end must carry a time zone"):
        working_hours_between(CALENDAR, wib(2026, 11, 23, 9), datetime(2026, 11, 24, 9))  # noqa: DTZ001


def test_measuring_agrees_with_a_plain_day_by_day_sum_over_long_spans() -> None:
    # given spans of up to two years, which the real code crosses a week at a time
    rng = random.Random(20261123)
    for _ in range(200):
        start = wib(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(0, 400 * 24 * 60))

        # then
        assert working_hours_between(CALENDAR, start, end) == pytest.approx(
            reference_hours_between(CALENDAR, start, end), abs=1e-9
        ), (start, end)


def test_adding_and_measuring_are_inverse_for_many_starts() -> None:
    # given starts spread over both years, at any minute, and targets from minutes to months
    rng = random.Random(7)
    targets = [0.25, 1, 4, 8.5, 17, 24, 42.5, 72, 100, 333.3, 1000]
    for _ in range(400):
        start = wib(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        hours = rng.choice(targets)

        # when
        deadline = due(start, hours)

        # then exactly that much working time lies between, and the deadline is inside an office window
        assert working_hours_between(CALENDAR, start, deadline) == pytest.approx(hours, abs=1e-9), (start, hours)
        window = CALENDAR.window(deadline.astimezone(JAKARTA).date())
        assert window is not None, (start, hours)
        assert window[0] < deadline <= window[1], (start, hours)
        # and no earlier moment would do
        assert working_hours_between(CALENDAR, start, deadline - timedelta(minutes=1)) < hours


def test_more_hours_never_give_an_earlier_deadline() -> None:
    start = wib(2026, 12, 23, 11, 17)
    deadlines_in_order = [due(start, h / 4) for h in range(0, 400)]

    assert deadlines_in_order == sorted(deadlines_in_order)


# --- targets and deadlines ------------------------------------------------------------------------


def test_deadlines_for_a_report_follow_the_category_target() -> None:
    # given a category that wants a response within 4 working hours and completion within 3 working days
    target = SlaTarget(response_hours=4, completion_hours=3 * 8.5)

    # when a report comes in at 14:00 on Thursday 24 December 2026 (cuti bersama)
    result = deadlines(CALENDAR, wib(2026, 12, 24, 14), target)

    # then
    assert result == Deadlines(respond_by=wib(2026, 12, 28, 11, 30), complete_by=wib(2026, 12, 30, 16))


@pytest.mark.parametrize(
    ("response", "completion", "message"),
    [
        (-1.0, 8.0, "response_hours"),
        (4.0, float("nan"), "completion_hours"),
        (8.0, 4.0, "completion cannot be due before"),
    ],
)
def test_a_target_must_make_sense(response: float, completion: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlaTarget(response_hours=response, completion_hours=completion)


def test_overdue_only_after_the_deadline() -> None:
    deadline = wib(2026, 11, 23, 16)

    assert not is_overdue(deadline, deadline)
    assert not is_overdue(deadline, deadline - timedelta(seconds=1))
    assert is_overdue(deadline, deadline + timedelta(microseconds=1))
    assert is_overdue(deadline, datetime(2026, 11, 23, 9, 0, 1, tzinfo=UTC))


def test_overdue_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now must carry a time zone"):
        is_overdue(wib(2026, 11, 23, 16), datetime(2026, 11, 23, 17))  # noqa: DTZ001


# --- office hours ---------------------------------------------------------------------------------


def test_default_office_hours_are_monday_to_friday_0730_to_1600() -> None:
    assert OFFICE_HOURS[:5] == ((time(7, 30), time(16)),) * 5
    assert OFFICE_HOURS[5:] == (None, None)


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ({0: (time(16), time(7, 30))}, "must open before it closes"),
        ({0: (time(9), time(9))}, "must open before it closes"),
        ({}, "at least one working day"),
    ],
)
def test_office_hours_must_make_sense(windows: dict[int, tuple[time, time]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(hours=weekly_hours(windows))


def test_weekdays_run_from_0_to_6() -> None:
    with pytest.raises(ValueError, match=r"\[7\]"):
        weekly_hours({7: (time(8), time(12))})
