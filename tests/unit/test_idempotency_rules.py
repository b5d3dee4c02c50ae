"""domain.idempotency and the stale-action rule without the database."""

from __future__ import annotations

import uuid

import pytest

from domain import idempotency
from domain.errors import DomainError
from domain.models import Report, ReportStatus
from domain.workflow import Stale, check_expected

USER = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


@pytest.mark.parametrize("value", ["", "x" * 65])
def test_a_client_request_id_outside_1_to_64_characters_is_refused(value: str) -> None:
    with pytest.raises(DomainError) as refused:
        idempotency.key_for(USER, value, "addComment", {})

    assert (refused.value.code, refused.value.field) == ("INVALID_CLIENT_REQUEST_ID", "clientRequestId")


def test_no_client_request_id_no_key() -> None:
    assert idempotency.key_for(USER, None, "addComment", {"body": "x"}) is None


def test_the_key_holds_who_what_and_the_fingerprint_of_the_input() -> None:
    key = idempotency.key_for(USER, "x" * 64, "addComment", {"body": "Halo"})

    assert key == idempotency.Key(USER, "x" * 64, "addComment", idempotency.fingerprint({"body": "Halo"}))


def test_the_same_input_in_another_form_has_the_same_fingerprint() -> None:
    report = uuid.UUID("12345678-1234-4234-8234-123456789abc")
    one = {"reportId": report, "to": ReportStatus.IN_PROGRESS, "note": " Kami cek ", "keys": ("a", "b")}
    other = {"keys": ["a", "b"], "note": "Kami cek", "to": "IN_PROGRESS", "reportId": str(report)}

    assert idempotency.fingerprint(one) == idempotency.fingerprint(other)


@pytest.mark.parametrize(
    "changed",
    [
        {"to": "COORDINATION"},
        {"note": "Kami cek lagi"},
        {"note": None},
        {"keys": ["b", "a"]},
        {"expected": "WAITING"},
    ],
)
def test_other_input_has_another_fingerprint(changed: dict[str, object]) -> None:
    base: dict[str, object] = {"to": "IN_PROGRESS", "note": "Kami cek", "keys": ["a", "b"]}

    assert idempotency.fingerprint(base) != idempotency.fingerprint({**base, **changed})


def test_a_value_without_a_normal_form_is_a_bug() -> None:
    with pytest.raises(TypeError):
        idempotency.fingerprint({"at": object()})


def test_an_action_on_a_report_in_another_status_than_expected_is_stale() -> None:
    report = Report(status=ReportStatus.IN_PROGRESS)

    check_expected(report, None)
    check_expected(report, ReportStatus.IN_PROGRESS)
    with pytest.raises(Stale) as stale:
        check_expected(report, ReportStatus.WAITING)

    assert (stale.value.code, stale.value.field, stale.value.report) == ("STALE", "expectedStatus", report)
    assert stale.value.message == "The report is now IN_PROGRESS (Proses), not WAITING: look at it again before acting."
