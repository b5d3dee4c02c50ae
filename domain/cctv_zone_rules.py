"""Pure decisions over a camera's sequence of samples: zones drawn on its view, objects followed from sample to
sample, and the rules that alert on them (busway, no stopping, crowd, congestion, river garbage), each with its
dwell time, its cooldown and a membership held for a number of samples.

Everything here is plain values: ``step`` takes the state left by the previous sample, one
``domain.cctv_observation.Observation`` and the camera's zones and rules, and returns the next state and what
to raise. ``domain.cctv_zones`` loads and stores the state and the alerts.

The shape of every rule is the same. A rule watches *subjects*: each vehicle of a busway or a no-stopping zone,
or the one crowd or jam of its zone or view. A subject *qualifies* once its condition has held long enough (the
dwell time); a qualifying subject that has not alerted in its current stay alerts at the first sample the rule's
cooldown allows, together with every other such subject (one alert names them all); its stay ends when the
condition no longer holds (the vehicle leaves, the crowd thins), and only a new stay can alert again. So a car
parked for an hour alerts once, and a busy lane raises at most one alert per cooldown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from domain import cctv_river
from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth, point_in_polygon
from domain.models.enums import AlertKind, ZonePurpose

VEHICLES = frozenset({"bicycle", "car", "motorcycle", "bus", "truck"})
# What may not use a busway: everything on wheels that is not a bus (a TransJakarta or any other).
BUSWAY_INTRUDERS = frozenset({"car", "motorcycle", "truck"})
MATCH_IOU = 0.3  # boxes of one object in two samples overlap at least this much
STILL_IOU = 0.7  # a vehicle whose box still overlaps where it stopped this much has not moved
# Fallback for small or fast objects whose boxes no longer overlap: feet closer than this share of the box's width.
MATCH_FOOT_SHARE = 0.5
MAX_MISSED = 2  # samples a track survives without being found (a passing bus hides a parked angkot)
MAX_GAP = timedelta(seconds=120)  # a longer gap between samples: nobody is known to have stayed, tracks start again
MAX_POLYGON_POINTS = 64


# The rule kinds each zone purpose can carry; a rule without a zone watches the whole view.
RULES_BY_PURPOSE: dict[ZonePurpose, frozenset[AlertKind]] = {
    ZonePurpose.BUSWAY: frozenset({AlertKind.BUSWAY}),
    ZonePurpose.NO_STOPPING: frozenset({AlertKind.NO_STOPPING}),
    ZonePurpose.CROWD_AREA: frozenset({AlertKind.CROWD}),
    ZonePurpose.WATER: frozenset({AlertKind.RIVER_GARBAGE}),
}
WHOLE_VIEW_RULES = frozenset({AlertKind.CROWD, AlertKind.CONGESTION, AlertKind.NO_STOPPING})


@dataclass(frozen=True)
class Zone:
    id: int
    purpose: ZonePurpose
    polygon: tuple[tuple[float, float], ...]  # pixels of the reference frame
    frame_size: tuple[int, int]  # the reference frame's width and height

    def contains(self, point: tuple[float, float], frame_size: tuple[int, int]) -> bool:
        """Whether a point of a frame of ``frame_size`` is inside, the polygon scaled to that frame."""
        sx, sy = frame_size[0] / self.frame_size[0], frame_size[1] / self.frame_size[1]
        return point_in_polygon(point[0] / sx, point[1] / sy, self.polygon)


@dataclass(frozen=True)
class Rule:
    """One alert rule of one camera. ``key`` names it in the stored state; ``zone`` None is the whole view.

    ``threshold``: CROWD people (alert above), CONGESTION index 0-1 (above), BUSWAY vehicles (above; 0 means any),
    NO_STOPPING is decided by ``dwell_s`` alone (threshold unused), RIVER_GARBAGE the share 0-1 of the WATER zone
    covered by floating debris (above).
    """

    key: str
    kind: AlertKind
    zone: Zone | None
    threshold: float
    dwell_s: float
    cooldown_s: float
    hold_samples: int = 2


# --- geometry ----------------------------------------------------------------------------------------------------


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (aw * ah + bw * bh - inter)


def _orientation(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> int:
    value = (q[1] - p[1]) * (r[0] - q[0]) - (q[0] - p[0]) * (r[1] - q[1])
    return 0 if value == 0 else (1 if value > 0 else -1)


def _on_segment(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> bool:
    return min(p[0], r[0]) <= q[0] <= max(p[0], r[0]) and min(p[1], r[1]) <= q[1] <= max(p[1], r[1])


def _segments_cross(
    p1: tuple[float, float], q1: tuple[float, float], p2: tuple[float, float], q2: tuple[float, float]
) -> bool:
    o1, o2 = _orientation(p1, q1, p2), _orientation(p1, q1, q2)
    o3, o4 = _orientation(p2, q2, p1), _orientation(p2, q2, q1)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and _on_segment(p1, p2, q1))
        or (o2 == 0 and _on_segment(p1, q2, q1))
        or (o3 == 0 and _on_segment(p2, p1, q2))
        or (o4 == 0 and _on_segment(p2, q1, q2))
    )


def self_intersecting(polygon: Sequence[tuple[float, float]]) -> bool:
    """Whether two edges that are not neighbours touch or cross (a bow tie, a ring folded back on itself)."""
    n = len(polygon)
    edges = [(polygon[i], polygon[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def polygon_problem(polygon: Sequence[Sequence[float]], frame_size: tuple[int, int]) -> str | None:
    """Why a zone's polygon cannot be used, as an error code, or None when it can."""
    width, height = frame_size
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        return "INVALID_FRAME"
    if not 3 <= len(polygon) <= MAX_POLYGON_POINTS or any(len(p) != 2 for p in polygon):
        return "INVALID_POLYGON"
    if any(not all(math.isfinite(v) for v in p) for p in polygon):
        return "INVALID_POLYGON"
    if any(not (0 <= p[0] <= width and 0 <= p[1] <= height) for p in polygon):
        return "OUT_OF_FRAME"
    points = [(float(p[0]), float(p[1])) for p in polygon]
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(points, points[1:] + points[:1], strict=True)) / 2
    if self_intersecting(points):
        return "SELF_INTERSECTING"
    if abs(area) < 1.0:
        return "INVALID_POLYGON"
    return None


