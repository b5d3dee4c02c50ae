"""domain.routing: which unit first handles a report, from the category's routing rules and where the report is."""

from __future__ import annotations

import itertools

import pytest

from domain.models import Agency, Category, RoutingRule, Unit
from domain.models.enums import RoutingHandler, UnitKind
from domain.reference import ReferenceData
from domain.routing import Area, first_unit, handler_unit, pick_rule, rule_applies

# --- a small Jakarta: two kecamatan of Jakarta Selatan and one of Jakarta Utara ---------------------

JAKSEL, JAKUT = 4, 2
KEBAYORAN_BARU, SETIABUDI, TANJUNG_PRIOK = 11, 12, 21

SENAYAN = Area(101, KEBAYORAN_BARU, JAKSEL, "31.74.07.1006", "31.74", 0.0)
GUNUNG = Area(102, KEBAYORAN_BARU, JAKSEL, "31.74.07.1002", "31.74", 0.0)  # Senayan's neighbour
KARET_SEMANGGI = Area(103, SETIABUDI, JAKSEL, "31.74.02.1002", "31.74", 0.0)
SUNTER_AGUNG = Area(201, TANJUNG_PRIOK, JAKUT, "31.72.02.1006", "31.72", 120.0)

AGENCIES = [
    Agency(code="sudin-lingkungan-hidup", name="Suku Dinas Lingkungan Hidup", per_kota=True, external=False),
    Agency(code="gulkarmat", name="Suku Dinas Gulkarmat", per_kota=True, external=False),
    Agency(code="dinas-bina-marga", name="Dinas Bina Marga", per_kota=False, external=False),
    Agency(code="polri", name="Kepolisian Daerah Metro Jaya", per_kota=False, external=True),
]

_unit_ids = itertools.count(1)


def unit(
    code: str,
    kind: UnitKind,
    *,
    kelurahan: int | None = None,
    kecamatan: int | None = None,
    kota: int | None = None,
    agency: str | None = None,
) -> Unit:
    return Unit(
        id=next(_unit_ids),
        code=code,
        kind=kind,
        name=code,
        kelurahan_id=kelurahan,
        kecamatan_id=kecamatan,
        kota_id=kota,
        agency_code=agency,
    )


def kelurahan_office(area: Area) -> Unit:
    return unit(
        f"kel-{area.kelurahan_code}",
        UnitKind.KELURAHAN,
        kelurahan=area.kelurahan_id,
        kecamatan=area.kecamatan_id,
        kota=area.kota_id,
    )


UNITS = [
    *(kelurahan_office(area) for area in (SENAYAN, GUNUNG, KARET_SEMANGGI, SUNTER_AGUNG)),
    unit("kec-31.74.07", UnitKind.KECAMATAN, kecamatan=KEBAYORAN_BARU, kota=JAKSEL),
    unit("kec-31.74.02", UnitKind.KECAMATAN, kecamatan=SETIABUDI, kota=JAKSEL),
    unit("kec-31.72.02", UnitKind.KECAMATAN, kecamatan=TANJUNG_PRIOK, kota=JAKUT),
    unit("kota-31.74", UnitKind.KOTA, kota=JAKSEL),
    unit("kota-31.72", UnitKind.KOTA, kota=JAKUT),
    *(
        unit(f"{agency}-{kota_code}", UnitKind.AGENCY, kota=kota, agency=agency)
        for agency in ("sudin-lingkungan-hidup", "gulkarmat")
        for kota, kota_code in ((JAKSEL, "31.74"), (JAKUT, "31.72"))
    ),
    unit("dinas-bina-marga", UnitKind.AGENCY, agency="dinas-bina-marga"),
    unit("polri", UnitKind.EXTERNAL, agency="polri"),
]
UNIT_IDS = {u.code: u.id for u in UNITS}


def category(id_: int, code: str, first_handler: UnitKind, agency_code: str) -> Category:
    return Category(
        id=id_,
        code=code,
        name_id=code,
        name_en=code,
        first_handler=first_handler,
        agency_code=agency_code,
        sensitive=False,
        active=True,
        response_hours=8.0,
        completion_hours=40.0,
    )


GARBAGE = category(1, "garbage", UnitKind.KELURAHAN, "sudin-lingkungan-hidup")
FIRE = category(2, "fire", UnitKind.AGENCY, "gulkarmat")
CRIME = category(3, "crime", UnitKind.AGENCY, "polri")
STREET_LIGHT = category(4, "street-light", UnitKind.KELURAHAN, "dinas-bina-marga")
CATEGORIES = [GARBAGE, FIRE, CRIME, STREET_LIGHT]

