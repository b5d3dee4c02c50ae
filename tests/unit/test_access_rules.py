"""domain.access and domain.staff's pure rules: a token counts only while it matches its account as it is now."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.access import ACCOUNT_CHANGED, ACCOUNT_CLOSED, TOKEN_EXPIRED, AccountState, token_problem
from domain.errors import DomainError
from domain.models import Role
from domain.security import AccessClaims
from domain.staff import check_move, check_reason

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
CLAIMS = AccessClaims(uuid.uuid4(), Role.OFFICER, 7, version=2, expires_at=NOW + timedelta(minutes=10))
STATE = AccountState(role=Role.OFFICER, unit_id=7, token_version=2, closed=False)


def test_a_token_matching_its_open_account_counts() -> None:
    assert token_problem(CLAIMS, STATE, NOW) is None


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (replace(STATE, closed=True), ACCOUNT_CLOSED),
        (None, ACCOUNT_CLOSED),
        (replace(STATE, unit_id=8), ACCOUNT_CHANGED),
        (replace(STATE, role=Role.ADMIN, unit_id=None), ACCOUNT_CHANGED),
        (replace(STATE, token_version=3), ACCOUNT_CHANGED),
    ],
    ids=["closed", "deleted", "moved-unit", "new-role", "newer-version"],
)
def test_a_token_of_an_account_closed_or_changed_since_does_not_count(
    state: AccountState | None, expected: str
) -> None:
    assert token_problem(CLAIMS, state, NOW) == expected


def test_an_expired_token_is_expired_whatever_its_account() -> None:
    # given a token at its expiry, of an account closed since
    claims = replace(CLAIMS, expires_at=NOW)

    # when
    problem = token_problem(claims, replace(STATE, closed=True), NOW)

    # then: refresh, which then says the account is closed
    assert problem == TOKEN_EXPIRED


@pytest.mark.parametrize(
    ("role", "unit_id", "code"),
    [
        (Role.CITIZEN, None, "INVALID_ROLE"),
        (Role.OFFICER, None, "UNIT_REQUIRED"),
        (Role.ADMIN, 7, "UNIT_REQUIRED"),
    ],
)
def test_a_staff_account_moves_only_to_a_staff_role_with_a_unit_for_officers(
    role: Role, unit_id: int | None, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        check_move(role, unit_id)

    assert refused.value.code == code


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_closing_or_moving_needs_a_reason_of_1_to_500_characters(reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_reason(reason)

    assert refused.value.code == "INVALID_REASON"


def test_a_reason_is_kept_without_its_surrounding_blanks() -> None:
    assert check_reason("  moved to Dinas SDA  ") == "moved to Dinas SDA"
