"""domain.cctv_rules: which cameras see a report, what a clip's numbers mean for the camera, when to alert."""

from __future__ import annotations

import csv
import math

import pytest

from domain.cctv_rules import (
    EARTH_RADIUS_M,
    PREFERRED_KINDS,
    Alert,
    AlertInputs,
    AlertKind,
    AlertRules,
    Camera,
    CameraHealth,
    CameraKind,
    LonLat,
    StoppedVehicle,
    angle_between_deg,
    bearing_deg,
    camera_health,
    choose_cameras,
    covers,
    distance_m,
    evaluate_alerts,
    point_in_polygon,
    preferred_kinds,
)
from domain.settings import Settings

MONAS = LonLat(106.8272, -6.1754)
CATEGORIES_CSV = Settings().jakarta_data_dir / "categories.csv"


def towards(origin: LonLat, bearing: float, metres: float) -> LonLat:
    """The point ``metres`` from ``origin`` on ``bearing`` (flat-earth offset: exact enough within a few km)."""
    d_lat = metres * math.cos(math.radians(bearing)) / EARTH_RADIUS_M
    d_lon = metres * math.sin(math.radians(bearing)) / (EARTH_RADIUS_M * math.cos(math.radians(origin.lat)))
    return LonLat(origin.lon + math.degrees(d_lon), origin.lat + math.degrees(d_lat))


def camera(
    id: str = "cam",
    *,
    at: LonLat = MONAS,
    kind: CameraKind = CameraKind.ROAD,
    heading: float = 0.0,
    fov: float = 90.0,
    range_m: float = 200.0,
) -> Camera:
    return Camera(id=id, location=at, kind=kind, heading_deg=heading, fov_deg=fov, range_m=range_m)


# --- distance and bearing --------------------------------------------------------------------------------------


def test_distance_along_a_meridian_is_the_arc_length() -> None:
    one_millidegree = EARTH_RADIUS_M * math.radians(0.001)

    assert distance_m(*MONAS, MONAS.lon, MONAS.lat + 0.001) == pytest.approx(one_millidegree, rel=1e-9)
    assert one_millidegree == pytest.approx(111.195, abs=0.001)


def test_distance_between_monas_and_bundaran_hi() -> None:
    bundaran_hi = LonLat(106.8230, -6.1950)

    assert distance_m(*MONAS, *bundaran_hi) == pytest.approx(2228, abs=5)
    assert distance_m(*bundaran_hi, *MONAS) == distance_m(*MONAS, *bundaran_hi)
    assert distance_m(*MONAS, *MONAS) == 0.0


@pytest.mark.parametrize("bearing", [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0, 359.0])
def test_bearing_to_a_point_placed_on_that_bearing(bearing: float) -> None:
    target = towards(MONAS, bearing, 150.0)

    assert bearing_deg(*MONAS, *target) == pytest.approx(bearing, abs=0.01)
    assert distance_m(*MONAS, *target) == pytest.approx(150.0, rel=1e-3)


def test_bearing_is_in_zero_to_360() -> None:
    just_west_of_north = towards(MONAS, 359.99, 100.0)

    assert 359.9 < bearing_deg(*MONAS, *just_west_of_north) < 360.0
    assert bearing_deg(*MONAS, *towards(MONAS, 0.0, 100.0)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("a", "b", "between"),
    [(350.0, 10.0, 20.0), (10.0, 350.0, 20.0), (0.0, 180.0, 180.0), (90.0, 90.0, 0.0), (359.0, 1.0, 2.0)],
)
def test_angle_between_directions_wraps_at_north(a: float, b: float, between: float) -> None:
    assert angle_between_deg(a, b) == pytest.approx(between)


# --- covers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bearing", "seen"),
    [(0.0, True), (44.0, True), (46.0, False), (316.0, True), (314.0, False), (180.0, False)],
)
def test_covers_inside_the_field_of_view_only(bearing: float, seen: bool) -> None:
    north_facing = camera(heading=0.0, fov=90.0)

    assert covers(north_facing, towards(MONAS, bearing, 100.0)) is seen


@pytest.mark.parametrize(
    ("bearing", "seen"),
    [(350.0, True), (5.0, True), (9.0, True), (11.0, False), (331.0, True), (329.0, False), (170.0, False)],
)
def test_covers_a_field_of_view_across_north(bearing: float, seen: bool) -> None:
    facing_350 = camera(heading=350.0, fov=40.0)  # sees 330° through 0° to 10°

    assert covers(facing_350, towards(MONAS, bearing, 100.0)) is seen