_rule_ids = itertools.count(1)


def rule(
    handler: RoutingHandler,
    *,
    category_: Category = GARBAGE,
    agency: str | None = None,
    unit_code: str | None = None,
    kota: int | None = None,
    kecamatan: int | None = None,
    kelurahan: int | None = None,
) -> RoutingRule:
    return RoutingRule(
        id=next(_rule_ids),
        category_id=category_.id,
        handler=handler,
        agency_code=agency,
        unit_id=UNIT_IDS[unit_code] if unit_code is not None else None,
        kota_id=kota,
        kecamatan_id=kecamatan,
        kelurahan_id=kelurahan,
    )


def reference(*rules: RoutingRule) -> ReferenceData:
    by_category: dict[int, list[RoutingRule]] = {}
    for r in rules:
        by_category.setdefault(r.category_id, []).append(r)
    return ReferenceData(
        categories={c.id: c for c in CATEGORIES},
        category_codes={c.code: c for c in CATEGORIES},
        agencies={a.code: a for a in AGENCIES},
        kota={},
        kecamatan={},
        kelurahan={},
        units={u.id: u for u in UNITS},
        unit_codes={u.code: u for u in UNITS},
        rules=by_category,
    )


# --- rule_applies and pick_rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "rank"),
    [
        ({}, 0),
        ({"kota": JAKSEL}, 1),
        ({"kota": JAKUT}, None),
        ({"kecamatan": KEBAYORAN_BARU}, 2),
        ({"kecamatan": SETIABUDI}, None),
        ({"kelurahan": SENAYAN.kelurahan_id}, 3),
        ({"kelurahan": GUNUNG.kelurahan_id}, None),
    ],
    ids=[
        "city-wide",
        "its-kota",
        "another-kota",
        "its-kecamatan",
        "another-kecamatan-same-kota",
        "its-kelurahan",
        "neighbouring-kelurahan",
    ],
)
def test_a_rule_ranks_by_how_closely_its_area_fits_the_place(scope: dict[str, int], rank: int | None) -> None:
    # given a rule with the scope above and a report in Senayan
    r = rule(RoutingHandler.KELURAHAN, **scope)

    # when
    ranked = rule_applies(r, SENAYAN)

    # then
    assert ranked == rank


CITY_WIDE = rule(RoutingHandler.KELURAHAN)
IN_JAKSEL = rule(RoutingHandler.KOTA, kota=JAKSEL)
IN_KEBAYORAN_BARU = rule(RoutingHandler.KECAMATAN, kecamatan=KEBAYORAN_BARU)
IN_SENAYAN = rule(RoutingHandler.UNIT, unit_code="kota-31.74", kelurahan=SENAYAN.kelurahan_id)
LAYERED = [CITY_WIDE, IN_JAKSEL, IN_KEBAYORAN_BARU, IN_SENAYAN]


@pytest.mark.parametrize("order", [LAYERED, LAYERED[::-1], [IN_KEBAYORAN_BARU, IN_SENAYAN, CITY_WIDE, IN_JAKSEL]])
@pytest.mark.parametrize(
    ("area", "chosen"),
    [
        (SENAYAN, IN_SENAYAN),
        (GUNUNG, IN_KEBAYORAN_BARU),
        (KARET_SEMANGGI, IN_JAKSEL),
        (SUNTER_AGUNG, CITY_WIDE),
    ],
    ids=["kelurahan-rule", "kecamatan-rule", "kota-rule", "city-wide-rule"],
)
def test_the_most_specific_rule_that_covers_the_place_wins_whatever_the_order(
    order: list[RoutingRule], area: Area, chosen: RoutingRule
) -> None:
    # given a city-wide rule and rules for Jakarta Selatan, Kebayoran Baru and Senayan

    # when
    picked = pick_rule(order, area)

    # then
    assert picked is chosen


def test_no_rule_is_picked_when_none_covers_the_place() -> None:
    # given rules only for other areas than Sunter Agung
    rules = [IN_JAKSEL, IN_KEBAYORAN_BARU, IN_SENAYAN]

    # when
    picked, picked_from_nothing = pick_rule(rules, SUNTER_AGUNG), pick_rule([], SUNTER_AGUNG)

    # then
    assert picked is None
    assert picked_from_nothing is None


