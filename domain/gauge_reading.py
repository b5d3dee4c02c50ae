"""Reading a floodgate's water level off a staff gauge (peilschaal) in a camera's picture, without training.

A gauge is drawn on the camera's view by staff: a polygon around the painted board, and two or more calibration
marks (a pixel on the gauge's axis and the centimetres painted there). The reader walks the gauge's axis from its
top to its bottom and looks for the row where the painted board ends and the water begins.

The method, and why: above the water the board shows its painted graduations, a pattern with strong contrast
that repeats every few centimetres and is the same across the board's width; below the waterline there is water,
whose ripples, glare and the board's own reflection change across the width and carry less contrast. So each row
along the axis gets a score, the contrast of the board's mean profile in a window of a few graduations (a
standard deviation, so it does not care what colour the paint is or how bright the scene is), divided by the
scene's own contrast; the waterline is the one change point that best splits the scores into a high part above
and a low part below (a two-level step fit by least squares, which a single bright ripple or a reflected mark
cannot move far, unlike a threshold crossing). The scores' step size is the confidence. No learning, no model:
it works at night as long as the board is lit at all, and refuses (None) when the board is dark, washed out,
covered, or shows no step (out of view, or under water from top to bottom).

Pure numpy over a grey frame; the worker decodes the frame (domain/cctv_sample.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_MARKS = 2
MAX_MARKS = 16
MIN_LUMA = 12.0  # the board's mean grey level below which it is too dark to read
MIN_CONTRAST = 6.0  # the board's grey-level spread below which nothing is painted on it (covered, fogged, dark)
MIN_CONFIDENCE = 0.35  # a step smaller than this share of the board's contrast is no waterline
WINDOW_CM = 20.0  # the score's window along the axis: a left and a right 10 cm block
ACROSS_SAMPLES = 9  # points sampled across the board's width per row


@dataclass(frozen=True)
class Gauge:
    """A gauge drawn on a camera's view, in pixels of the frame of ``frame_size`` it was drawn on.

    ``marks`` are (x, y, cm) points on the gauge's axis, ordered along it; two give a linear scale, three or more
    a one-dimensional perspective (a projective map of the position along the axis), which a camera looking up
    or down at a tall board needs: a centimetre far from the camera is fewer pixels than one near it.
    """

    polygon: tuple[tuple[float, float], ...]
    marks: tuple[tuple[float, float, float], ...]
    frame_size: tuple[int, int]


@dataclass(frozen=True)
class Reading:
    level_cm: float
    confidence: float  # 0..1: how clearly the board's pattern ends at the waterline


def gauge_problem(gauge: Gauge) -> str | None:
    """Why a gauge cannot be used, as an error code; None when it can."""
    width, height = gauge.frame_size
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        return "INVALID_FRAME"
    if not 3 <= len(gauge.polygon) <= 64:
        return "INVALID_POLYGON"
    inside = all(0 <= x <= width and 0 <= y <= height for x, y in gauge.polygon)
    if not inside or not all(0 <= x <= width and 0 <= y <= height for x, y, _ in gauge.marks):
        return "OUT_OF_FRAME"
    if not MIN_MARKS <= len(gauge.marks) <= MAX_MARKS:
        return "INVALID_CALIBRATION"
    axis, length = _axis(gauge)
    if length < 8:
        return "INVALID_CALIBRATION"
    positions = [_along(gauge, axis, x, y) for x, y, _ in gauge.marks]
    cms = [cm for _, _, cm in gauge.marks]
    if any(not -1000 <= cm <= 10_000 for cm in cms):
        return "INVALID_CALIBRATION"
    # Along the axis the positions must grow and the centimetres move one way only: a scale, not a zigzag.
    if any(b - a < 2 for a, b in itertools.pairwise(positions)):
        return "INVALID_CALIBRATION"
    steps = [b - a for a, b in itertools.pairwise(cms)]
    if not (all(s > 0 for s in steps) or all(s < 0 for s in steps)):
        return "INVALID_CALIBRATION"
    return None


def _axis(gauge: Gauge) -> tuple[tuple[float, float, float, float], float]:
    """The axis as (x0, y0, unit dx, unit dy) from the first mark towards the last, and its length in pixels."""
    (x0, y0, _), (x1, y1, _) = gauge.marks[0], gauge.marks[-1]
    length = float(np.hypot(x1 - x0, y1 - y0))
    if length == 0:
        return (x0, y0, 0.0, 0.0), 0.0
    return (x0, y0, (x1 - x0) / length, (y1 - y0) / length), length


def _along(gauge: Gauge, axis: tuple[float, float, float, float], x: float, y: float) -> float:
    x0, y0, dx, dy = axis
    return (x - x0) * dx + (y - y0) * dy


def scale(gauge: Gauge) -> tuple[float, float, float]:
    """(a, b, c) of cm = (a t + b) / (c t + 1), t the pixel position along the axis from the first mark: exact
    through two marks with c = 0, a least-squares projective fit through three or more."""
    axis, _ = _axis(gauge)
    t = np.array([_along(gauge, axis, x, y) for x, y, _ in gauge.marks])
    cm = np.array([m[2] for m in gauge.marks])
    if len(t) == 2:
        a = (cm[1] - cm[0]) / (t[1] - t[0])
        return float(a), float(cm[0] - a * t[0]), 0.0
    design = np.column_stack([t, np.ones_like(t), -t * cm])
    (a, b, c), *_ = np.linalg.lstsq(design, cm, rcond=None)
    return float(a), float(b), float(c)


def to_cm(coefficients: tuple[float, float, float], t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    a, b, c = coefficients
    return (a * t + b) / (c * t + 1)


def read_level(grey: npt.NDArray[np.uint8], gauge: Gauge) -> Reading | None:
    """The water level on the gauge in ``grey`` (a frame of any size: the gauge is scaled to it), or None when
    the board cannot be read (see the module's docstring for the method)."""
    height, width = grey.shape[:2]
    sx, sy = width / gauge.frame_size[0], height / gauge.frame_size[1]
    scaled = Gauge(
        tuple((x * sx, y * sy) for x, y in gauge.polygon),
        tuple((x * sx, y * sy, cm) for x, y, cm in gauge.marks),
        (width, height),
    )
    axis, _ = _axis(scaled)
    x0, y0, dx, dy = axis
    # The stretch of the axis the polygon covers, and the board's half-width across it.
    along = [_along(scaled, axis, x, y) for x, y in scaled.polygon]
    across = [abs((x - x0) * -dy + (y - y0) * dx) for x, y in scaled.polygon]
    t = np.arange(np.floor(min(along)), np.ceil(max(along)) + 1.0)
    if len(t) < 16:
        return None
    half = 0.6 * float(np.median(across))
    offsets = np.linspace(-half, half, ACROSS_SAMPLES)
    xs = x0 + t[:, None] * dx + offsets[None, :] * -dy
    ys = y0 + t[:, None] * dy + offsets[None, :] * dx
    rows = np.clip(np.rint(ys).astype(int), 0, height - 1)
    cols = np.clip(np.rint(xs).astype(int), 0, width - 1)
    strip = grey[rows, cols].astype(np.float64)  # len(t) x ACROSS_SAMPLES, along the axis
    if strip.mean() < MIN_LUMA or strip.std() < MIN_CONTRAST:
        return None
    coefficients = scale(scaled)
    cm = to_cm(coefficients, t)
    px_per_cm = len(t) / max(abs(float(cm[-1] - cm[0])), 1e-6)
    window = max(3, round(WINDOW_CM * px_per_cm))
    score = _pattern_score(strip, window)
    # The board is above the water: walk the axis from its high centimetres down.
    upward = cm[-1] > cm[0]
    found = _step(score[::-1] if upward else score)
    if found is None:
        return None
    index, confidence = found
    index = len(t) - 1 - index if upward else index
    if confidence < MIN_CONFIDENCE:
        return None
    return Reading(round(float(cm[index]), 1), round(confidence, 3))


def _pattern_score(strip: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """Per row: how much of the board's painted pattern shows around it. A peilschaal's 10 cm blocks sit left and
    right of its spine in turn, so the difference between the board's left and right halves swings from one sign
    to the other every block; its spread in a window of a few blocks is the score. Ripples, waves and glints run
    across the whole width and cancel out of the difference; the board's reflection swings too, but darker and
    broken by the ripples, so it scores lower than the board itself."""
    kernel = np.ones(window) / window

    def smooth(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # Edge rows repeated, not zeros: a zero pad would read as contrast at both ends of the board.
        padded = np.pad(values, (window // 2, window - 1 - window // 2), mode="edge")
        return np.convolve(padded, kernel, mode="valid")

    middle = strip.shape[1] // 2
    sides = strip[:, :middle].mean(axis=1) - strip[:, -middle:].mean(axis=1)
    mean = smooth(sides)
    score = np.sqrt(np.maximum(smooth(sides**2) - mean**2, 0))
    scene = float(np.percentile(score, 90)) or 1.0
    return np.asarray(score / scene, dtype=np.float64)


def _step(score: npt.NDArray[np.float64]) -> tuple[int, float] | None:
    """The index where ``score`` best steps from high (first part, the painted board) to low (the water), by
    least squares over every split, and the step's height relative to the high part as a confidence; None when no
    split leaves a high part over a low one."""
    n = len(score)
    edge = max(2, n // 50)
    if n < 2 * edge + 2:
        return None
    cumulative = np.concatenate([[0.0], np.cumsum(score)])
    squares = np.concatenate([[0.0], np.cumsum(score**2)])
    k = np.arange(edge, n - edge)
    above_mean = cumulative[k] / k
    below_mean = (cumulative[n] - cumulative[k]) / (n - k)
    error = (squares[k] - k * above_mean**2) + ((squares[n] - squares[k]) - (n - k) * below_mean**2)
    error = np.where(above_mean > below_mean, error, np.inf)
    if not np.isfinite(error).any():
        return None
    best = int(np.argmin(error))
    high, low = float(above_mean[best]), float(below_mean[best])
    return int(k[best]), (high - low) / high if high > 0 else 0.0
