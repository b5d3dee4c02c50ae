"""Supervisor verification without the database: who supervises whom, where a completion lands, who may give the
verdict, what a verdict needs and what it does to the report's deadlines."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from domain.errors import DomainError
from domain.models import Category, Report, ReportStatus, Role, Unit, UnitKind
from domain.verification import Verdict, apply_verdict, may_verify, staff_note, verdict_status
from domain.workflow import Actor, _after_move, check_transition, completion_status, supervising_unit
from tests.unit.test_workflow_rules import (
    CALENDAR,
    GUNUNG,
    REFERENCE,
    SENAYAN,
    UNIT,
    complete_change,
    report_at,
)

S = ReportStatus
CITY_WIDE = Unit(
    id=51,
    code="dinas-bina-marga",
    kind=UnitKind.AGENCY,
    name="Dinas Bina Marga",
    kelurahan_id=None,
    kecamatan_id=None,
    kota_id=None,
    agency_code="dinas-bina-marga",
)
WITH_CITY_WIDE = dataclasses.replace(
    REFERENCE,
    units={**REFERENCE.units, CITY_WIDE.id: CITY_WIDE},
    unit_codes={**REFERENCE.unit_codes, CITY_WIDE.code: CITY_WIDE},
)
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


# --- who supervises whom ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_code", "supervisor"),
    [
        ("kel-31.74.07.1006", "kec-31.74.07"),
        ("kel-31.74.07.1002", "kec-31.74.07"),
        ("kec-31.74.07", "kota-31.74"),
        ("kec-31.74.02", "kota-31.74"),
        ("gulkarmat-31.74", "kota-31.74"),
        ("gulkarmat-31.72", "kota-31.72"),
        ("kota-31.74", None),
        ("polri", None),
        ("dinas-bina-marga", None),
    ],
    ids=[
        "kelurahan-by-its-camat",
        "its-neighbour-by-the-same-camat",
        "kecamatan-by-its-walikota-office",
        "another-kecamatan-of-the-kota",
        "suku-dinas-by-the-walikota-office-of-its-kota",
        "suku-dinas-of-another-kota",
        "walikota-office-answers-to-no-office",
        "outside-body",
        "city-wide-agency",
    ],
)
def test_each_unit_is_supervised_by_the_office_above_it(unit_code: str, supervisor: str | None) -> None:
    # given
    unit = WITH_CITY_WIDE.unit_codes[unit_code]

    # when
    found = supervising_unit(unit, WITH_CITY_WIDE)

    # then
    assert (found.code if found else None) == supervisor


# --- where a completion lands -----------------------------------------------------------------------


@pytest.mark.parametrize("requested", sorted(S), ids=lambda s: s.value.lower())
@pytest.mark.parametrize("required", [True, False], ids=["verified-category", "unverified-category"])
@pytest.mark.parametrize("supervised", [True, False], ids=["supervised-unit", "unit-without-supervisor"])
def test_only_a_completion_in_a_verified_category_by_a_supervised_unit_waits(
    requested: ReportStatus, required: bool, supervised: bool
) -> None:
    # given
    supervisor = UNIT["kec-31.74.07"] if supervised else None

    # when
    landed = completion_status(requested, verification_required=required, supervisor=supervisor)

    # then
    waits = requested == S.COMPLETED and required and supervised
    assert landed == (S.VERIFYING if waits else requested)


@pytest.mark.parametrize("current", sorted(S), ids=lambda s: s.value.lower())
def test_no_officer_asks_for_verifying_itself(current: ReportStatus) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        check_transition(current, complete_change(S.VERIFYING))

    # then
    assert (raised.value.code, raised.value.field) == ("INVALID_TRANSITION", "to")
    assert "COMPLETED" in raised.value.message


@pytest.mark.parametrize("to", sorted(S), ids=lambda s: s.value.lower())
def test_a_completion_waiting_for_verification_is_moved_only_by_the_verdict(to: ReportStatus) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        check_transition(S.VERIFYING, complete_change(to))

    # then
    assert raised.value.code == "INVALID_TRANSITION"


def test_waiting_for_verification_stops_the_units_clock() -> None:
    # given a report in progress, its completion due
    report = report_at(SENAYAN, "kel-31.74.07.1006")
    report.status, report.first_response_at = S.IN_PROGRESS, NOW
    report.completion_due_at = report.due_at = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)
    category = Category(id=1, code="street-vendors", response_hours=8.0, completion_hours=40.0)

    # when
    _after_move(report, S.VERIFYING, category, CALENDAR, NOW)

    # then: no deadline while the supervisor looks, and the report is not closed
    assert (report.due_at, report.closed_at) == (None, None)


# --- who gives the verdict --------------------------------------------------------------------------


def verifying(held_by: str, kelurahan: int = SENAYAN) -> Report:
    report = report_at(kelurahan, held_by)
    report.status = S.VERIFYING
    return report


def officer(unit_code: str | None, role: Role = Role.OFFICER) -> Actor:
    return Actor(uuid.uuid4(), role, UNIT[unit_code].id if unit_code else None)


@pytest.mark.parametrize(
    ("actor", "report", "expected"),
    [
        (officer("kec-31.74.07"), verifying("kel-31.74.07.1006"), True),
        (officer("kec-31.74.07"), verifying("kel-31.74.07.1002", GUNUNG), True),
        (officer("kel-31.74.07.1006"), verifying("kel-31.74.07.1006"), False),
        (officer("kel-31.74.07.1002"), verifying("kel-31.74.07.1006"), False),
        (officer("kec-31.74.02"), verifying("kel-31.74.07.1006"), False),
        (officer("kota-31.74"), verifying("kel-31.74.07.1006"), False),
        (officer("kota-31.74"), verifying("kec-31.74.07"), True),
        (officer("kota-31.74"), verifying("gulkarmat-31.74"), True),
        (officer("kota-31.72"), verifying("gulkarmat-31.74"), False),
        (officer("gulkarmat-31.74"), verifying("gulkarmat-31.74"), False),
        (officer("kota-31.74"), verifying("polri"), False),
        (officer(None, Role.ADMIN), verifying("kel-31.74.07.1006"), False),
        (officer("kec-31.74.07", Role.AUDITOR), verifying("kel-31.74.07.1006"), False),
        (officer(None), verifying("kel-31.74.07.1006"), False),
    ],
    ids=[
        "camat-of-the-kelurahan",
        "camat-for-another-of-its-kelurahan",
        "the-kelurahan-itself",
        "a-neighbouring-kelurahan",
        "another-camat",
        "the-walikota-office-over-the-camat",
        "walikota-office-for-a-kecamatan",
        "walikota-office-for-its-suku-dinas",
        "walikota-office-of-another-kota",
        "the-suku-dinas-itself",
        "nobody-over-an-outside-body",
        "admin",
        "auditor",
        "officer-without-a-unit",
    ],
)
def test_only_the_supervising_office_gives_the_verdict(actor: Actor, report: Report, expected: bool) -> None:
    # when
    allowed = may_verify(actor, report, REFERENCE)

    # then
    assert allowed is expected


# --- the verdict ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "to"), [(True, S.COMPLETED), (False, S.IN_PROGRESS)], ids=["accepted", "sent-back"])
def test_a_verdict_closes_the_report_or_gives_it_back(accept: bool, to: ReportStatus) -> None:
    # given
    verdict = Verdict(accept=accept, reason="Foto bukan lokasi yang dilaporkan")

    # when
    landed = verdict_status(S.VERIFYING, verdict)

    # then
    assert landed == to


@pytest.mark.parametrize("current", sorted(set(S) - {S.VERIFYING}), ids=lambda s: s.value.lower())
def test_only_a_completion_waiting_for_verification_gets_a_verdict(current: ReportStatus) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        verdict_status(current, Verdict(accept=True))

    # then
    assert (raised.value.code, raised.value.field) == ("INVALID_TRANSITION", "reportId")


@pytest.mark.parametrize("reason", [None, "", "  \n"], ids=["none", "empty", "blank"])
def test_sending_work_back_needs_a_reason(reason: str | None) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        verdict_status(S.VERIFYING, Verdict(accept=False, reason=reason))

    # then
    assert (raised.value.code, raised.value.field) == ("REASON_REQUIRED", "reason")


def test_accepting_needs_no_reason() -> None:
    # when
    landed = verdict_status(S.VERIFYING, Verdict(accept=True, reason=None))

    # then
    assert landed == S.COMPLETED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "r" * 2001}, "reason"),
        ({"public_note": "p" * 2001}, "publicNote"),
        ({"internal_note": "i" * 2001}, "internalNote"),
    ],
    ids=["reason", "public", "internal"],
)
def test_a_verdict_note_over_2000_characters_is_refused(overrides: dict[str, str], field: str) -> None:
    # given
    verdict = dataclasses.replace(Verdict(accept=False, reason="Belum bersih"), **overrides)

    # when
    with pytest.raises(DomainError) as raised:
        verdict_status(S.VERIFYING, verdict)

    # then
    assert (raised.value.code, raised.value.field) == ("NOTE_TOO_LONG", field)


def test_the_reason_and_the_supervisors_note_are_the_internal_note() -> None:
    # given
    both = Verdict(accept=False, reason=" Foto lama ", internal_note="Cek lagi besok pagi")
    reason_only = Verdict(accept=False, reason="Foto lama", internal_note="  ")

    # when / then
    assert staff_note(both) == "Foto lama\n\nCek lagi besok pagi"
    assert staff_note(reason_only) == "Foto lama"
    assert staff_note(Verdict(accept=True)) is None


def test_an_accepted_completion_closes_the_report_now() -> None:
    # given
    report = verifying("kel-31.74.07.1006")
    report.completion_due_at, report.due_at = datetime(2026, 12, 9, tzinfo=UTC), None

    # when
    apply_verdict(report, S.COMPLETED, NOW)

    # then
    assert (report.status, report.closed_at, report.due_at, report.updated_at) == (S.COMPLETED, NOW, None, NOW)


def test_work_sent_back_is_due_by_its_completion_deadline_again() -> None:
    # given a completion deadline that passed while the supervisor looked
    report = verifying("kel-31.74.07.1006")
    report.completion_due_at, report.due_at = datetime(2026, 12, 1, tzinfo=UTC), None

    # when
    apply_verdict(report, S.IN_PROGRESS, NOW)

    # then: late, so the escalation sweep raises it to the walikota office
    assert (report.status, report.closed_at, report.due_at) == (S.IN_PROGRESS, None, datetime(2026, 12, 1, tzinfo=UTC))
