"""CCTV clip analysis with OpenCV: camera health, motion, congestion, objects, stopped vehicles, a safe snapshot.

``analyse_clip(path)`` decodes a clip file and returns a JSON-ready summary and a JPEG snapshot in which every face
the detector finds is pixelated. It is synchronous and CPU-bound: run it in a worker process or thread, never on an
event loop. It asks OpenCV for one thread, so one worker process uses one core and the pool size is the core budget.

Every frame is decoded: the health and motion statistics are cheap and need consecutive frames. The expensive
stages run on samples in clip time: optical flow at ``flow_fps``, object detection at ``detect_fps``, faces once.

Only this module imports cv2.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from cv2.typing import MatLike

from domain.cctv_rules import AlertInputs, CameraHealth, StoppedVehicle, camera_health, point_in_polygon

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_DETECTOR_MODEL = MODELS_DIR / "yolox_nano_coco.onnx"
DEFAULT_FACE_MODEL = MODELS_DIR / "face_detection_yunet_2026may.onnx"

# COCO class ids (YOLOX's output columns after the five box and objectness columns) of what we count.
COUNTED_CLASSES: dict[int, str] = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
COUNTED_LABELS = tuple(COUNTED_CLASSES.values())
VEHICLE_LABELS = frozenset({"car", "motorcycle", "bus", "truck"})
# Non-maximum suppression runs per group. Vehicles share one, so a car also scored as a truck is one vehicle;
# people and bicycles have their own, so the rider on a motorcycle or a bicycle is not suppressed by it.
NMS_GROUPS = {"person": 0, "bicycle": 1, "car": 2, "motorcycle": 2, "bus": 2, "truck": 2}
MAX_DETECT_FPS = 2.0

YOLOX_STRIDES = (8, 16, 32)
YOLOX_PAD_VALUE = 114  # the grey YOLOX was trained with in its letterbox borders
MAX_OPEN_OR_READ_MS = 10_000  # a worker must never hang on a file that behaves like a stalled stream
MAX_FPS = 240.0

Polygon = Sequence[tuple[float, float]]


class ClipUnreadable(Exception):
    """The file is not a clip we can analyse. ``reason`` is a stable machine code.

    not_found, empty_file, cannot_open (not a video, or its index is missing, e.g. an mp4 cut short),
    no_frame_rate, no_frames (opened, but nothing decodes in the requested window).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AnalysisSettings:
    """Thresholds of the analysis. Sizes are in pixels of the small grey frame ``motion_height`` high."""

    motion_height: int = 100
    # How long the background remembers: a vehicle that stops stays "moving" for about this long times
    # ln(contrast / motion_threshold), then becomes background. Frigate's 0.01 per frame at 5 fps is 20 s.
    background_tau_s: float = 5.0
    background_warmup_s: float = 2.0
    motion_threshold: int = 25
    motion_min_area_px: int = 12
    # More of the frame changing at once is a light change (clouds, IR switch, auto exposure), not motion.
    motion_relearn_share: float = 0.75
    flow_fps: float = 5.0
    # In frame heights per second: a blob with less than ``blob_moving_share`` of its pixels faster than this is
    # standing or crawling.
    slow_speed: float = 0.02
    blob_moving_share: float = 0.2
    # Detection costs the same per sample whatever the clip, while decoding a 480x360 10 fps clip takes only 8 ms
    # per second of video. These defaults keep the analysis within 3x the decode time even there. From 720p up,
    # decoding costs enough that detect_fps 2 and the model's own 416 fit the same budget.
    detect_fps: float = 0.5
    detect_long_side: int = 320
    detect_score: float = 0.35
    detect_nms_iou: float = 0.45
    stationary_iou: float = 0.6
    stationary_min_s: float = 10.0
    # A vehicle the detector misses for this long is gone; YOLOX-Nano drops boxes now and then.
    track_grace_s: float = 3.0
    # Health, on the small grey frame: mean grey level (0..255) below which a frame is black; variance of its
    # Laplacian below which it has no texture (street scenes measure 80 to 300); mean absolute difference to
    # the previous frame below which it is unchanged (a live still scene's sensor noise stays above 0.1).
    # A symptom must hold for ``health_share`` of the frames.
    black_luma: float = 18.0
    covered_texture: float = 20.0
    frozen_diff: float = 0.05
    health_share: float = 0.8
    # Low on purpose: a false face costs a blurred patch, a missed one a published face.
    face_score: float = 0.6
    face_margin: float = 0.25
    face_cells: int = 5
    # The top of each person box pixelated as well (0 turns it off): a face YuNet did not find stays hidden.
    head_share: float = 0.25
    jpeg_quality: int = 85

    def __post_init__(self) -> None:
        if not 0 < self.detect_fps <= MAX_DETECT_FPS:
            raise ValueError(f"detect_fps must be in (0, {MAX_DETECT_FPS}]")
        if self.flow_fps <= 0:
            raise ValueError("flow_fps must be positive")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in full-frame pixels: top-left corner, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def grown(self, margin: float, width: int, height: int) -> Box:
        """This box with ``margin`` of its size added on every side, clipped to the frame."""
        dx, dy = round(self.w * margin), round(self.h * margin)
        x1, y1 = max(0, self.x - dx), max(0, self.y - dy)
        x2, y2 = min(width, self.x + self.w + dx), min(height, self.y + self.h + dy)
        return Box(x1, y1, max(0, x2 - x1), max(0, y2 - y1))


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: Box


