"""Getting one camera's evidence: the clip from the archive or the live stream, its analysis, the stored files.

No database here: this takes seconds to minutes and must not hold a transaction (domain/cctv.py has the steps
before and after). OpenCV and PyAV run in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from domain import cctv_archive
from domain.adapters import clips, playable, video
from domain.adapters.storage import ObjectMissingError, ObjectStorage
from domain.cctv import Attempt, Gathered
from domain.models import CameraSource
from domain.settings import Settings

log = logging.getLogger(__name__)


class EvidenceFailure(Exception):
    """No usable clip this time; ``reason`` is the machine code stored on the evidence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def gather(storage: ObjectStorage, settings: Settings, attempt: Attempt, *, now: datetime) -> Gathered:
    """The clip (archive or stream), its analysis in a thread, clip, snapshot and a browser-playable copy of the
    clip stored. No database here: this takes seconds to minutes and must not hold a transaction.
    Raises EvidenceFailure."""
    with tempfile.TemporaryDirectory(prefix="jsc-cctv-") as folder:
        tmp = Path(folder)
        try:
            if attempt.source_kind == CameraSource.STREAM:
                clip, offsets, window, missing = await _record(settings, attempt, tmp, now=now)
            else:
                clip, offsets, window, missing = await _from_archive(storage, settings, attempt, tmp)
            analysis = await asyncio.to_thread(
                video.analyse_clip,
                clip,
                settings=video.AnalysisSettings(detect_fps=settings.cctv_detect_fps),
                start_s=offsets[0],
                end_s=offsets[1],
                no_stopping_zone=[(p[0], p[1]) for p in attempt.no_stopping_zone] if attempt.no_stopping_zone else None,
                detector_model=settings.cctv_detector_model,
                face_model=settings.cctv_face_model,
            )
        except (clips.ClipError, video.ClipUnreadable) as exc:
            raise EvidenceFailure(exc.reason) from exc
        base = f"cctv/evidence/{attempt.evidence_id}"
        await storage.write_file(f"{base}/clip.ts", clip, content_type="video/mp2t")
        await storage.write(f"{base}/snapshot.jpg", analysis.snapshot_jpeg, content_type="image/jpeg")
        playable_key = await _store_playable(storage, attempt.evidence_id, clip, tmp / "clip.mp4", f"{base}/clip.mp4")
    summary = analysis.summary.to_dict()
    summary.update(
        camera=attempt.camera_code, windowStart=window[0].isoformat(), windowEnd=window[1].isoformat(), missing=missing
    )
    return Gathered(
        f"{base}/clip.ts",
        f"{base}/snapshot.jpg",
        summary,
        analysis.summary.alert_inputs(),
        window[0],
        window[1],
        missing,
        playable_clip_key=playable_key,
    )


async def _store_playable(
    storage: ObjectStorage, evidence_id: uuid.UUID, clip: Path, out: Path, key: str
) -> str | None:
    """The H.264 copy browsers play, stored at ``key``; None when it cannot be made. The MPEG-TS clip is the
    evidence and is already stored: losing the copy must never lose it, whatever goes wrong in the transcoder."""
    try:
        made = await asyncio.to_thread(playable.to_playable, clip, out)
    except playable.TranscodeFailed as exc:
        log.warning("evidence %s: no playable copy of the clip (%s)", evidence_id, exc.reason, exc_info=exc.__cause__)
        return None
    except Exception:
        log.exception("evidence %s: no playable copy of the clip (unexpected failure)", evidence_id)
        return None
    await storage.write_file(key, made.path, content_type=playable.CONTENT_TYPE)
    return key


_Acquired = tuple[Path, tuple[float, float | None], tuple[datetime, datetime], list[str]]


async def _record(settings: Settings, attempt: Attempt, tmp: Path, *, now: datetime) -> _Acquired:
    recorded = await asyncio.to_thread(
        clips.record_stream,
        attempt.source,
        tmp / "clip.ts",
        seconds=settings.cctv_stream_record_s,
        open_timeout_s=settings.cctv_open_timeout_s,
        read_timeout_s=settings.cctv_read_timeout_s,
    )
    return recorded.path, (0.0, None), (now, now + timedelta(seconds=recorded.seconds)), []


async def _from_archive(storage: ObjectStorage, settings: Settings, attempt: Attempt, tmp: Path) -> _Acquired:
    start, end = attempt.window_start, attempt.window_end
    keys: list[str] = []
    # The segment already running when the window opens may sit in the previous hour's folder.
    earliest = start - timedelta(seconds=settings.cctv_segment_s)
    for prefix in cctv_archive.hour_prefixes(attempt.source, earliest, end):
        keys.extend(await storage.list_keys(prefix))
    starts = cctv_archive.parse_segment_keys(keys)
    chosen = cctv_archive.covering(starts, start, end, settings.cctv_segment_s)
    if not chosen:
        raise clips.ClipSourceUnavailable("no_segments")
    missing = [
        f"{gap.start.isoformat()}/{gap.end.isoformat()}"
        for gap in cctv_archive.gaps(starts, start, end, settings.cctv_segment_s)
    ]
    paths = []
    for n, key in enumerate(chosen):
        path = tmp / f"segment-{n:04d}.ts"
        try:
            await storage.read_file(key, path)
        except ObjectMissingError as exc:
            raise clips.ClipSourceUnavailable("missing_segment") from exc
        paths.append(path)
    clip = await asyncio.to_thread(clips.join_segments, paths, tmp / "clip.ts")
    first = dict(starts)[chosen[0]]
    offsets = (max((start - first).total_seconds(), 0.0), (end - first).total_seconds())
    return clip, offsets, (max(start, first), end), missing
