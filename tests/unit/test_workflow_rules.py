"""domain.workflow without the database: the status machine, who may act on a report, and its deadlines."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.errors import DomainError
from domain.models import Category, Report, ReportStatus, Role, Unit, UnitKind
from domain.reference import ReferenceData
from domain.sla import JAKARTA, WorkingCalendar
from domain.workflow import (
    TRANSITIONS,
    Actor,
    StatusChange,
    _after_move,
    check_transition,
    in_jurisdiction,
    may_act,
    start_clock,
)

S = ReportStatus
CALENDAR = WorkingCalendar()  # office hours 07:30-16:00 Monday to Friday, no holidays


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


# --- the status machine -----------------------------------------------------------------------------

FROM_ANY_OPEN_START = {S.COORDINATION, S.IN_PROGRESS, S.REJECTED, S.DUPLICATE}
ALLOWED = {
    S.WAITING: FROM_ANY_OPEN_START,
    S.REOPENED: FROM_ANY_OPEN_START,
    S.DISPOSITION: FROM_ANY_OPEN_START,
    S.COORDINATION: {S.IN_PROGRESS, S.REJECTED, S.DUPLICATE},
    S.IN_PROGRESS: {S.COORDINATION, S.COMPLETED},
}
ALLOWED_MOVES = [(a, b) for a in S for b in S if b in ALLOWED.get(a, set())]
REFUSED_MOVES = [(a, b) for a in S for b in S if b not in ALLOWED.get(a, set())]


def move_id(move: tuple[ReportStatus, ReportStatus]) -> str:
    return f"{move[0].value}-to-{move[1].value}".lower()


def complete_change(to: ReportStatus, **overrides: Any) -> StatusChange:
    """A change to `to` with everything that move asks for, then the overrides."""
    change = StatusChange(
        to=to,
        public_note="Sudah kami tindak lanjuti.",
        internal_note="Koordinasi dengan RT 05.",
        reason="Bukan wewenang kelurahan." if to == S.REJECTED else None,
        duplicate_of=uuid.uuid4() if to == S.DUPLICATE else None,
        after_photo_keys=("uploads/officer/after-1",) if to == S.COMPLETED else (),
    )
    return dataclasses.replace(change, **overrides)


def refusal(current: ReportStatus, change: StatusChange) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as raised:
        check_transition(current, change)
    return raised.value.code, raised.value.field


def test_the_transition_table_is_the_officers_status_machine() -> None:
    # given the moves officers make with changeReportStatus (no move out of a closed report, none to
    # DISPOSITION or REOPENED, which have their own use cases)

    # when
    table = {status: set(targets) for status, targets in TRANSITIONS.items()}

    # then
    assert table == ALLOWED


@pytest.mark.parametrize("move", ALLOWED_MOVES, ids=[move_id(m) for m in ALLOWED_MOVES])
def test_an_allowed_move_with_what_it_needs_passes(move: tuple[ReportStatus, ReportStatus]) -> None:
    # given
    current, to = move

    # when
    result = check_transition(current, complete_change(to))

    # then
    assert result is None


@pytest.mark.parametrize("move", REFUSED_MOVES, ids=[move_id(m) for m in REFUSED_MOVES])
def test_any_other_move_is_an_invalid_transition(move: tuple[ReportStatus, ReportStatus]) -> None:
    # given a change that carries everything its target would need
    current, to = move

    # when
    code, field = refusal(current, complete_change(to))

    # then
    assert (code, field) == ("INVALID_TRANSITION", "to")


@pytest.mark.parametrize(
    ("to", "hint"),
    [(S.DISPOSITION, "disposeReport"), (S.REOPENED, "reporter")],
    ids=["disposition", "reopened"],
)
@pytest.mark.parametrize("current", sorted(S), ids=lambda s: s.value.lower())
def test_disposition_and_reopening_have_their_own_use_cases(current: ReportStatus, to: ReportStatus, hint: str) -> None:
    # given a move to DISPOSITION or REOPENED through changeReportStatus

    # when
    with pytest.raises(DomainError) as raised:
        check_transition(current, complete_change(to))

    # then it says where the move is made instead
    assert raised.value.code == "INVALID_TRANSITION"
    assert hint in raised.value.message


@pytest.mark.parametrize("reason", [None, "", "   \n\t"], ids=["none", "empty", "blank"])
@pytest.mark.parametrize("current", [S.WAITING, S.COORDINATION], ids=["waiting", "coordination"])
def test_a_rejection_needs_a_reason(current: ReportStatus, reason: str | None) -> None:
    # given
    change = complete_change(S.REJECTED, reason=reason)

    # when
    code, field = refusal(current, change)

    # then
    assert (code, field) == ("REASON_REQUIRED", "reason")


def test_a_duplicate_names_the_report_it_duplicates() -> None:
    # given
    change = complete_change(S.DUPLICATE, duplicate_of=None)

    # when
    code, field = refusal(S.WAITING, change)

    # then
    assert (code, field) == ("DUPLICATE_OF_REQUIRED", "duplicateOf")


def test_completed_work_needs_a_photo_of_it() -> None:
    # given
    change = complete_change(S.COMPLETED, after_photo_keys=())

    # when
    code, field = refusal(S.IN_PROGRESS, change)

    # then
    assert (code, field) == ("AFTER_PHOTO_REQUIRED", "afterPhotoKeys")


def test_the_move_is_checked_before_what_it_carries() -> None:
    # given a rejection without reason of a report that cannot be rejected any more
    change = complete_change(S.REJECTED, reason=None)

    # when
    code, _ = refusal(S.IN_PROGRESS, change)

    # then
    assert code == "INVALID_TRANSITION"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"public_note": "n" * 2001}, "publicNote"),
        ({"internal_note": "n" * 2001}, "internalNote"),
        ({"public_note": "n" * 2000, "internal_note": "n" * 2001}, "internalNote"),
    ],
    ids=["public", "internal", "internal-after-a-public-note-at-the-limit"],
)
@pytest.mark.parametrize(
    "move",
    [(S.WAITING, S.COORDINATION), (S.COORDINATION, S.REJECTED), (S.IN_PROGRESS, S.COMPLETED)],
    ids=move_id,
)
def test_a_note_over_2000_characters_is_refused(
    move: tuple[ReportStatus, ReportStatus], overrides: dict[str, str], field: str
) -> None:
    # given
    current, to = move

    # when
    code, refused_field = refusal(current, complete_change(to, **overrides))

    # then
    assert (code, refused_field) == ("NOTE_TOO_LONG", field)


def test_notes_of_exactly_2000_characters_pass() -> None:
    # given
    change = complete_change(S.IN_PROGRESS, public_note="p" * 2000, internal_note="i" * 2000)

    # when
    result = check_transition(S.WAITING, change)

    # then
    assert result is None


# --- jurisdiction -----------------------------------------------------------------------------------

JAKSEL, JAKUT = 4, 2
KEBAYORAN_BARU, SETIABUDI = 11, 12
SENAYAN, GUNUNG, KARET_SEMANGGI = 101, 102, 103  # Senayan and Gunung are neighbours in Kebayoran Baru

UNITS = [
    Unit(
        id=1,
        code="kel-31.74.07.1006",
        kind=UnitKind.KELURAHAN,
        name="Kelurahan Senayan",
        kelurahan_id=SENAYAN,
        kecamatan_id=KEBAYORAN_BARU,
        kota_id=JAKSEL,
        agency_code=None,
    ),
    Unit(
        id=2,
        code="kel-31.74.07.1002",
        kind=UnitKind.KELURAHAN,
        name="Kelurahan Gunung",
        kelurahan_id=GUNUNG,
        kecamatan_id=KEBAYORAN_BARU,
        kota_id=JAKSEL,
        agency_code=None,
    ),
    Unit(
        id=11,
        code="kec-31.74.07",
        kind=UnitKind.KECAMATAN,
        name="Kecamatan Kebayoran Baru",
        kelurahan_id=None,
        kecamatan_id=KEBAYORAN_BARU,
        kota_id=JAKSEL,
        agency_code=None,
    ),
    Unit(
        id=12,
        code="kec-31.74.02",
        kind=UnitKind.KECAMATAN,
        name="Kecamatan Setiabudi",
        kelurahan_id=None,
        kecamatan_id=SETIABUDI,
        kota_id=JAKSEL,
        agency_code=None,
    ),
    Unit(
        id=21,
        code="kota-31.74",
        kind=UnitKind.KOTA,
        name="Kota Administrasi Jakarta Selatan",
        kelurahan_id=None,
        kecamatan_id=None,
        kota_id=JAKSEL,
        agency_code=None,
    ),
    Unit(
        id=22,
        code="kota-31.72",
        kind=UnitKind.KOTA,
        name="Kota Administrasi Jakarta Utara",
        kelurahan_id=None,
        kecamatan_id=None,
        kota_id=JAKUT,
        agency_code=None,
    ),
    Unit(
        id=31,
        code="gulkarmat-31.74",
        kind=UnitKind.AGENCY,
        name="Suku Dinas Gulkarmat Jakarta Selatan",
        kelurahan_id=None,
        kecamatan_id=None,
        kota_id=JAKSEL,
        agency_code="gulkarmat",
    ),
    Unit(
        id=32,
        code="gulkarmat-31.72",
        kind=UnitKind.AGENCY,
        name="Suku Dinas Gulkarmat Jakarta Utara",
        kelurahan_id=None,
        kecamatan_id=None,
        kota_id=JAKUT,
        agency_code="gulkarmat",
    ),
    Unit(
        id=41,
        code="polri",
        kind=UnitKind.EXTERNAL,
        name="Kepolisian Daerah Metro Jaya",
        kelurahan_id=None,
        kecamatan_id=None,
        kota_id=None,
        agency_code="polri",
    ),
]
UNIT = {u.code: u for u in UNITS}
REFERENCE = ReferenceData(
    categories={},
    category_codes={},
    agencies={},
    kota={},
    kecamatan={},
    kelurahan={},
    units={u.id: u for u in UNITS},
    unit_codes=UNIT,
)
AREAS = {
    SENAYAN: (SENAYAN, KEBAYORAN_BARU, JAKSEL),
    GUNUNG: (GUNUNG, KEBAYORAN_BARU, JAKSEL),
    KARET_SEMANGGI: (KARET_SEMANGGI, SETIABUDI, JAKSEL),
}


def report_at(kelurahan: int, held_by: str) -> Report:
    kelurahan_id, kecamatan_id, kota_id = AREAS[kelurahan]
    return Report(
        id=uuid.uuid4(),
        status=S.WAITING,
        unit_id=UNIT[held_by].id,
        kelurahan_id=kelurahan_id,
        kecamatan_id=kecamatan_id,
        kota_id=kota_id,
        category_id=1,
    )


@pytest.mark.parametrize(
    ("unit_code", "kelurahan", "held_by", "expected"),
    [
        ("kel-31.74.07.1006", SENAYAN, "kel-31.74.07.1006", True),
        ("kel-31.74.07.1006", SENAYAN, "gulkarmat-31.74", True),
        ("kel-31.74.07.1002", SENAYAN, "kel-31.74.07.1006", False),
        ("kel-31.74.07.1002", SENAYAN, "kel-31.74.07.1002", True),
        ("kec-31.74.07", GUNUNG, "kel-31.74.07.1002", True),
        ("kec-31.74.07", KARET_SEMANGGI, "kel-31.74.07.1006", False),
        ("kec-31.74.02", SENAYAN, "kec-31.74.02", True),
        ("kota-31.72", SENAYAN, "kota-31.72", True),
        ("gulkarmat-31.74", SENAYAN, "kel-31.74.07.1006", False),
        ("gulkarmat-31.74", SENAYAN, "gulkarmat-31.74", True),
        ("polri", KARET_SEMANGGI, "polri", True),
    ],
    ids=[
        "kelurahan-holding-its-report",
        "kelurahan-after-passing-it-on",
        "neighbouring-kelurahan",
        "kelurahan-holding-a-report-outside-its-area",
        "kecamatan-over-its-kelurahan",
        "kecamatan-outside-its-area-holding-nothing",
        "kecamatan-holding-a-report-outside-its-area",
        "kota-holding-a-report-of-another-kota",
        "suku-dinas-not-holding-a-report-of-its-kota",
        "suku-dinas-holding-it",
        "external-body-holding-it",
    ],
)
def test_a_unit_works_on_the_reports_it_holds_and_an_area_office_on_its_area(
    unit_code: str, kelurahan: int, held_by: str, expected: bool
) -> None:
    # given
    report = report_at(kelurahan, held_by)

    # when
    covered = in_jurisdiction(UNIT[unit_code], report)

    # then
    assert covered is expected


AT_SENAYAN = report_at(SENAYAN, "kel-31.74.07.1006")
AT_GUNUNG = report_at(GUNUNG, "kel-31.74.07.1002")
AT_SENAYAN_WITH_GULKARMAT = report_at(SENAYAN, "gulkarmat-31.74")
AT_SENAYAN_WITH_POLRI = report_at(SENAYAN, "polri")
UNKNOWN_UNIT = 999


@pytest.mark.parametrize(
    ("role", "unit_code", "report", "expected"),
    [
        (Role.OFFICER, "kel-31.74.07.1006", AT_SENAYAN, True),
        (Role.OFFICER, "kel-31.74.07.1002", AT_SENAYAN, False),
        (Role.OFFICER, "kec-31.74.07", AT_SENAYAN, True),
        (Role.OFFICER, "kec-31.74.07", AT_GUNUNG, True),
        (Role.OFFICER, "kec-31.74.02", AT_SENAYAN, False),
        (Role.OFFICER, "kota-31.74", AT_GUNUNG, True),
        (Role.OFFICER, "kota-31.72", AT_SENAYAN, False),
        (Role.OFFICER, "gulkarmat-31.74", AT_SENAYAN, False),
        (Role.OFFICER, "gulkarmat-31.74", AT_SENAYAN_WITH_GULKARMAT, True),
        (Role.OFFICER, "gulkarmat-31.72", AT_SENAYAN_WITH_GULKARMAT, False),
        (Role.OFFICER, "polri", AT_SENAYAN, False),
        (Role.OFFICER, "polri", AT_SENAYAN_WITH_POLRI, True),
        (Role.OFFICER, "kel-31.74.07.1006", AT_SENAYAN_WITH_GULKARMAT, True),
        (Role.OFFICER, "kel-31.74.07.1002", AT_SENAYAN_WITH_GULKARMAT, False),
        (Role.OFFICER, None, AT_SENAYAN, False),
        (Role.OFFICER, UNKNOWN_UNIT, AT_SENAYAN, False),
        (Role.ADMIN, None, AT_SENAYAN, True),
        (Role.ADMIN, "kota-31.72", AT_SENAYAN_WITH_POLRI, True),
        (Role.AUDITOR, "kota-31.74", AT_SENAYAN, False),
        (Role.AUDITOR, None, AT_SENAYAN, False),
        (Role.CITIZEN, None, AT_SENAYAN, False),
        (Role.CITIZEN, "kel-31.74.07.1006", AT_SENAYAN, False),
    ],
    ids=[
        "lurah-of-the-kelurahan",
        "lurah-of-the-neighbouring-kelurahan",
        "camat-of-the-kecamatan",
        "camat-for-another-of-its-kelurahan",
        "camat-of-another-kecamatan",
        "walikota-office-of-the-kota",
        "walikota-office-of-another-kota",
        "suku-dinas-not-holding-it",
        "suku-dinas-holding-it",
        "suku-dinas-of-another-kota",
        "external-body-not-holding-it",
        "external-body-holding-it",
        "lurah-after-passing-it-on",
        "neighbouring-lurah-after-it-was-passed-on",
        "officer-without-unit",
        "officer-of-an-unknown-unit",
        "admin-without-unit",
        "admin-of-any-unit",
        "auditor-of-the-kota-office",
        "auditor-without-unit",
        "citizen",
        "citizen-with-a-unit",
    ],
)
def test_who_may_act_on_a_report(role: Role, unit_code: str | int | None, report: Report, expected: bool) -> None:
    # given
    unit_id = UNIT[unit_code].id if isinstance(unit_code, str) else unit_code
    actor = Actor(user_id=uuid.uuid4(), role=role, unit_id=unit_id)

    # when
    allowed = may_act(actor, report, REFERENCE)

    # then
    assert allowed is expected


# --- deadlines --------------------------------------------------------------------------------------

_category_ids = itertools.count(1)


def category(response_hours: float, completion_hours: float) -> Category:
    return Category(
        id=next(_category_ids),
        code="garbage",
        name_id="Sampah",
        name_en="Garbage",
        first_handler=UnitKind.KELURAHAN,
        agency_code="sudin-lingkungan-hidup",
        response_hours=response_hours,
        completion_hours=completion_hours,
    )


def new_report(created_at: datetime, category_: Category) -> Report:
    return Report(
        id=uuid.uuid4(),
        status=S.WAITING,
        unit_id=1,
        kelurahan_id=SENAYAN,
        kecamatan_id=KEBAYORAN_BARU,
        kota_id=JAKSEL,
        category_id=category_.id,
        created_at=created_at,
        updated_at=created_at,
    )


@pytest.mark.parametrize(
    ("created_at", "hours", "respond_by", "complete_by"),
    [
        # Monday 7 h (09:00-16:00) + 1 h on Tuesday; completion: 7 + 8.5 x 3 = 32.5 h, then 7.5 h on Friday
        (wib(2026, 11, 23, 9), (8, 40), wib(2026, 11, 24, 8, 30), wib(2026, 11, 27, 15)),
        # Friday 1 h (15:00-16:00), the weekend does not count; completion: 1 + 7 h on Monday
        (wib(2026, 11, 27, 15), (2, 8), wib(2026, 11, 30, 8, 30), wib(2026, 11, 30, 14, 30)),
        # Saturday night: the clock starts on Monday at 07:30
        (wib(2026, 11, 28, 22), (1, 8), wib(2026, 11, 30, 8, 30), wib(2026, 11, 30, 15, 30)),
        # A deadline that uses up a day exactly lands on its closing time
        (wib(2026, 11, 23, 7, 30), (8.5, 17), wib(2026, 11, 23, 16), wib(2026, 11, 24, 16)),
    ],
    ids=["monday-morning", "friday-afternoon", "saturday-night", "whole-days"],
)
def test_a_new_report_is_due_for_its_first_response(
    created_at: datetime, hours: tuple[float, float], respond_by: datetime, complete_by: datetime
) -> None:
    # given a report just filed in a category with the SLA above
    sla_category = category(*hours)
    report = new_report(created_at, sla_category)

    # when
    start_clock(report, sla_category, CALENDAR)

    # then
    assert (report.response_due_at, report.completion_due_at) == (respond_by, complete_by)
    assert report.due_at == respond_by
    assert report.response_due_at.tzinfo is UTC


GARBAGE = category(8, 40)
MONDAY_MORNING = wib(2026, 11, 23, 9)
RESPOND_BY = wib(2026, 11, 24, 8, 30)
COMPLETE_BY = wib(2026, 11, 27, 15)


def filed_report() -> Report:
    report = new_report(MONDAY_MORNING, GARBAGE)
    start_clock(report, GARBAGE, CALENDAR)
    return report


@pytest.mark.parametrize("to", [S.COORDINATION, S.IN_PROGRESS], ids=["coordination", "in-progress"])
def test_the_first_move_is_the_first_response_and_the_report_is_then_due_for_completion(to: ReportStatus) -> None:
    # given a report filed on Monday morning
    report = filed_report()
    now = wib(2026, 11, 23, 13)

    # when an officer takes it up that afternoon
    _after_move(report, to, GARBAGE, CALENDAR, now)

    # then
    assert report.first_response_at == now
    assert report.due_at == COMPLETE_BY
    assert (report.response_due_at, report.completion_due_at) == (RESPOND_BY, COMPLETE_BY)
    assert report.closed_at is None


def test_a_later_move_keeps_the_first_response() -> None:
    # given a report first answered on Monday afternoon
    report = filed_report()
    first = wib(2026, 11, 23, 13)
    _after_move(report, S.COORDINATION, GARBAGE, CALENDAR, first)

    # when the work starts on Wednesday
    _after_move(report, S.IN_PROGRESS, GARBAGE, CALENDAR, wib(2026, 11, 25, 10))

    # then
    assert report.first_response_at == first
    assert report.due_at == COMPLETE_BY


@pytest.mark.parametrize("to", [S.COMPLETED, S.REJECTED, S.DUPLICATE], ids=["completed", "rejected", "duplicate"])
@pytest.mark.parametrize("answered_before", [False, True], ids=["first-move", "after-a-response"])
def test_closing_a_report_stops_its_clock(to: ReportStatus, answered_before: bool) -> None:
    # given a report filed on Monday morning, maybe answered that afternoon
    report = filed_report()
    answered = wib(2026, 11, 23, 13)
    if answered_before:
        _after_move(report, S.IN_PROGRESS, GARBAGE, CALENDAR, answered)
    now = wib(2026, 11, 26, 11)

    # when it is closed on Thursday
    _after_move(report, to, GARBAGE, CALENDAR, now)

    # then it has no next deadline, and keeps the ones it had for the record
    assert report.closed_at == now
    assert report.due_at is None
    assert report.first_response_at == (answered if answered_before else now)
    assert (report.response_due_at, report.completion_due_at) == (RESPOND_BY, COMPLETE_BY)


def test_reopening_gives_a_fresh_completion_deadline_from_the_reopening() -> None:
    # given a report answered on Monday and completed on Thursday
    report = filed_report()
    answered = wib(2026, 11, 23, 13)
    _after_move(report, S.IN_PROGRESS, GARBAGE, CALENDAR, answered)
    _after_move(report, S.COMPLETED, GARBAGE, CALENDAR, wib(2026, 11, 26, 11))

    # when the reporter reopens it on Monday 7 December at 10:00
    _after_move(report, S.REOPENED, GARBAGE, CALENDAR, wib(2026, 12, 7, 10))

    # then 40 working hours: 6 h on Monday, 8.5 h Tuesday to Thursday, the whole of Friday up to closing
    friday_closing = wib(2026, 12, 11, 16)
    assert report.completion_due_at == friday_closing
    assert report.due_at == friday_closing
    assert report.closed_at is None
    assert report.first_response_at == answered
    assert report.response_due_at == RESPOND_BY


def test_a_rejection_reason_is_bounded_like_a_note() -> None:
    with pytest.raises(DomainError) as caught:
        check_transition(ReportStatus.WAITING, StatusChange(to=ReportStatus.REJECTED, reason="x" * 2001))

    assert (caught.value.code, caught.value.field) == ("NOTE_TOO_LONG", "reason")


def test_spaces_around_a_note_do_not_count() -> None:
    check_transition(
        ReportStatus.WAITING, StatusChange(to=ReportStatus.COORDINATION, public_note=" " * 20 + "x" * 1990)
    )
