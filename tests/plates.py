"""Rendered Indonesian plates on the shared footage, and how well domain.adapters.plates reads them (used by
tests/integration/test_plate_accuracy.py and bench/plates.py).

Each plate is drawn like a TNKB (white characters on black for private cars, or black on white, a thin border,
the validity month under the number), warped in perspective, placed on a frame of the shared footage, then
blurred, noised and JPEG-compressed; the reader gets a "vehicle crop" of about 2.6 plate widths around it.
Seeded, so that a figure can be reproduced.

    uv run python -m bench.plates --plates 180        # accuracy by plate width; exits 1 below the targets
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

import cv2
import numpy as np
from cv2.typing import MatLike

from domain import plates
from domain.adapters.plates import PlateOcr
from tests.clips import FOOTAGE_DIR

REGIONS = ["B", "D", "F", "E", "A", "T", "Z", "AB", "AD", "BK", "DK", "KT", "L", "N", "H", "G"]
# Letters Indonesian suffixes use (no I, O or Q: they are not issued, being too like 1 and 0).
SUFFIX_LETTERS = [c for c in string.ascii_uppercase if c not in "IOQ"]
WIDTHS = (40, 60, 80, 100, 120, 160)


@dataclass(frozen=True)
class Sample:
    text: str  # the truth, "B 1234 XYZ"
    width: int  # the plate's width in the frame, pixels
    crop: MatLike  # BGR vehicle crop handed to the reader


def random_plate(rng: random.Random) -> str:
    region = rng.choice(REGIONS)
    number = str(rng.randint(1, 9999))
    suffix = "".join(rng.choice(SUFFIX_LETTERS) for _ in range(rng.randint(0, 3)))
    return " ".join(part for part in (region, number, suffix) if part)


def render_plate(text: str, *, dark: bool, rng: random.Random) -> MatLike:
    """A plate at 400 px wide: the number in a condensed Hershey font, the validity below it."""
    width, height = 400, 130
    ink, paper = ((255, 255, 255), (20, 20, 20)) if dark else ((15, 15, 15), (245, 245, 245))
    plate = np.full((height, width, 3), paper, dtype=np.uint8)
    cv2.rectangle(plate, (4, 4), (width - 5, height - 5), ink, 3)
    font = cv2.FONT_HERSHEY_DUPLEX
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 3)
    scale = min((width - 40) / tw, 70 / th)
    (tw, th), _ = cv2.getTextSize(text, font, scale, 3)
    # Plate glyphs are condensed: draw wide, then squeeze horizontally.
    canvas = np.full((height, int(tw * 1.25) + 20, 3), paper, dtype=np.uint8)
    cv2.putText(canvas, text, (10, 15 + th), font, scale * 1.0, ink, 4, cv2.LINE_AA)
    squeezed = cv2.resize(canvas[: 25 + th], (width - 30, 25 + th), interpolation=cv2.INTER_AREA)
    plate[8 : 8 + squeezed.shape[0], 15 : 15 + squeezed.shape[1]] = squeezed
    validity = f"{rng.randint(1, 12):02d}.{rng.randint(25, 31)}"
    cv2.putText(plate, validity, (width // 2 - 40, height - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.8, ink, 2, cv2.LINE_AA)
    return plate


def frames(limit: int) -> list[MatLike]:
    """Frames of the shared footage at 1280 px wide (the footage is 640x360: a car fills more pixels in 720p)."""
    found: list[MatLike] = []
    for path in sorted(FOOTAGE_DIR.glob("*")):
        capture = cv2.VideoCapture(str(path))
        index = 0
        while len(found) < limit:
            ok, frame = capture.read()
            if not ok:
                break
            if index % 25 == 0:
                found.append(cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_LINEAR))
            index += 1
        capture.release()
    if not found:
        raise FileNotFoundError(f"no footage in {FOOTAGE_DIR}")
    return found


def place(plate: MatLike, frame: MatLike, *, width: int, rng: random.Random) -> MatLike:
    """The plate put on the frame at ``width`` pixels, seen a little from the side and above, degraded like a
    CCTV picture; returns the vehicle crop around it."""
    height = int(width * plate.shape[0] / plate.shape[1])
    source = np.array([[0, 0], [plate.shape[1], 0], [plate.shape[1], plate.shape[0]], [0, plate.shape[0]]], np.float32)
    skew_x, skew_y = rng.uniform(-0.12, 0.12) * width, rng.uniform(-0.15, 0.15) * height
    fh, fw = frame.shape[:2]
    x0, y0 = rng.randint(int(1.5 * width), fw - int(2.5 * width)), rng.randint(2 * height, fh - 3 * height)
    target = np.array(
        [[x0, y0 + skew_y], [x0 + width, y0 - skew_y], [x0 + width + skew_x, y0 + height], [x0 + skew_x, y0 + height]],
        np.float32,
    )
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(plate, matrix, (fw, fh))
    mask = cv2.warpPerspective(np.full(plate.shape[:2], 255, np.uint8), matrix, (fw, fh))
    scene = frame.copy()
    scene[mask > 0] = warped[mask > 0]
    sigma = rng.uniform(0.3, 1.0)
    scene = cv2.GaussianBlur(scene, (0, 0), sigma)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 8), scene.shape)
    scene = np.clip(scene.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(50, 85)])
    assert ok
    scene = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    left, top = max(0, int(x0 - 0.8 * width)), max(0, int(y0 - 1.5 * height))
    return scene[top : min(fh, int(y0 + 2.5 * height)), left : min(fw, int(x0 + 1.8 * width))]


def samples(count: int, *, seed: int = 17, widths: tuple[int, ...] = WIDTHS) -> list[Sample]:
    rng = random.Random(seed)
    pictures = frames(40)
    made = []
    for i in range(count):
        text = random_plate(rng)
        width = widths[i % len(widths)]
        plate = render_plate(text, dark=rng.random() < 0.7, rng=rng)
        made.append(Sample(text, width, place(plate, rng.choice(pictures), width=width, rng=rng)))
    return made


@dataclass(frozen=True)
class Score:
    """One plate width's figures. ``exact`` and ``characters`` take the reader's best plate whatever its
    confidence; ``kept`` and ``kept_wrong`` count the plates it stores (confidence at least the threshold) and
    those of them that are not the truth."""

    width: int
    plates: int
    exact: int
    characters: int  # characters of the truth read right: its length less the edit distance to the reading
    total_characters: int
    kept: int
    kept_wrong: int


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def score(reader: PlateOcr, made: list[Sample], *, threshold: float = plates.MIN_CONFIDENCE) -> dict[int, Score]:
    """The figures by plate width; a plate not found counts every character as wrong."""
    tallies: dict[int, list[int]] = {}
    for sample in made:
        found = plates.best_plate(reader.read(sample.crop), min_confidence=0.0)
        truth = sample.text.replace(" ", "")
        read = found.text.replace(" ", "") if found is not None else ""
        right = max(0, len(truth) - _distance(truth, read)) if read else 0
        exact = found is not None and found.text == sample.text
        kept = found is not None and found.confidence >= threshold
        tally = tallies.setdefault(sample.width, [0] * 6)
        for i, value in enumerate((1, int(exact), right, len(truth), int(kept), int(kept and not exact))):
            tally[i] += value
    return {w: Score(w, *t) for w, t in sorted(tallies.items())}