@dataclass(frozen=True)
class MotionSample:
    t: float
    boxes: list[Box]


@dataclass(frozen=True)
class ClassStats:
    max: int
    mean: float


@dataclass(frozen=True)
class StationaryVehicle:
    label: str
    box: Box
    first_seen_s: float
    seconds: float
    # None when no no-stopping zone was given.
    in_no_stopping_zone: bool | None


@dataclass(frozen=True)
class StageTimings:
    """Wall-clock seconds per stage; ``decode`` includes grabbing the frames before the window."""

    decode: float
    motion: float
    flow: float
    detect: float
    faces: float
    encode: float

    @property
    def total(self) -> float:
        return self.decode + self.motion + self.flow + self.detect + self.faces + self.encode


@dataclass(frozen=True)
class ClipSummary:
    """What a clip shows, independent of which camera it came from. Times are seconds from the clip's start.

    ``congestion_index``: of the image area that was moving (against the running background) at the flow
    samples, the share whose motion was slower than ``slow_speed``. 0 means everything that moves flows freely,
    or nothing moves at all (an empty road); 1 means everything that is there stands or crawls. Vehicles that
    stand still for longer than the background remembers drop out of it: ``stationary_vehicles`` covers those.
    Detection runs at each ``detect_fps`` sample where something moved since the previous one, and always on the
    first; counts are per frame where it ran (``frames_detected``), and the ``mean`` is over those frames.
    """

    frames_decoded: int
    fps: float
    duration_s: float
    window_start_s: float
    window_end_s: float
    width: int
    height: int
    health: CameraHealth
    motion_ratio: float
    congestion_index: float
    frames_detected: int
    objects: dict[str, ClassStats]
    person_counts: list[tuple[float, int]]
    stationary_vehicles: list[StationaryVehicle]
    faces_blurred: int
    snapshot_s: float
    timings: StageTimings

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timings"]["total"] = self.timings.total
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def alert_inputs(self) -> AlertInputs:
        return AlertInputs(
            max_persons=self.objects["person"].max,
            congestion_index=self.congestion_index,
            stopped_vehicles=[
                StoppedVehicle(v.label, v.seconds, bool(v.in_no_stopping_zone)) for v in self.stationary_vehicles
            ],
        )


@dataclass(frozen=True)
class ClipAnalysis:
    summary: ClipSummary
    snapshot_jpeg: bytes
    # Motion boxes at each detection sample, for overlays and checks; not part of the published summary.
    motion: list[MotionSample]


# --- reading -------------------------------------------------------------------------------------------


