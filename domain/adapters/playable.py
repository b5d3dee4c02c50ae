"""A browser-playable copy of an evidence clip: H.264 in MP4 with the index first, through PyAV.

Evidence clips stay MPEG-TS as the archive gave them (often MPEG-4 Part 2, which Chromium does not play), and
this makes a copy a phone's browser can stream: libx264, yuv420p, even dimensions within 1280×720, no audio, and
``movflags=+faststart`` so the player reads the duration and starts after a small ranged request instead of
fetching the whole file. The preset and CRF are for a worker on a couple of shared cores: fast rather than small.

Timestamps are made from the frame count at the clip's frame rate: clips joined byte for byte from archive
segments may restart their timestamps at every segment, and a copy must not play them out of order.

Synchronous and blocking (one decoding and one encoding thread): run it in a worker thread, never on an event
loop. Only this package imports av.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import av

CONTENT_TYPE = "video/mp4"
MAX_WIDTH, MAX_HEIGHT = 1280, 720
MAX_FPS = 240
ENCODER: Final = "libx264"
PRESET = "veryfast"
CRF = 26
PIXEL_FORMAT = "yuv420p"


class TranscodeFailed(Exception):
    """No playable copy: ``reason`` is a stable machine code (no_video, no_frame_rate, no_frames, ffmpeg_error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PlayableClip:
    path: Path
    width: int
    height: int
    frames: int
    fps: Fraction

    @property
    def seconds(self) -> float:
        return float(self.frames / self.fps)


def playable_size(width: int, height: int) -> tuple[int, int]:
    """The copy's size: the source's aspect within MAX_WIDTH × MAX_HEIGHT, never enlarged, both sides even
    (yuv420p halves the chroma planes, and libx264 refuses odd sizes)."""
    if width < 2 or height < 2:
        raise ValueError("a picture needs at least 2×2 pixels")
    scale = min(1.0, MAX_WIDTH / width, MAX_HEIGHT / height)
    return _even(width * scale), _even(height * scale)


def to_playable(source: Path, out: Path) -> PlayableClip:
    """Transcodes the first video stream of ``source`` (any container FFmpeg reads) into an MP4 at ``out``.

    Raises TranscodeFailed and then leaves no ``out`` behind."""
    try:
        return _transcode(source, out)
    except TranscodeFailed:
        out.unlink(missing_ok=True)
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        # ValueError: PyAV's answer to an encoder this FFmpeg build lacks, or options it refuses.
        out.unlink(missing_ok=True)
        raise TranscodeFailed("ffmpeg_error") from exc
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def _transcode(source: Path, out: Path) -> PlayableClip:
    with av.open(str(source)) as reader:
        if not reader.streams.video:
            raise TranscodeFailed("no_video")
        stream = reader.streams.video[0]
        stream.codec_context.thread_count = 1
        fps = _frame_rate(stream)
        frames = reader.decode(stream)
        first = next(frames, None)
        if first is None:
            raise TranscodeFailed("no_frames")
        width, height = playable_size(first.width, first.height)
        with av.open(str(out), "w", format="mp4", container_options={"movflags": "+faststart"}) as writer:
            encoder = writer.add_stream(ENCODER, rate=fps, options={"preset": PRESET, "crf": str(CRF)})
            encoder.width, encoder.height, encoder.pix_fmt = width, height, PIXEL_FORMAT
            encoder.codec_context.time_base = 1 / fps
            encoder.codec_context.thread_count = 1
            count = 0
            for frame in itertools.chain([first], frames):
                # A camera can change resolution mid-clip: every frame is scaled to the copy's one size.
                picture = frame.reformat(width=width, height=height, format=PIXEL_FORMAT)
                picture.pts, picture.time_base = count, encoder.codec_context.time_base
                writer.mux(encoder.encode(picture))
                count += 1
            writer.mux(encoder.encode(None))
    return PlayableClip(out, width, height, count, fps)


def _frame_rate(stream: av.VideoStream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and 0 < rate <= MAX_FPS:
            return Fraction(rate).limit_denominator(1001)
    raise TranscodeFailed("no_frame_rate")


def _even(size: float) -> int:
    return max(2, math.floor(size / 2) * 2)
