"""The MPEG-TS keyframe fast path gives the very picture PyAV's demuxer gives, and steps aside when unsure."""

from __future__ import annotations

import numpy as np
import pytest

from domain.adapters import ts_keyframe, watch
from tests import clips

PACKET = ts_keyframe.PACKET


def _scene(n: int) -> clips.Frame:
    frame = clips.textured_background(320, 192, seed=1)
    frame[60:120, 10 + 9 * n : 60 + 9 * n] = (30, 200, 240)  # a box that moves: every frame differs
    return frame


@pytest.fixture(scope="module")
def segment() -> bytes:
    return clips.ts_segment([_scene(n) for n in range(25)], keyframe_every=10)  # keyframes at 0, 10, 20


def _slow(data: bytes, *, newest: bool) -> np.ndarray:
    frame = watch._decode(data, keyframes_only=True, newest=newest)
    assert frame is not None
    return np.asarray(frame)


@pytest.mark.parametrize("newest", [True, False])
def test_the_keyframe_is_the_one_pyav_decodes(segment: bytes, newest: bool) -> None:
    fast = ts_keyframe.decode_keyframe(segment, newest=newest)
    assert fast is not None
    assert np.array_equal(fast, _slow(segment, newest=newest))


def test_the_last_keyframe_is_not_the_first(segment: bytes) -> None:
    first, last = (ts_keyframe.decode_keyframe(segment, newest=n) for n in (False, True))
    assert first is not None
    assert last is not None
    assert float(np.abs(first.astype(int) - last.astype(int)).mean()) > 1.0


def _random_access_cleared(data: bytes) -> bytes:
    out = bytearray(data)
    for start in range(0, len(out) - PACKET + 1, PACKET):
        if out[start + 3] & 0x20 and out[start + 4] > 0:
            out[start + 5] &= ~0x40 & 0xFF
    return bytes(out)


def test_what_it_cannot_tell_is_left_to_pyav(segment: bytes) -> None:
    unflagged = _random_access_cleared(segment)
    assert ts_keyframe.keyframe_unit(unflagged, newest=True) is None
    # The sample still gets its picture, the slow way.
    assert np.array_equal(watch.decode_keyframe(unflagged, newest=True), _slow(segment, newest=True))
    assert ts_keyframe.keyframe_unit(segment[1:], newest=True) is None  # not aligned on a packet
    assert ts_keyframe.keyframe_unit(b"\x47" + bytes(4000), newest=True) is None  # no tables
    garbage = np.random.default_rng(5).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    assert ts_keyframe.decode_keyframe(garbage, newest=True) is None


def test_a_head_that_cuts_the_first_keyframe_gives_nothing_rather_than_half_a_picture(segment: bytes) -> None:
    unit = ts_keyframe.keyframe_unit(segment, newest=False)
    assert unit is not None
    cut = segment[: (len(unit) // 2 // PACKET) * PACKET]
    assert ts_keyframe.keyframe_unit(cut, newest=False) is None