# --- handler_unit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "agency", "area", "unit_code"),
    [
        (RoutingHandler.KELURAHAN, None, SENAYAN, "kel-31.74.07.1006"),
        (RoutingHandler.KELURAHAN, None, SUNTER_AGUNG, "kel-31.72.02.1006"),
        (RoutingHandler.KECAMATAN, None, SENAYAN, "kec-31.74.07"),
        (RoutingHandler.KECAMATAN, None, KARET_SEMANGGI, "kec-31.74.02"),
        (RoutingHandler.KOTA, None, SENAYAN, "kota-31.74"),
        (RoutingHandler.KOTA, None, SUNTER_AGUNG, "kota-31.72"),
        (RoutingHandler.AGENCY, "gulkarmat", SENAYAN, "gulkarmat-31.74"),
        (RoutingHandler.AGENCY, "gulkarmat", SUNTER_AGUNG, "gulkarmat-31.72"),
        (RoutingHandler.AGENCY, "sudin-lingkungan-hidup", SUNTER_AGUNG, "sudin-lingkungan-hidup-31.72"),
        (RoutingHandler.AGENCY, "dinas-bina-marga", SENAYAN, "dinas-bina-marga"),
        (RoutingHandler.AGENCY, "dinas-bina-marga", SUNTER_AGUNG, "dinas-bina-marga"),
        (RoutingHandler.AGENCY, "polri", SENAYAN, "polri"),
        (RoutingHandler.AGENCY, "polri", SUNTER_AGUNG, "polri"),
    ],
    ids=[
        "kelurahan-senayan",
        "kelurahan-sunter-agung",
        "kecamatan-kebayoran-baru",
        "kecamatan-setiabudi",
        "kota-jakarta-selatan",
        "kota-jakarta-utara",
        "suku-dinas-of-jakarta-selatan",
        "suku-dinas-of-jakarta-utara",
        "another-suku-dinas-of-jakarta-utara",
        "city-wide-dinas-from-the-south",
        "city-wide-dinas-from-the-north",
        "external-body-from-the-south",
        "external-body-from-the-north",
    ],
)
def test_a_handler_names_the_office_for_the_place(
    handler: RoutingHandler, agency: str | None, area: Area, unit_code: str
) -> None:
    # given the offices of the small Jakarta above

    # when
    chosen = handler_unit(reference(), handler, area, agency_code=agency)

    # then
    assert chosen.code == unit_code


def test_a_unit_handler_names_that_unit_wherever_the_report_is() -> None:
    # given a unit that is not an office of Sunter Agung's area

    # when
    chosen = handler_unit(reference(), RoutingHandler.UNIT, SUNTER_AGUNG, unit_id=UNIT_IDS["kec-31.74.02"])

    # then
    assert chosen.code == "kec-31.74.02"


@pytest.mark.parametrize(
    ("handler", "agency", "unit_code"),
    [
        (RoutingHandler.AGENCY, None, None),
        (RoutingHandler.AGENCY, None, "polri"),
        (RoutingHandler.UNIT, None, None),
        (RoutingHandler.UNIT, "polri", None),
    ],
    ids=["agency-without-agency", "agency-with-only-a-unit", "unit-without-unit", "unit-with-only-an-agency"],
)
def test_an_incomplete_handler_is_refused(handler: RoutingHandler, agency: str | None, unit_code: str | None) -> None:
    # given a handler without the agency or unit it needs
    unit_id = UNIT_IDS[unit_code] if unit_code is not None else None

    # when / then
    with pytest.raises(ValueError, match="incomplete routing handler"):
        handler_unit(reference(), handler, SENAYAN, agency_code=agency, unit_id=unit_id)


# --- first_unit -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city_wide", "area", "unit_code"),
    [
        (rule(RoutingHandler.KELURAHAN, category_=GARBAGE), SENAYAN, "kel-31.74.07.1006"),
        (rule(RoutingHandler.KELURAHAN, category_=GARBAGE), SUNTER_AGUNG, "kel-31.72.02.1006"),
        (rule(RoutingHandler.AGENCY, category_=FIRE, agency="gulkarmat"), SENAYAN, "gulkarmat-31.74"),
        (rule(RoutingHandler.AGENCY, category_=FIRE, agency="gulkarmat"), SUNTER_AGUNG, "gulkarmat-31.72"),
        (rule(RoutingHandler.AGENCY, category_=CRIME, agency="polri"), SENAYAN, "polri"),
        (rule(RoutingHandler.AGENCY, category_=CRIME, agency="polri"), SUNTER_AGUNG, "polri"),
        (rule(RoutingHandler.KECAMATAN, category_=GARBAGE), GUNUNG, "kec-31.74.07"),
        (rule(RoutingHandler.KOTA, category_=GARBAGE), SUNTER_AGUNG, "kota-31.72"),
        (rule(RoutingHandler.UNIT, category_=GARBAGE, unit_code="dinas-bina-marga"), SUNTER_AGUNG, "dinas-bina-marga"),
    ],
    ids=[
        "kelurahan-office-south",
        "kelurahan-office-north",
        "suku-dinas-south",
        "suku-dinas-north",
        "external-body-south",
        "external-body-north",
        "kecamatan-office",
        "kota-office",
        "one-unit",
    ],
)
def test_a_city_wide_rule_sends_the_report_to_its_handler_for_the_place(
    city_wide: RoutingRule, area: Area, unit_code: str
) -> None:
    # given only the category's city-wide rule
    data = reference(city_wide)

    # when
    chosen = first_unit(data, data.categories[city_wide.category_id], area)

    # then
    assert chosen.code == unit_code


