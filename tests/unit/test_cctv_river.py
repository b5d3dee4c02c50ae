"""The river garbage detector (domain/cctv_river.py) on made footage of a brown river (tests/fakes/river.py), and
the RIVER_GARBAGE rule over a sequence of samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from domain import cctv_river, cctv_zone_rules
from domain.cctv_observation import Observation
from domain.cctv_rules import CameraHealth
from domain.models.enums import AlertKind, ZonePurpose
from tests.fakes import river

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
WATER = cctv_river.polygon_mask(river.WATER_POLYGON, (1 / river.SCALE, 1 / river.SCALE), (river.SMALL_W, river.SMALL_H))


def test_the_figures_in_the_readme_hold() -> None:
    """README.md, "River garbage": what is reported there must stay true of the detector."""
    figures = river.evaluate()

    assert (figures.samples, figures.events) == (720, 6)
    assert figures.sample_precision >= 0.99
    assert figures.sample_recall >= 0.78
    assert figures.event_precision >= 1.0
    assert figures.event_recall >= 1.0


def test_clean_water_in_every_light_stays_well_below_an_alert() -> None:
    """The sun's reflection may leave a small blob now and then (it is why the README says so); never half of the
    1 % a rule would alert at."""
    for light in (0.45, 1.0, 1.3):
        background = None
        for sample in river.scene(river.Scene("clean", light, 0, samples=12, seed=7)):
            debris, background = cctv_river.measure(sample.frame, WATER, background)

            assert debris.share < 0.005


def test_a_sudden_change_of_light_is_not_debris() -> None:
    samples = river.scene(river.Scene("clean", 1.0, 0, samples=6, seed=8))
    _, background = cctv_river.measure(samples[0].frame, WATER, None)
    darker = (samples[1].frame.array().astype(np.float32) * 0.5).astype(np.uint8)

    debris, _ = cctv_river.measure(
        cctv_river.ColourFrame(river.SMALL_W, river.SMALL_H, darker.tobytes()), WATER, background
    )

    assert debris.share < 0.002


def test_a_styrofoam_raft_is_found_where_it_floats() -> None:
    samples = river.scene(river.Scene("clean", 1.0, 0, samples=3, seed=9))
    _, background = cctv_river.measure(samples[0].frame, WATER, None)
    rgb = samples[1].frame.array().copy()
    rgb[40:52, 60:80] = (238, 236, 228)

    debris, _ = cctv_river.measure(
        cctv_river.ColourFrame(river.SMALL_W, river.SMALL_H, rgb.tobytes()), WATER, background
    )

    assert debris.share > 0.03
    [(x, y, w, h)] = debris.boxes
    assert x <= 60
    assert y <= 40
    assert x + w >= 80
    assert y + h >= 52


def test_a_background_is_kept_only_for_frames_of_its_size() -> None:
    background = cctv_river.features(river.scene(river.Scene("c", 1.0, 0, samples=1))[0].frame.array(), WATER)
    text = cctv_river.encode_background(background)

    restored = cctv_river.decode_background(text, (river.SMALL_H, river.SMALL_W))

    assert restored is not None
    assert np.abs(restored - background).max() < 0.02
    assert cctv_river.decode_background(text, (36, 64)) is None


def _observation(sample: river.Sample, at: datetime) -> Observation:
    return Observation(1, at, (river.FULL_W, river.FULL_H), CameraHealth.OK, 0.1, True, colour=sample.frame)


def _run(spec: river.Scene) -> list[cctv_zone_rules.Raised]:
    zone = cctv_zone_rules.Zone(5, ZonePurpose.WATER, river.WATER_POLYGON, (river.FULL_W, river.FULL_H))
    rule = cctv_zone_rules.Rule("r1", AlertKind.RIVER_GARBAGE, zone, 0.01, 30.0, 3600.0, 2)
    state, raised = cctv_zone_rules.WatchState(), []
    for i, sample in enumerate(river.scene(spec)):
        # Through JSON each time, as the state row stores it between samples.
        stored = json.loads(json.dumps(cctv_zone_rules.dump_state(state)))
        state, alerts = cctv_zone_rules.step(
            cctv_zone_rules.load_state(stored), _observation(sample, T0 + timedelta(seconds=10 * i)), [zone], [rule]
        )
        raised += alerts
    return raised


def test_a_river_carrying_garbage_alerts_once_and_clean_water_never() -> None:
    [alert] = _run(river.Scene("many", 1.0, 14, seed=3))

    assert alert.rule.kind == AlertKind.RIVER_GARBAGE
    assert alert.value > 0.01
    assert alert.objects
    assert {t.label for t in alert.objects} == {"debris"}
    assert _run(river.Scene("clean", 1.0, 0, seed=3)) == []
