"""One sample of a watched camera: the newest media's bytes in, a decoded keyframe, what it shows, and (when
something moved) what the detector finds, with a snapshot whose faces and heads are pixelated.

Decoding costs one frame decode for a 2-10 s segment: the keyframe wanted (the last, or the first of an archive
segment's head) is found in the MPEG-TS packets directly (domain/adapters/ts_keyframe.py) and decoded alone.
Where that cannot tell (another container, a keyframe not flagged, one that does not decode alone), PyAV with
``skip_frame="NONKEY"`` decodes every keyframe; a segment whose keyframes are missing (a cut-off part, an encoder
that sends one keyframe a minute) falls back to decoding its frames until the first one comes out.
Every function is synchronous and CPU- or network-bound: run it in a thread, never on an event loop. Each asks
FFmpeg and OpenCV for one thread, so one sample uses one core.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import urllib3
from cv2.typing import MatLike

from domain.adapters import ts_keyframe, video
from domain.cctv_observation import ObjectSeen
from domain.cctv_river import ColourFrame

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # a 10 s segment of 1080p at 8 Mbit/s is 10 MB


class MediaUnavailable(Exception):
    """No picture this time. ``reason`` is a stable machine code: no_answer (the source did not answer in time),
    http_<status>, not_found, empty_media, too_large, corrupt_media (bytes that do not decode), no_video,
    cannot_open (a stream OpenCV cannot open), no_frames. The message is the reason alone: URLs hold secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LookSettings:
    """Thresholds of one sample's look. Health thresholds are those of the clip analysis (video.AnalysisSettings),
    on a small grey picture ``grey_width`` wide."""

    grey_width: int = 160
    black_luma: float = 18.0
    covered_texture: float = 20.0
    # Keyframes of a live scene differ by sensor noise and encoding (mean absolute difference above 0.3 on the
    # small grey picture); a frozen encoder sends the same picture, which decodes to the same pixels.
    frozen_diff: float = 0.05
    motion_threshold: int = 25
    # Below this correlation of edge maps with the reference the camera looks elsewhere. Traffic passing over a
    # street keeps it above 0.6 in our generated scenes; a view turned by a tenth of its width drops it below 0.2.
    moved_correlation: float = 0.35


# One pool for the process, shared by the sampling threads: a camera's playlist and segment are asked for on the
# same kept-alive connection, sample after sample, instead of a TCP connection and urllib's opener each time (about
# a millisecond of CPU per request). Redirects are followed; nothing else is retried: a camera that does not answer
# is the sample's answer, and the next sample asks again.
_http = urllib3.PoolManager(
    num_pools=256,
    maxsize=4,
    retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=3, raise_on_redirect=True),
    headers={"User-Agent": "jsc-cctv-watch"},
)


def fetch_url(url: str, *, timeout_s: float, max_bytes: int = MAX_MEDIA_BYTES) -> bytes:
    """The body of an HTTP(S) GET; MediaUnavailable when it does not come, is not 200, or is too large."""
    try:
        response = _http.request(
            "GET", url, preload_content=False, timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s)
        )
    except urllib3.exceptions.HTTPError as exc:
        raise MediaUnavailable("no_answer") from exc
    except ValueError as exc:  # not an http(s) URL
        raise MediaUnavailable("no_answer") from exc
    try:
        if response.status != 200:
            raise MediaUnavailable(f"http_{response.status}")
        data = response.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise MediaUnavailable("too_large")
    except urllib3.exceptions.HTTPError as exc:
        response.close()
        raise MediaUnavailable("no_answer") from exc
    except MediaUnavailable:
        response.close()  # a connection with a body left unread is not reused
        raise
    response.release_conn()
    return data


