"""The Siaga decisions of a floodgate: which level a reading is in, and when entering one is alerted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.floodgates import Levels, SiagaState, levels_problem, next_siaga, siaga_of
from domain.models import Siaga

MANGGARAI = Levels(siaga3_cm=750, siaga2_cm=850, siaga1_cm=950)
T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
CALM = SiagaState(Siaga.NORMAL, Siaga.NORMAL, 10, {})


def run(levels_cm: list[float], *, state: SiagaState = CALM, hold: int = 2, cooldown_s: float = 3600):
    alerts = []
    for i, cm in enumerate(levels_cm):
        state, entered = next_siaga(
            state,
            siaga_of(cm, MANGGARAI),
            hold=hold,
            cooldown=timedelta(seconds=cooldown_s),
            now=T0 + timedelta(minutes=i),
        )
        if entered is not None:
            alerts.append((i, entered))
    return state, alerts


def test_each_threshold_is_the_first_centimetre_of_its_level() -> None:
    assert [siaga_of(cm, MANGGARAI) for cm in (749.9, 750, 850, 949, 950, 1200)] == [
        Siaga.NORMAL, Siaga.SIAGA_3, Siaga.SIAGA_2, Siaga.SIAGA_2, Siaga.SIAGA_1, Siaga.SIAGA_1,
    ]  # fmt: skip


def test_one_misread_frame_does_not_alert() -> None:
    state, alerts = run([700, 990, 700, 700])
    assert alerts == []
    assert state.current == Siaga.NORMAL


def test_a_rising_river_alerts_once_per_level_entered() -> None:
    state, alerts = run([700, 760, 770, 780, 860, 870, 880, 960, 970])
    assert alerts == [(2, Siaga.SIAGA_3), (5, Siaga.SIAGA_2), (8, Siaga.SIAGA_1)]
    assert state.current == Siaga.SIAGA_1


def test_a_jump_over_levels_alerts_the_highest_once() -> None:
    _, alerts = run([700, 960, 960, 960])
    assert alerts == [(2, Siaga.SIAGA_1)]


def test_going_down_and_up_again_realerts_only_after_the_cooldown() -> None:
    # within the hour: 760 held, down to 700, up to 760 again: one alert
    state, alerts = run([760, 760, 700, 700, 760, 760], cooldown_s=3600)
    assert alerts == [(1, Siaga.SIAGA_3)]
    assert state.current == Siaga.SIAGA_3
    # with a cooldown of two minutes, the second entry four minutes later alerts again
    _, alerts = run([760, 760, 700, 700, 760, 760], cooldown_s=120)
    assert alerts == [(1, Siaga.SIAGA_3), (5, Siaga.SIAGA_3)]


def test_siaga_levels_must_rise() -> None:
    assert levels_problem(MANGGARAI, 3, 3600) is None
    assert levels_problem(Levels(850, 750, 950), 3, 3600) == "INVALID_LEVELS"
    assert levels_problem(MANGGARAI, 0, 3600) == "INVALID_HOLD"
