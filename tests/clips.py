"""Synthetic CCTV clips for tests and benchmarks, written with cv2.VideoWriter('mp4v') (H.264 cannot be written)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


def _footage_dir() -> Path:
    """The shared CCTV-like footage, read where it is (its licence is unknown: never copied into the project):
    JSC_FOOTAGE_DIR, else ../shared/data/footage beside the project, else the workplace's /work/shared."""
    if configured := os.environ.get("JSC_FOOTAGE_DIR"):
        return Path(configured)
    beside = Path(__file__).resolve().parents[2] / "shared" / "data" / "footage"
    return beside if beside.is_dir() else Path("/work/shared/data/footage")


FOOTAGE_DIR = _footage_dir()
ClipMaker = Callable[[Path], Path]
WIDTH, HEIGHT = 320, 240
FPS = 10.0


def textured_background(width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> Frame:
    """A scene with edges at several scales (blocks like buildings and road marks), so it is not a covered lens."""
    rng = np.random.default_rng(seed)
    frame = np.full((height, width, 3), 110, np.uint8)
    for _ in range(width * height // 800):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(4, width // 6)), int(rng.integers(4, height // 6))
        colour = tuple(int(c) for c in rng.integers(40, 200, 3))
        cv2.rectangle(frame, (x, y), (x + w, y + h), colour, -1)
    return frame


def with_noise(frame: Frame, rng: np.random.Generator, sigma: float = 3.0) -> Frame:
    """Sensor noise: what tells a live still scene from a frozen picture."""
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write_clip(path: Path, frames: int, draw: Callable[[int], Frame], fps: float = FPS, fourcc: str = "mp4v") -> Path:
    first = draw(0)
    height, width = first.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter cannot write {fourcc} here")
    try:
        writer.write(first)
        for index in range(1, frames):
            writer.write(draw(index))
    finally:
        writer.release()
    return path


def still_clip(path: Path, seconds: float = 3.0) -> Path:
    """A textured scene where nothing moves, with sensor noise."""
    background = textured_background()
    rng = np.random.default_rng(1)
    return write_clip(path, round(seconds * FPS), lambda _: with_noise(background, rng))


def frozen_clip(path: Path, seconds: float = 3.0) -> Path:
    """The same textured frame, bit for bit, over and over: a stuck encoder or a hung camera."""
    background = with_noise(textured_background(), np.random.default_rng(2))
    return write_clip(path, round(seconds * FPS), lambda _: background)


def flat_clip(path: Path, seconds: float = 3.0, level: int = 128) -> Path:
    """A uniform picture with a little noise: a hand or a bag over the lens."""
    rng = np.random.default_rng(3)
    flat = np.full((HEIGHT, WIDTH, 3), level, np.uint8)
    return write_clip(path, round(seconds * FPS), lambda _: with_noise(flat, rng, sigma=1.5))


def black_clip(path: Path, seconds: float = 3.0) -> Path:
    rng = np.random.default_rng(4)
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    return write_clip(path, round(seconds * FPS), lambda _: with_noise(black, rng, sigma=2.0))


RECT_W, RECT_H, RECT_Y = 40, 30, 100
RECT_SPEED_PX = 8.0  # per frame


def rect_x(index: int, speed_px: float = RECT_SPEED_PX, start_x: int = -RECT_W) -> int:
    """The moving rectangle's left edge in frame ``index``. By default it enters from the left, so the first
    frames (the motion background's starting point) do not contain it."""
    return start_x + int(index * speed_px)


def moving_rect_clip(path: Path, seconds: float = 3.0, speed_px: float = RECT_SPEED_PX, start_x: int = -RECT_W) -> Path:
    """A bright rectangle crossing the textured scene at ``speed_px`` per frame."""
    background = textured_background()
    rng = np.random.default_rng(5)

    def draw(index: int) -> Frame:
        frame = with_noise(background, rng)
        x = rect_x(index, speed_px, start_x)
        cv2.rectangle(frame, (x, RECT_Y), (x + RECT_W - 1, RECT_Y + RECT_H - 1), (250, 250, 250), -1)
        return frame

    return write_clip(path, round(seconds * FPS), draw)


def traffic_clip(path: Path, seconds: float, width: int = 1280, height: int = 720, fps: float = 25.0) -> Path:
    """Shapes moving at different speeds over a textured scene: the benchmark's stand-in for a road camera."""
    background = textured_background(width, height)
    lanes = [(height // 4, 9, (40, 40, 220)), (height // 2, -5, (220, 200, 40)), (3 * height // 4, 2, (60, 220, 60))]

    def draw(index: int) -> Frame:
        frame = background.copy()
        for lane, (y, speed, colour) in enumerate(lanes):
            for k in range(3):
                x = (index * speed + k * width // 3 + lane * 97) % (width + 200) - 100
                cv2.rectangle(frame, (x, y - 40), (x + 160, y + 40), colour, -1)
        cv2.circle(frame, (width // 2, (index * 4) % height), 30, (255, 255, 255), -1)
        return frame

    return write_clip(path, round(seconds * fps), draw, fps=fps)


def ts_segment(frames: list[Frame], fps: float = FPS, keyframe_every: int = 10) -> bytes:
    """An H.264 MPEG-TS segment of the frames (PyAV's libx264), a keyframe every ``keyframe_every`` frames: what
    a live camera's HLS segment or an NVR's archive segment holds."""
    import io

    import av

    height, width = frames[0].shape[:2]
    out = io.BytesIO()
    with av.open(out, mode="w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(keyframe_every), "preset": "ultrafast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    return out.getvalue()
