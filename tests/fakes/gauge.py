"""Frames of a staff gauge (peilschaal) standing in moving water at a known level, for measuring the gauge reader.

The board is painted like a Dutch/Indonesian peilschaal: an E-shaped block of five 1 cm bars every 10 cm,
alternating left and right of the spine, the decimetre number beside it, red and black metres. It stands on a
wall in a canvas that is then warped into the frame by a perspective (a camera looking down at it from the side);
below the known level everything is water: rippled texture, glints and the board's own mirrored, wobbling, darker
reflection. Lighting, blur, noise and JPEG compression follow a named condition. The calibration marks are where
the warp puts two or three painted centimetre marks, give or take a pixel, as staff would click them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from domain.gauge_reading import Gauge

PX_PER_CM = 4  # on the board before the warp
BOARD_W = 100
MARGIN_X, MARGIN_Y = 160, 120
CONDITIONS = ("day", "overcast", "dusk", "night_lamp", "glare")


@dataclass(frozen=True)
class Made:
    frame: npt.NDArray[np.uint8]  # BGR, the camera's picture
    gauge: Gauge
    level_cm: float


def _board(lo_cm: int, hi_cm: int) -> npt.NDArray[np.uint8]:
    height = (hi_cm - lo_cm) * PX_PER_CM
    board = np.full((height, BOARD_W, 3), 235, np.uint8)
    spine = BOARD_W // 2 - 6
    for block in range(lo_cm, hi_cm, 10):
        colour = (30, 30, 200) if (block // 100) % 2 else (25, 25, 25)
        left = (block // 10) % 2 == 0
        x0, x1 = (4, spine) if left else (BOARD_W - spine, BOARD_W - 4)
        for bar in range(0, 10, 2):
            top = (hi_cm - (block + bar + 1)) * PX_PER_CM
            board[top : top + PX_PER_CM, x0:x1] = colour
        spine_x = spine if left else BOARD_W - spine - 4
        board[(hi_cm - block - 10) * PX_PER_CM : (hi_cm - block) * PX_PER_CM, spine_x : spine_x + 4] = colour
        if block % 20 == 0:
            number = str((block // 10) % 10)
            text_x = BOARD_W - spine + 8 if left else 10
            cv2.putText(
                board, number, (text_x, (hi_cm - block - 2) * PX_PER_CM), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, 2
            )
    return board


def _water(shape: tuple[int, int], rng: np.random.Generator, phase: float) -> npt.NDArray[np.float64]:
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    ripples = np.zeros(shape)
    for _ in range(6):
        fy, fx = rng.uniform(0.05, 0.4), rng.uniform(-0.08, 0.08)
        ripples += rng.uniform(4, 12) * np.sin(fy * y + fx * x + phase + rng.uniform(0, 6.3))
    noise = cv2.GaussianBlur(rng.normal(0, 14, shape), (0, 0), 2.0)
    return 95 + ripples + noise


def make_frame(
    level_cm: float,
    *,
    condition: str = "day",
    seed: int = 0,
    view_seed: int | None = None,
    lo_cm: int = 600,
    hi_cm: int = 1100,
    background: npt.NDArray[np.uint8] | None = None,
    frame_size: tuple[int, int] = (1280, 720),
) -> Made:
    """One camera frame of a gauge showing ``lo_cm``..``hi_cm`` with the water at ``level_cm``: ``seed`` makes
    the water and the noise, ``view_seed`` (``seed`` when None) where the camera stands and what it sees around
    the gauge, so that one camera's frames at different levels and moments share one view and one gauge."""
    rng = np.random.default_rng(seed)
    view = np.random.default_rng(seed if view_seed is None else view_seed)
    board = _board(lo_cm, hi_cm)
    bh = board.shape[0]
    canvas_h, canvas_w = bh + 2 * MARGIN_Y, BOARD_W + 2 * MARGIN_X
    wall = 150 + cv2.GaussianBlur(view.normal(0, 25, (canvas_h, canvas_w)), (0, 0), 3)
    canvas = np.repeat(wall[:, :, None], 3, axis=2) * np.array([0.95, 1.0, 1.05])
    canvas[MARGIN_Y : MARGIN_Y + bh, MARGIN_X : MARGIN_X + BOARD_W] = board
    # The waterline wobbles by a centimetre or so with the waves; the known level is its mean.
    line = MARGIN_Y + (hi_cm - level_cm) * PX_PER_CM
    xs = np.arange(canvas_w)
    wave = line + 1.0 * PX_PER_CM * np.sin(xs / 17.0 + rng.uniform(0, 6.3))
    water = _water((canvas_h, canvas_w), rng, rng.uniform(0, 6.3))
    reflection = np.zeros((canvas_h, canvas_w, 3))
    wobble = rng.uniform(0, 6.3)
    for row in range(int(line), canvas_h):
        mirror = int(2 * line - row)
        if 0 <= mirror < canvas_h:
            shift = int(3 * np.sin(row / 3.0 + wobble))
            reflection[row] = np.roll(canvas[mirror], shift, axis=0)
    below = np.arange(canvas_h)[:, None] > wave[None, :]
    tint = np.array([1.05, 1.0, 0.85])
    water_rgb = water[:, :, None] * tint * 0.7 + 0.3 * reflection * 0.6
    canvas = np.where(below[:, :, None], water_rgb, canvas)

    width, height = frame_size
    scene_h = int(height * view.uniform(0.6, 0.75))
    scale = scene_h / canvas_h
    cx = width * view.uniform(0.35, 0.65)
    top = height * 0.12
    lean = view.uniform(-0.25, 0.25) * canvas_w * scale
    squeeze = view.uniform(0.7, 0.9)  # the top of the board is farther: narrower
    src = np.float32([[0, 0], [canvas_w, 0], [canvas_w, canvas_h], [0, canvas_h]])
    half_bottom, half_top = canvas_w * scale / 2, canvas_w * scale * squeeze / 2
    dst = np.float32(
        [
            [cx - half_top + lean, top],
            [cx + half_top + lean, top],
            [cx + half_bottom, top + scene_h],
            [cx - half_bottom, top + scene_h],
        ]
    )
    # Perspective along the axis too: the farther top is compressed.
    dst[0:2, 1] += scene_h * view.uniform(0.0, 0.12)
    matrix = cv2.getPerspectiveTransform(src, dst)
    if background is None:
        base = np.repeat((_water((height, width), view, 0.0) * 0.9)[:, :, None], 3, axis=2)
    else:
        base = cv2.resize(background, (width, height)).astype(np.float64)
    warped = cv2.warpPerspective(canvas, matrix, (width, height), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.ones((canvas_h, canvas_w)), matrix, (width, height)) > 0.5
    frame = np.where(inside[:, :, None], warped, base)
    frame = _light(frame, condition, rng)
    frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.6, 1.4))
    frame = np.clip(frame + rng.normal(0, 4 if condition != "night_lamp" else 7, frame.shape), 0, 255)
    ok, jpeg = cv2.imencode(".jpg", frame.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)

    def project(x: float, y: float) -> tuple[float, float]:
        point = matrix @ np.array([x, y, 1.0])
        return float(point[0] / point[2]), float(point[1] / point[2])

    spine_x = MARGIN_X + BOARD_W / 2
    marks = []
    for cm in (hi_cm - 20, (lo_cm + hi_cm) // 2, lo_cm + 20):
        x, y = project(spine_x, MARGIN_Y + (hi_cm - cm) * PX_PER_CM)
        marks.append((x + view.uniform(-1, 1), y + view.uniform(-1, 1), float(cm)))
    corners = [
        project(MARGIN_X - 4, MARGIN_Y - 4),
        project(MARGIN_X + BOARD_W + 4, MARGIN_Y - 4),
        project(MARGIN_X + BOARD_W + 4, MARGIN_Y + bh + 4),
        project(MARGIN_X - 4, MARGIN_Y + bh + 4),
    ]
    polygon = tuple((min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in corners)
    return Made(decoded, Gauge(polygon, tuple(marks), (width, height)), level_cm)


def _light(frame: npt.NDArray[np.float64], condition: str, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    height, width = frame.shape[:2]
    if condition == "overcast":
        return frame * 0.75 + 30
    if condition == "dusk":
        return frame * 0.35 + 5
    if condition == "night_lamp":
        y, x = np.mgrid[0:height, 0:width]
        lamp = np.exp(-(((x - width * 0.5) / (width * 0.5)) ** 2 + ((y - height * 0.2) / (height * 0.7)) ** 2))
        return frame * (0.08 + 0.35 * lamp[:, :, None])
    if condition == "glare":
        y, x = np.mgrid[0:height, 0:width]
        spot = np.exp(-(((x - width * rng.uniform(0.3, 0.7)) ** 2 + (y - height * 0.85) ** 2) / (2 * 90.0**2)))
        return frame + 140 * spot[:, :, None]
    return frame


def grey(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
