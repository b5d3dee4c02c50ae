"""Closing and moving staff accounts (closeStaffAccount, moveStaffAccount, `jsc close-account` / `move-account`),
and the access tokens of a closed or moved account losing their power on their next request."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from cli.main import staff_account_command
from domain import notifications
from domain.models import (
    AccountEvent,
    AccountEventKind,
    Device,
    DevicePlatform,
    HistoryKind,
    RefreshToken,
    Report,
    ReportStatusChange,
    Role,
    Unit,
)
from domain.resources import Resources
from domain.security import AccessClaims, issue_access_token
from domain.settings import Settings
from tests.api.test_workflow import ASSIGN, OTHER_KECAMATAN_OFFICE, TOMANG_OFFICE, staff_member
from tests.factories import LOG_IN, REFRESH, Api, Citizen

CLOSE = """
mutation Close($userId: ID!, $reason: String!) {
  closeStaffAccount(userId: $userId, reason: $reason) {
    account { id role closedAt unit { code } }
    errors { code message field }
  }
}
"""

MOVE = """
mutation Move($input: MoveStaffAccountInput!) {
  moveStaffAccount(input: $input) {
    account { id role closedAt unit { code } }
    errors { code message field }
  }
}
"""

MY_QUEUE = """
query Mine { workQueue(filter: {assignedToMe: true}, first: 100) { edges { node { id } } } }
"""

UNIT_OFFICERS = "query Officers($unit: String!) { unitOfficers(unit: $unit) { id } }"

STATUS = """
mutation Start($input: ChangeReportStatusInput!) { changeReportStatus(input: $input) { errors { code } } }
"""


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    """The extensions of the one error of a refused operation."""
    assert body["data"] is None or all(value is None for value in body["data"].values()), body
    assert len(body["errors"]) == 1, body
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    return extensions


async def payload(api: Api, document: str, who: Citizen | None, **variables: Any) -> dict[str, Any]:
    body = await api.gql(document, variables, token=who.token if who else None)
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


async def assigned_report(api: Api, citizen: Citizen, officer: Citizen) -> str:
    """A new report in Tomang, assigned to `officer` (of Tomang's office) by themselves."""
    report_id: str = (await api.create_report(citizen))["report"]["id"]
    taken = await payload(api, ASSIGN, officer, input={"reportId": report_id, "assignee": officer.user_id})
    assert taken["errors"] == [], taken
    return report_id


async def queue_ids(api: Api, who: Citizen) -> list[str]:
    body = await api.gql(MY_QUEUE, token=who.token)
    assert "errors" not in body, body
    return [edge["node"]["id"] for edge in body["data"]["workQueue"]["edges"]]


async def events_of(resources: Resources, user_id: str) -> list[AccountEvent]:
    async with resources.unit_of_work() as session:
        return list(
            await session.scalars(
                select(AccountEvent).where(AccountEvent.user_id == uuid.UUID(user_id)).order_by(AccountEvent.id)
            )
        )


async def unit_id(resources: Resources, code: str) -> int:
    async with resources.unit_of_work() as session:
        found = await session.scalar(select(Unit.id).where(Unit.code == code))
    assert found is not None
    return found


def heard_change(app: Starlette, user_id: str) -> asyncio.Event:
    """Set when this API process hears the account's NOTIFY (after it has forgotten the account's state)."""
    heard = asyncio.Event()

    def changed(event: dict[str, Any]) -> None:
        if event.get("userId") == user_id:
            heard.set()

    app.state.account_changes.on_event(changed)
    return heard


# --- closing ----------------------------------------------------------------------------------------


async def test_a_closed_officer_is_refused_at_the_next_request_and_cannot_refresh_or_log_in(
    api: Api, resources: Resources
) -> None:
    # given an officer whose token works (and whose state this process now holds), with a phone for pushes
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    admin = await staff_member(api, resources, Role.ADMIN)
    assert await queue_ids(api, officer) == []
    async with resources.unit_of_work() as session:
        await notifications.register_device(
            session,
            user_id=uuid.UUID(officer.user_id),
            token=f"fcm-{uuid.uuid4()}",
            platform=DevicePlatform.ANDROID,
            now=datetime.now(UTC),
        )

    # when
    closed = await payload(api, CLOSE, admin, userId=officer.user_id, reason="Pensiun per 1 Desember")

    # then
    assert closed["errors"] == []
    assert closed["account"]["id"] == officer.user_id
    assert closed["account"]["closedAt"] is not None
    assert refusal(await api.gql(MY_QUEUE, token=officer.token)) == {
        "code": "UNAUTHENTICATED",
        "reason": "ACCOUNT_CLOSED",
    }
    refreshed = await payload(api, REFRESH, None, token=officer.refresh_token)
    assert [e["code"] for e in refreshed["errors"]] == ["ACCOUNT_CLOSED"]
    logged_in = await payload(api, LOG_IN, None, login=officer.email, password=officer.password)
    assert [e["code"] for e in logged_in["errors"]] == ["ACCOUNT_CLOSED"]
    officers = await payload(api, UNIT_OFFICERS, admin, unit=TOMANG_OFFICE)
    assert {"id": officer.user_id} not in officers
    async with resources.unit_of_work() as session:
        user_id = uuid.UUID(officer.user_id)
        live_tokens = await session.scalar(
            select(func.count()).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        )
        devices = await session.scalar(select(func.count()).where(Device.user_id == user_id))
    assert (live_tokens, devices) == (0, 0)
    [event] = await events_of(resources, officer.user_id)
    assert (event.kind, event.reason, event.actor_id) == (
        AccountEventKind.CLOSED,
        "Pensiun per 1 Desember",
        uuid.UUID(admin.user_id),
    )
    assert (event.from_role, event.from_unit_id) == (Role.OFFICER, await unit_id(resources, TOMANG_OFFICE))


async def test_closing_gives_the_officers_open_reports_back_to_the_unit(
    api: Api, resources: Resources, citizen: Citizen
) -> None:
    # given
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    colleague = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    admin = await staff_member(api, resources, Role.ADMIN)
    report_id = await assigned_report(api, citizen, officer)

    # when
    closed = await payload(api, CLOSE, admin, userId=officer.user_id, reason="Mengundurkan diri")

    # then
    assert closed["errors"] == []
    async with resources.unit_of_work() as session:
        report = await session.get(Report, uuid.UUID(report_id))
        assert report is not None
        assert report.assignee_id is None
        released = list(
            await session.scalars(
                select(ReportStatusChange)
                .where(ReportStatusChange.report_id == report.id, ReportStatusChange.kind == HistoryKind.ASSIGNMENT)
                .order_by(ReportStatusChange.id)
            )
        )
    assert [(row.assignee_id, row.actor_id) for row in released] == [
        (uuid.UUID(officer.user_id), uuid.UUID(officer.user_id)),
        (None, uuid.UUID(admin.user_id)),
    ]
    again = await payload(api, ASSIGN, colleague, input={"reportId": report_id, "assignee": officer.user_id})
    assert [e["code"] for e in again["errors"]] == ["INVALID_ASSIGNEE"]


@pytest.mark.parametrize(
    ("caller", "code"),
    [(None, "UNAUTHENTICATED"), (Role.CITIZEN, "FORBIDDEN"), (Role.OFFICER, "FORBIDDEN"), (Role.AUDITOR, "FORBIDDEN")],
)
async def test_only_admins_close_staff_accounts(api: Api, resources: Resources, caller: Role | None, code: str) -> None:
    # given
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    who = None
    if caller == Role.CITIZEN:
        who = await api.sign_up()
    elif caller is not None:
        who = await staff_member(api, resources, caller, TOMANG_OFFICE if caller == Role.OFFICER else None)

    # when
    body = await api.gql(CLOSE, {"userId": officer.user_id, "reason": "Coba"}, token=who.token if who else None)

    # then: refused before anything (UNAUTHENTICATED, and auditors' FORBIDDEN, as errors; the others in the payload)
    codes = [e["extensions"]["code"] for e in body.get("errors") or []]
    codes += [e["code"] for e in ((body.get("data") or {}).get("closeStaffAccount") or {}).get("errors", [])]
    assert codes == [code]
    assert await events_of(resources, officer.user_id) == []
    assert await queue_ids(api, officer) == []


@pytest.mark.parametrize("case", ["NOT_FOUND", "NOT_STAFF", "SELF", "ALREADY_CLOSED", "INVALID_REASON"])
async def test_what_closing_refuses(api: Api, resources: Resources, case: str) -> None:
    # given
    admin = await staff_member(api, resources, Role.ADMIN)
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    target, reason = officer.user_id, "Pensiun"
    if case == "NOT_FOUND":
        target = str(uuid.uuid4())
    elif case == "NOT_STAFF":
        target = (await api.sign_up()).user_id
    elif case == "SELF":
        target = admin.user_id
    elif case == "ALREADY_CLOSED":
        assert (await payload(api, CLOSE, admin, userId=target, reason=reason))["errors"] == []
    else:
        reason = "   "

    # when
    closed = await payload(api, CLOSE, admin, userId=target, reason=reason)

    # then
    assert closed["account"] is None
    assert [e["code"] for e in closed["errors"]] == [case]


async def test_jsc_close_account_is_heard_by_an_api_process_that_holds_the_accounts_state(
    api: Api, app: Starlette, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an officer whose open state this process has just read (and keeps for JSC_ACCOUNT_STATE_CACHE_S)
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    assert await queue_ids(api, officer) == []
    heard = heard_change(app, officer.user_id)

    # when an operator closes it with the command, a process of its own
    code = await staff_account_command(
        argparse.Namespace(command="close-account", user=officer.email, reason="Akun bocor")
    )

    # then
    assert code == 0
    assert f"jsc: closed officer {officer.user_id}" in capsys.readouterr().out
    await asyncio.wait_for(heard.wait(), 30)
    assert refusal(await api.gql(MY_QUEUE, token=officer.token))["reason"] == "ACCOUNT_CLOSED"
    [event] = await events_of(resources, officer.user_id)
    assert (event.kind, event.reason, event.actor_id) == (AccountEventKind.CLOSED, "Akun bocor", None)


# --- moving -----------------------------------------------------------------------------------------


async def test_a_moved_officer_loses_the_old_units_queue_at_once(
    api: Api, resources: Resources, citizen: Citizen
) -> None:
    # given an officer of Tomang working on a report there
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    admin = await staff_member(api, resources, Role.ADMIN)
    report_id = await assigned_report(api, citizen, officer)
    assert await queue_ids(api, officer) == [report_id]

    # when an admin moves them to another kecamatan's kelurahan
    moved = await payload(
        api,
        MOVE,
        admin,
        input={"userId": officer.user_id, "role": "OFFICER", "unit": OTHER_KECAMATAN_OFFICE, "reason": "Mutasi"},
    )

    # then the old token is refused at once, and the refreshed one holds the new unit's powers only
    assert moved["errors"] == []
    assert moved["account"]["unit"] == {"code": OTHER_KECAMATAN_OFFICE}
    assert refusal(await api.gql(MY_QUEUE, token=officer.token)) == {
        "code": "UNAUTHENTICATED",
        "reason": "ACCOUNT_CHANGED",
    }
    refreshed = await payload(api, REFRESH, None, token=officer.refresh_token)
    assert refreshed["errors"] == []
    officer.token = refreshed["session"]["accessToken"]
    assert await queue_ids(api, officer) == []
    started = await payload(api, STATUS, officer, input={"reportId": report_id, "to": "IN_PROGRESS"})
    assert [e["code"] for e in started["errors"]] == ["FORBIDDEN"]
    [event] = await events_of(resources, officer.user_id)
    assert (event.kind, event.reason, event.from_unit_id, event.to_unit_id) == (
        AccountEventKind.MOVED,
        "Mutasi",
        await unit_id(resources, TOMANG_OFFICE),
        await unit_id(resources, OTHER_KECAMATAN_OFFICE),
    )


async def test_a_token_from_before_a_move_and_back_stays_refused(api: Api, resources: Resources) -> None:
    # given an officer's token, then a move elsewhere and back (the same role and unit as the token says)
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    admin = await staff_member(api, resources, Role.ADMIN)
    for unit in (OTHER_KECAMATAN_OFFICE, TOMANG_OFFICE):
        moved = await payload(
            api, MOVE, admin, input={"userId": officer.user_id, "role": "OFFICER", "unit": unit, "reason": "Mutasi"}
        )
        assert moved["errors"] == []

    # when
    body = await api.gql(MY_QUEUE, token=officer.token)

    # then: its token_version is two behind
    assert refusal(body)["reason"] == "ACCOUNT_CHANGED"


@pytest.mark.parametrize(
    ("role", "unit", "code"),
    [
        ("CITIZEN", None, "INVALID_ROLE"),
        ("OFFICER", None, "UNIT_REQUIRED"),
        ("AUDITOR", TOMANG_OFFICE, "UNIT_REQUIRED"),
        ("OFFICER", "kel-00.00.00.0000", "UNKNOWN_UNIT"),
    ],
)
async def test_what_moving_refuses(api: Api, resources: Resources, role: str, unit: str | None, code: str) -> None:
    # given
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    admin = await staff_member(api, resources, Role.ADMIN)

    # when
    moved = await payload(
        api, MOVE, admin, input={"userId": officer.user_id, "role": role, "unit": unit, "reason": "Mutasi"}
    )

    # then
    assert [e["code"] for e in moved["errors"]] == [code]
    assert await queue_ids(api, officer) == []


async def test_jsc_move_account_makes_an_officer_an_auditor(
    api: Api, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)

    # when
    code = await staff_account_command(
        argparse.Namespace(
            command="move-account", user=officer.user_id, role="auditor", unit=None, reason="Inspektorat"
        )
    )

    # then
    assert code == 0
    assert f"jsc: {officer.user_id} ({officer.email}) is now auditor" in capsys.readouterr().out
    [event] = await events_of(resources, officer.user_id)
    assert (event.kind, event.from_role, event.to_role, event.to_unit_id, event.actor_id) == (
        AccountEventKind.MOVED,
        Role.OFFICER,
        Role.AUDITOR,
        None,
        None,
    )
    logged_in = await payload(api, LOG_IN, None, login=officer.email, password=officer.password)
    assert logged_in["session"]["user"]["role"] == "AUDITOR"


# --- tokens -----------------------------------------------------------------------------------------


async def test_an_expired_token_is_refused_with_its_reason(api: Api, resources: Resources, settings: Settings) -> None:
    # given a token that expired a minute ago
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    issued_at = datetime.now(UTC) - timedelta(seconds=settings.access_token_ttl_s + 60)
    claims = AccessClaims(uuid.UUID(officer.user_id), Role.OFFICER, await unit_id(resources, TOMANG_OFFICE))
    expired = issue_access_token(settings, claims, issued_at)

    # when
    body = await api.gql(MY_QUEUE, token=expired)

    # then
    assert refusal(body) == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}
