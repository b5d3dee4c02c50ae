"""Reading licence plates on vehicle crops with the PP-OCRv4 text detector and recogniser.

The ONNX files come inside the `rapidocr-onnxruntime` wheel (nothing is downloaded at run time); we load them with
onnxruntime ourselves rather than through that package, whose code pulls in opencv-python next to our
opencv-python-headless. The recogniser knows 6,623 characters (Chinese among them); a plate has only Latin
capitals and digits, so its CTC decoding is limited to those, which removes most confusions (``0`` read as a
Chinese circle, ``1`` as ``|``) before the plate's grammar is checked in ``domain.plates``.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from cv2.typing import MatLike

from domain.plates import CharChoice, Line, PlateRead, best_plate


def _models_dir() -> Path:
    """The wheel's models folder, found without importing the package (its code is not ours to run)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("rapidocr-onnxruntime, which ships the plate OCR models, is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


MODELS = _models_dir()
DET_MODEL = MODELS / "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = MODELS / "ch_PP-OCRv4_rec_infer.onnx"
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
PLATE_ALPHABET = LETTERS | DIGITS | {" "}
DET_SIDE = 480  # a vehicle crop is scaled to this long side (a multiple of 32) before text detection
DET_THRESHOLD = 0.3  # probability of text per pixel
BOX_THRESHOLD = 0.5  # mean probability inside a found box
UNCLIP = 1.6  # the detector marks the shrunk core of a text line; grow it back by this ratio
REC_HEIGHT = 48
MIN_TEXT_HEIGHT = 6  # pixels of the crop: smaller boxes are specks, not characters
# A lone region letter ("L") is a line too; a box much taller than wide is not horizontal text.
MIN_LINE_RATIO = 0.4
CROP_MARGIN = 0.05  # share of a vehicle box added around it: a plate sits at the very edge of a tight box


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # One thread per read: the cctv worker runs several samples at once, each already on its own thread.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _normalised(image: MatLike) -> np.ndarray:
    blob = (image.astype(np.float32) / 255.0 - 0.5) / 0.5
    return blob.transpose(2, 0, 1)[np.newaxis]