class _Stopwatch:
    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def timings(self) -> StageTimings:
        s = self.seconds
        return StageTimings(s["decode"], s["motion"], s["flow"], s["detect"], s["faces"], s["encode"])


@contextmanager
def open_clip(path: Path | str) -> Iterator[cv2.VideoCapture]:
    """A capture on the file, released on exit; raises ClipUnreadable before it ever decodes."""
    file = Path(path)
    if not file.is_file():
        raise ClipUnreadable("not_found")
    if file.stat().st_size == 0:
        raise ClipUnreadable("empty_file")
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, MAX_OPEN_OR_READ_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, MAX_OPEN_OR_READ_MS]
    capture = cv2.VideoCapture(str(file), cv2.CAP_FFMPEG, params)
    try:
        if not capture.isOpened():
            raise ClipUnreadable("cannot_open")
        yield capture
    finally:
        capture.release()


def frame_rate(capture: cv2.VideoCapture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not math.isfinite(fps) or not 0 < fps <= MAX_FPS:
        raise ClipUnreadable("no_frame_rate")
    return float(fps)


class _FrameReader:
    """(t, BGR frame) for every frame in the window. Frames before it are grabbed but never converted.

    Time comes from the frame index: container timestamps are often missing or wrong in CCTV exports.
    A read error ends the clip like its end does, since a cut-off tail is common in exported footage.
    """

    def __init__(self, capture: cv2.VideoCapture, fps: float, clock: _Stopwatch) -> None:
        self._capture = capture
        self.fps = fps
        self._clock = clock
        self.grabbed = 0
        self.reached_end = False

    def frames(self, start_s: float, end_s: float | None) -> Iterator[tuple[float, MatLike]]:
        while end_s is None or self.grabbed / self.fps <= end_s:
            t = self.grabbed / self.fps
            with self._clock.stage("decode"):
                if not self._capture.grab():
                    self.reached_end = True
                    return
                frame = self._capture.retrieve()[1] if t >= start_s else None
            self.grabbed += 1
            if frame is not None:
                yield t, frame

    def duration_s(self) -> float:
        """The clip's length: counted when read to the end, else the container's claim if it is longer."""
        if self.reached_end:
            return self.grabbed / self.fps
        return max(self.grabbed, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))) / self.fps


# --- cheap per-frame stages ------------------------------------------------------------------------------


def _shrink(frame: MatLike, size: tuple[int, int]) -> MatLike:
    # Point sampling (INTER_LINEAR) costs 0.1 ms at 720p where INTER_AREA costs 4; the blur afterwards removes
    # most of the speckle it lets through, as Frigate's own blur does.
    small = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (3, 3), 0)


class HealthMeter:
    """Counts the frames that are black, textureless (a lens under a hand or a bag), or unchanged."""

    def __init__(self, settings: AnalysisSettings) -> None:
        self._settings = settings
        self._previous: MatLike | None = None
        self.frames = 0
        self._black = 0
        self._flat = 0
        self._unchanged = 0

    def add(self, grey: MatLike) -> None:
        s = self._settings
        self.frames += 1
        self._black += cv2.mean(grey)[0] < s.black_luma
        _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
        self._flat += float(std[0][0]) ** 2 < s.covered_texture
        if self._previous is not None:
            self._unchanged += cv2.mean(cv2.absdiff(grey, self._previous))[0] < s.frozen_diff
        self._previous = grey

    def health(self) -> CameraHealth:
        return camera_health(
            black_share=self._black / self.frames,
            covered_share=self._flat / self.frames,
            frozen_share=self._unchanged / max(1, self.frames - 1),
            most=self._settings.health_share,
        )


@dataclass(frozen=True)
class _Motion:
    mask: MatLike
    boxes: list[Box]  # in small-frame pixels