def decode_keyframe(data: bytes, *, newest: bool) -> MatLike:
    """A BGR keyframe of the media in ``data`` (an MPEG-TS segment, or its first part): the last one when
    ``newest``, else the first. Raises MediaUnavailable (empty_media, corrupt_media, no_video, no_frames)."""
    if not data:
        raise MediaUnavailable("empty_media")
    frame = ts_keyframe.decode_keyframe(data, newest=newest)
    if frame is None:
        frame = _decode(data, keyframes_only=True, newest=newest)
    if frame is None:
        frame = _decode(data, keyframes_only=False, newest=False)
    if frame is None:
        raise MediaUnavailable("no_frames")
    return frame


def _decode(data: bytes, *, keyframes_only: bool, newest: bool) -> MatLike | None:
    found: av.VideoFrame | None = None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaUnavailable("no_video")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            if keyframes_only:
                stream.codec_context.skip_frame = "NONKEY"
            for frame in container.decode(stream):
                found = frame
                if not newest:
                    break
    except av.FFmpegError as exc:
        # The first part of a segment ends mid-packet, and a live segment may end badly: what decoded still counts.
        if found is None and not isinstance(exc, av.EOFError):
            raise MediaUnavailable("corrupt_media") from exc
    except (ValueError, IndexError) as exc:  # PyAV's own refusals of what is not a media file
        raise MediaUnavailable("corrupt_media") from exc
    return None if found is None else found.to_ndarray(format="bgr24")


def read_stream_frame(url: str, *, open_timeout_s: float, read_timeout_s: float) -> MatLike:
    """One frame of an RTSP (or other FFmpeg-readable) live stream: opened, one frame read, closed. Raises
    MediaUnavailable (no_answer, cannot_open, no_frames)."""
    cv2.setNumThreads(1)
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        math.ceil(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        math.ceil(read_timeout_s * 1000),
    ]
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    try:
        if not capture.isOpened():
            raise MediaUnavailable("cannot_open")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise MediaUnavailable("no_frames")
        return frame
    finally:
        capture.release()


# --- what the frame shows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """The numbers health and motion are decided from, and the small grey picture the next sample compares with."""

    width: int
    height: int
    grey_png: bytes
    luma: float  # mean grey level, 0..255
    texture: float  # variance of the Laplacian
    difference: float | None  # mean absolute difference to the previous sample (None: none, or another size)
    motion: float  # share of pixels changed by more than the threshold since the previous sample (1.0: none)
    correlation: float | None  # of edge maps with the reference (None: no reference, or another size)


