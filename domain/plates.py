"""Indonesian licence plates as text: the grammar of a plate, and which of the text lines read on a vehicle is its
plate. Pure functions; the OCR itself is ``domain.adapters.plates``.

A plate (TNKB) reads region letters (1-2: ``B`` Jakarta, ``AB`` Yogyakarta), a number (1-4 digits) and a suffix
(0-3 letters): ``B 1234 XYZ``. Under it the month and year of validity (``08.27``) are printed smaller; they are
not part of the plate and fail the grammar.

The recogniser's best character is not always the one the grammar allows: a small ``D`` reads as ``0``, an ``8``
as ``B``. So each character read keeps its best letter and its best digit with their probabilities, and a line is
read as the most probable split into letters, digits and letters that the grammar allows (at most 8 splits).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

PLATE = re.compile(r"^([A-Z]{1,2})([0-9]{1,4})([A-Z]{0,3})$")
MIN_CONFIDENCE = 0.6  # a plate whose least sure character is below this is a guess, and a guess is not kept
SAME_ROW = 0.5  # two pieces of text are one line when their centres differ by less than this share of the height
JOIN_MIN_CONFIDENCE = 0.3  # a piece read with less is noise (a bolt, an edge), not part of the plate's row


@dataclass(frozen=True)
class CharChoice:
    """One character as the recogniser saw it: its most probable letter and its most probable digit."""

    letter: str
    letter_p: float
    digit: str
    digit_p: float


@dataclass(frozen=True)
class Line:
    """One line of text read on a vehicle: the recogniser's own reading, its mean confidence, each character's
    choices, and where it is (x of its left edge, y of its centre, height, in the crop's pixels)."""

    text: str
    confidence: float
    x: float
    y: float
    height: float
    chars: tuple[CharChoice, ...] = ()


@dataclass(frozen=True)
class PlateRead:
    text: str  # normalised: "B 1234 XYZ"
    confidence: float


def normalise(raw: str) -> str | None:
    """The plate in its written form (``B 1234 XYZ``) if ``raw`` is one, whatever its spacing, case or dots."""
    compact = re.sub(r"[\s.\-·]", "", raw.upper())
    match = PLATE.match(compact)
    if match is None:
        return None
    return " ".join(part for part in match.groups() if part)


def read_by_grammar(chars: Sequence[CharChoice]) -> PlateRead | None:
    """The most probable plate the characters can spell (letters 1-2, digits 1-4, letters 0-3), as sure as its
    least sure character (a plate one character off names someone else); None when their count fits no plate."""
    best: tuple[float, str, list[float]] | None = None
    n = len(chars)
    for region in (1, 2):
        for number in range(1, 5):
            suffix = n - region - number
            if not 0 <= suffix <= 3:
                continue
            picked = [
                (c.digit, c.digit_p) if region <= i < region + number else (c.letter, c.letter_p)
                for i, c in enumerate(chars)
            ]
            if any(p <= 0 for _, p in picked):
                continue
            log_p = sum(math.log(p) for _, p in picked)
            if best is None or log_p > best[0]:
                best = (log_p, "".join(c for c, _ in picked), [p for _, p in picked])
    if best is None:
        return None
    text = normalise(best[1])
    return PlateRead(text, min(best[2])) if text is not None else None


def _rows(lines: Sequence[Line]) -> list[list[Line]]:
    """Pieces of text grouped by row, left to right: a detector may cut ``B 1234 XYZ`` at its wide gaps."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda one: (one.y, one.x)):
        row = rows[-1] if rows else None
        if row is not None and abs(row[0].y - line.y) < SAME_ROW * max(row[0].height, line.height):
            row.append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda one: one.x) for row in rows]


def _joined(row: list[Line]) -> Line:
    total = sum(len(one.text) for one in row)
    return Line(
        "".join(one.text for one in row),
        sum(one.confidence * len(one.text) for one in row) / max(total, 1),
        row[0].x,
        row[0].y,
        max(one.height for one in row),
        tuple(c for one in row for c in one.chars),
    )


def _read(line: Line) -> PlateRead | None:
    if line.chars:
        return read_by_grammar(line.chars)
    text = normalise(line.text)
    return PlateRead(text, line.confidence) if text is not None else None


def best_plate(lines: Sequence[Line], *, min_confidence: float = MIN_CONFIDENCE) -> PlateRead | None:
    """The most confident reading that is a plate: each piece alone, or the pieces of a row joined."""
    candidates = list(lines)
    for row in _rows([one for one in lines if one.confidence >= JOIN_MIN_CONFIDENCE]):
        if len(row) > 1:
            candidates.append(_joined(row))
    found = [read for one in candidates if (read := _read(one)) is not None and read.confidence >= min_confidence]
    return max(found, key=lambda one: one.confidence, default=None)


class PlateReader(Protocol):
    """Reads the plate of each vehicle box on a snapshot (domain.adapters.plates.VehiclePlates; fakes in tests)."""

    def read_vehicles(
        self, jpeg: bytes, frame_size: tuple[int, int], boxes: Sequence[tuple[int, int, int, int]]
    ) -> list[PlateRead | None]: ...
