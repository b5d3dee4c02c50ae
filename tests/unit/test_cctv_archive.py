"""domain.cctv_archive: segment keys by camera and UTC hour, and which segments cover a report's window."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.cctv_archive import (
    KEY_RESOLUTION_S,
    MIN_SEGMENT_S,
    Gap,
    as_utc,
    clip_window,
    covering,
    gaps,
    hour_prefixes,
    parse_segment_keys,
    segment_key,
    segment_name,
    segment_start,
)

CAMERA = "cctv/pintu-air-manggarai"
WIB = timezone(timedelta(hours=7))
SEGMENT_S = 10.0


def utc(day: int, hour: int, minute: int, second: int = 0, micro: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, second, micro, tzinfo=UTC)


def archive(first: datetime, count: int, every_s: float = SEGMENT_S) -> list[tuple[str, datetime]]:
    """``count`` contiguous segments from ``first``, as a listing parsed by parse_segment_keys."""
    keys = [segment_key(CAMERA, first + timedelta(seconds=i * every_s)) for i in range(count)]
    return parse_segment_keys(keys)


# --- keys ----------------------------------------------------------------------------------------------------


def test_a_segment_key_is_filed_by_camera_and_utc_hour() -> None:
    assert segment_key(CAMERA, utc(1, 20, 15, 30)) == f"{CAMERA}/2026/12/01/20/20261201T201530Z.ts"


def test_a_key_is_in_utc_whatever_the_zone_it_is_given_in() -> None:
    # 03:15 WIB on 2 December is 20:15 UTC on 1 December: the day, and the hour folder, change.
    wib = datetime(2026, 12, 2, 3, 15, 30, tzinfo=WIB)

    assert segment_key(CAMERA, wib) == f"{CAMERA}/2026/12/01/20/20261201T201530Z.ts"
    assert segment_name(wib) == "20261201T201530Z.ts"


def test_a_key_names_its_start_to_the_second_rounded_down() -> None:
    assert segment_name(utc(1, 20, 15, 30, micro=999_999)) == "20261201T201530Z.ts"


def test_keys_sort_in_time_order() -> None:
    starts = [utc(31, 22, 0) + timedelta(seconds=7 * i) for i in range(2000)]  # across hours, days and a year

    keys = [segment_key(CAMERA, start) for start in starts]

    assert sorted(keys) == keys


@pytest.mark.parametrize("prefix", ["", "/cctv/cam", "cctv/cam/"])
def test_a_prefix_must_have_no_slash_at_its_ends(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        segment_key(prefix, utc(1, 20, 15))


def test_a_segment_key_gives_back_its_start() -> None:
    start = utc(1, 20, 15, 30)

    assert segment_start(segment_key(CAMERA, start)) == start
    assert segment_start(segment_key("cam", start)) == start


@pytest.mark.parametrize(
    "key",
    [
        f"{CAMERA}/2026/12/01/20/index.m3u8",
        f"{CAMERA}/2026/12/01/20/20261201T201530Z.mp4",
        f"{CAMERA}/2026/12/01/20/20261201T201530Z.ts.part",
        f"{CAMERA}/2026/12/01/20/20261201T201530.ts",
        f"{CAMERA}/2026/12/01/21/20261201T201530Z.ts",  # in the wrong hour folder
        f"{CAMERA}/2026/12/02/20/20261201T201530Z.ts",  # in the wrong day folder
        f"{CAMERA}/20261201T201530Z.ts",
        "2026/12/01/20/20261201T201530Z.ts",  # no camera
        "/2026/12/01/20/20261201T201530Z.ts",
        f"{CAMERA}//2026/12/01/20/20261201T201530Z.ts",
        f"{CAMERA}/2026/13/01/20/20261301T201530Z.ts",  # month 13
        f"{CAMERA}/2026/12/01/20/2026121T2015300Z.ts",
        "",
    ],
)
def test_keys_that_are_not_segments_have_no_start(key: str) -> None:
    assert segment_start(key) is None


def test_parsing_a_listing_keeps_the_segments_in_time_order() -> None:
    early, late = segment_key(CAMERA, utc(1, 20, 0)), segment_key(CAMERA, utc(1, 21, 0))
    listing = [late, f"{CAMERA}/2026/12/01/20/index.m3u8", early, f"{CAMERA}/notes.txt"]

    assert parse_segment_keys(listing) == [(early, utc(1, 20, 0)), (late, utc(1, 21, 0))]


# --- hour folders --------------------------------------------------------------------------------------------


def test_a_window_inside_an_hour_lists_one_folder() -> None:
    assert hour_prefixes(CAMERA, utc(1, 20, 15), utc(1, 20, 45)) == [f"{CAMERA}/2026/12/01/20/"]


def test_a_window_across_the_hour_lists_both_folders() -> None:
    assert hour_prefixes(CAMERA, utc(1, 20, 55), utc(1, 21, 5)) == [
        f"{CAMERA}/2026/12/01/20/",
        f"{CAMERA}/2026/12/01/21/",
    ]


def test_a_window_ending_on_the_hour_does_not_list_the_next_one() -> None:
    assert hour_prefixes(CAMERA, utc(1, 20, 55), utc(1, 21, 0)) == [f"{CAMERA}/2026/12/01/20/"]


def test_a_window_starting_on_the_hour_lists_only_that_one() -> None:
    assert hour_prefixes(CAMERA, utc(1, 21, 0), utc(1, 21, 0, 10)) == [f"{CAMERA}/2026/12/01/21/"]


def test_a_window_across_new_year_lists_both_years() -> None:
    start, end = utc(31, 23, 50), datetime(2027, 1, 1, 0, 10, tzinfo=UTC)

    assert hour_prefixes(CAMERA, start, end) == [f"{CAMERA}/2026/12/31/23/", f"{CAMERA}/2027/01/01/00/"]


def test_hour_folders_are_utc_hours() -> None:
    start = datetime(2026, 12, 2, 3, 59, tzinfo=WIB)

    assert hour_prefixes(CAMERA, start, start + timedelta(minutes=2)) == [
        f"{CAMERA}/2026/12/01/20/",
        f"{CAMERA}/2026/12/01/21/",
    ]


def test_a_long_window_lists_every_hour_once() -> None:
    prefixes = hour_prefixes(CAMERA, utc(1, 22, 30), utc(2, 2, 30))

    assert [p.removeprefix(CAMERA + "/") for p in prefixes] == [
        "2026/12/01/22/",
        "2026/12/01/23/",
        "2026/12/02/00/",
        "2026/12/02/01/",
        "2026/12/02/02/",
    ]


def test_the_folder_of_the_segment_running_at_the_window_start_is_found_by_listing_from_a_segment_earlier() -> None:
    window_start, window_end = utc(1, 21, 0, 3), utc(1, 21, 0, 30)
    running = segment_key(CAMERA, utc(1, 20, 59, 55))

    folders = hour_prefixes(CAMERA, window_start - timedelta(seconds=SEGMENT_S), window_end)

    assert [f for f in folders if running.startswith(f)] == [f"{CAMERA}/2026/12/01/20/"]
    assert not [f for f in hour_prefixes(CAMERA, window_start, window_end) if running.startswith(f)]


def test_an_empty_or_reversed_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        hour_prefixes(CAMERA, utc(1, 20, 0), utc(1, 20, 0))
    with pytest.raises(ValueError, match="window"):
        hour_prefixes(CAMERA, utc(1, 20, 1), utc(1, 20, 0))


# --- coverage ------------------------------------------------------------------------------------------------


def test_covering_takes_the_segments_that_overlap_the_window_in_time_order() -> None:
    segments = archive(utc(1, 20, 15, 0), count=8)  # 20:15:00 to 20:16:20
    random.Random(1).shuffle(segments)
    window_start, window_end = utc(1, 20, 15, 35), utc(1, 20, 15, 55)

    keys = covering(segments, window_start, window_end, SEGMENT_S)

    # 20:15:30 runs into the window; 20:15:20 ends as 20:15:30 begins; 20:15:55 would start as the window ends.
    assert keys == [segment_key(CAMERA, utc(1, 20, 15, s)) for s in (30, 40, 50)]
    assert gaps(segments, window_start, window_end, SEGMENT_S) == []


def test_a_window_ending_where_a_segment_starts_does_not_take_it() -> None:
    segments = archive(utc(1, 20, 15, 0), count=3)

    assert covering(segments, utc(1, 20, 14, 50), utc(1, 20, 15, 10), SEGMENT_S) == [
        segment_key(CAMERA, utc(1, 20, 15, 0))
    ]


def test_a_window_across_midnight_is_covered_from_both_days() -> None:
    segments = archive(utc(1, 23, 59, 40), count=4)  # 23:59:40 to 00:00:20
    window_start, window_end = utc(1, 23, 59, 55), utc(2, 0, 0, 15)

    keys = covering(segments, window_start, window_end, SEGMENT_S)

    assert keys == [
        f"{CAMERA}/2026/12/01/23/20261201T235950Z.ts",
        f"{CAMERA}/2026/12/02/00/20261202T000000Z.ts",
        f"{CAMERA}/2026/12/02/00/20261202T000010Z.ts",
    ]
    assert gaps(segments, window_start, window_end, SEGMENT_S) == []
    assert {key.rpartition("/")[0] + "/" for key in keys} <= set(
        hour_prefixes(CAMERA, window_start - timedelta(seconds=SEGMENT_S), window_end)
    )


def test_a_missing_segment_in_the_middle_is_a_gap() -> None:
    segments = [s for s in archive(utc(1, 20, 15, 0), count=6) if s[1] != utc(1, 20, 15, 20)]
    window_start, window_end = utc(1, 20, 15, 5), utc(1, 20, 15, 55)

    keys = covering(segments, window_start, window_end, SEGMENT_S)

    assert len(keys) == 5
    assert gaps(segments, window_start, window_end, SEGMENT_S) == [Gap(utc(1, 20, 15, 20), utc(1, 20, 15, 30))]


def test_a_window_beyond_both_ends_of_the_archive_has_a_gap_at_each_end() -> None:
    segments = archive(utc(1, 20, 15, 0), count=2)

    found = gaps(segments, utc(1, 20, 14, 30), utc(1, 20, 16, 0), SEGMENT_S)

    assert found == [Gap(utc(1, 20, 14, 30), utc(1, 20, 15, 0)), Gap(utc(1, 20, 15, 20), utc(1, 20, 16, 0))]
    assert [gap.seconds for gap in found] == [30.0, 40.0]


def test_a_window_with_no_segments_is_one_gap() -> None:
    window_start, window_end = utc(1, 20, 15), utc(1, 20, 16)

    assert covering([], window_start, window_end, SEGMENT_S) == []
    assert gaps([], window_start, window_end, SEGMENT_S) == [Gap(window_start, window_end)]


def test_holes_made_by_rounding_starts_to_the_second_are_not_gaps() -> None:
    # Segments of 10.4 s (an odd frame rate) named to the second: 20:15:00, :10, :20, :31, :41, then a lost one.
    starts = [utc(1, 20, 15, 0) + timedelta(seconds=10.4 * i) for i in (0, 1, 2, 3, 4, 6)]
    segments = parse_segment_keys(segment_key(CAMERA, start) for start in starts)

    found = gaps(segments, utc(1, 20, 15, 0), utc(1, 20, 16, 12), SEGMENT_S)

    assert [s for _, s in segments][3] == utc(1, 20, 15, 31)  # one second after the previous segment's end
    assert found == [Gap(utc(1, 20, 15, 51), utc(1, 20, 16, 2))]
    assert found[0].seconds > KEY_RESOLUTION_S


def test_a_lost_segment_shows_even_where_rounding_shrinks_its_hole() -> None:
    # Segments of 2.25 s from 20:15:00; the one at :02.25 is lost, the next starts at :04.5 and is named :04.
    segment_s = 2.25
    starts = [utc(1, 20, 15, 0), utc(1, 20, 15, 4, micro=500_000)]
    segments = parse_segment_keys(segment_key(CAMERA, start) for start in starts)

    found = gaps(segments, utc(1, 20, 15, 0), utc(1, 20, 15, 6), segment_s)

    assert found == [Gap(utc(1, 20, 15, 2, micro=250_000), utc(1, 20, 15, 4))]
    assert found[0].seconds > KEY_RESOLUTION_S


def test_segments_given_in_another_zone_are_compared_in_utc() -> None:
    start = datetime(2026, 12, 2, 3, 15, tzinfo=WIB)
    segments = [("k", start)]

    assert covering(segments, utc(1, 20, 15, 5), utc(1, 20, 15, 8), SEGMENT_S) == ["k"]


def test_segments_shorter_than_the_key_resolution_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="segment_s"):
        covering([], utc(1, 20, 15), utc(1, 20, 16), MIN_SEGMENT_S - 0.5)
    with pytest.raises(ValueError, match="segment_s"):
        gaps([], utc(1, 20, 15), utc(1, 20, 16), 0)


# --- report window -------------------------------------------------------------------------------------------


def test_a_clip_window_spans_before_and_after_the_report_in_utc() -> None:
    report_time = datetime(2026, 12, 2, 3, 15, 30, tzinfo=WIB)

    start, end = clip_window(report_time, before_s=60, after_s=30)

    assert (start, end) == (utc(1, 20, 14, 30), utc(1, 20, 16, 0))
    assert start.tzinfo is UTC


def test_a_clip_window_may_lie_wholly_before_or_after_the_report() -> None:
    assert clip_window(utc(1, 20, 15), before_s=0, after_s=30) == (utc(1, 20, 15), utc(1, 20, 15, 30))
    assert clip_window(utc(1, 20, 15), before_s=30, after_s=0) == (utc(1, 20, 14, 30), utc(1, 20, 15))


@pytest.mark.parametrize(("before_s", "after_s"), [(-1, 30), (30, -1), (0, 0)])
def test_a_clip_window_needs_a_length(before_s: float, after_s: float) -> None:
    with pytest.raises(ValueError, match="before_s"):
        clip_window(utc(1, 20, 15), before_s, after_s)


# --- naive datetimes -----------------------------------------------------------------------------------------

NAIVE = datetime(2026, 12, 1, 20, 15, 30)  # noqa: DTZ001 - the point of these tests
AWARE = utc(1, 20, 15, 30)


@pytest.mark.parametrize(
    "call",
    [
        lambda: as_utc(NAIVE),
        lambda: segment_name(NAIVE),
        lambda: segment_key(CAMERA, NAIVE),
        lambda: hour_prefixes(CAMERA, NAIVE, AWARE),
        lambda: hour_prefixes(CAMERA, AWARE, NAIVE),
        lambda: covering([], NAIVE, AWARE, SEGMENT_S),
        lambda: covering([("k", NAIVE)], AWARE, AWARE + timedelta(seconds=5), SEGMENT_S),
        lambda: gaps([], AWARE, NAIVE, SEGMENT_S),
        lambda: gaps([("k", NAIVE)], AWARE, AWARE + timedelta(seconds=5), SEGMENT_S),
        lambda: clip_window(NAIVE, 30, 30),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="naive"):
        call()