class MotionDetector:
    """Frigate's motion: the difference between a small grey frame and a running average of the previous ones."""

    def __init__(self, settings: AnalysisSettings, fps: float, background: MatLike) -> None:
        self._settings = settings
        # Per-frame weight that gives the background the same memory in seconds at any frame rate.
        self._alpha = 1.0 - math.exp(-1.0 / (fps * settings.background_tau_s))
        self._background = background.astype(np.float32)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def update(self, grey: MatLike) -> _Motion:
        diff = cv2.absdiff(grey, cv2.convertScaleAbs(self._background))
        _, mask = cv2.threshold(diff, self._settings.motion_threshold, 255, cv2.THRESH_BINARY)
        if cv2.countNonZero(mask) > self._settings.motion_relearn_share * mask.size:
            self._background = grey.astype(np.float32)
            return _Motion(np.zeros_like(grey), [])
        cv2.accumulateWeighted(grey, self._background, self._alpha)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = [Box(*cv2.boundingRect(c)) for c in contours if cv2.contourArea(c) >= self._settings.motion_min_area_px]
        return _Motion(mask, boxes)


def _median(greys: Sequence[MatLike]) -> MatLike:
    return np.median(np.stack(greys), axis=0).astype(np.uint8)


class CongestionMeter:
    """DIS optical flow on the small grey frames, read inside the motion blobs (see ClipSummary.congestion_index)."""

    def __init__(self, settings: AnalysisSettings, size: tuple[int, int]) -> None:
        self._settings = settings
        self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._flow = np.zeros((size[1], size[0], 2), np.float32)  # reused output buffer, not an initial guess
        self._previous: tuple[float, MatLike] | None = None
        self._slow_area = 0
        self._area = 0

    def add(self, t: float, grey: MatLike, motion: _Motion) -> None:
        if self._previous is not None and motion.boxes:
            previous_t, previous = self._previous
            flow = self._dis.calc(previous, grey, self._flow)
            # The threshold is in frame heights per second, so it holds at any resolution and sampling rate.
            step_px = self._settings.slow_speed * grey.shape[0] * (t - previous_t)
            fast = cv2.compare(cv2.magnitude(flow[..., 0], flow[..., 1]), step_px, cv2.CMP_GE)
            moving = cv2.bitwise_and(fast, motion.mask)
            for box in motion.boxes:
                self._add_blob(motion.mask, moving, box)
        self._previous = (t, grey)

    def _add_blob(self, mask: MatLike, moving: MatLike, box: Box) -> None:
        rows, cols = slice(box.y, box.y + box.h), slice(box.x, box.x + box.w)
        area = cv2.countNonZero(mask[rows, cols])
        self._area += area
        # A blob is slow unless a good share of it moves: the running background leaves a trail behind a moving
        # object that belongs to its blob but has no flow, and the object's uniform inside has little.
        if cv2.countNonZero(moving[rows, cols]) < self._settings.blob_moving_share * area:
            self._slow_area += area

    @property
    def index(self) -> float:
        return self._slow_area / self._area if self._area else 0.0


# --- detection ---------------------------------------------------------------------------------------------


def _any_input_size(model: Path) -> bytes:
    """The ONNX model with its input's height and width (and so its outputs' row count) left free: the export
    fixes them at 416x416, which onnxruntime enforces; the network itself is fully convolutional."""
    proto = onnx.load(str(model))
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.ClearField("shape")
    del proto.graph.value_info[:]  # the export's inferred shapes inside the graph, all at 416x416
    return proto.SerializeToString()


