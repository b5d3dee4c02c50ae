"""Pure CCTV decisions over plain values: which cameras can see a report, what a clip's numbers say, when to alert.

Coordinates are WGS84 (lon, lat) in degrees; headings and bearings are compass degrees, clockwise from north.
The clip analysis itself (OpenCV) is in ``domain.adapters.video``; everything here is plain arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from domain.models.enums import AlertKind, CameraKind

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


class CameraHealth(StrEnum):
    OK = "OK"
    BLACK = "BLACK"
    FROZEN = "FROZEN"
    COVERED = "COVERED"
    # Only continuous watching tells these (domain/cctv_watch.py): a clip either comes or it does not, and it
    # has no reference frame to compare with.
    MOVED = "MOVED"
    OFFLINE = "OFFLINE"


class LonLat(NamedTuple):
    lon: float
    lat: float


@dataclass(frozen=True)
class Camera:
    id: str
    location: LonLat
    kind: CameraKind
    heading_deg: float
    fov_deg: float
    range_m: float


_FLOOD = frozenset({CameraKind.FLOODGATE, CameraKind.RIVER})
_ROAD = frozenset({CameraKind.ROAD, CameraKind.INTERSECTION})
_PUBLIC = frozenset({CameraKind.PUBLIC_SPACE, CameraKind.ROAD})

# Codes from data/jakarta/categories.csv. A category not named here (fire, garbage, crime, ...) has no camera
# kind that sees it better than another, so every camera that covers the point is as good.
PREFERRED_KINDS: dict[str, frozenset[CameraKind]] = {
    "flood": _FLOOD,
    "traffic": _ROAD,
    "damaged-road": _ROAD,
    "illegal-parking": _ROAD,
    "transjakarta": _ROAD,
    "jockey-3in1": _ROAD,
    "fallen-tree": _ROAD,
    "street-light": _ROAD,
    "street-vendors": _PUBLIC,
    "beggars": _PUBLIC,
    "rule-violation": _PUBLIC,
    "public-facilities": _PUBLIC,
    "no-smoking": _PUBLIC,
}


def preferred_kinds(category_code: str) -> frozenset[CameraKind]:
    """The camera kinds that see this category best; empty when any kind will do."""
    return PREFERRED_KINDS.get(category_code, frozenset())


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial compass bearing from the first point to the second, in [0, 360)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_lambda = math.radians(lon2 - lon1)
    y = math.sin(d_lambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(d_lambda)
    return math.degrees(math.atan2(y, x)) % 360.0


def angle_between_deg(a: float, b: float) -> float:
    """The smaller angle between two compass directions, in [0, 180]: 350° and 10° are 20° apart."""
    return abs((b - a + 180.0) % 360.0 - 180.0)


def covers(camera: Camera, point: LonLat) -> bool:
    """Whether the point is within the camera's range and inside its field of view."""
    distance = distance_m(*camera.location, *point)
    if distance > camera.range_m:
        return False
    # At the camera's own position the bearing is undefined; the camera sees its foot.
    if camera.fov_deg >= 360.0 or distance == 0.0:
        return True
    bearing = bearing_deg(*camera.location, *point)
    return angle_between_deg(camera.heading_deg, bearing) <= camera.fov_deg / 2


def choose_cameras(
    cameras: Iterable[Camera], point: LonLat, category_kinds: frozenset[CameraKind], limit: int = 3
) -> list[Camera]:
    """The cameras that see the point: those of a preferred kind first, then nearest first; at most ``limit``."""

    def rank(camera: Camera) -> tuple[bool, float, str]:
        preferred = not category_kinds or camera.kind in category_kinds
        return (not preferred, distance_m(*camera.location, *point), camera.id)

    return sorted((c for c in cameras if covers(c, point)), key=rank)[:limit]


def point_in_polygon(x: float, y: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Even-odd rule: whether (x, y) is inside the polygon (a ring of vertices, closing edge implied)."""
    inside = False
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def camera_health(*, black_share: float, covered_share: float, frozen_share: float, most: float) -> CameraHealth:
    """What the camera shows, from the share of frames that were black, textureless, or unchanged.

    Checked in this order because the symptoms overlap: a black picture is also flat and unchanging, and a
    lens under a bag is also unchanging; the first symptom is the one an operator must fix.
    """
    if black_share >= most:
        return CameraHealth.BLACK
    if covered_share >= most:
        return CameraHealth.COVERED
    if frozen_share >= most:
        return CameraHealth.FROZEN
    return CameraHealth.OK


@dataclass(frozen=True)
class StoppedVehicle:
    label: str
    seconds: float
    in_no_stopping_zone: bool


@dataclass(frozen=True)
class AlertInputs:
    """What the alert rules read from one clip's analysis."""

    max_persons: int
    congestion_index: float
    stopped_vehicles: Sequence[StoppedVehicle]


@dataclass(frozen=True)
class AlertRules:
    """Thresholds for one camera; ``None`` switches that rule off. Every threshold must be exceeded, not met."""

    crowd_above_persons: int | None = None
    congestion_above: float | None = None
    no_stopping_above_s: float | None = None


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    value: float
    threshold: float


def evaluate_alerts(inputs: AlertInputs, rules: AlertRules) -> list[Alert]:
    """The alerts this clip raises, at most one per kind, in the order crowd, congestion, no stopping."""
    alerts: list[Alert] = []
    if rules.crowd_above_persons is not None and inputs.max_persons > rules.crowd_above_persons:
        alerts.append(Alert(AlertKind.CROWD, inputs.max_persons, rules.crowd_above_persons))
    if rules.congestion_above is not None and inputs.congestion_index > rules.congestion_above:
        alerts.append(Alert(AlertKind.CONGESTION, inputs.congestion_index, rules.congestion_above))
    if rules.no_stopping_above_s is not None:
        longest = max((v.seconds for v in inputs.stopped_vehicles if v.in_no_stopping_zone), default=0.0)
        if longest > rules.no_stopping_above_s:
            alerts.append(Alert(AlertKind.NO_STOPPING, longest, rules.no_stopping_above_s))
    return alerts
