"""What one sample of a watched camera saw: the contract between continuous watching (sampling the newest media,
motion, detection) and what is made of it (zones, dwell, cooldowns, alerts, automatic reports).

Plain values only: the sampler fills it in a worker, the rules read it, tests build it by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from domain.cctv_river import ColourFrame
from domain.cctv_rules import CameraHealth


@dataclass(frozen=True)
class ObjectSeen:
    """One detected object in the sampled frame."""

    label: str  # the COCO class we count: person, bicycle, car, motorcycle, bus, truck
    box: tuple[int, int, int, int]  # x, y, width, height in the frame's pixels
    confidence: float

    @property
    def foot(self) -> tuple[float, float]:
        """The bottom centre of the box: where the object stands on the ground, which decides its zone."""
        x, y, width, height = self.box
        return (x + width / 2, y + height)


@dataclass(frozen=True)
class Observation:
    camera_id: int  # cameras.id (an identity column, not a UUID)
    taken_at: datetime  # the media time of the sampled frame (aware, UTC)
    frame_size: tuple[int, int]  # width, height of the frame the boxes refer to
    health: CameraHealth
    motion: float  # share of pixels changed since the previous sample, 0..1 (1.0 for a camera's first sample)
    detected: bool  # whether the detector ran on this sample (it runs only when something moved)
    objects: tuple[ObjectSeen, ...] = ()  # empty when the detector did not run or found nothing
    congestion: float | None = None  # the congestion index when it was measured
    # Makes the frame as JPEG with faces and heads pixelated (never the raw frame): what an alert keeps as its
    # snapshot. Made only when an alert is raised: the face detector on a 720p frame costs more than all the rest
    # of a sample (docs/benchmarks.md, continuous watch), and most samples raise nothing. Set for every picture
    # of a healthy camera, detected or not (a still one's runs the detector for the heads when it is made).
    snapshot: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    # The frame shrunk to a small colour picture, for the river garbage rule (domain/cctv_river.py).
    colour: ColourFrame | None = field(default=None, repr=False)