@pytest.mark.parametrize(
    ("area", "unit_code"),
    [
        (SENAYAN, "kota-31.74"),
        (GUNUNG, "kec-31.74.07"),
        (KARET_SEMANGGI, "sudin-lingkungan-hidup-31.74"),
        (SUNTER_AGUNG, "kel-31.72.02.1006"),
    ],
    ids=["kelurahan-rule", "kecamatan-rule", "kota-rule", "city-wide-rule"],
)
def test_the_most_specific_rule_decides_where_a_report_goes(area: Area, unit_code: str) -> None:
    # given garbage goes to the kelurahan, in Jakarta Selatan to its Suku Dinas, in Kebayoran Baru to the
    # camat, and in Senayan to the walikota's office
    data = reference(
        rule(RoutingHandler.KELURAHAN),
        rule(RoutingHandler.AGENCY, agency="sudin-lingkungan-hidup", kota=JAKSEL),
        rule(RoutingHandler.KECAMATAN, kecamatan=KEBAYORAN_BARU),
        rule(RoutingHandler.UNIT, unit_code="kota-31.74", kelurahan=SENAYAN.kelurahan_id),
    )

    # when
    chosen = first_unit(data, GARBAGE, area)

    # then
    assert chosen.code == unit_code


def test_the_rules_of_another_category_do_not_count() -> None:
    # given fire goes to Suku Dinas Gulkarmat, and garbage in Senayan to the camat
    data = reference(
        rule(RoutingHandler.AGENCY, category_=FIRE, agency="gulkarmat"),
        rule(RoutingHandler.KECAMATAN, category_=GARBAGE, kelurahan=SENAYAN.kelurahan_id),
        rule(RoutingHandler.KELURAHAN, category_=GARBAGE),
    )

    # when
    fire, garbage = first_unit(data, FIRE, SENAYAN), first_unit(data, GARBAGE, SENAYAN)

    # then
    assert fire.code == "gulkarmat-31.74"
    assert garbage.code == "kec-31.74.07"


@pytest.mark.parametrize(
    ("category_", "area", "unit_code"),
    [
        (GARBAGE, SENAYAN, "kel-31.74.07.1006"),
        (STREET_LIGHT, SUNTER_AGUNG, "kel-31.72.02.1006"),
        (FIRE, SENAYAN, "gulkarmat-31.74"),
        (FIRE, SUNTER_AGUNG, "gulkarmat-31.72"),
        (CRIME, SUNTER_AGUNG, "polri"),
    ],
    ids=[
        "kelurahan-first",
        "kelurahan-first-even-with-a-city-wide-agency",
        "suku-dinas-first-south",
        "suku-dinas-first-north",
        "external-body-first",
    ],
)
def test_without_rules_the_category_first_handler_decides(category_: Category, area: Area, unit_code: str) -> None:
    # given no routing rules at all (before `jsc load-jakarta` seeds them)
    data = reference()

    # when
    chosen = first_unit(data, category_, area)

    # then
    assert chosen.code == unit_code


def test_rules_only_for_other_areas_fall_back_on_the_first_handler() -> None:
    # given fire goes to the walikota's office in Jakarta Selatan, and there is no city-wide rule
    data = reference(rule(RoutingHandler.KOTA, category_=FIRE, kota=JAKSEL))

    # when
    north, south = first_unit(data, FIRE, SUNTER_AGUNG), first_unit(data, FIRE, SENAYAN)

    # then
    assert north.code == "gulkarmat-31.72"
    assert south.code == "kota-31.74"


def test_a_rule_with_an_incomplete_handler_is_refused() -> None:
    # given an AGENCY rule that names no agency
    data = reference(rule(RoutingHandler.AGENCY, category_=FIRE))

    # when / then
    with pytest.raises(ValueError, match="incomplete routing handler"):
        first_unit(data, FIRE, SENAYAN)
