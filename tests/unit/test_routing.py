"""domain.routing.choose_unit_code: which unit first handles a report, given where it is and its category."""

from __future__ import annotations

import pytest

from domain.models.enums import UnitKind
from domain.routing import Area, CategoryRule, choose_unit_code

# Senayan, Kebayoran Baru, Jakarta Selatan
SENAYAN = Area(
    kelurahan_id=101,
    kecamatan_id=11,
    kota_id=4,
    kelurahan_code="31.74.07.1006",
    kota_code="31.74",
    distance_m=0.0,
)


@pytest.mark.parametrize(
    ("rule", "unit_code"),
    [
        (CategoryRule(UnitKind.KELURAHAN, "sudin-lingkungan-hidup", agency_per_kota=True), "kel-31.74.07.1006"),
        (CategoryRule(UnitKind.KELURAHAN, "dinas-bina-marga", agency_per_kota=False), "kel-31.74.07.1006"),
        (CategoryRule(UnitKind.AGENCY, "gulkarmat", agency_per_kota=True), "gulkarmat-31.74"),
        (CategoryRule(UnitKind.AGENCY, "polri", agency_per_kota=False), "polri"),
    ],
    ids=[
        "kelurahan-first-with-per-kota-agency",
        "kelurahan-first-with-city-wide-agency",
        "suku-dinas-of-the-kota",
        "city-wide-agency",
    ],
)
def test_the_first_handler_decides_the_unit(rule: CategoryRule, unit_code: str) -> None:
    # given a report in Senayan

    # when
    chosen = choose_unit_code(SENAYAN, rule)

    # then
    assert chosen == unit_code


def test_a_suku_dinas_is_chosen_by_the_kota_of_the_report() -> None:
    # given the same category in Jakarta Utara
    sunter_agung = Area(
        kelurahan_id=202,
        kecamatan_id=22,
        kota_id=2,
        kelurahan_code="31.72.02.1006",
        kota_code="31.72",
        distance_m=120.0,
    )
    rule = CategoryRule(UnitKind.AGENCY, "gulkarmat", agency_per_kota=True)

    # when
    chosen = choose_unit_code(sunter_agung, rule)

    # then
    assert chosen == "gulkarmat-31.72"