def small_grey(frame: MatLike, width: int) -> MatLike:
    height, full_width = frame.shape[:2]
    size = (width, max(1, round(height * width / full_width)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (3, 3), 0)


def small_colour(frame: MatLike, width: int) -> ColourFrame:
    """The frame shrunk to ``width`` pixels wide as raw RGB, what the river garbage rule looks at."""
    height, full_width = frame.shape[:2]
    size = (width, max(1, round(height * width / full_width)))
    small = cv2.cvtColor(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    return ColourFrame(size[0], size[1], small.tobytes())


def full_grey(frame: MatLike) -> npt.NDArray[np.uint8]:
    """The frame in grey at full size, for reading a gauge (domain/gauge_reading.py): its marks are a few pixels."""
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def encode_grey(grey: MatLike) -> bytes:
    ok, data = cv2.imencode(".png", grey)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def decode_grey(data: bytes | None) -> MatLike | None:
    if not data:
        return None
    grey = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return grey if grey is not None and grey.size else None


def _edges(grey: MatLike) -> MatLike:
    # Blurred edges: small shakes and re-encoding move an edge by a pixel or two, which must not count.
    edges = cv2.Canny(grey, 50, 150)
    return cv2.GaussianBlur(edges.astype(np.float32), (0, 0), 2.0)


def edge_correlation(grey: MatLike, reference: MatLike) -> float:
    """Pearson correlation of the two pictures' blurred edge maps, -1..1 (0 when either has no edges)."""
    a, b = _edges(grey).ravel(), _edges(reference).ravel()
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / norm) if norm else 0.0


def look(frame: MatLike, *, previous: bytes | None, reference: bytes | None, settings: LookSettings) -> Look:
    """What the frame shows, against the previous sample's small grey picture and the camera's reference."""
    cv2.setNumThreads(1)
    grey = small_grey(frame, settings.grey_width)
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    before = decode_grey(previous)
    difference, motion = None, 1.0
    if before is not None and before.shape == grey.shape:
        diff = cv2.absdiff(grey, before)
        difference = float(cv2.mean(diff)[0])
        motion = cv2.countNonZero(cv2.threshold(diff, settings.motion_threshold, 255, cv2.THRESH_BINARY)[1]) / diff.size
    ref = decode_grey(reference)
    correlation = edge_correlation(grey, ref) if ref is not None and ref.shape == grey.shape else None
    height, width = frame.shape[:2]
    return Look(
        width=width,
        height=height,
        grey_png=encode_grey(grey),
        luma=float(cv2.mean(grey)[0]),
        texture=float(std[0][0]) ** 2,
        difference=difference,
        motion=motion,
        correlation=correlation,
    )


# --- detection and the snapshot ---------------------------------------------------------------------------------


class _Models(threading.local):
    """The detector and the face model, loaded once per thread (cv2.dnn nets keep per-call state)."""

    def __init__(self) -> None:
        self.loaded: tuple[Path, Path, video.ObjectDetector, video.FaceBlurrer] | None = None

    def get(self, detector_model: Path, face_model: Path) -> tuple[video.ObjectDetector, video.FaceBlurrer]:
        if self.loaded is None or self.loaded[:2] != (detector_model, face_model):
            settings = video.AnalysisSettings()
            self.loaded = (
                detector_model,
                face_model,
                video.ObjectDetector(detector_model, settings),
                video.FaceBlurrer(face_model, settings),
            )
        return self.loaded[2], self.loaded[3]


_models = _Models()


def detect(
    frame: MatLike, *, detector_model: Path, face_model: Path
) -> tuple[tuple[ObjectSeen, ...], Callable[[], bytes]]:
    """YOLOX-Nano's people and vehicles in the frame, and how to make the snapshot when it is wanted: boxes drawn,
    faces (YuNet) and the head of every person pixelated, as the clip analysis makes it."""
    cv2.setNumThreads(1)
    detector, _ = _models.get(detector_model, face_model)
    detections = detector.detect(frame)
    seen = tuple(
        ObjectSeen(d.label, (d.box.x, d.box.y, d.box.w, d.box.h), round(float(d.score), 3)) for d in detections
    )
    return seen, lambda: _blurred_jpeg(frame, detections, detector_model, face_model)


def undetected_snapshot(frame: MatLike, *, detector_model: Path, face_model: Path) -> Callable[[], bytes]:
    """How to make the snapshot of a frame the detector did not run on (nothing moved, yet an alert wants the
    picture: a water level read on a still gauge). Heads are pixelated from the detector's person boxes, so the
    detector runs when the snapshot is made, then the blur is detect's: only an alert ever pays for either."""

    def snapshot() -> bytes:
        cv2.setNumThreads(1)
        detector, _ = _models.get(detector_model, face_model)
        return _blurred_jpeg(frame, detector.detect(frame), detector_model, face_model)

    return snapshot


def _blurred_jpeg(frame: MatLike, detections: list[video.Detection], detector_model: Path, face_model: Path) -> bytes:
    """The one way a watched frame leaves the worker: faces (YuNet) and the head of every person pixelated, the
    boxes drawn, as JPEG. The models are this thread's (the snapshot is made in another thread than detection)."""
    cv2.setNumThreads(1)
    _, faces = _models.get(detector_model, face_model)
    settings = video.AnalysisSettings()
    blurred, _ = faces.blur(frame)
    blurred = video.pixelate_heads(blurred, detections, settings)
    return video.snapshot_jpeg(blurred, detections, settings.jpeg_quality)
