"""Where a camera's archived video lives in object storage, and which of it a report's time window needs.

An archive is a run of MPEG-TS segments of ``segment_s`` seconds each (TS, because segments then join by byte
concatenation: see domain/adapters/clips.py), keyed as an NVR files them, by camera and UTC hour:
``{prefix}/YYYY/MM/DD/HH/YYYYmmddTHHMMSSZ.ts``, e.g. ``cctv/pintu-air-manggarai/2026/12/01/20/20261201T201530Z.ts``.
Every field is zero-padded, so S3's lexicographic order is time order within a camera: a listing of the hour
folders (``hour_prefixes``) comes back sorted, and ``start_after=segment_key(prefix, t)`` skips to a moment.

The segment that overlaps a window's start began up to ``segment_s`` earlier, possibly in the previous hour: list
from ``window_start - segment_s``. Keys name a start to the second, so every rule here is exact only to
``KEY_RESOLUTION_S``. All datetimes must be timezone-aware; naive ones raise ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

KEY_RESOLUTION_S = 1.0
# Starts rounded down to the second make a hole of up to a second between contiguous segments, and shrink the
# hole a missing segment leaves to just over segment_s - 1: it must stay longer than that second to be seen.
MIN_SEGMENT_S = 2 * KEY_RESOLUTION_S
SEGMENT_SUFFIX = ".ts"
SEGMENT_CONTENT_TYPE = "video/mp2t"

_NAME_FORMAT = "%Y%m%dT%H%M%SZ"
_HOUR_FORMAT = "%Y/%m/%d/%H"
_NAME = re.compile(r"\d{8}T\d{6}Z\.ts")
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Gap:
    """A stretch of a window that no segment covers."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone")
    return moment.astimezone(UTC)


def segment_name(start: datetime) -> str:
    """The segment's file name: its UTC start, to the second (rounded down)."""
    return as_utc(start).strftime(_NAME_FORMAT) + SEGMENT_SUFFIX


def segment_key(prefix: str, start: datetime) -> str:
    _check_prefix(prefix)
    return f"{prefix}/{as_utc(start).strftime(_HOUR_FORMAT)}/{segment_name(start)}"


def segment_start(key: str) -> datetime | None:
    """The start a segment key names, or None for any other key (a playlist, a misfiled or foreign object)."""
    prefix, _, name = key.rpartition("/")
    if not _NAME.fullmatch(name):
        return None
    try:
        start = datetime.strptime(name.removesuffix(SEGMENT_SUFFIX), _NAME_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # digits that are no date, e.g. month 13
        return None
    camera = prefix.removesuffix("/" + start.strftime(_HOUR_FORMAT))
    # Only the canonical layout counts: a segment in the wrong hour folder would be missed by hour listings.
    if camera == prefix or not _valid_prefix(camera):
        return None
    return start


def parse_segment_keys(keys: Iterable[str]) -> list[tuple[str, datetime]]:
    """(key, start) of the keys that are segments, in time order; other keys are left out."""
    parsed = ((key, segment_start(key)) for key in keys)
    return sorted(((key, start) for key, start in parsed if start is not None), key=lambda pair: pair[1])


def hour_prefixes(prefix: str, start: datetime, end: datetime) -> list[str]:
    """The hour folders (with a trailing slash) that [start, end) touches, in time order."""
    _check_prefix(prefix)
    start, end = _window(start, end)
    hour = start.replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour < end:
        prefixes.append(f"{prefix}/{hour.strftime(_HOUR_FORMAT)}/")
        hour += _HOUR
    return prefixes


def covering(
    keys_with_starts: Iterable[tuple[str, datetime]], window_start: datetime, window_end: datetime, segment_s: float
) -> list[str]:
    """The keys of the segments whose [start, start + segment_s) overlaps [window_start, window_end), in time order."""
    return [key for key, _ in _overlapping(keys_with_starts, window_start, window_end, segment_s)]


def gaps(
    keys_with_starts: Iterable[tuple[str, datetime]], window_start: datetime, window_end: datetime, segment_s: float
) -> list[Gap]:
    """The parts of [window_start, window_end) that no segment covers, in time order; empty when it is complete.

    Holes up to ``KEY_RESOLUTION_S`` long are not reported: rounding starts down to the second makes them
    between segments that really are contiguous.
    """
    window_start, window_end = _window(window_start, window_end)
    found = []
    covered_to = window_start
    for _, start in _overlapping(keys_with_starts, window_start, window_end, segment_s):
        if (start - covered_to).total_seconds() > KEY_RESOLUTION_S:
            found.append(Gap(covered_to, start))
        covered_to = max(covered_to, start + timedelta(seconds=segment_s))
    if (window_end - covered_to).total_seconds() > KEY_RESOLUTION_S:
        found.append(Gap(covered_to, window_end))
    return found


def clip_window(report_time: datetime, before_s: float, after_s: float) -> tuple[datetime, datetime]:
    """The UTC window of video evidence for a report: ``before_s`` before it to ``after_s`` after it."""
    if before_s < 0 or after_s < 0 or before_s + after_s == 0:
        raise ValueError("before_s and after_s must be non-negative and not both zero")
    moment = as_utc(report_time)
    return moment - timedelta(seconds=before_s), moment + timedelta(seconds=after_s)


def _overlapping(
    keys_with_starts: Iterable[tuple[str, datetime]], window_start: datetime, window_end: datetime, segment_s: float
) -> list[tuple[str, datetime]]:
    if segment_s < MIN_SEGMENT_S:
        raise ValueError(f"segment_s must be at least {MIN_SEGMENT_S} s")
    window_start, window_end = _window(window_start, window_end)
    length = timedelta(seconds=segment_s)
    segments = ((key, as_utc(start)) for key, start in keys_with_starts)
    overlapping = [(key, start) for key, start in segments if start < window_end and start + length > window_start]
    return sorted(overlapping, key=lambda pair: pair[1])


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise ValueError("the window must end after it starts")
    return start, end


def _valid_prefix(prefix: str) -> bool:
    return bool(prefix) and not prefix.startswith("/") and not prefix.endswith("/")


def _check_prefix(prefix: str) -> None:
    if not _valid_prefix(prefix):
        raise ValueError(f"prefix {prefix!r} must be non-empty, without a leading or trailing slash")
