"""Zones, object following and the continuous alert rules over hand-built sequences of samples: the exact alerts
of every sample."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth
from domain.cctv_zone_rules import (
    Raised,
    Rule,
    WatchState,
    Zone,
    ZonePurpose,
    dump_state,
    iou,
    load_state,
    match,
    polygon_problem,
    self_intersecting,
    step,
)
from domain.models.enums import AlertKind

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
CAMERA = 1
FRAME = (1280, 720)
# The busway: the right-hand lane, bottom half of a 1280x720 reference frame.
BUSWAY = Zone(1, ZonePurpose.BUSWAY, ((640, 360), (1280, 360), (1280, 720), (640, 720)), FRAME)
# The no-stopping kerb: the left-hand lane.
KERB = Zone(2, ZonePurpose.NO_STOPPING, ((0, 360), (640, 360), (640, 720), (0, 720)), FRAME)
PLAZA = Zone(3, ZonePurpose.CROWD_AREA, ((0, 0), (1280, 0), (1280, 360), (0, 360)), FRAME)

CAR_IN_BUSWAY = ObjectSeen("car", (800, 500, 120, 80), 0.9)  # foot (860, 580)
BUS_IN_BUSWAY = ObjectSeen("bus", (900, 400, 300, 200), 0.9)
ANGKOT_AT_KERB = ObjectSeen("car", (200, 500, 120, 80), 0.8)  # foot (260, 580)


def busway_rule(**overrides: object) -> Rule:
    values: dict[str, object] = {
        "key": "busway",
        "kind": AlertKind.BUSWAY,
        "zone": BUSWAY,
        "threshold": 0,
        "dwell_s": 0,
        "cooldown_s": 60,
        "hold_samples": 2,
    }
    return Rule(**{**values, **overrides})  # type: ignore[arg-type]


def kerb_rule(**overrides: object) -> Rule:
    values: dict[str, object] = {
        "key": "kerb",
        "kind": AlertKind.NO_STOPPING,
        "zone": KERB,
        "threshold": 0,
        "dwell_s": 60,
        "cooldown_s": 120,
        "hold_samples": 2,
    }
    return Rule(**{**values, **overrides})  # type: ignore[arg-type]


def crowd_rule(**overrides: object) -> Rule:
    values: dict[str, object] = {
        "key": "crowd",
        "kind": AlertKind.CROWD,
        "zone": PLAZA,
        "threshold": 3,
        "dwell_s": 0,
        "cooldown_s": 60,
        "hold_samples": 2,
    }
    return Rule(**{**values, **overrides})  # type: ignore[arg-type]


def sample(
    n: int,
    *objects: ObjectSeen,
    detected: bool = True,
    congestion: float | None = None,
    health: CameraHealth = CameraHealth.OK,
    every_s: int = 10,
    frame: tuple[int, int] = FRAME,
) -> Observation:
    return Observation(
        camera_id=CAMERA,
        taken_at=T0 + timedelta(seconds=n * every_s),
        frame_size=frame,
        health=health,
        motion=0.1 if detected else 0.0,
        detected=detected,
        objects=objects,
        congestion=congestion,
    )


def moved(obj: ObjectSeen, dx: int = 0, dy: int = 0) -> ObjectSeen:
    x, y, w, h = obj.box
    return ObjectSeen(obj.label, (x + dx, y + dy, w, h), obj.confidence)


Seen = tuple[int, str, float, tuple[int, ...]]


def run(samples: Sequence[Observation], zones: Sequence[Zone], rules: Sequence[Rule]) -> list[Seen]:
    """Every alert as (sample index, rule key, value, track ids); the state goes through JSON between samples,
    as it does through PostgreSQL, so that any worker could take the next sample."""
    state = WatchState()
    seen: list[Seen] = []
    for index, observation in enumerate(samples):
        state, raised = step(load_state(json.loads(json.dumps(dump_state(state)))), observation, zones, rules)
        seen += [(index, r.rule.key, r.value, tuple(t.id for t in r.objects)) for r in raised]
    return seen


# --- geometry ----------------------------------------------------------------------------------------------------


def test_iou_of_equal_disjoint_and_half_overlapping_boxes() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)


def test_a_bow_tie_is_self_intersecting_a_square_and_a_concave_ring_are_not() -> None:
    assert self_intersecting([(0, 0), (10, 10), (10, 0), (0, 10)])
    assert not self_intersecting([(0, 0), (10, 0), (10, 10), (0, 10)])
    assert not self_intersecting([(0, 0), (10, 0), (10, 10), (5, 3), (0, 10)])


@pytest.mark.parametrize(
    ("polygon", "frame", "problem"),
    [
        ([[0, 0], [10, 0], [10, 10]], (1280, 720), None),
        ([[0, 0], [10, 0]], (1280, 720), "INVALID_POLYGON"),
        ([[0, 0], [10, 0], [20, 0]], (1280, 720), "INVALID_POLYGON"),  # no area
        ([[0, 0], [10, 0, 3], [10, 10]], (1280, 720), "INVALID_POLYGON"),
        ([[0, 0], [1300, 0], [10, 10]], (1280, 720), "OUT_OF_FRAME"),
        ([[0, -1], [10, 0], [10, 10]], (1280, 720), "OUT_OF_FRAME"),
        ([[0, 0], [10, 10], [10, 0], [0, 10]], (1280, 720), "SELF_INTERSECTING"),
        ([[0, 0], [10, 0], [10, 10]], (0, 720), "INVALID_FRAME"),
    ],
)
def test_polygon_problems(polygon: list[list[float]], frame: tuple[int, int], problem: str | None) -> None:
    assert polygon_problem(polygon, frame) == problem


def test_a_zone_drawn_on_a_720p_frame_is_scaled_to_a_360p_sample() -> None:
    assert BUSWAY.contains((430, 290), (640, 360))
    assert not BUSWAY.contains((300, 290), (640, 360))
    assert BUSWAY.contains((860, 580), FRAME)


def test_matching_prefers_overlap_then_the_nearest_foot_and_never_mixes_people_and_vehicles() -> None:
    from domain.cctv_zone_rules import Track

    def track(i: int, label: str, box: tuple[int, int, int, int]) -> Track:
        return Track(i, label, box, 0.9, first_seen=T0, still_since=T0, anchor=box)

    tracks = [track(1, "car", (100, 100, 100, 50)), track(2, "person", (400, 100, 20, 60))]
    seen = [
        ObjectSeen("person", (405, 102, 20, 60), 0.8),  # overlaps track 2
        ObjectSeen("truck", (130, 100, 100, 50), 0.8),  # overlaps track 1 (a car called a truck)
    ]
    assert sorted(match(tracks, seen)) == [(0, 1), (1, 0)]
    # A small motorcycle that moved by more than its box but less than half its width: the feet fallback.
    moto = [track(1, "motorcycle", (100, 100, 20, 40))]
    assert match(moto, [ObjectSeen("motorcycle", (109, 100, 20, 40), 0.7)]) == [(0, 0)]
    assert match(moto, [ObjectSeen("motorcycle", (140, 100, 20, 40), 0.7)]) == []
    assert match(moto, [ObjectSeen("person", (100, 100, 20, 40), 0.7)]) == []


# --- busway ------------------------------------------------------------------------------------------------------


def test_a_car_in_the_busway_alerts_once_when_held_for_two_samples_a_bus_never() -> None:
    samples = [sample(n, CAR_IN_BUSWAY, BUS_IN_BUSWAY) for n in range(6)]
    assert run(samples, [BUSWAY], [busway_rule()]) == [(1, "busway", 1.0, (1,))]


def test_a_car_seen_once_in_the_busway_is_not_held_and_does_not_alert() -> None:
    samples = [sample(0), sample(1, CAR_IN_BUSWAY), sample(2), sample(3), sample(4)]
    assert run(samples, [BUSWAY], [busway_rule()]) == []


def test_a_second_intruder_during_the_cooldown_alerts_when_the_cooldown_ends() -> None:
    other = ObjectSeen("motorcycle", (1100, 600, 40, 60), 0.8)
    samples = [
        sample(0, CAR_IN_BUSWAY),
        sample(1, CAR_IN_BUSWAY),  # the car: alert at 10 s, cooldown to 70 s
        sample(2, CAR_IN_BUSWAY, other),
        sample(3, CAR_IN_BUSWAY, other),  # the motorcycle held, but cooling down
        sample(4, CAR_IN_BUSWAY, other),
        sample(5, CAR_IN_BUSWAY, other),
        sample(6, CAR_IN_BUSWAY, other),
        sample(7, CAR_IN_BUSWAY, other),  # 70 s: the motorcycle alone; two vehicles in the lane
        sample(8, CAR_IN_BUSWAY, other),
    ]
    assert run(samples, [BUSWAY], [busway_rule()]) == [(1, "busway", 1.0, (1,)), (7, "busway", 2.0, (2,))]


def test_a_car_that_leaves_and_comes_back_alerts_again_only_after_the_cooldown() -> None:
    gone = [sample(n) for n in range(2, 5)]  # 3 samples: longer than a track survives unseen
    back_soon = [sample(n, CAR_IN_BUSWAY) for n in range(5, 8)]  # 50-70 s; cooldown ends at 70 s
    samples = [sample(0, CAR_IN_BUSWAY), sample(1, CAR_IN_BUSWAY), *gone, *back_soon]
    # the car comes back as a new track (2), held at 60 s, cooling down until 70 s
    assert run(samples, [BUSWAY], [busway_rule()]) == [(1, "busway", 1.0, (1,)), (7, "busway", 1.0, (2,))]


def test_a_busway_threshold_counts_vehicles_in_the_lane_at_sample_time() -> None:
    second = moved(CAR_IN_BUSWAY, dx=250)
    samples = [
        sample(0, CAR_IN_BUSWAY),
        sample(1, CAR_IN_BUSWAY),
        sample(2, CAR_IN_BUSWAY, second),
        sample(3, CAR_IN_BUSWAY, second),
    ]
    assert run(samples, [BUSWAY], [busway_rule(threshold=1)]) == [(3, "busway", 2.0, (1, 2))]


# --- no stopping / angkot ngetem ---------------------------------------------------------------------------------


def test_an_angkot_standing_at_the_kerb_alerts_once_after_the_dwell_time() -> None:
    samples = [sample(n, moved(ANGKOT_AT_KERB, dx=n % 2)) for n in range(20)]  # jitters by a pixel
    # entered at 0 s, still since 0 s; 60 s dwell reached at sample 6
    assert run(samples, [KERB], [kerb_rule()]) == [(6, "kerb", 60.0, (1,))]


def test_traffic_passing_through_the_zone_never_alerts() -> None:
    samples = [sample(n, moved(ANGKOT_AT_KERB, dx=-150 + 40 * n)) for n in range(10)]
    assert run(samples, [KERB], [kerb_rule()]) == []


def test_a_vehicle_that_drives_in_and_stops_counts_from_when_it_stopped() -> None:
    driving = [sample(n, moved(ANGKOT_AT_KERB, dx=-200 + 50 * n)) for n in range(4)]  # enters the kerb lane moving
    standing = [sample(n, ANGKOT_AT_KERB) for n in range(4, 14)]  # stops at 40 s
    assert run([*driving, *standing], [KERB], [kerb_rule()]) == [(10, "kerb", 60.0, (1,))]


def test_samples_where_nothing_moved_count_towards_the_dwell() -> None:
    still = [sample(n, detected=False) for n in range(2, 10)]
    samples = [sample(0, ANGKOT_AT_KERB), sample(1, ANGKOT_AT_KERB), *still]
    assert run(samples, [KERB], [kerb_rule()]) == [(6, "kerb", 60.0, (1,))]


def test_a_new_stay_alerts_again_after_the_cooldown_not_before() -> None:
    stay = [sample(n, ANGKOT_AT_KERB) for n in range(8)]  # alert at 60 s; cooldown until 180 s
    away = [sample(n) for n in range(8, 11)]
    second_stay = [sample(n, ANGKOT_AT_KERB) for n in range(11, 22)]  # back at 110 s, 60 s dwell at 170 s
    assert run([*stay, *away, *second_stay], [KERB], [kerb_rule()]) == [
        (6, "kerb", 60.0, (1,)),
        (18, "kerb", 70.0, (2,)),  # 180 s, the end of the cooldown
    ]


def test_an_angkot_hidden_by_a_passing_bus_for_one_sample_keeps_its_stay() -> None:
    samples = [sample(n, ANGKOT_AT_KERB) for n in range(8)]
    samples[3] = sample(3)  # not found once
    samples += [sample(n, ANGKOT_AT_KERB) for n in range(8, 30)]
    assert run(samples, [KERB], [kerb_rule()]) == [(6, "kerb", 60.0, (1,))]


def test_a_no_stopping_rule_on_the_whole_view() -> None:
    samples = [sample(n, CAR_IN_BUSWAY) for n in range(5)]
    rule = kerb_rule(zone=None, dwell_s=30)
    assert run(samples, [], [rule]) == [(3, "kerb", 30.0, (1,))]


# --- crowd and congestion ----------------------------------------------------------------------------------------


def people(count: int, y: int = 100) -> list[ObjectSeen]:
    return [ObjectSeen("person", (50 + 60 * i, y, 30, 80), 0.8) for i in range(count)]


def test_a_crowd_alerts_once_per_episode_and_flicker_does_not_start_a_new_one() -> None:
    counts = [2, 4, 5, 5, 3, 5, 5, 5, 2, 2, 4, 4, 4, 4, 4, 4, 4]
    samples = [sample(n, *people(c)) for n, c in enumerate(counts)]
    # held at sample 2 (two above in a row); one sample below (4) does not end it; two below (8, 9) do;
    # a new episode held at 11 (110 s), the cooldown (60 s from 20 s) long over
    assert run(samples, [PLAZA], [crowd_rule()]) == [
        (2, "crowd", 5.0, (1, 2, 3, 4, 5)),
        (11, "crowd", 4.0, (1, 2, 3, 4)),  # the people of the first crowd, found again within two samples
    ]


def test_people_outside_the_crowd_zone_do_not_count() -> None:
    samples = [sample(n, *people(2), *people(3, y=500)) for n in range(4)]
    assert run(samples, [PLAZA], [crowd_rule()]) == []


def test_a_crowd_must_last_the_dwell_time() -> None:
    samples = [sample(n, *people(5)) for n in range(8)]
    assert run(samples, [PLAZA], [crowd_rule(dwell_s=45, zone=None)]) == [(5, "crowd", 5.0, (1, 2, 3, 4, 5))]


def test_a_new_crowd_episode_inside_the_cooldown_waits_for_it() -> None:
    counts = [5, 5, 0, 0, 5, 5, 5, 5, 5]
    samples = [sample(n, *people(c)) for n, c in enumerate(counts)]
    # first at 10 s, cooldown until 70 s; the second episode held at 50 s alerts at 70 s
    assert [(i, v) for i, _, v, _ in run(samples, [PLAZA], [crowd_rule()])] == [(1, 5.0), (7, 5.0)]


def test_congestion_is_continuous_and_unmeasured_samples_change_nothing() -> None:
    values = [0.2, 0.8, None, 0.9, 0.9, 0.9, 0.3, 0.3, 0.85, 0.85]
    samples = [sample(n, congestion=v) for n, v in enumerate(values)]
    rule = Rule("jam", AlertKind.CONGESTION, None, 0.7, dwell_s=20, cooldown_s=30, hold_samples=2)
    # held at sample 3 (0.8 at 10 s then 0.9): the episode began at 10 s, the dwell of 20 s reached at 30 s;
    # ended by two low samples; the next held at 90 s, begun at 80 s, dwell reached at 100 s (sample 10, absent)
    assert run(samples, [], [rule]) == [(3, "jam", 0.9, ())]


# --- samples that teach nothing ----------------------------------------------------------------------------------


def test_an_unhealthy_picture_raises_nothing_and_a_replayed_sample_is_ignored() -> None:
    frozen = [sample(n, ANGKOT_AT_KERB, health=CameraHealth.FROZEN) for n in range(10)]
    assert run(frozen, [KERB], [kerb_rule()]) == []
    # a picture black for 3 minutes in the middle of a stay: the stay starts again after it
    black = [sample(n, health=CameraHealth.BLACK) for n in range(3, 21)]
    after = [sample(n, ANGKOT_AT_KERB) for n in range(21, 30)]
    samples = [*[sample(n, ANGKOT_AT_KERB) for n in range(3)], *black, *after]
    assert run(samples, [KERB], [kerb_rule()]) == [(27, "kerb", 60.0, (2,))]
    state, first = step(WatchState(), sample(0, CAR_IN_BUSWAY), [BUSWAY], [busway_rule(hold_samples=1)])
    assert [r.rule.key for r in first] == ["busway"]
    again, replayed = step(state, sample(0, CAR_IN_BUSWAY), [BUSWAY], [busway_rule(hold_samples=1)])
    assert (again, replayed) == (state, [])


def test_a_long_gap_between_samples_starts_the_stays_again() -> None:
    samples = [sample(n, ANGKOT_AT_KERB) for n in range(4)] + [sample(n, ANGKOT_AT_KERB) for n in range(30, 40)]
    # before the gap 30 s only; after it the dwell counts from 300 s again: 60 s later is sample index 4 + 6
    assert run(samples, [KERB], [kerb_rule()]) == [(10, "kerb", 60.0, (2,))]


def test_each_rule_alerts_on_its_own_in_the_order_given() -> None:
    samples = [sample(n, CAR_IN_BUSWAY, ANGKOT_AT_KERB, *people(4)) for n in range(8)]
    alerts = run(samples, [BUSWAY, KERB, PLAZA], [crowd_rule(), kerb_rule(), busway_rule()])
    assert [(i, key) for i, key, _, _ in alerts] == [(1, "crowd"), (1, "busway"), (6, "kerb")]


def test_raised_names_its_rule() -> None:
    _, raised = step(WatchState(), sample(0, CAR_IN_BUSWAY), [BUSWAY], [busway_rule(hold_samples=1)])
    assert raised == [Raised(busway_rule(hold_samples=1), 1.0, raised[0].objects)]


def test_samples_of_another_frame_size_see_the_zones_scaled() -> None:
    half = ObjectSeen("car", (400, 250, 60, 40), 0.9)  # CAR_IN_BUSWAY in a 640x360 sample
    samples = [sample(n, half, frame=(640, 360)) for n in range(3)]
    assert run(samples, [BUSWAY], [busway_rule()]) == [(1, "busway", 1.0, (1,))]
    outside = ObjectSeen("car", (100, 250, 60, 40), 0.9)  # in the kerb lane of the small frame
    assert run([sample(n, outside, frame=(640, 360)) for n in range(3)], [BUSWAY], [busway_rule()]) == []


def test_a_congestion_episode_after_the_cooldown_alerts_again() -> None:
    values = [0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9]
    samples = [sample(n, congestion=v) for n, v in enumerate(values)]
    rule = Rule("jam", AlertKind.CONGESTION, None, 0.7, dwell_s=0, cooldown_s=30, hold_samples=2)
    # held at 10 s (alert; cooldown to 40 s), ended at 30 s, held again at 50 s
    assert run(samples, [], [rule]) == [(1, "jam", 0.9, ()), (5, "jam", 0.9, ())]


def test_the_state_survives_json_unchanged() -> None:
    state = WatchState()
    for n in range(4):
        state, _ = step(state, sample(n, ANGKOT_AT_KERB, *people(2)), [KERB, PLAZA], [kerb_rule(), crowd_rule()])
    assert load_state(json.loads(json.dumps(dump_state(state)))) == state
    assert load_state(None) == WatchState()
    assert load_state({}) == WatchState()


def test_a_rule_added_later_starts_with_no_stays_and_no_cooldown() -> None:
    state = WatchState()
    for n in range(3):
        state, raised = step(state, sample(n, CAR_IN_BUSWAY), [BUSWAY], [])
        assert raised == []
    # the car has been held in the lane all along: the new rule alerts at its first sample
    _, raised = step(state, sample(3, CAR_IN_BUSWAY), [BUSWAY], [busway_rule()])
    assert [(r.rule.key, r.value) for r in raised] == [("busway", 1.0)]
