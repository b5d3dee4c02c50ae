"""Floating garbage on a river's surface, without training (issue 17 §2, experimental, off by default).

The sampler hands over the frame shrunk to ``ColourFrame`` (raw RGB, ``WIDTH`` pixels wide). Inside a WATER
zone each pixel is described by its chromaticity (r, g: the colour without its brightness) and its brightness
relative to the water's median brightness in this sample. Both survive a cloud passing or dusk: a change of
light moves every pixel of the water the same way, and the median moves with it.

A pixel is debris when it differs from *both* references:
- the water's typical colour in this sample (the median over the zone, which holds while debris covers less
  than half of it), and
- its own background, an approximate running median of earlier samples kept in the camera's watch state
  (each sample moves every background pixel not under debris one small step towards what it sees).
The first reference ignores a bank, a pole or a moored boat inside the polygon (they are their own background);
the second forgets debris that was there when watching began (the place it left looks like water again).

Then: a pixel "differs" when its chromaticity is far from the reference's or it is much brighter (white
styrofoam, a bag); darker alone is a shadow of the bank or a ripple's trough and does not count. Clipped white
pixels are glare. Debris pixels are counted in cells of ``CELL`` pixels; a cell at least half covered is
debris, and a blob of fewer than ``MIN_BLOB_CELLS`` cells is dropped (glints and ripple crests are small and do
not persist; the rule's held samples and dwell time do the rest).

Known blind spots: dark debris on dark water (a black bag in shade), debris the colour of the water, a
mat that stays in place for many minutes (it becomes background), and floating objects smaller than a cell.
Only numpy: this is a decision over plain values, tested without OpenCV.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

WIDTH = 128  # the small colour frame's width; its height keeps the frame's aspect
CELL = 4  # pixels of the small frame per cell side
MIN_BLOB_CELLS = 2
CELL_SHARE = 0.3  # of a cell's pixels that differ for the cell to be debris
CHROMA_TOLERANCE = 0.035  # distance in (r, g) chromaticity that is no longer the same water
BRIGHTER = 1.45  # this much brighter than the reference is not water
BACKGROUND_STEP = 0.004  # chromaticity the background moves per sample towards what it sees (and 0.04 brightness)

Floats = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ColourFrame:
    """The sampled frame shrunk to ``WIDTH`` pixels wide, as raw RGB bytes (row by row)."""

    width: int
    height: int
    rgb: bytes

    def array(self) -> npt.NDArray[np.uint8]:
        return np.frombuffer(self.rgb, np.uint8).reshape(self.height, self.width, 3)


@dataclass(frozen=True)
class Debris:
    share: float  # of the water's pixels covered by debris, 0..1
    boxes: tuple[tuple[int, int, int, int], ...]  # x, y, width, height of each blob in the small frame's pixels


def polygon_mask(polygon: Sequence[tuple[float, float]], scale: tuple[float, float], size: tuple[int, int]) -> Mask:
    """The pixels of a ``size`` (width, height) picture whose centres are inside the polygon, its points
    multiplied by ``scale`` (even-odd rule, vectorised over pixels)."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    inside = np.zeros((height, width), dtype=bool)
    points = [(x * scale[0], y * scale[1]) for x, y in polygon]
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        if y1 == y2:
            continue
        crosses = (y1 > ys) != (y2 > ys)
        at_x = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (xs < at_x)
    return inside


def features(rgb: npt.NDArray[np.uint8], water: Mask) -> Floats:
    """Per pixel: r and g chromaticity, and brightness over the water's median brightness."""
    pixels = rgb.astype(np.float32)
    total = pixels.sum(axis=2) + 1.0
    brightness = total / 3
    median = float(np.median(brightness[water])) if water.any() else 1.0
    return np.stack([pixels[..., 0] / total, pixels[..., 1] / total, brightness / max(median, 1.0)], axis=2)


def _differs(feats: Floats, reference: Floats) -> Mask:
    chroma = np.hypot(feats[..., 0] - reference[..., 0], feats[..., 1] - reference[..., 1])
    brighter = feats[..., 2] > reference[..., 2] * BRIGHTER
    return (chroma > CHROMA_TOLERANCE) | brighter  # type: ignore[no-any-return]


def _blobs(cells: Mask) -> list[list[tuple[int, int]]]:
    """Groups of cells that touch by an edge."""
    seen = np.zeros_like(cells)
    groups = []
    for start in zip(*np.nonzero(cells), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        stack, group = [start], []
        while stack:
            cy, cx = stack.pop()
            group.append((int(cy), int(cx)))
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < cells.shape[0] and 0 <= nx < cells.shape[1] and cells[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        groups.append(group)
    return groups


def encode_background(background: Floats) -> str:
    # Quantised to bytes: chromaticity in 1/512 steps (its range is well below 0.5), brightness in 1/64 steps.
    scaled = np.stack([background[..., 0] * 512, background[..., 1] * 512, background[..., 2] * 64], axis=2)
    height, width = background.shape[:2]
    raw = np.clip(np.round(scaled), 0, 255).astype(np.uint8).tobytes()
    return f"{width}x{height}:" + base64.b64encode(raw).decode()


def decode_background(text: str | None, shape: tuple[int, int]) -> Floats | None:
    """The stored background, or None when there is none or it is of another frame size."""
    if not text:
        return None
    size, _, body = text.partition(":")
    if size != f"{shape[1]}x{shape[0]}":
        return None
    raw = np.frombuffer(base64.b64decode(body), np.uint8).reshape(shape[0], shape[1], 3).astype(np.float32)
    return np.stack([raw[..., 0] / 512, raw[..., 1] / 512, raw[..., 2] / 64], axis=2)


def measure(frame: ColourFrame, water: Mask, background: Floats | None) -> tuple[Debris, Floats]:
    """The debris in this sample's water, and the background to keep for the next sample."""
    rgb = frame.array()
    feats = features(rgb, water)
    if background is None:
        background = feats
    typical = np.median(feats[water], axis=0) if water.any() else np.zeros(3, np.float32)
    candidate = _differs(feats, typical[None, None, :]) & _differs(feats, background) & water
    rows, cols = frame.height // CELL, frame.width // CELL
    trimmed = candidate[: rows * CELL, : cols * CELL].reshape(rows, CELL, cols, CELL)
    cells = trimmed.mean(axis=(1, 3)) >= CELL_SHARE
    debris = np.zeros_like(candidate)
    boxes = []
    for blob in _blobs(cells):
        if len(blob) < MIN_BLOB_CELLS:
            continue
        for cy, cx in blob:
            # With its neighbours: the ragged edge of a piece is in cells less covered than CELL_SHARE.
            block = (slice(max(0, cy - 1) * CELL, (cy + 2) * CELL), slice(max(0, cx - 1) * CELL, (cx + 2) * CELL))
            debris[block] = candidate[block]
        ys, xs = [c[0] for c in blob], [c[1] for c in blob]
        boxes.append((min(xs) * CELL, min(ys) * CELL, (max(xs) - min(xs) + 1) * CELL, (max(ys) - min(ys) + 1) * CELL))
    area = int(water.sum())
    share = float(debris.sum()) / area if area else 0.0
    step = np.array([BACKGROUND_STEP, BACKGROUND_STEP, BACKGROUND_STEP * 10], np.float32)
    moved = background + np.clip(feats - background, -step, step)
    kept = np.where(debris[..., None], background, moved).astype(np.float32)
    return Debris(share, tuple(boxes)), kept