class ObjectDetector:
    """YOLOX-Nano (COCO) through onnxruntime, on one thread (the caller runs samples in parallel threads): 4.3 ms
    a 320x192 input on this machine's cores, where cv2.dnn takes 7.3 ms for the same output (within 1e-5). This
    export has no decode step: its raw grid output is decoded here.

    The input keeps the frame's aspect: the long side is ``detect_long_side`` and the short side is padded only
    up to a multiple of 32 (the largest stride), not to a square. YOLOX is fully convolutional, so objects come
    out the same as in the square letterbox while a 16:9 frame costs 40% less.
    """

    def __init__(self, model: Path, settings: AnalysisSettings) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            _any_input_size(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._settings = settings
        self._class_ids = np.array(list(COUNTED_CLASSES), dtype=np.intp)
        self._groups = np.array([NMS_GROUPS[label] for label in COUNTED_LABELS], dtype=np.intp)
        self._grids: dict[tuple[int, int], tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = {}

    def detect(self, frame: MatLike) -> list[Detection]:
        height, width = frame.shape[:2]
        scale = self._settings.detect_long_side / max(height, width)
        blob = self._letterbox(frame, scale)
        raw = np.asarray(self._session.run(None, {self._input: blob})[0])[0]
        return self._decode(raw, blob.shape[2:], scale, width, height)

    def _letterbox(self, frame: MatLike, scale: float) -> MatLike:
        height, width = frame.shape[:2]
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        stride = YOLOX_STRIDES[-1]
        padded = np.full((-(-new_h // stride) * stride, -(-new_w // stride) * stride, 3), YOLOX_PAD_VALUE, np.uint8)
        padded[:new_h, :new_w] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        # YOLOX takes BGR 0..255 as is: no scaling, no channel swap, no mean.
        return cv2.dnn.blobFromImage(padded)

    def _grid(self, shape: tuple[int, int]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Cell offsets and strides in the order of YOLOX's output rows: stride by stride, row-major cells."""
        if shape not in self._grids:
            cells, strides = [], []
            for stride in YOLOX_STRIDES:
                ys, xs = np.mgrid[0 : shape[0] // stride, 0 : shape[1] // stride]
                cells.append(np.stack((xs.ravel(), ys.ravel()), axis=1))
                strides.append(np.full((xs.size, 1), stride))
            self._grids[shape] = (
                np.concatenate(cells).astype(np.float32),
                np.concatenate(strides).astype(np.float32),
            )
        return self._grids[shape]

    def _decode(
        self, raw: npt.NDArray[np.float32], shape: tuple[int, int], scale: float, width: int, height: int
    ) -> list[Detection]:
        cells, strides = self._grid(shape)
        scores_by_class = raw[:, 4:5] * raw[:, 5 + self._class_ids]
        best = scores_by_class.argmax(axis=1)
        scores = scores_by_class[np.arange(len(best)), best]
        keep = scores >= self._settings.detect_score
        centres = (raw[keep, :2] + cells[keep]) * strides[keep] / scale
        sizes = np.exp(raw[keep, 2:4]) * strides[keep] / scale
        corners = centres - sizes / 2
        rects = [(float(x), float(y), float(w), float(h)) for (x, y), (w, h) in zip(corners, sizes, strict=True)]
        classes, kept_scores = best[keep], scores[keep]
        chosen = cv2.dnn.NMSBoxesBatched(
            rects,
            kept_scores.tolist(),
            self._groups[classes].tolist(),
            self._settings.detect_score,
            self._settings.detect_nms_iou,
        )
        return [self._detection(rects[i], int(classes[i]), float(kept_scores[i]), width, height) for i in chosen]

    def _detection(
        self, rect: tuple[float, float, float, float], class_index: int, score: float, width: int, height: int
    ) -> Detection:
        x, y, w, h = rect
        x1, y1 = max(0, round(x)), max(0, round(y))
        x2, y2 = min(width, round(x + w)), min(height, round(y + h))
        label = COUNTED_CLASSES[int(self._class_ids[class_index])]
        return Detection(label, score, Box(x1, y1, max(0, x2 - x1), max(0, y2 - y1)))


@dataclass
class _Track:
    anchor: Box
    first_t: float
    last_t: float
    labels: Counter[str] = field(default_factory=Counter)


class StationaryTracker:
    """Follows vehicle boxes that stay where they first appeared (IoU with that first box), across detections."""

    def __init__(self, settings: AnalysisSettings) -> None:
        self._settings = settings
        self._live: list[_Track] = []
        self._ended: list[_Track] = []

    def update(self, t: float, detections: Sequence[Detection]) -> None:
        unmatched = list(self._live)
        for detection in sorted(detections, key=lambda d: -d.score):
            if detection.label not in VEHICLE_LABELS:
                continue
            track = max(unmatched, key=lambda k: k.anchor.iou(detection.box), default=None)
            if track is not None and track.anchor.iou(detection.box) >= self._settings.stationary_iou:
                unmatched.remove(track)
                track.last_t = t
            else:
                track = _Track(detection.box, t, t)
                self._live.append(track)
            track.labels[detection.label] += 1
        gone = [k for k in self._live if t - k.last_t > self._settings.track_grace_s]
        self._live = [k for k in self._live if k not in gone]
        self._ended.extend(gone)

    def hold(self, t: float) -> None:
        """Nothing moved since the last detection, so every vehicle seen is still where it was."""
        for track in self._live:
            track.last_t = t

    def stationary(self, zone: Polygon | None) -> list[StationaryVehicle]:
        return [
            StationaryVehicle(
                label=k.labels.most_common(1)[0][0],
                box=k.anchor,
                first_seen_s=k.first_t,
                seconds=k.last_t - k.first_t,
                in_no_stopping_zone=None if zone is None else point_in_polygon(*k.anchor.centre, zone),
            )
            for k in self._ended + self._live
            if k.last_t - k.first_t >= self._settings.stationary_min_s
        ]


# --- faces and the snapshot ------------------------------------------------------------------------------------


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def detect_faces(detector: cv2.FaceDetectorYN, image: MatLike) -> list[Box]:
    height, width = image.shape[:2]
    detector.setInputSize((width, height))
    _, faces = detector.detect(image)
    if faces is None:
        return []
    return [Box(round(f[0]), round(f[1]), round(f[2]), round(f[3])) for f in faces]


def pixelate(image: MatLike, boxes: Sequence[Box], *, margin: float, cells: int) -> MatLike:
    """A copy of the image with each box (grown by ``margin``) reduced to at most ``cells`` blocks across.

    A few blocks per face are coarser than any facial feature, and unlike a blur of fixed size the blocks
    scale with the face, so a large face is as unrecognisable as a small one.
    """
    out = image.copy()
    height, width = image.shape[:2]
    for box in boxes:
        region = box.grown(margin, width, height)
        if region.area == 0:
            continue
        roi = out[region.y : region.y + region.h, region.x : region.x + region.w]
        step = max(region.w, region.h) / cells
        cells_across = (max(1, round(region.w / step)), max(1, round(region.h / step)))
        small = cv2.resize(roi, cells_across, interpolation=cv2.INTER_AREA)
        roi[:] = cv2.resize(small, (region.w, region.h), interpolation=cv2.INTER_NEAREST)
    return out


def head_boxes(detections: Sequence[Detection], share: float) -> list[Box]:
    """The top ``share`` of every person's box, where the head is when someone stands or walks."""
    return [Box(d.box.x, d.box.y, d.box.w, max(1, round(d.box.h * share))) for d in detections if d.label == "person"]


def pixelate_heads(image: MatLike, detections: Sequence[Detection], settings: AnalysisSettings) -> MatLike:
    """YuNet misses small, distant or turned faces on CCTV frames: the head of every detected person is pixelated
    too, so a published snapshot shows no face that either detector saw a person for."""
    if settings.head_share <= 0:
        return image
    return pixelate(image, head_boxes(detections, settings.head_share), margin=0.1, cells=settings.face_cells)


class FaceBlurrer:
    """YuNet (cv2.FaceDetectorYN); one per thread, since the detector keeps per-call state."""

    def __init__(self, model: Path = DEFAULT_FACE_MODEL, settings: AnalysisSettings | None = None) -> None:
        self._settings = settings or AnalysisSettings()
        with _quiet_opencv():  # it warns, on every creation, that the new DNN engine ignores the target it sets
            self._detector = cv2.FaceDetectorYN.create(str(model), "", (320, 320), self._settings.face_score)

    def blur(self, image: MatLike) -> tuple[MatLike, int]:
        faces = detect_faces(self._detector, image)
        s = self._settings
        return pixelate(image, faces, margin=s.face_margin, cells=s.face_cells), len(faces)


def blur_faces(image: MatLike, model: Path = DEFAULT_FACE_MODEL) -> tuple[MatLike, int]:
    """A copy of a BGR image with every face found pixelated, and how many there were."""
    return FaceBlurrer(model).blur(image)


_LABEL_COLOURS = {
    "person": (60, 200, 60),
    "bicycle": (200, 200, 60),
    "car": (40, 140, 255),
    "motorcycle": (200, 80, 200),
    "bus": (40, 40, 230),
    "truck": (230, 120, 40),
}


def _draw(image: MatLike, detections: Sequence[Detection]) -> MatLike:
    for d in detections:
        colour = _LABEL_COLOURS[d.label]
        b = d.box
        cv2.rectangle(image, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, 2)
        cv2.putText(image, d.label, (b.x, max(12, b.y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return image


def _jpeg(image: MatLike, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def snapshot_jpeg(image: MatLike, detections: Sequence[Detection], quality: int) -> bytes:
    """The snapshot as published: boxes drawn on ``image`` (whose faces are already pixelated), as JPEG."""
    return _jpeg(_draw(image, detections), quality)


# --- one run over a clip ---------------------------------------------------------------------------------------


class _Sampler:
    """True once per 1/rate seconds of clip time, on the first frame of each period."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._period = -1

    def due(self, t: float) -> bool:
        period = math.floor(t * self._rate)
        if period == self._period:
            return False
        self._period = period
        return True


@dataclass
class _Best:
    score: tuple[int, int]
    t: float
    frame: MatLike
    detections: list[Detection]


@dataclass(frozen=True)
class _Pending:
    t: float
    grey: MatLike
    flow_due: bool
    frame: MatLike | None  # kept only where a detection sample falls


class _ClipRun:
    """The state of one analysis. The first ``background_warmup_s`` are held back (small grey frames, and the
    few full frames that detection samples) until their median gives the motion background its start: seeded
    with the first frame alone, every object in it that later moves would leave a ghost for the whole memory.
    """

    def __init__(
        self,
        settings: AnalysisSettings,
        fps: float,
        first_t: float,
        frame: MatLike,
        detector: ObjectDetector,
        clock: _Stopwatch,
    ) -> None:
        self.settings = settings
        self.fps = fps
        self.first_t = self.last_t = first_t
        self.height, self.width = frame.shape[:2]
        small_h = min(settings.motion_height, self.height)
        self.small_size = (max(1, round(self.width * small_h / self.height)), small_h)
        self.detector = detector
        self.clock = clock
        self.health = HealthMeter(settings)
        self.motion: MotionDetector | None = None
        self.pending: list[_Pending] = []
        self.congestion = CongestionMeter(settings, self.small_size)
        self.tracker = StationaryTracker(settings)
        self.flow_sampler = _Sampler(settings.flow_fps)
        self.detect_sampler = _Sampler(settings.detect_fps)
        self.frames_with_motion = 0
        self.moved_since_sample = True  # so the first sample is always detected: a still scene is counted once
        self.counts: list[tuple[float, Counter[str]]] = []
        self.motion_samples: list[MotionSample] = []
        self.best: _Best | None = None

    def add(self, t: float, frame: MatLike) -> None:
        self.last_t = t
        with self.clock.stage("motion"):
            grey = _shrink(frame, self.small_size)
            self.health.add(grey)
        sampled = frame if self.detect_sampler.due(t) else None
        self.pending.append(_Pending(t, grey, self.flow_sampler.due(t), sampled))
        if self.motion is not None or t - self.first_t >= self.settings.background_warmup_s:
            self._flush()

    def _flush(self) -> None:
        if self.motion is None:
            with self.clock.stage("motion"):
                self.motion = MotionDetector(self.settings, self.fps, _median([p.grey for p in self.pending]))
        for pending in self.pending:
            self._process(self.motion, pending)
        self.pending.clear()

    def _process(self, detector: MotionDetector, pending: _Pending) -> None:
        with self.clock.stage("motion"):
            motion = detector.update(pending.grey)
        self.frames_with_motion += bool(motion.boxes)
        self.moved_since_sample |= bool(motion.boxes)
        if pending.flow_due:
            with self.clock.stage("flow"):
                self.congestion.add(pending.t, pending.grey, motion)
        if pending.frame is not None:
            self.motion_samples.append(MotionSample(pending.t, [self._to_frame(b) for b in motion.boxes]))
            with self.clock.stage("detect"):
                self._detect(pending.t, pending.frame, motion)

    def _to_frame(self, box: Box) -> Box:
        fx, fy = self.width / self.small_size[0], self.height / self.small_size[1]
        return Box(round(box.x * fx), round(box.y * fy), round(box.w * fx), round(box.h * fy))

    def _detect(self, t: float, frame: MatLike, motion: _Motion) -> None:
        # The whole frame, not crops around the motion: the network's cost is set by its input size, not by
        # how much moves, and the counts and the stationary-vehicle rule need the objects that stand still.
        if not self.moved_since_sample:
            self.tracker.hold(t)
            return
        self.moved_since_sample = False
        detections = self.detector.detect(frame)
        self.tracker.update(t, detections)
        self.counts.append((t, Counter(d.label for d in detections)))
        score = (len(detections), int(sum(b.area for b in motion.boxes)))
        if self.best is None or score > self.best.score:
            self.best = _Best(score, t, frame, detections)

    def finish(self, face_model: Path, zone: Polygon | None, reader: _FrameReader) -> ClipAnalysis:
        self._flush()
        assert self.best is not None, "the first detection sample always runs"
        with self.clock.stage("faces"):
            snapshot, faces = FaceBlurrer(face_model, self.settings).blur(self.best.frame)
            snapshot = pixelate_heads(snapshot, self.best.detections, self.settings)
        with self.clock.stage("encode"):
            jpeg = _jpeg(_draw(snapshot, self.best.detections), self.settings.jpeg_quality)
        summary = ClipSummary(
            frames_decoded=self.health.frames,
            fps=reader.fps,
            duration_s=reader.duration_s(),
            window_start_s=self.first_t,
            window_end_s=self.last_t,
            width=self.width,
            height=self.height,
            health=self.health.health(),
            motion_ratio=self.frames_with_motion / self.health.frames,
            congestion_index=self.congestion.index,
            frames_detected=len(self.counts),
            objects=self._class_stats(),
            person_counts=[(t, c["person"]) for t, c in self.counts],
            stationary_vehicles=self.tracker.stationary(zone),
            faces_blurred=faces,
            snapshot_s=self.best.t,
            timings=self.clock.timings(),
        )
        return ClipAnalysis(summary, jpeg, self.motion_samples)

    def _class_stats(self) -> dict[str, ClassStats]:
        return {
            label: ClassStats(
                max=max(c[label] for _, c in self.counts),
                mean=sum(c[label] for _, c in self.counts) / len(self.counts),
            )
            for label in COUNTED_LABELS
        }


def analyse_clip(
    path: Path | str,
    *,
    settings: AnalysisSettings | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    no_stopping_zone: Polygon | None = None,
    detector_model: Path = DEFAULT_DETECTOR_MODEL,
    face_model: Path = DEFAULT_FACE_MODEL,
) -> ClipAnalysis:
    """Analyses the frames of the clip between ``start_s`` and ``end_s`` (seconds from its start).

    ``no_stopping_zone`` is a polygon in frame pixels; stationary vehicles say whether their centre is in it.
    Raises ClipUnreadable when the file cannot be analysed.
    """
    cv2.setNumThreads(1)
    settings = settings or AnalysisSettings()
    clock = _Stopwatch()
    with clock.stage("detect"):
        detector = ObjectDetector(detector_model, settings)
    run: _ClipRun | None = None
    with open_clip(path) as capture:
        reader = _FrameReader(capture, frame_rate(capture), clock)
        for t, frame in reader.frames(start_s, end_s):
            if run is None:
                run = _ClipRun(settings, reader.fps, t, frame, detector, clock)
            run.add(t, frame)
        if run is None:
            raise ClipUnreadable("no_frames")
        return run.finish(face_model, no_stopping_zone, reader)