# --- state -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """One object followed across samples."""

    id: int
    label: str
    box: tuple[int, int, int, int]
    confidence: float
    first_seen: datetime
    still_since: datetime  # when it was last seen to move (or first seen)
    anchor: tuple[int, int, int, int]  # its box when it stopped
    missed: int = 0  # samples in a row it was not found
    # Per zone id: consecutive samples with the foot inside, and the first of them.
    streaks: dict[int, int] = field(default_factory=dict)
    entered: dict[int, datetime] = field(default_factory=dict)

    @property
    def foot(self) -> tuple[float, float]:
        return ObjectSeen(self.label, self.box, self.confidence).foot


@dataclass(frozen=True)
class RuleState:
    last_alert_at: datetime | None = None
    alerted: frozenset[str] = frozenset()  # subjects whose current stay has alerted
    # A crowd or congestion rule's condition: consecutive samples true (+) or false (-), the first sample of the
    # current true run, and the start of the episode (the run once held for hold_samples; ends once false as long).
    streak: int = 0
    since: datetime | None = None
    run: datetime | None = None


@dataclass(frozen=True)
class WatchState:
    taken_at: datetime | None = None
    next_track: int = 1
    tracks: tuple[Track, ...] = ()
    rules: dict[str, RuleState] = field(default_factory=dict)
    # Per WATER zone id with a river garbage rule: the water's background (cctv_river.encode_background).
    water: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Raised:
    """One alert to store: the rule, what was measured, and the objects it is about."""

    rule: Rule
    value: float
    objects: tuple[Track, ...]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def dump_state(state: WatchState) -> dict[str, Any]:
    """The state as JSON, compact enough for one row per camera."""
    return {
        "t": _time(state.taken_at),
        "n": state.next_track,
        "tracks": [
            {
                "id": t.id,
                "l": t.label,
                "b": list(t.box),
                "c": round(t.confidence, 3),
                "f": _time(t.first_seen),
                "s": _time(t.still_since),
                "a": list(t.anchor),
                "m": t.missed,
                "z": {str(k): v for k, v in t.streaks.items()},
                "in": {str(k): _time(v) for k, v in t.entered.items()},
            }
            for t in state.tracks
        ],
        "rules": {
            key: {
                "last": _time(r.last_alert_at),
                "alerted": sorted(r.alerted),
                "k": r.streak,
                "since": _time(r.since),
                "run": _time(r.run),
            }
            for key, r in state.rules.items()
        },
        "water": {str(k): v for k, v in state.water.items()},
    }