class PlateOcr:
    """Text lines on a crop, read in the plate alphabet. Build once per process (the models take ~0.3 s)."""

    def __init__(self, det_model: Path = DET_MODEL, rec_model: Path = REC_MODEL) -> None:
        self._det = _session(det_model)
        self._rec = _session(rec_model)
        characters = self._rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        # Index 0 is the CTC blank, the last one the space the model was trained with.
        labels = ["", *characters, " "]
        self._labels = labels
        self._allowed = np.array([0] + [i for i, c in enumerate(labels) if c in PLATE_ALPHABET], dtype=np.int64)
        self._letters = np.array([i for i, c in enumerate(labels) if c in LETTERS], dtype=np.int64)
        self._digits = np.array([i for i, c in enumerate(labels) if c in DIGITS], dtype=np.int64)

    def read(self, crop: MatLike) -> list[Line]:
        """Every text line found on a BGR crop, top to bottom."""
        if crop.size == 0 or min(crop.shape[:2]) < MIN_TEXT_HEIGHT:
            return []
        reads = [self._recognise(line, box) for line, box in self._lines(crop)]
        return sorted((r for r in reads if r.text.strip()), key=lambda r: (r.y, r.x))

    def _lines(self, crop: MatLike) -> list[tuple[MatLike, tuple[float, float, float]]]:
        height, width = crop.shape[:2]
        scale = DET_SIDE / max(height, width)
        w32 = max(32, round(width * scale / 32) * 32)
        h32 = max(32, round(height * scale / 32) * 32)
        resized = cv2.resize(crop, (w32, h32), interpolation=cv2.INTER_LINEAR)
        probability = self._det.run(None, {self._det.get_inputs()[0].name: _normalised(resized)})[0][0, 0]
        mask = cv2.dilate((probability > DET_THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = width / w32, height / h32
        lines = []
        for contour in contours:
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if min(rw, rh) < 3:
                continue
            inside = np.zeros_like(mask)
            cv2.drawContours(inside, [contour], -1, 1, thickness=-1)
            if float(probability[inside > 0].mean()) < BOX_THRESHOLD:
                continue
            grow = rw * rh * UNCLIP / (2 * (rw + rh))
            rect = ((cx * sx, cy * sy), ((rw + 2 * grow) * sx, (rh + 2 * grow) * sy), angle)
            line = _upright(crop, rect)
            if line is not None:
                corners = cv2.boxPoints(rect)
                lines.append((line, (float(corners[:, 0].min()), cy * sy, float(line.shape[0]))))
        return lines

    def _recognise(self, line: MatLike, where: tuple[float, float, float]) -> Line:
        height, width = line.shape[:2]
        target = max(1, min(math.ceil(REC_HEIGHT * width / height), 1280))
        resized = cv2.resize(line, (target, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        padded = np.zeros((REC_HEIGHT, max(target, 320), 3), dtype=np.uint8)
        padded[:, :target] = resized
        blob = _normalised(padded)
        blob[0, :, :, target:] = 0.0  # the padding is mid-grey after normalisation in PP-OCR's own recipe
        probabilities = self._rec.run(None, {self._rec.get_inputs()[0].name: blob})[0][0]
        limited = probabilities[:, self._allowed]
        best = limited.argmax(axis=1)
        text, scores, chars, previous = [], [], [], -1
        for step, index in enumerate(best):
            if index != 0 and index != previous:
                character = self._labels[self._allowed[index]]
                text.append(character)
                scores.append(float(limited[step, index]))
                if character != " ":
                    chars.append(self._choices(probabilities[step]))
            previous = index
        confidence = float(np.mean(scores)) if scores else 0.0
        return Line("".join(text), confidence, where[0], where[1], where[2], tuple(chars))

    def _choices(self, step: np.ndarray) -> CharChoice:
        letter = self._letters[step[self._letters].argmax()]
        digit = self._digits[step[self._digits].argmax()]
        return CharChoice(self._labels[letter], float(step[letter]), self._labels[digit], float(step[digit]))


def _upright(image: MatLike, rect: tuple[tuple[float, float], tuple[float, float], float]) -> MatLike | None:
    """The rotated rectangle cut out and turned so that its text runs left to right."""
    corners = cv2.boxPoints(rect).astype(np.float32)
    # Order: top-left, top-right, bottom-right, bottom-left.
    by_sum = corners.sum(axis=1)
    by_diff = np.diff(corners, axis=1).ravel()
    ordered = np.array(
        [corners[by_sum.argmin()], corners[by_diff.argmin()], corners[by_sum.argmax()], corners[by_diff.argmax()]],
        dtype=np.float32,
    )
    width = round(float(max(np.linalg.norm(ordered[0] - ordered[1]), np.linalg.norm(ordered[3] - ordered[2]))))
    height = round(float(max(np.linalg.norm(ordered[0] - ordered[3]), np.linalg.norm(ordered[1] - ordered[2]))))
    if height < MIN_TEXT_HEIGHT or width < MIN_LINE_RATIO * height:
        return None
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(ordered, target)
    return cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


class VehiclePlates:
    """The plate of each vehicle box of a snapshot (domain.plates.PlateReader). The models load at the first read,
    so that a worker whose cameras never read plates never loads them."""

    def __init__(self) -> None:
        self._ocr: PlateOcr | None = None

    def read_vehicles(
        self, jpeg: bytes, frame_size: tuple[int, int], boxes: Sequence[tuple[int, int, int, int]]
    ) -> list[PlateRead | None]:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return [None for _ in boxes]
        if self._ocr is None:
            self._ocr = PlateOcr()
        height, width = image.shape[:2]
        sx, sy = width / frame_size[0], height / frame_size[1]
        found: list[PlateRead | None] = []
        for x, y, w, h in boxes:
            mx, my = w * CROP_MARGIN, h * CROP_MARGIN
            left, top = max(0, int((x - mx) * sx)), max(0, int((y - my) * sy))
            right, bottom = min(width, int((x + w + mx) * sx)), min(height, int((y + h + my) * sy))
            crop = image[top:bottom, left:right]
            found.append(best_plate(self._ocr.read(crop)) if crop.size else None)
        return found
