"""One sample of a watched camera, without the database: the newest media, one keyframe decoded, what it shows,
and the detector when something moved. Blocking work (HTTP, decoding, OpenCV) runs in a thread.

What a sample reads, by source:
- a live HLS stream (an http(s) URL ending in .m3u8): the playlist (the lowest-bandwidth variant of a master
  playlist), then its last segment, whose last keyframe is decoded;
- an archive in object storage (domain/cctv_archive.py's layout): the newest segment key of the current hour
  (or the one before), and only its first ``archive_head_bytes`` with a ranged GET, which holds the first
  keyframe of an NVR's segment; the whole segment only when that part does not decode;
- any other stream URL (RTSP, an HTTP MPEG-TS or MJPEG feed): OpenCV opens it and reads one frame.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from domain import cctv_archive, cctv_river, cctv_watch, gauge_reading
from domain.adapters import watch
from domain.adapters.storage import ObjectMissingError, ObjectStorage
from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth
from domain.cctv_watch import HealthThresholds, Picture, Sample, Target, picture_health, should_detect
from domain.jobs import JobBuffer, JobRequest
from domain.models import CameraSource
from domain.resources import Resources
from domain.settings import Settings

Defer = Callable[[AsyncSession, list[JobRequest]], Awaitable[int]]

MAX_MEDIA_NAME = 1000
_BANDWIDTH = re.compile(r"BANDWIDTH=(\d+)")


@dataclass(frozen=True)
class SampleSettings:
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    archive_head_bytes: int = 512 * 1024
    min_motion: float = 0.002  # share of the small picture's pixels that must change for detection to run
    detector_model: Path = watch.video.DEFAULT_DETECTOR_MODEL
    face_model: Path = watch.video.DEFAULT_FACE_MODEL
    look: watch.LookSettings = field(default_factory=watch.LookSettings)


@dataclass(frozen=True)
class Media:
    name: str  # the segment's key or URI, or the stream URL for a one-frame read
    at: datetime | None  # its own time when it says (EXT-X-PROGRAM-DATE-TIME, the archive key)


def newest_segment(playlist: str, base_url: str) -> tuple[str, datetime | None] | tuple[None, str]:
    """The absolute URI of a media playlist's last segment and its program date-time if given; or, for a master
    playlist, (None, the URI of its lowest-bandwidth variant). Raises ValueError for what is no playlist."""
    lines = [line.strip() for line in playlist.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise ValueError("not an m3u8 playlist")
    variants: list[tuple[int, str]] = []
    segment, dated, pending_date, bandwidth = None, None, None, None
    for line in lines[1:]:
        if line.startswith("#EXT-X-STREAM-INF"):
            found = _BANDWIDTH.search(line)
            bandwidth = int(found.group(1)) if found else 0
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pending_date = _parse_date(line.partition(":")[2])
        elif not line.startswith("#"):
            if bandwidth is not None:
                variants.append((bandwidth, urljoin(base_url, line)))
                bandwidth = None
            else:
                segment, dated, pending_date = urljoin(base_url, line), pending_date, None
    if variants:
        return None, min(variants)[1]
    if segment is None:
        raise ValueError("a playlist without segments")
    return segment, dated


def _parse_date(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def sample_settings(settings: Settings) -> SampleSettings:
    return SampleSettings(
        open_timeout_s=settings.cctv_watch_timeout_s,
        read_timeout_s=settings.cctv_watch_timeout_s,
        min_motion=settings.cctv_watch_min_motion,
        detector_model=settings.cctv_detector_model,
        face_model=settings.cctv_face_model,
    )


def health_thresholds(settings: Settings) -> HealthThresholds:
    streaks = dict(cctv_watch.DEFAULT_STREAKS)
    streaks[CameraHealth.OFFLINE] = settings.cctv_watch_offline_samples
    return HealthThresholds(streaks=streaks)


async def sample_camera(res: Resources, *, camera_id: int, defer: Defer, lease: AsyncSession | None = None) -> str:
    """One sample of one camera, as the `cctv.watch_sample` job takes it: a read, the sample without the database,
    then the watch row and what the rules raise (``defer`` inserts the notification jobs with them). With
    ``lease`` (the session of the camera's lease, whose transaction ends with the job) the read and the writes run
    in it and are committed when the lease ends; without, each in a transaction of its own. Returns what happened,
    for the job's result."""
    async with _transaction(res, lease) as session:
        target = await cctv_watch.load_target(session, camera_id=camera_id)
    if target is None:
        return "gone"
    limits = health_thresholds(res.settings)
    sample = await take(res.storage, sample_settings(res.settings), limits, target, now=datetime.now(UTC))
    observation = sample.observation
    reference = await res.reference.get()
    jobs = JobBuffer()
    async with _transaction(res, lease) as session:
        await cctv_watch.record_sample(
            session,
            target=target,
            sample=sample,
            limits=limits,
            stale_after=timedelta(seconds=res.settings.cctv_watch_stale_s),
            now=datetime.now(UTC),
            jobs=jobs,
            storage=res.storage,
            settings=res.settings,
            reference=reference,
        )
        await defer(session, jobs.drain())
    if sample.error is not None:
        return sample.error
    if sample.unchanged:
        return "unchanged"
    return "detected" if observation is not None and observation.detected else "sampled"


@asynccontextmanager
async def _transaction(res: Resources, lease: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    if lease is None:
        async with res.unit_of_work() as session:
            yield session
    else:
        yield lease
        await lease.flush()  # committed with the lease's transaction


def media_name(uri: str) -> str:
    """What the watch row keeps of the segment read (camera_watch.last_media is at most 1000 characters): the URI,
    or its sha256 when a signed URL is longer."""
    return uri if len(uri) <= MAX_MEDIA_NAME else "sha256:" + hashlib.sha256(uri.encode()).hexdigest()


def is_hls(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and parts.path.endswith(".m3u8")


async def take(
    storage: ObjectStorage, settings: SampleSettings, limits: HealthThresholds, target: Target, *, now: datetime
) -> Sample:
    """One sample; never raises for what the camera sends (a failure is a Sample with its error)."""
    try:
        if target.source_kind == CameraSource.ARCHIVE:
            media, frame = await _from_archive(storage, settings, target, now=now)
        elif is_hls(target.source):
            media, frame = await asyncio.to_thread(_from_hls, settings, target)
        else:
            frame = await asyncio.to_thread(
                watch.read_stream_frame,
                target.source,
                open_timeout_s=settings.open_timeout_s,
                read_timeout_s=settings.read_timeout_s,
            )
            media = Media("frame", None)  # not the URL: it holds the camera's credentials
    except watch.MediaUnavailable as exc:
        return Sample(error=exc.reason)
    if frame is None:
        return Sample(media=media.name, unchanged=True)
    return await asyncio.to_thread(_analyse, settings, limits, target, media, frame, now)


def _from_hls(settings: SampleSettings, target: Target) -> tuple[Media, watch.MatLike | None]:
    url = target.source
    for _ in range(2):  # a master playlist, then its variant
        body = watch.fetch_url(url, timeout_s=settings.read_timeout_s, max_bytes=1024 * 1024)
        try:
            found = newest_segment(body.decode("utf-8", "replace"), url)
        except ValueError:
            raise watch.MediaUnavailable("corrupt_media") from None
        if found[0] is None:
            url = str(found[1])
            continue
        segment, at = found
        media = Media(media_name(segment), at if isinstance(at, datetime) else None)
        if media.name == target.last_media:
            return media, None
        data = watch.fetch_url(segment, timeout_s=settings.read_timeout_s)
        return media, watch.decode_keyframe(data, newest=True)
    raise watch.MediaUnavailable("corrupt_media")


async def _from_archive(
    storage: ObjectStorage, settings: SampleSettings, target: Target, *, now: datetime
) -> tuple[Media, watch.MatLike | None]:
    key = None
    for hour in (now, now - timedelta(hours=1)):
        prefix = cctv_archive.hour_prefixes(target.source, hour, hour + timedelta(seconds=1))[0]
        after = target.last_media if target.last_media and target.last_media.startswith(prefix) else None
        segments = cctv_archive.parse_segment_keys(await storage.list_keys(prefix, start_after=after))
        if segments:
            key = segments[-1][0]
            break
        if after is not None:  # nothing newer than the segment read last time
            return Media(after, target.last_media_at), None
    if key is None:
        raise watch.MediaUnavailable("not_found")
    media = Media(key, cctv_archive.segment_start(key))
    try:
        head, total = await storage.read_prefix(key, max_bytes=settings.archive_head_bytes)
        try:
            return media, await asyncio.to_thread(watch.decode_keyframe, head, newest=False)
        except watch.MediaUnavailable:
            if total <= len(head):
                raise
        whole = await storage.read(key)
    except ObjectMissingError:
        raise watch.MediaUnavailable("not_found") from None
    return media, await asyncio.to_thread(watch.decode_keyframe, whole, newest=False)


def _analyse(
    settings: SampleSettings,
    limits: HealthThresholds,
    target: Target,
    media: Media,
    frame: watch.MatLike,
    now: datetime,
) -> Sample:
    seen = watch.look(frame, previous=target.grey, reference=target.reference, settings=settings.look)
    picture = Picture(seen.luma, seen.texture, seen.difference, seen.correlation)
    health = picture_health(picture, limits)
    detected = health == CameraHealth.OK and should_detect(
        motion=seen.motion, first=target.first or target.grey is None, min_motion=settings.min_motion
    )
    objects: tuple[ObjectSeen, ...] = ()
    snapshot: Callable[[], bytes] | None = None
    level = None
    if target.gauge is not None and health == CameraHealth.OK:
        level = gauge_reading.read_level(watch.full_grey(frame), target.gauge)
    if detected:
        objects, snapshot = watch.detect(frame, detector_model=settings.detector_model, face_model=settings.face_model)
    elif health == CameraHealth.OK:
        # Nothing moved, yet an alert may still want this frame (a level read on a still gauge, garbage drifting
        # too slowly to count as motion): the same blurred snapshot, the detector run only if it is made.
        snapshot = watch.undetected_snapshot(
            frame, detector_model=settings.detector_model, face_model=settings.face_model
        )
    observation = Observation(
        camera_id=target.camera_id,
        taken_at=media.at or now,
        frame_size=(seen.width, seen.height),
        health=health,
        motion=seen.motion,
        detected=detected,
        objects=objects,
        snapshot=snapshot,
        colour=watch.small_colour(frame, cctv_river.WIDTH)
        if health == CameraHealth.OK and target.watches_water
        else None,
    )
    return Sample(
        media=media.name,
        media_at=media.at or now,
        grey=seen.grey_png,
        picture=picture,
        observation=observation,
        level=level,
    )
