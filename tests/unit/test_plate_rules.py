"""Plates as text: the Indonesian plate grammar, which line read on a vehicle is its plate, which rules may read
plates and who may see them."""

from __future__ import annotations

import pytest

from domain import cctv_zones, plate_reading
from domain.errors import DomainError
from domain.models import AlertKind, Role, ZonePurpose
from domain.plates import CharChoice, Line, PlateRead, best_plate, normalise, read_by_grammar


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("B 1234 XYZ", "B 1234 XYZ"),
        ("b1234xyz", "B 1234 XYZ"),
        ("AB 12 C", "AB 12 C"),
        ("D.9913", "D 9913"),
        ("  KT-4115-KVW ", "KT 4115 KVW"),
        ("B 1 A", "B 1 A"),
    ],
)
def test_a_plate_in_any_spacing_is_written_one_way(raw: str, plate: str) -> None:
    assert normalise(raw) == plate


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1234",  # no region
        "ABC 1234 XY",  # three region letters
        "B 12345 XY",  # five digits
        "B 1234 WXYZ",  # four suffix letters
        "B XYZ",  # no number
        "08.27",  # the validity line under the number
        "B 12O4 XY",  # a letter among the digits
    ],
)
def test_what_is_not_a_plate_is_refused(raw: str) -> None:
    assert normalise(raw) is None


def test_the_best_plate_skips_the_validity_line_and_joins_a_row_the_detector_cut() -> None:
    lines = [
        Line("B", 0.95, 10, 20, 18),
        Line("1234", 0.97, 30, 21, 18),
        Line("XYZ", 0.93, 80, 19, 18),
        Line("0827", 0.99, 40, 45, 8),
    ]
    found = best_plate(lines)
    assert found is not None
    assert found.text == "B 1234 XYZ"
    assert found.confidence == pytest.approx((0.95 + 0.97 * 4 + 0.93 * 3) / 8)


def test_a_doubtful_read_is_no_plate() -> None:
    assert best_plate([Line("B1234XYZ", 0.4, 0, 0, 10)]) is None
    assert best_plate([Line("B1234XYZ", 0.4, 0, 0, 10)], min_confidence=0.3) is not None


def test_the_most_confident_plate_wins() -> None:
    found = best_plate([Line("B1234XY", 0.7, 0, 0, 10), Line("B1284XY", 0.9, 0, 30, 10)])
    assert found == PlateRead("B 1284 XY", 0.9)


def rule(kind: AlertKind, read_plates: bool) -> cctv_zones.RuleInput:
    return cctv_zones.RuleInput("cam", "z", kind, 0, 0, 60, 2, read_plates=read_plates)


@pytest.mark.parametrize(
    ("kind", "purpose"),
    [(AlertKind.BUSWAY, ZonePurpose.BUSWAY), (AlertKind.NO_STOPPING, ZonePurpose.NO_STOPPING)],
)
def test_violation_rules_may_read_plates(kind: AlertKind, purpose: ZonePurpose) -> None:
    cctv_zones.validate_rule(rule(kind, True), purpose)


def test_a_crowd_rule_may_not_read_plates() -> None:
    with pytest.raises(DomainError) as refused:
        cctv_zones.validate_rule(rule(AlertKind.CROWD, True), ZonePurpose.CROWD_AREA)
    assert refused.value.code == "PLATES_NOT_FOR_KIND"


def test_a_rule_reads_no_plates_unless_asked() -> None:
    assert cctv_zones.RuleInput("cam", "z", AlertKind.BUSWAY, 0, 0, 60, 2).read_plates is False


@pytest.mark.parametrize("role", list(Role))
def test_only_enforcement_reads_plates(role: Role) -> None:
    assert plate_reading.may_read_plates(role) is (role == Role.ENFORCEMENT)


def choice(letter: str, letter_p: float, digit: str, digit_p: float) -> CharChoice:
    return CharChoice(letter, letter_p, digit, digit_p)


def test_the_grammar_reads_a_region_letter_the_recogniser_took_for_a_digit() -> None:
    # given: "D 1849" where the recogniser preferred 0 for the D, and B for the 8
    chars = [
        choice("D", 0.35, "0", 0.6),
        choice("I", 0.01, "1", 0.99),
        choice("B", 0.55, "8", 0.44),
        choice("A", 0.01, "4", 0.98),
        choice("Q", 0.01, "9", 0.97),
    ]

    # then: the only plate the grammar allows with five characters and the best probabilities
    assert read_by_grammar(chars) == PlateRead("D 1849", 0.35)


def test_the_grammar_keeps_a_read_that_is_already_a_plate() -> None:
    chars = [choice("B", 0.99, "8", 0.01), choice("Z", 0.1, "7", 0.9), choice("X", 0.95, "0", 0.01)]
    assert read_by_grammar(chars) == PlateRead("B 7 X", 0.9)


def test_too_many_characters_are_no_plate() -> None:
    assert read_by_grammar([choice("A", 0.9, "1", 0.9)] * 10) is None
    assert read_by_grammar([]) is None


def test_a_line_with_characters_is_read_by_the_grammar_and_is_as_sure_as_its_least_sure_character() -> None:
    chars = (choice("B", 0.9, "8", 0.1), choice("I", 0.2, "1", 0.65), choice("X", 0.99, "0", 0.01))
    assert best_plate([Line("B1X", 0.85, 0, 0, 10, chars)]) == PlateRead("B 1 X", 0.65)
    assert best_plate([Line("B1X", 0.85, 0, 0, 10, chars)], min_confidence=0.7) is None
