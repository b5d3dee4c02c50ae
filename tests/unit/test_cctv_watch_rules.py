"""The pure decisions of continuous watching: health per picture, health over samples, the detector's gate, due
times, and the m3u8 reading."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from domain.cctv_rules import CameraHealth
from domain.cctv_sample import media_name, newest_segment
from domain.cctv_watch import (
    HealthChange,
    HealthState,
    HealthThresholds,
    Picture,
    next_due,
    next_health,
    phase_s,
    picture_health,
    should_detect,
)

LIMITS = HealthThresholds()
GOOD = Picture(luma=120.0, texture=60.0, difference=0.5, correlation=0.95)
OK = HealthState(CameraHealth.OK, CameraHealth.OK, 5)


@pytest.mark.parametrize(
    ("picture", "health"),
    [
        (GOOD, CameraHealth.OK),
        (Picture(5.0, 0.0, 0.0, 0.0), CameraHealth.BLACK),  # black is also flat, unchanged and unlike the view
        (Picture(128.0, 3.0, 0.0, 0.0), CameraHealth.COVERED),
        (Picture(120.0, 60.0, 0.0, 0.95), CameraHealth.FROZEN),
        (Picture(120.0, 60.0, 0.5, 0.1), CameraHealth.MOVED),
        (Picture(120.0, 60.0, None, None), CameraHealth.OK),  # a first sample: nothing to compare with
    ],
)
def test_a_picture_shows_the_first_symptom_an_operator_must_fix(picture: Picture, health: CameraHealth) -> None:
    assert picture_health(picture, LIMITS) == health


def run(state: HealthState, seen: list[CameraHealth]) -> tuple[HealthState, list[tuple[str | None, str | None]]]:
    changes = []
    for health in seen:
        change = next_health(state, health, LIMITS)
        changes.append((change.started, change.ended))
        state = change.state
    return state, changes


def test_a_state_is_alerted_once_when_it_has_held_for_its_streak_and_not_again() -> None:
    state, changes = run(OK, [CameraHealth.BLACK] * 5)

    assert changes == [(None, None), (CameraHealth.BLACK, None), (None, None), (None, None), (None, None)]
    assert state == HealthState(CameraHealth.BLACK, CameraHealth.BLACK, 5)


def test_offline_needs_three_samples_without_media() -> None:
    _, changes = run(OK, [CameraHealth.OFFLINE] * 3)

    assert [started for started, _ in changes] == [None, None, CameraHealth.OFFLINE]


def test_one_odd_sample_in_between_starts_the_count_again() -> None:
    _, changes = run(OK, [CameraHealth.COVERED, CameraHealth.OK, CameraHealth.COVERED, CameraHealth.COVERED])

    assert [started for started, _ in changes] == [None, None, None, CameraHealth.COVERED]


def test_a_good_sample_ends_a_state_and_a_new_one_is_alerted_again() -> None:
    frozen = HealthState(CameraHealth.FROZEN, CameraHealth.FROZEN, 9)

    state, changes = run(frozen, [CameraHealth.OK, CameraHealth.MOVED, CameraHealth.MOVED])

    assert changes == [(None, CameraHealth.FROZEN), (None, None), (CameraHealth.MOVED, None)]
    assert state.current == CameraHealth.MOVED


def test_a_change_of_symptom_moves_straight_to_the_new_state() -> None:
    black = HealthState(CameraHealth.BLACK, CameraHealth.BLACK, 3)

    change = next_health(black, CameraHealth.OFFLINE, HealthThresholds(streaks={CameraHealth.OFFLINE: 1}))

    assert change == HealthChange(
        HealthState(CameraHealth.OFFLINE, CameraHealth.OFFLINE, 1), CameraHealth.OFFLINE, CameraHealth.BLACK
    )


@pytest.mark.parametrize(
    ("motion", "first", "detect"),
    [(0.0, True, True), (0.0, False, False), (0.0019, False, False), (0.002, False, True), (0.3, False, True)],
)
def test_the_detector_runs_on_the_first_sample_and_on_motion(motion: float, first: bool, detect: bool) -> None:
    assert should_detect(motion=motion, first=first, min_motion=0.002) is detect


NOW = datetime(2026, 12, 5, 8, 0, 0, tzinfo=UTC)


def test_the_next_due_time_keeps_the_cadence_on_the_cameras_grid() -> None:
    ten, two = timedelta(seconds=10), timedelta(seconds=2)
    due = next_due(7, NOW, ten, NOW)  # joins camera 7's grid, at least half an interval on
    assert NOW + ten / 2 < due <= NOW + ten * 3 / 2
    assert due.timestamp() % 10 == pytest.approx(phase_s(7, 10.0), abs=1e-6)
    # Handed out on time by a tick whose window ends after it: one interval on.
    assert next_due(7, due, ten, due + timedelta(seconds=1)) == due + ten
    assert next_due(7, due, ten, due + timedelta(seconds=9)) == due + ten
    # The same at a 2 s interval, where the windows are as long as the interval.
    due = next_due(7, NOW, two, NOW)
    assert next_due(7, due, two, due) == due + two
    assert next_due(7, due, two, due + timedelta(seconds=1.9)) == due + two


def test_a_camera_handed_out_late_skips_to_a_point_the_next_tick_hands_out_ahead() -> None:
    """A camera due before the window of the tick that hands it out (the workers were away, or just started):
    its next point is after this tick's horizon, so the next tick sees it before it is due. "One interval on"
    left it due before each next tick's window too, every sample late, for good."""
    two = timedelta(seconds=2)
    due = next_due(7, NOW, two, NOW)
    horizon = due + timedelta(seconds=2.5)  # a tick a window later than the one that should have handed it out
    following = next_due(7, due, two, horizon)
    assert following == due + 2 * two
    assert following > horizon
    ten = timedelta(seconds=10)
    due = next_due(7, NOW, ten, NOW)
    assert next_due(7, due, ten, due + timedelta(minutes=5, seconds=3)) == due + timedelta(minutes=5, seconds=10)


