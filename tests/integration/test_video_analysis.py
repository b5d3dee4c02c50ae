"""domain.adapters.video on real files: synthetic mp4v clips made here, and the shared pedestrian footage.

No services are needed. The shared footage (tests/clips.py FOOTAGE_DIR) is read in place, never copied into the
project (its licence is unknown); the tests that need it are skipped when it is absent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from domain.adapters import video
from domain.adapters.video import (
    AnalysisSettings,
    Box,
    ClipAnalysis,
    ClipUnreadable,
    Detection,
    ObjectDetector,
    StationaryTracker,
    analyse_clip,
    blur_faces,
)
from domain.cctv_rules import AlertKind, AlertRules, CameraHealth, evaluate_alerts
from tests import clips

VTEST = clips.FOOTAGE_DIR / "vtest.avi"
needs_vtest = pytest.mark.skipif(
    not VTEST.is_file(), reason=f"{VTEST} is missing: the pedestrian footage is local-only and never committed"
)
# The parked cars at the top right of vtest.avi, in its 480x360 frame.
VTEST_PARKING = [(380.0, 0.0), (480.0, 0.0), (480.0, 80.0), (380.0, 80.0)]
Corruption = Callable[[bytes], bytes]
# Samples every half second, so a three-second clip has enough of them to check.
DENSE = AnalysisSettings(detect_fps=2.0)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


def first_frame(path: Path, index: int = 0) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    try:
        for _ in range(index):
            capture.grab()
        ok, frame = capture.read()
    finally:
        capture.release()
    assert ok
    return np.asarray(frame)


# --- camera health, motion, congestion -----------------------------------------------------------------------


def test_a_still_scene_has_no_motion_no_congestion_and_a_healthy_camera(clip_dir: Path) -> None:
    summary = analyse_clip(clips.still_clip(clip_dir / "still.mp4")).summary

    assert summary.health is CameraHealth.OK
    assert summary.motion_ratio == 0.0
    assert summary.congestion_index == 0.0
    assert (summary.frames_decoded, summary.fps, summary.duration_s) == (30, 10.0, 3.0)
    assert (summary.window_start_s, summary.window_end_s) == (0.0, 2.9)
    assert (summary.width, summary.height) == (clips.WIDTH, clips.HEIGHT)
    assert summary.stationary_vehicles == []


def test_a_moving_rectangle_is_boxed_where_it_is(clip_dir: Path) -> None:
    analysis = analyse_clip(clips.moving_rect_clip(clip_dir / "rect.mp4"), settings=DENSE)

    assert analysis.summary.motion_ratio > 0.8
    assert analysis.summary.congestion_index < 0.1
    in_view = [s for s in analysis.motion if clips.rect_x(round(s.t * clips.FPS)) >= 0]
    assert len(in_view) >= 4
    for sample in in_view:
        x = clips.rect_x(round(sample.t * clips.FPS))
        rect = Box(x, clips.RECT_Y, clips.RECT_W, clips.RECT_H)
        # One box around the rectangle (dilation adds a few pixels), and no box anywhere else.
        assert [b for b in sample.boxes if b.iou(rect) > 0.4] == sample.boxes
        assert len(sample.boxes) == 1


def test_a_crawling_rectangle_is_congestion(clip_dir: Path) -> None:
    crawling = clips.moving_rect_clip(clip_dir / "crawl.mp4", seconds=4.0, speed_px=0.2, start_x=100)
    quick = clips.moving_rect_clip(clip_dir / "quick.mp4", seconds=4.0, speed_px=3.0, start_x=20)

    assert analyse_clip(crawling).summary.congestion_index > 0.7
    assert analyse_clip(quick).summary.congestion_index < 0.1


@pytest.mark.parametrize(
    ("make", "health"),
    [
        (clips.black_clip, CameraHealth.BLACK),
        (clips.frozen_clip, CameraHealth.FROZEN),
        (clips.flat_clip, CameraHealth.COVERED),
    ],
)
def test_camera_health(clip_dir: Path, make: clips.ClipMaker, health: CameraHealth) -> None:
    summary = analyse_clip(make(clip_dir / f"{health.value}.mp4")).summary

    assert summary.health is health
    assert summary.motion_ratio == 0.0


def test_a_window_analyses_only_its_frames(clip_dir: Path) -> None:
    summary = analyse_clip(clips.still_clip(clip_dir / "window.mp4"), start_s=1.0, end_s=2.0).summary

    assert (summary.window_start_s, summary.window_end_s) == (1.0, 2.0)
    assert summary.frames_decoded == 11
    assert summary.duration_s == 3.0


# --- unreadable files ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_mp4(clip_dir: Path) -> bytes:
    return clips.moving_rect_clip(clip_dir / "valid.mp4").read_bytes()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda valid: valid[: len(valid) // 2], "cannot_open"),
        (lambda valid: bytes(range(256)) * 200, "cannot_open"),
        (lambda valid: valid[:1000] + bytes(range(256)) * 100, "cannot_open"),
        (lambda valid: b"", "empty_file"),
    ],
    ids=["first-half", "garbage", "header-then-garbage", "empty"],
)
def test_an_unreadable_file_raises_its_reason_quickly(
    tmp_path: Path, valid_mp4: bytes, content: Corruption, reason: str
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(content(valid_mp4))
    started = time.monotonic()

    with pytest.raises(ClipUnreadable) as raised:
        analyse_clip(broken)

    assert raised.value.reason == reason
    assert time.monotonic() - started < 2.0


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ClipUnreadable) as raised:
        analyse_clip(tmp_path / "nothing.mp4")

    assert raised.value.reason == "not_found"


def test_a_window_past_the_end_has_no_frames(clip_dir: Path) -> None:
    with pytest.raises(ClipUnreadable) as raised:
        analyse_clip(clips.still_clip(clip_dir / "short.mp4"), start_s=10.0)

    assert raised.value.reason == "no_frames"


def test_a_cut_off_avi_is_analysed_up_to_the_cut(tmp_path: Path) -> None:
    full = clips.write_clip(tmp_path / "full.avi", 30, lambda _: clips.textured_background(), fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    summary = analyse_clip(cut).summary

    assert 5 < summary.frames_decoded < 30


# --- detection and stationary vehicles ----------------------------------------------------------------------


@needs_vtest
def test_yolox_finds_the_pedestrians_in_a_real_frame() -> None:
    frame = first_frame(VTEST, index=100)

    detections = ObjectDetector(video.DEFAULT_DETECTOR_MODEL, AnalysisSettings()).detect(frame)

    people = [d for d in detections if d.label == "person"]
    assert len(people) >= 3
    height, width = frame.shape[:2]
    for person in people:
        box = person.box
        assert 0 <= box.x < box.x + box.w <= width
        assert 0 <= box.y < box.y + box.h <= height
        assert box.h > box.w  # standing people: a decode that swapped x and y would fail here


@pytest.fixture(scope="module")
def vtest_analysis() -> ClipAnalysis:
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} is missing: the pedestrian footage is local-only and never committed")
    return analyse_clip(VTEST, end_s=20.0, settings=DENSE, no_stopping_zone=VTEST_PARKING)


def test_persons_are_counted_on_real_footage(vtest_analysis: ClipAnalysis) -> None:
    summary = vtest_analysis.summary

    assert summary.objects["person"].max > 0
    assert summary.objects["person"].mean > 1
    assert len(summary.person_counts) == summary.frames_detected > 20
    assert sum(count > 0 for _, count in summary.person_counts) > 0.8 * len(summary.person_counts)
    assert summary.health is CameraHealth.OK
    assert summary.motion_ratio > 0.9


def test_parked_cars_are_stationary_in_the_zone_and_raise_a_no_stopping_alert(vtest_analysis: ClipAnalysis) -> None:
    summary = vtest_analysis.summary

    assert summary.stationary_vehicles
    for vehicle in summary.stationary_vehicles:
        assert vehicle.label in video.VEHICLE_LABELS
        assert vehicle.seconds >= 10.0
        assert vehicle.in_no_stopping_zone is True
    alerts = evaluate_alerts(summary.alert_inputs(), AlertRules(no_stopping_above_s=10.0, crowd_above_persons=50))
    assert [a.kind for a in alerts] == [AlertKind.NO_STOPPING]


def test_the_snapshot_is_a_jpeg_of_the_frame(vtest_analysis: ClipAnalysis) -> None:
    image = cv2.imdecode(np.frombuffer(vtest_analysis.snapshot_jpeg, np.uint8), cv2.IMREAD_COLOR)

    assert vtest_analysis.snapshot_jpeg[:2] == b"\xff\xd8"
    assert image is not None
    assert image.shape == (360, 480, 3)


def test_the_summary_is_json(vtest_analysis: ClipAnalysis) -> None:
    data = json.loads(vtest_analysis.summary.to_json())

    assert data["health"] == "OK"
    assert set(data["objects"]) == {"person", "bicycle", "car", "motorcycle", "bus", "truck"}
    assert set(data["timings"]) == {"decode", "motion", "flow", "detect", "faces", "encode", "total"}
    assert data["person_counts"][0] == [0.0, vtest_analysis.summary.person_counts[0][1]]


CAR = Box(100, 100, 80, 50)


def car(box: Box = CAR) -> Detection:
    return Detection("car", 0.9, box)


def test_a_car_that_stays_is_stationary_for_as_long_as_it_stays() -> None:
    tracker = StationaryTracker(AnalysisSettings(stationary_min_s=10.0))
    for t in range(13):
        tracker.update(float(t), [car(Box(CAR.x + t % 2, CAR.y, CAR.w, CAR.h))])

    [stopped] = tracker.stationary(zone=None)

    assert (stopped.label, stopped.box, stopped.first_seen_s, stopped.seconds) == ("car", CAR, 0.0, 12.0)
    assert stopped.in_no_stopping_zone is None


def test_a_car_that_drives_on_is_not_stationary() -> None:
    tracker = StationaryTracker(AnalysisSettings(stationary_min_s=10.0))
    for t in range(20):
        tracker.update(float(t), [car(Box(CAR.x + 30 * t, CAR.y, CAR.w, CAR.h))])

    assert tracker.stationary(zone=None) == []


def test_a_short_miss_keeps_the_track_and_a_long_one_ends_it() -> None:
    settings = AnalysisSettings(stationary_min_s=5.0, track_grace_s=3.0)
    kept, ended = StationaryTracker(settings), StationaryTracker(settings)
    for t in (0.0, 1.0, 2.0, 4.5, 6.0):  # a 2.5 s gap
        kept.update(t, [car()])
    for t in (0.0, 1.0, 2.0, 5.5, 6.0):  # a 3.5 s gap: the car at 5.5 s is a new one
        ended.update(t, [car()] if t != 5.5 else [])
    ended.update(6.5, [car()])

    assert [v.seconds for v in kept.stationary(zone=None)] == [6.0]
    assert ended.stationary(zone=None) == []


def test_when_nothing_moves_a_stopped_car_keeps_counting() -> None:
    tracker = StationaryTracker(AnalysisSettings(stationary_min_s=10.0))
    tracker.update(0.0, [car()])
    for t in (2.0, 4.0, 30.0):
        tracker.hold(t)

    [stopped] = tracker.stationary(zone=[(0.0, 0.0), (200.0, 0.0), (200.0, 200.0), (0.0, 200.0)])

    assert stopped.seconds == 30.0
    assert stopped.in_no_stopping_zone is True


def test_people_are_not_tracked_as_vehicles() -> None:
    tracker = StationaryTracker(AnalysisSettings(stationary_min_s=1.0))
    for t in range(5):
        tracker.update(float(t), [Detection("person", 0.9, CAR)])

    assert tracker.stationary(zone=None) == []


def test_detection_is_capped_at_two_frames_a_second() -> None:
    with pytest.raises(ValueError, match="detect_fps"):
        AnalysisSettings(detect_fps=2.5)


# --- faces -------------------------------------------------------------------------------------------------------

FACE = Box(100, 80, 40, 40)


def test_blur_faces_pixelates_the_face_and_its_margin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    image = clips.with_noise(clips.textured_background(), np.random.default_rng(9), sigma=20.0)
    monkeypatch.setattr(video, "detect_faces", lambda _detector, _image: [FACE])

    blurred, faces = blur_faces(image)

    assert faces == 1
    region = FACE.grown(0.25, image.shape[1], image.shape[0])
    assert region == Box(90, 70, 60, 60)
    inside = (slice(region.y, region.y + region.h), slice(region.x, region.x + region.w))
    outside = np.ones(image.shape[:2], bool)
    outside[inside] = False
    assert np.array_equal(blurred[outside], image[outside])
    assert np.count_nonzero(np.any(blurred[inside] != image[inside], axis=-1)) > 0.9 * region.area
    # Five blocks across: at most 25 distinct colours where there were thousands.
    assert len(np.unique(blurred[inside].reshape(-1, 3), axis=0)) <= 25
    assert len(np.unique(image[inside].reshape(-1, 3), axis=0)) > 1000


def test_blur_faces_leaves_the_input_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    image = clips.textured_background()
    original = image.copy()
    monkeypatch.setattr(video, "detect_faces", lambda _detector, _image: [FACE])

    blur_faces(image)

    assert np.array_equal(image, original)


def test_the_snapshot_is_blurred_where_the_faces_are(clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video, "detect_faces", lambda _detector, _image: [FACE, Box(10, 10, 20, 20)])

    summary = analyse_clip(clips.still_clip(clip_dir / "faces.mp4")).summary

    assert summary.faces_blurred == 2


# Frame 600 of vtest.avi, looked at by eye: four people face the camera. Their faces in the 480x360 frame; the
# footage is small, so the tests see it enlarged as a 720p (x2) or 1080p (x3) camera would show it.
VTEST_FACES_FRAME = 600
RED_JACKET, DARK_COAT, BLONDE, FAR_RIGHT = (
    Box(294, 190, 6, 8),
    Box(404, 193, 7, 9),
    Box(188, 276, 9, 13),
    Box(431, 133, 5, 6),
)
# Grass and wall, far from every person.
VTEST_BACKGROUND = [Box(100, 300, 20, 20), Box(200, 20, 20, 20), Box(20, 200, 20, 20)]


def enlarged(box: Box, scale: int) -> Box:
    return Box(box.x * scale, box.y * scale, box.w * scale, box.h * scale)


def pixels(image: np.ndarray, box: Box) -> np.ndarray:
    return image[box.y : box.y + box.h, box.x : box.x + box.w]


@needs_vtest
def test_the_faces_in_a_real_frame_are_found_and_pixelated() -> None:
    small = first_frame(VTEST, index=VTEST_FACES_FRAME)
    frame = cv2.resize(small, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)

    blurred, faces = blur_faces(frame)

    # At x2 YuNet finds three of the four: the one far right is too small.
    assert faces == 3
    untouched = np.ones(frame.shape[:2], bool)
    for face in (RED_JACKET, DARK_COAT, BLONDE):
        head = enlarged(face, 2)
        assert len(np.unique(pixels(frame, head).reshape(-1, 3), axis=0)) > 100
        # At most five blocks along the longer side of the face and its margin: 25 colours at most.
        assert len(np.unique(pixels(blurred, head).reshape(-1, 3), axis=0)) <= 25
        around = head.grown(1.0, frame.shape[1], frame.shape[0])
        untouched[around.y : around.y + around.h, around.x : around.x + around.w] = False
    assert np.array_equal(blurred[untouched], frame[untouched])


@needs_vtest
def test_the_snapshot_of_a_real_scene_hides_every_face(clip_dir: Path) -> None:
    frame = cv2.resize(first_frame(VTEST, index=VTEST_FACES_FRAME), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    clip = clips.write_clip(clip_dir / "faces_1080p.mp4", 20, lambda _: frame)
    source = first_frame(clip)

    # Heads of persons off: what is hidden here is hidden by the face detector alone.
    analysis = analyse_clip(clip, settings=AnalysisSettings(head_share=0))

    assert analysis.summary.faces_blurred == 4
    snapshot = cv2.imdecode(np.frombuffer(analysis.snapshot_jpeg, np.uint8), cv2.IMREAD_COLOR)
    for face in (RED_JACKET, DARK_COAT, BLONDE, FAR_RIGHT):
        shown, seen = pixels(snapshot, enlarged(face, 3)).astype(float), pixels(source, enlarged(face, 3))
        assert np.abs(shown - seen).mean() > 10.0
    for place in VTEST_BACKGROUND:
        # JPEG's own loss only.
        assert (
            np.abs(pixels(snapshot, enlarged(place, 3)).astype(float) - pixels(source, enlarged(place, 3))).mean() < 1.0
        )


def test_the_head_of_every_person_is_pixelated_and_nothing_else() -> None:
    image = clips.with_noise(clips.textured_background(), np.random.default_rng(3), sigma=20.0)
    walker = video.Detection("person", 0.9, Box(100, 40, 40, 120))
    car = video.Detection("car", 0.9, Box(200, 150, 80, 50))

    out = video.pixelate_heads(image, [walker, car], AnalysisSettings())

    head = Box(100, 40, 40, 30).grown(0.1, image.shape[1], image.shape[0])
    inside = (slice(head.y, head.y + head.h), slice(head.x, head.x + head.w))
    outside = np.ones(image.shape[:2], bool)
    outside[inside] = False
    assert np.array_equal(out[outside], image[outside])  # the body and the car untouched
    assert len(np.unique(out[inside].reshape(-1, 3), axis=0)) <= 25
    assert np.array_equal(video.pixelate_heads(image, [walker], AnalysisSettings(head_share=0)), image)