def load_state(raw: dict[str, Any] | None) -> WatchState:
    if not raw:
        return WatchState()
    tracks = tuple(
        Track(
            id=t["id"],
            label=t["l"],
            box=tuple(t["b"]),  # type: ignore[arg-type]
            confidence=t["c"],
            first_seen=datetime.fromisoformat(t["f"]),
            still_since=datetime.fromisoformat(t["s"]),
            anchor=tuple(t["a"]),  # type: ignore[arg-type]
            missed=t["m"],
            streaks={int(k): v for k, v in t["z"].items()},
            entered={int(k): datetime.fromisoformat(v) for k, v in t["in"].items()},
        )
        for t in raw.get("tracks", [])
    )
    rules = {
        key: RuleState(_parse(r["last"]), frozenset(r["alerted"]), r["k"], _parse(r["since"]), _parse(r["run"]))
        for key, r in raw.get("rules", {}).items()
    }
    water = {int(k): v for k, v in raw.get("water", {}).items()}
    return WatchState(_parse(raw.get("t")), raw.get("n", 1), tracks, rules, water)


# --- following objects -------------------------------------------------------------------------------------------


def _same_kind(a: str, b: str) -> bool:
    # The detector may call one vehicle a car in one sample and a truck in the next; never a person.
    return a == b or (a in VEHICLES and b in VEHICLES)


def _foot_close(track: Track, seen: ObjectSeen) -> bool:
    (fx, fy), (gx, gy) = track.foot, seen.foot
    limit = MATCH_FOOT_SHARE * max(track.box[2], seen.box[2])
    return math.hypot(fx - gx, fy - gy) <= limit