@pytest.mark.parametrize("bearing", [0.0, 90.0, 180.0, 270.0, 359.0])
def test_a_360_degree_camera_covers_every_direction_in_range(bearing: float) -> None:
    dome = camera(heading=123.0, fov=360.0, range_m=200.0)

    assert covers(dome, towards(MONAS, bearing, 199.0))
    assert not covers(dome, towards(MONAS, bearing, 201.0))


def test_covers_up_to_the_range_and_not_beyond() -> None:
    north_facing = camera(heading=0.0, fov=60.0, range_m=100.0)

    assert covers(north_facing, towards(MONAS, 0.0, 99.9))
    assert not covers(north_facing, towards(MONAS, 0.0, 100.1))


def test_a_camera_covers_its_own_position() -> None:
    assert covers(camera(heading=90.0, fov=10.0), MONAS)


# --- choose_cameras ------------------------------------------------------------------------------------------


def test_choose_cameras_prefers_the_kind_then_the_nearest() -> None:
    report = MONAS
    # Every camera stands south of the report and looks north at it, at its own distance.
    road_near = camera("road-near", at=towards(report, 180.0, 50.0), kind=CameraKind.ROAD)
    road_far = camera("road-far", at=towards(report, 180.0, 150.0), kind=CameraKind.ROAD)
    river_far = camera("river-far", at=towards(report, 180.0, 180.0), kind=CameraKind.RIVER)
    floodgate_mid = camera("floodgate-mid", at=towards(report, 180.0, 120.0), kind=CameraKind.FLOODGATE)
    cameras = [road_near, road_far, river_far, floodgate_mid]

    chosen = choose_cameras(cameras, report, preferred_kinds("flood"))

    assert [c.id for c in chosen] == ["floodgate-mid", "river-far", "road-near"]


def test_choose_cameras_with_no_preference_is_nearest_first() -> None:
    cameras = [camera(f"d{d}", at=towards(MONAS, 180.0, d)) for d in (150, 30, 90)]

    chosen = choose_cameras(cameras, MONAS, preferred_kinds("fire"))

    assert [c.id for c in chosen] == ["d30", "d90", "d150"]


def test_choose_cameras_returns_at_most_the_limit() -> None:
    cameras = [camera(f"d{d}", at=towards(MONAS, 180.0, d)) for d in (10, 20, 30, 40, 50)]

    assert [c.id for c in choose_cameras(cameras, MONAS, frozenset())] == ["d10", "d20", "d30"]
    assert [c.id for c in choose_cameras(cameras, MONAS, frozenset(), limit=1)] == ["d10"]


def test_choose_cameras_leaves_out_cameras_that_do_not_see_the_point() -> None:
    looking_away = camera("away", at=towards(MONAS, 180.0, 50.0), heading=180.0, kind=CameraKind.FLOODGATE)
    too_far = camera("far", at=towards(MONAS, 180.0, 500.0), kind=CameraKind.FLOODGATE)
    seeing = camera("seeing", at=towards(MONAS, 180.0, 150.0), kind=CameraKind.ROAD)

    chosen = choose_cameras([looking_away, too_far, seeing], MONAS, preferred_kinds("flood"))

    assert [c.id for c in chosen] == ["seeing"]


def test_choose_cameras_breaks_distance_ties_by_id() -> None:
    spot = towards(MONAS, 180.0, 60.0)
    cameras = [camera("b", at=spot), camera("a", at=spot)]

    assert [c.id for c in choose_cameras(cameras, MONAS, frozenset())] == ["a", "b"]


# --- preferred kinds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kinds"),
    [
        ("flood", {CameraKind.FLOODGATE, CameraKind.RIVER}),
        ("traffic", {CameraKind.ROAD, CameraKind.INTERSECTION}),
        ("illegal-parking", {CameraKind.ROAD, CameraKind.INTERSECTION}),
        ("street-vendors", {CameraKind.PUBLIC_SPACE, CameraKind.ROAD}),
        ("rule-violation", {CameraKind.PUBLIC_SPACE, CameraKind.ROAD}),
        ("fire", set()),
        ("no-such-category", set()),
    ],
)
def test_preferred_kinds(code: str, kinds: set[CameraKind]) -> None:
    assert preferred_kinds(code) == kinds


def test_every_mapped_category_exists_in_the_catalogue() -> None:
    with CATEGORIES_CSV.open(encoding="utf-8", newline="") as fh:
        codes = {row["code"] for row in csv.DictReader(fh)}

    assert set(PREFERRED_KINDS) <= codes


