"""The gauge reader on generated frames of a staff gauge at a known water level (tests/fakes/gauge.py): its error
bound over lighting conditions, its refusals, and the calibration it accepts. The larger measurement, with frames
composited into the shared footage, is bench/gauge.py."""

from __future__ import annotations

import numpy as np
import pytest

from domain.gauge_reading import Gauge, gauge_problem, read_level, scale, to_cm
from tests.fakes.gauge import CONDITIONS, grey, make_frame

LEVELS = (655.0, 742.5, 818.0, 903.0, 1046.0)


def test_the_level_is_read_within_a_few_centimetres_in_every_light() -> None:
    # given 15 frames at known levels: three per lighting condition, each from another camera position
    errors, refused = [], 0
    for i in range(15):
        made = make_frame(LEVELS[i % 5], condition=CONDITIONS[i % 5], seed=100 + i)

        # when the reader reads them
        reading = read_level(grey(made.frame), made.gauge)

        if reading is None:
            refused += 1
        else:
            errors.append(abs(reading.level_cm - made.level_cm))

    # then the mean error is under 5 cm, none is off by more than 15 cm, and at most one frame is refused
    assert refused <= 1
    assert np.mean(errors) < 5.0, errors
    assert max(errors) < 15.0, errors


def test_a_reading_follows_the_water_not_the_board() -> None:
    low = make_frame(700.0, seed=7)
    high = make_frame(1000.0, seed=8, view_seed=7)
    assert low.gauge == high.gauge  # one camera

    readings = [read_level(grey(m.frame), m.gauge) for m in (low, high)]

    assert readings[0] is not None
    assert abs(readings[0].level_cm - 700) < 10
    assert readings[1] is not None
    assert abs(readings[1].level_cm - 1000) < 10


def test_the_marks_may_be_clicked_from_the_bottom_up() -> None:
    made = make_frame(800.0, seed=3)
    bottom_up = Gauge(made.gauge.polygon, tuple(reversed(made.gauge.marks)), made.gauge.frame_size)

    reading = read_level(grey(made.frame), bottom_up)

    assert reading is not None
    assert abs(reading.level_cm - 800) < 10


@pytest.mark.parametrize("what", ["dark", "covered", "out_of_view", "submerged", "below_the_board"])
def test_a_board_that_cannot_be_read_is_refused(what: str) -> None:
    level = {"submerged": 1140.0, "below_the_board": 560.0}.get(what, 800.0)  # the board shows 600-1100 cm
    made = make_frame(level, seed=3)
    frame = grey(made.frame)
    if what == "dark":
        frame = (frame * 0.03).astype(np.uint8)
    elif what == "covered":
        frame = np.full_like(frame, 128)
    gauge = made.gauge
    if what == "out_of_view":
        # the camera turned: the drawn gauge now lies over open water at the frame's left edge
        gauge = Gauge(((0, 200), (40, 200), (40, 700), (0, 700)), ((20, 220, 1000.0), (20, 680, 700.0)), (1280, 720))

    assert read_level(frame, gauge) is None


def test_three_marks_fit_the_perspective_of_a_tilted_view() -> None:
    # given marks whose spacing shrinks towards the top (cm = (a t + b) / (c t + 1) with c != 0)
    a, b, c = 2.0, 600.0, 0.001
    ts = np.array([0.0, 150.0, 300.0])
    cms = (a * ts + b) / (c * ts + 1)
    gauge = Gauge(
        ((0, 0), (20, 0), (20, 320), (0, 320)),
        tuple((10.0, t, float(v)) for t, v in zip(ts, cms, strict=False)),
        (64, 400),
    )

    # then the fitted scale reproduces an unseen mark, which a straight line through the ends would miss
    fitted = scale(gauge)
    assert to_cm(fitted, np.array([75.0]))[0] == pytest.approx((a * 75 + b) / (c * 75 + 1), abs=0.01)
    linear = cms[0] + (cms[2] - cms[0]) * 75 / 300
    assert abs(linear - (a * 75 + b) / (c * 75 + 1)) > 5


@pytest.mark.parametrize(
    ("polygon", "marks", "size", "code"),
    [
        ([(0, 0), (10, 0), (10, 100)], [(5, 0, 900), (5, 100, 700)], (8, 200), "INVALID_FRAME"),
        ([(0, 0), (10, 0)], [(5, 0, 900), (5, 100, 700)], (64, 200), "INVALID_POLYGON"),
        ([(0, 0), (10, 0), (10, 300)], [(5, 0, 900), (5, 100, 700)], (64, 200), "OUT_OF_FRAME"),
        ([(0, 0), (10, 0), (10, 100)], [(5, 0, 900)], (64, 200), "INVALID_CALIBRATION"),
        ([(0, 0), (10, 0), (10, 100)], [(5, 0, 900), (5, 3, 700)], (64, 200), "INVALID_CALIBRATION"),
        ([(0, 0), (10, 0), (10, 100)], [(5, 0, 900), (5, 50, 700), (5, 100, 800)], (64, 200), "INVALID_CALIBRATION"),
        ([(0, 0), (10, 0), (10, 100)], [(5, 0, 900), (5, 100, 700)], (64, 200), None),
    ],
)
def test_a_gauge_is_checked_before_it_is_stored(
    polygon: list[tuple[float, float]], marks: list[tuple[float, float, float]], size: tuple[int, int], code: str | None
) -> None:
    assert gauge_problem(Gauge(tuple(polygon), tuple(marks), size)) == code
