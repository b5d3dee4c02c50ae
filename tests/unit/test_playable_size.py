"""The size of the browser-playable copy of a CCTV clip: within 1280×720, the source's aspect, even sides."""

from __future__ import annotations

import pytest

from domain.adapters.playable import playable_size


@pytest.mark.parametrize(
    ("source", "copy"),
    [
        ((320, 240), (320, 240)),  # small enough: kept
        ((1920, 1080), (1280, 720)),  # 1080p down to 720p
        ((2560, 1440), (1280, 720)),
        ((704, 576), (704, 576)),  # 4CIF, a common NVR size, fits as it is
        ((1280, 960), (960, 720)),  # 4:3 bound by the height
        ((2688, 1520), (1272, 720)),  # a 4 MP camera, wider than 16:9 is not: bound by the height, width made even
        ((321, 241), (320, 240)),  # odd sides made even
        ((720, 1280), (404, 720)),  # a phone filmed upright: bound by the height, never stretched
        ((2, 2), (2, 2)),
    ],
)
def test_the_copy_fits_720p_keeps_the_aspect_and_has_even_sides(source: tuple[int, int], copy: tuple[int, int]) -> None:
    assert playable_size(*source) == copy


def test_a_picture_smaller_than_two_pixels_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        playable_size(1, 240)