def test_cameras_due_at_one_instant_are_spread_over_the_interval() -> None:
    """What a pause of the workers, a bulk import or a reset leaves: every camera due at once. One claim later
    80 cameras of consecutive ids are due at 80 distinct moments, no two closer than a tenth of the even gap."""
    two = timedelta(seconds=2)
    moments = sorted(next_due(camera_id, NOW, two, NOW) for camera_id in range(1000, 1080))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    assert moments[-1] - moments[0] < two
    assert min(gaps) > 2 / 80 / 10
    assert max(gaps) < 2 / 80 * 3


def test_the_newest_segment_of_a_live_playlist_with_its_date() -> None:
    playlist = "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-TARGETDURATION:2",
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-05T08:00:00Z",
            "#EXTINF:2.0,",
            "seg-41.ts",
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-05T08:00:02.000+00:00",
            "#EXTINF:2.0,",
            "seg-42.ts",
        ]
    )

    assert newest_segment(playlist, "http://cam.example/live/index.m3u8") == (
        "http://cam.example/live/seg-42.ts",
        datetime(2026, 12, 5, 8, 0, 2, tzinfo=UTC),
    )


def test_a_master_playlist_gives_its_lightest_variant() -> None:
    playlist = (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nhigh/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=400000\nlow/index.m3u8\n"
    )

    assert newest_segment(playlist, "http://cam.example/master.m3u8") == (None, "http://cam.example/low/index.m3u8")


@pytest.mark.parametrize("text", ["", "garbage\x00\x01", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"])
def test_what_is_no_playlist_with_segments_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        newest_segment(text, "http://cam.example/index.m3u8")


def test_a_segment_uri_too_long_for_the_watch_row_is_kept_as_its_hash() -> None:
    short = "http://cam.example/seg-1.ts"
    signed = short + "?token=" + "x" * 2000

    assert media_name(short) == short
    assert media_name(signed) == "sha256:" + hashlib.sha256(signed.encode()).hexdigest()
    assert media_name(signed) != media_name(signed + "y")
