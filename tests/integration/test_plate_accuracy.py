"""The plate reader on rendered Indonesian plates placed on the shared footage (tests/plates.py): at readable sizes
(100 px wide and more) it reads at least the figures docs/benchmarks.md reports, and it stores almost no wrong
plate. The full table by width, 40 to 160 px, is `make bench-plates`."""

from __future__ import annotations

import pytest

from domain.adapters.plates import PlateOcr
from tests.clips import FOOTAGE_DIR
from tests.plates import samples, score

pytestmark = pytest.mark.skipif(not FOOTAGE_DIR.is_dir(), reason="the shared footage is not here")

READABLE = (100, 120, 160)


def test_plates_100_px_and_wider_read_exactly_at_least_nine_times_in_ten() -> None:
    # given: 60 plates, 20 at each readable width, black on white and white on black, warped, blurred, noised, JPEG
    made = samples(60, seed=17, widths=READABLE)

    # when: each vehicle crop is read
    scores = score(PlateOcr(), made)

    # then
    plates = sum(s.plates for s in scores.values())
    exact = sum(s.exact for s in scores.values()) / plates
    characters = sum(s.characters for s in scores.values()) / sum(s.total_characters for s in scores.values())
    wrong_stored = sum(s.kept_wrong for s in scores.values())
    assert plates == 60
    assert exact >= 0.9, scores
    assert characters >= 0.95, scores
    assert wrong_stored <= 1, scores
