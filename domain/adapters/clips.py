"""Evidence video with OpenCV: an archive of MPEG-TS segments, clips joined from it, recordings of live streams.

MPEG-TS is what HLS and many NVRs keep video in, and it is made of self-contained 188-byte packets: segments
joined byte by byte play as one clip, so cutting evidence out of the archive never re-encodes. Importing a file
into segments and recording a stream do re-encode (MPEG-4 Part 2, the codec cv2.VideoWriter has here).

Every function is synchronous and blocking: run it in a worker thread, never on an event loop. Each asks OpenCV
for one thread. Only this package imports cv2; the key layout and the time arithmetic are in domain/cctv_archive.
"""

from __future__ import annotations

import itertools
import math
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import cv2
from cv2.typing import MatLike

from domain.cctv_archive import MIN_SEGMENT_S, SEGMENT_SUFFIX, as_utc, segment_name

TS_PACKET_BYTES = 188
TS_SYNC_BYTE = 0x47
MAX_FPS = 240.0
# A local file that takes this long to open or to give a frame behaves like a stalled stream (a hung network mount).
FILE_TIMEOUT_S = 10.0
STREAM_SCHEMES = frozenset({"http", "https", "rtsp", "rtsps"})
_FOURCC = "mp4v"


class ClipError(Exception):
    """A clip could not be made. ``reason`` is a stable machine code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClipSourceUnavailable(ClipError):
    """The video to make it from is missing, unreadable or not answering. ``reason`` is one of:

    not_found, empty_file (a local video); unsupported_url (not http(s) or rtsp(s)); no_answer (nothing within the
    open timeout); cannot_open (refused, or not video); no_frame_rate; no_frames (opened, but nothing decodes);
    stream_ended (it stopped or stalled for the read timeout before the recording was done);
    missing_segment, corrupt_segment (a segment to join is absent, not MPEG-TS, or the joined clip does not decode).
    The message is the reason alone: stream URLs often carry credentials.
    """


class ClipWriteFailed(ClipError):
    """cannot_write: this host cannot encode the output (a fault here, not in the source)."""


@dataclass(frozen=True)
class Segment:
    path: Path
    start: datetime
    end: datetime
    frames: int


@dataclass(frozen=True)
class RecordedClip:
    path: Path
    frames: int
    fps: float
    # Video time (frames / fps), which may be less than was asked for when the stream sends fewer frames than it claims.
    seconds: float


def write_segments(
    video: Path, out_dir: Path, *, start: datetime, segment_s: float = 10.0, fps: float | None = None
) -> list[Segment]:
    """Splits a local video (any format OpenCV reads) into MPEG-TS segments of ``segment_s`` seconds of video each.

    ``start`` is the wall-clock time of the video's first frame; segment times follow from the frame count at the
    video's frame rate, or at ``fps`` when the container's is missing or wrong. Each file is named
    ``segment_name(segment.start)``, so its archive key is ``segment_key(prefix, segment.start)``. The last segment
    holds what is left and may be shorter. Re-encodes. Raises ClipSourceUnavailable for an unreadable video.
    """
    start = as_utc(start)
    if segment_s < MIN_SEGMENT_S:
        raise ValueError(f"segment_s must be at least {MIN_SEGMENT_S} s: keys name starts to the second")
    if fps is not None and not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps must be in (0, {MAX_FPS}]")
    cv2.setNumThreads(1)
    _check_file(video)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _capture(str(video), open_timeout_s=FILE_TIMEOUT_S, read_timeout_s=FILE_TIMEOUT_S) as capture:
        rate = fps if fps is not None else _frame_rate(capture)
        per_segment = max(1, round(segment_s * rate))
        frames = _frames(capture)
        segments: list[Segment] = []
        written = 0
        while (first := next(frames, None)) is not None:
            # From the frame count, not by adding up segment lengths, so rounding never accumulates.
            seg_start = start + timedelta(seconds=written / rate)
            path = out_dir / segment_name(seg_start)
            count = _write_ts(path, first, itertools.islice(frames, per_segment - 1), rate)
            written += count
            segments.append(Segment(path, seg_start, start + timedelta(seconds=written / rate), count))
    if not segments:
        raise ClipSourceUnavailable("no_frames")
    return segments


def join_segments(paths: Sequence[Path], out: Path) -> Path:
    """Concatenates MPEG-TS segments into one clip at ``out`` without re-encoding, and checks that it decodes.

    Raises ClipSourceUnavailable (missing_segment, corrupt_segment) and then leaves no ``out`` behind.
    """
    if not paths:
        raise ValueError("nothing to join")
    if out.resolve() in {path.resolve() for path in paths}:
        raise ValueError("the output would overwrite a segment")
    cv2.setNumThreads(1)
    for path in paths:
        _check_ts(path)
    try:
        with out.open("wb") as sink:
            for path in paths:
                with path.open("rb") as source:
                    shutil.copyfileobj(source, sink)
        _check_decodes(out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def record_stream(
    url: str,
    out: Path,
    *,
    seconds: float,
    open_timeout_s: float = 10,
    read_timeout_s: float = 10,
    max_fps: float = 30,
) -> RecordedClip:
    """Records ``seconds`` of a live stream (HLS .m3u8, RTSP, or HTTP video) from now into MPEG-TS at ``out``.

    This re-encodes the decoded frames (MPEG-4 Part 2), whatever the stream's codec: it costs CPU and some quality,
    and it is what lets frames above ``max_fps`` be dropped (evenly). It stops at ``seconds`` of video or of wall
    time, whichever comes first (a VOD playlist decodes faster than real time; a live HLS stream starts a few
    segments back, so its first seconds arrive in a burst).

    It never hangs: opening gives up after ``open_timeout_s``, every read after ``read_timeout_s``, and no read
    starts later than ``open_timeout_s + read_timeout_s + seconds`` after the call. Raises ClipSourceUnavailable
    (unsupported_url, no_answer, cannot_open, no_frame_rate, no_frames, stream_ended) and then leaves no ``out``.
    """
    if seconds <= 0 or max_fps <= 0 or open_timeout_s <= 0 or read_timeout_s <= 0:
        raise ValueError("seconds, max_fps and the timeouts must be positive")
    if out.suffix != SEGMENT_SUFFIX:
        raise ValueError(f"out must end in {SEGMENT_SUFFIX}: the writer picks the container from it")
    if urlsplit(url).scheme.lower() not in STREAM_SCHEMES:
        raise ClipSourceUnavailable("unsupported_url")
    cv2.setNumThreads(1)
    deadline = time.monotonic() + open_timeout_s + read_timeout_s + seconds
    with _capture(url, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s) as capture:
        stream_fps = _frame_rate(capture)
        fps = min(stream_fps, max_fps)
        frames = _live_frames(
            capture, stream_fps, fps, seconds=seconds, read_timeout_s=read_timeout_s, deadline=deadline
        )
        try:
            first = next(frames, None)
            if first is None:
                raise ClipSourceUnavailable("no_frames")
            count = _write_ts(out, first, frames, fps)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return RecordedClip(out, count, fps, count / fps)


# --- reading -------------------------------------------------------------------------------------------------


@contextmanager
def _capture(source: str, *, open_timeout_s: float, read_timeout_s: float) -> Iterator[cv2.VideoCapture]:
    """An FFmpeg capture whose open and every grab give up after their timeouts (FFmpeg's interrupt callback)."""
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        math.ceil(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        math.ceil(read_timeout_s * 1000),
    ]
    began = time.monotonic()
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    try:
        if not capture.isOpened():
            # Only the interrupt callback fails an open this late; a refusal or a bad answer fails at once.
            silent = time.monotonic() - began >= open_timeout_s
            raise ClipSourceUnavailable("no_answer" if silent else "cannot_open")
        yield capture
    finally:
        capture.release()


def _frame_rate(capture: cv2.VideoCapture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not math.isfinite(fps) or not 0 < fps <= MAX_FPS:
        raise ClipSourceUnavailable("no_frame_rate")
    return float(fps)


def _frames(capture: cv2.VideoCapture) -> Iterator[MatLike]:
    # A read error ends a file like its end does: exports are often cut off at the tail.
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def _live_frames(
    capture: cv2.VideoCapture,
    stream_fps: float,
    fps: float,
    *,
    seconds: float,
    read_timeout_s: float,
    deadline: float,
) -> Iterator[MatLike]:
    """Frames kept at ``fps`` out of a stream at ``stream_fps``, until ``seconds`` of video or of wall time."""
    keep_share = fps / stream_fps
    grabbed = kept = 0
    until = deadline
    while grabbed < seconds * stream_fps and time.monotonic() < until:
        asked = time.monotonic()
        ok = capture.grab()
        # After a read timeout the decoder still hands out the frames it holds, one timeout apart: a grab that took
        # that long means the stream has stalled, even when it returns a frame.
        if not ok or time.monotonic() - asked >= read_timeout_s:
            raise ClipSourceUnavailable("stream_ended" if grabbed else "no_frames")
        if not grabbed:
            until = min(time.monotonic() + seconds, deadline)
        if kept <= grabbed * keep_share:
            ok, frame = capture.retrieve()
            if ok:
                kept += 1
                yield frame
        grabbed += 1


def _check_file(video: Path) -> None:
    if not video.is_file():
        raise ClipSourceUnavailable("not_found")
    if video.stat().st_size == 0:
        raise ClipSourceUnavailable("empty_file")


def _check_ts(path: Path) -> None:
    """Catches what a byte join would otherwise hide: the demuxer skips a bad part, and the clip plays shorter."""
    if not path.is_file():
        raise ClipSourceUnavailable("missing_segment")
    size = path.stat().st_size
    with path.open("rb") as source:
        first = source.read(1)
    # A download or a recording cut short ends in a partial packet.
    if size == 0 or size % TS_PACKET_BYTES or first[0] != TS_SYNC_BYTE:
        raise ClipSourceUnavailable("corrupt_segment")


def _check_decodes(path: Path) -> None:
    try:
        with _capture(str(path), open_timeout_s=FILE_TIMEOUT_S, read_timeout_s=FILE_TIMEOUT_S) as capture:
            decodes = capture.grab()
    except ClipSourceUnavailable as exc:
        raise ClipSourceUnavailable("corrupt_segment") from exc
    if not decodes:
        raise ClipSourceUnavailable("corrupt_segment")


# --- writing -------------------------------------------------------------------------------------------------


def _write_ts(path: Path, first: MatLike, rest: Iterable[MatLike], fps: float) -> int:
    """Encodes ``first`` and then ``rest`` into an MPEG-TS file; returns the number of frames written."""
    height, width = first.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*_FOURCC), fps, (width, height))
    if not writer.isOpened():
        raise ClipWriteFailed("cannot_write")
    count = 0
    try:
        for frame in itertools.chain([first], rest):
            # The writer silently drops frames of another size, and a camera can change resolution mid-stream.
            writer.write(frame if frame.shape[:2] == (height, width) else cv2.resize(frame, (width, height)))
            count += 1
    finally:
        writer.release()
    return count