# --- polygons and health ---------------------------------------------------------------------------------------

L_SHAPE = [(0.0, 0.0), (100.0, 0.0), (100.0, 40.0), (40.0, 40.0), (40.0, 100.0), (0.0, 100.0)]


@pytest.mark.parametrize(
    ("point", "inside"),
    [((20.0, 20.0), True), ((90.0, 20.0), True), ((20.0, 90.0), True), ((70.0, 70.0), False), ((-1.0, 50.0), False)],
)
def test_point_in_a_concave_polygon(point: tuple[float, float], inside: bool) -> None:
    assert point_in_polygon(*point, L_SHAPE) is inside


@pytest.mark.parametrize(
    ("shares", "health"),
    [
        ((0.0, 0.0, 0.0), CameraHealth.OK),
        ((0.79, 0.79, 0.79), CameraHealth.OK),
        ((0.8, 0.0, 0.0), CameraHealth.BLACK),
        ((0.0, 0.8, 0.0), CameraHealth.COVERED),
        ((0.0, 0.0, 0.8), CameraHealth.FROZEN),
        ((1.0, 1.0, 1.0), CameraHealth.BLACK),
        ((0.0, 1.0, 1.0), CameraHealth.COVERED),
    ],
)
def test_camera_health(shares: tuple[float, float, float], health: CameraHealth) -> None:
    black, covered, frozen = shares

    assert camera_health(black_share=black, covered_share=covered, frozen_share=frozen, most=0.8) is health


# --- alerts --------------------------------------------------------------------------------------------------


def inputs(*, persons: int = 0, congestion: float = 0.0, stopped: tuple[StoppedVehicle, ...] = ()) -> AlertInputs:
    return AlertInputs(max_persons=persons, congestion_index=congestion, stopped_vehicles=stopped)


def test_no_rules_no_alerts() -> None:
    busy = inputs(persons=500, congestion=1.0, stopped=(StoppedVehicle("car", 3600.0, True),))

    assert evaluate_alerts(busy, AlertRules()) == []


@pytest.mark.parametrize(("persons", "alerts"), [(29, 0), (30, 0), (31, 1)])
def test_crowd_alert_above_the_threshold(persons: int, alerts: int) -> None:
    found = evaluate_alerts(inputs(persons=persons), AlertRules(crowd_above_persons=30))

    assert found == [Alert(AlertKind.CROWD, persons, 30)] * alerts


@pytest.mark.parametrize(("index", "alerts"), [(0.69, 0), (0.7, 0), (0.71, 1)])
def test_congestion_alert_above_the_threshold(index: float, alerts: int) -> None:
    found = evaluate_alerts(inputs(congestion=index), AlertRules(congestion_above=0.7))

    assert found == [Alert(AlertKind.CONGESTION, index, 0.7)] * alerts


@pytest.mark.parametrize(("seconds", "alerts"), [(59.0, 0), (60.0, 0), (60.5, 1)])
def test_no_stopping_alert_above_the_threshold(seconds: float, alerts: int) -> None:
    stopped = (StoppedVehicle("car", seconds, True),)

    found = evaluate_alerts(inputs(stopped=stopped), AlertRules(no_stopping_above_s=60.0))

    assert found == [Alert(AlertKind.NO_STOPPING, seconds, 60.0)] * alerts


def test_no_stopping_counts_only_vehicles_in_the_zone_and_reports_the_longest() -> None:
    stopped = (
        StoppedVehicle("bus", 900.0, False),
        StoppedVehicle("car", 75.0, True),
        StoppedVehicle("motorcycle", 120.0, True),
    )

    found = evaluate_alerts(inputs(stopped=stopped), AlertRules(no_stopping_above_s=60.0))

    assert found == [Alert(AlertKind.NO_STOPPING, 120.0, 60.0)]


def test_outside_the_zone_a_long_stop_raises_nothing() -> None:
    stopped = (StoppedVehicle("truck", 900.0, False),)

    assert evaluate_alerts(inputs(stopped=stopped), AlertRules(no_stopping_above_s=60.0)) == []


def test_every_rule_can_fire_at_once_in_a_fixed_order() -> None:
    clip = inputs(persons=40, congestion=0.9, stopped=(StoppedVehicle("car", 100.0, True),))
    rules = AlertRules(crowd_above_persons=30, congestion_above=0.7, no_stopping_above_s=60.0)

    assert [a.kind for a in evaluate_alerts(clip, rules)] == [
        AlertKind.CROWD,
        AlertKind.CONGESTION,
        AlertKind.NO_STOPPING,
    ]