def match(tracks: Sequence[Track], seen: Sequence[ObjectSeen]) -> list[tuple[int, int]]:
    """Pairs (track index, object index): the best overlapping boxes first, then the nearest feet."""
    pairs: list[tuple[int, int]] = []
    used_t: set[int] = set()
    used_s: set[int] = set()
    by_overlap = sorted(
        (
            (iou(t.box, s.box), ti, si)
            for ti, t in enumerate(tracks)
            for si, s in enumerate(seen)
            if _same_kind(t.label, s.label)
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    for overlap, ti, si in by_overlap:
        if overlap >= MATCH_IOU and ti not in used_t and si not in used_s:
            pairs.append((ti, si))
            used_t.add(ti)
            used_s.add(si)
    by_distance = sorted(
        (
            (math.hypot(t.foot[0] - s.foot[0], t.foot[1] - s.foot[1]), ti, si)
            for ti, t in enumerate(tracks)
            for si, s in enumerate(seen)
            if ti not in used_t and si not in used_s and _same_kind(t.label, s.label) and _foot_close(t, s)
        ),
        key=lambda c: (c[0], c[1], c[2]),
    )
    for _, ti, si in by_distance:
        if ti not in used_t and si not in used_s:
            pairs.append((ti, si))
            used_t.add(ti)
            used_s.add(si)
    return pairs


def _update_membership(track: Track, zones: Sequence[Zone], frame_size: tuple[int, int], at: datetime) -> Track:
    streaks: dict[int, int] = {}
    entered: dict[int, datetime] = {}
    for zone in zones:
        if zone.contains(track.foot, frame_size):
            streaks[zone.id] = track.streaks.get(zone.id, 0) + 1
            entered[zone.id] = track.entered.get(zone.id, at)
    return replace(track, streaks=streaks, entered=entered)


def follow(state: WatchState, observation: Observation, zones: Sequence[Zone]) -> tuple[tuple[Track, ...], int]:
    """The tracks after this sample, and the next track id.

    A sample where the detector did not run saw nothing move: the objects are where they were and count as
    seen again. A track not found keeps its place for up to ``MAX_MISSED`` samples (a passing bus hides the
    angkot behind it), then is forgotten.
    """
    at, frame = observation.taken_at, observation.frame_size
    next_id = state.next_track
    if not observation.detected:
        return tuple(t if t.missed else _update_membership(t, zones, frame, at) for t in state.tracks), next_id
    seen = [o for o in observation.objects if o.label == "person" or o.label in VEHICLES]
    pairs = dict(match(state.tracks, seen))
    tracks: list[Track] = []
    for ti, track in enumerate(state.tracks):
        si = pairs.get(ti)
        if si is None:
            if track.missed < MAX_MISSED:
                tracks.append(replace(track, missed=track.missed + 1))
            continue
        obj = seen[si]
        moved = iou(track.anchor, obj.box) < STILL_IOU
        updated = replace(
            track,
            label=obj.label,
            box=obj.box,
            confidence=obj.confidence,
            missed=0,
            anchor=obj.box if moved else track.anchor,
            still_since=at if moved else track.still_since,
        )
        tracks.append(_update_membership(updated, zones, frame, at))
    matched = set(pairs.values())
    for si, obj in enumerate(seen):
        if si not in matched:
            new = Track(next_id, obj.label, obj.box, obj.confidence, first_seen=at, still_since=at, anchor=obj.box)
            next_id += 1
            tracks.append(_update_membership(new, zones, frame, at))
    return tuple(tracks), next_id


# --- rules -------------------------------------------------------------------------------------------------------


def _in_zone(track: Track, rule: Rule) -> datetime | None:
    """Since when the track is a held member of the rule's zone (its foot inside for ``hold_samples`` samples in a
    row; the whole view: since first seen), or None. A track missed in this sample keeps its last answer."""
    if rule.zone is None:
        return track.first_seen
    if track.streaks.get(rule.zone.id, 0) < rule.hold_samples:
        return None
    return track.entered[rule.zone.id]


def _vehicle_subjects(rule: Rule, tracks: Sequence[Track]) -> dict[str, tuple[datetime, Track]]:
    """Each vehicle this rule is about, with the start of what counts against the dwell time."""
    subjects: dict[str, tuple[datetime, Track]] = {}
    for track in tracks:
        inside = _in_zone(track, rule)
        if inside is None:
            continue
        if rule.kind == AlertKind.BUSWAY and track.label in BUSWAY_INTRUDERS:
            subjects[str(track.id)] = (inside, track)
        elif rule.kind == AlertKind.NO_STOPPING and track.label in VEHICLES:
            # Standing still counts from when it stopped, or from when it entered if it stopped before.
            subjects[str(track.id)] = (max(inside, track.still_since), track)
    return subjects


def _cooled(rule: Rule, state: RuleState, at: datetime) -> bool:
    return state.last_alert_at is None or at - state.last_alert_at >= timedelta(seconds=rule.cooldown_s)


def _vehicle_rule(
    rule: Rule, state: RuleState, tracks: Sequence[Track], at: datetime
) -> tuple[RuleState, Raised | None]:
    inside = {str(t.id) for t in tracks if _in_zone(t, rule) is not None}
    subjects = _vehicle_subjects(rule, tracks)
    # A stay ends when the vehicle leaves the zone (or is lost); a vehicle that moves a little and stops again
    # inside is still in the same stay.
    alerted = frozenset(k for k in state.alerted if k in inside)
    dwell = timedelta(seconds=rule.dwell_s)
    due = {k: v for k, v in subjects.items() if k not in alerted and at - v[0] >= dwell}
    if rule.kind == AlertKind.BUSWAY and len(subjects) <= rule.threshold:
        due = {}
    if not due or not _cooled(rule, state, at):
        return replace(state, alerted=alerted), None
    if rule.kind == AlertKind.NO_STOPPING:
        value = max((at - since).total_seconds() for since, _ in due.values())
    else:
        value = float(len(subjects))
    ordered = tuple(due[k][1] for k in sorted(due, key=int))
    return replace(state, alerted=alerted | frozenset(due), last_alert_at=at), Raised(rule, value, ordered)


def _condition_rule(
    rule: Rule, state: RuleState, measured: float | None, objects: Sequence[Track], at: datetime
) -> tuple[RuleState, Raised | None]:
    """A crowd or a jam: one subject, the zone's (or view's) condition, held for ``hold_samples`` to start and
    to end, and for the dwell time before it alerts."""
    if measured is None:  # not measured in this sample: nothing is learnt
        return state, None
    above = measured > rule.threshold
    streak = (max(state.streak, 0) + 1) if above else (min(state.streak, 0) - 1)
    run = (state.run if state.streak > 0 else at) if above else None
    since, alerted = state.since, state.alerted
    if since is None and streak >= rule.hold_samples:
        since = run
    elif since is not None and streak <= -rule.hold_samples:
        since, alerted = None, frozenset()
    state = replace(state, streak=streak, since=since, run=run, alerted=alerted)
    due = since is not None and above and "*" not in alerted and at - since >= timedelta(seconds=rule.dwell_s)
    if not due or not _cooled(rule, state, at):
        return state, None
    return replace(state, alerted=frozenset({"*"}), last_alert_at=at), Raised(rule, measured, tuple(objects))


def _river(
    rule: Rule, observation: Observation, backgrounds: dict[int, str]
) -> tuple[float | None, tuple[Track, ...], str | None]:
    """The share of the rule's water covered by debris (None when the sample has no colour picture), the blobs
    as objects in the frame's pixels, and the water's background for the next sample."""
    colour, zone = observation.colour, rule.zone
    if zone is None:
        return None, (), None
    if colour is None:
        return None, (), backgrounds.get(zone.id)
    shape = (colour.height, colour.width)
    scale = (colour.width / zone.frame_size[0], colour.height / zone.frame_size[1])
    water = cctv_river.polygon_mask(zone.polygon, scale, (colour.width, colour.height))
    background = cctv_river.decode_background(backgrounds.get(zone.id), shape)
    debris, background = cctv_river.measure(colour, water, background)
    sx, sy = observation.frame_size[0] / colour.width, observation.frame_size[1] / colour.height
    at = observation.taken_at
    blobs = tuple(
        Track(i, "debris", (round(x * sx), round(y * sy), round(w * sx), round(h * sy)), 1.0, at, at, (x, y, w, h))
        for i, (x, y, w, h) in enumerate(debris.boxes, start=1)
    )
    return debris.share, blobs, cctv_river.encode_background(background)


def step(
    state: WatchState, observation: Observation, zones: Sequence[Zone], rules: Sequence[Rule]
) -> tuple[WatchState, list[Raised]]:
    """The state after one sample and the alerts it raises, in the order of ``rules``.

    A sample no newer than the last one changes nothing (a retried or late job must not alert twice). Nor does
    a sample whose picture is not healthy (black, frozen, covered): a frozen picture would make every car look
    parked. It counts as no sample at all, so a picture bad for longer than ``MAX_GAP`` starts the stays again.
    """
    at = observation.taken_at
    if state.taken_at is not None and at <= state.taken_at:
        return state, []
    if observation.health != CameraHealth.OK:
        return state, []
    if state.taken_at is not None and at - state.taken_at > MAX_GAP:
        rules_after_gap = {k: RuleState(last_alert_at=r.last_alert_at) for k, r in state.rules.items()}
        state = replace(state, tracks=(), rules=rules_after_gap)
    tracks, next_id = follow(state, observation, zones)
    rule_states: dict[str, RuleState] = {}
    water: dict[int, str] = {}
    raised: list[Raised] = []
    for rule in rules:
        current = state.rules.get(rule.key, RuleState())
        if rule.kind in (AlertKind.BUSWAY, AlertKind.NO_STOPPING):
            current, alert = _vehicle_rule(rule, current, tracks, at)
        elif rule.kind == AlertKind.CROWD:
            people = [
                t
                for t in tracks
                if t.label == "person" and not t.missed and (rule.zone is None or rule.zone.id in t.streaks)
            ]
            current, alert = _condition_rule(rule, current, float(len(people)), people, at)
        elif rule.kind == AlertKind.RIVER_GARBAGE:
            share, blobs, background = _river(rule, observation, state.water)
            if rule.zone is not None and background is not None:
                water[rule.zone.id] = background
            current, alert = _condition_rule(rule, current, share, blobs, at)
        else:
            current, alert = _condition_rule(rule, current, observation.congestion, (), at)
        rule_states[rule.key] = current
        if alert is not None:
            raised.append(alert)
    return WatchState(at, next_id, tracks, rule_states, water), raised
