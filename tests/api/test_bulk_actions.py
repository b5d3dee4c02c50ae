"""Bulk actions for officers: each report checked and done on its own, the rest standing when one is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.models import Kelurahan, Role
from domain.resources import Resources
from tests.api.test_replays import call, change, keys_of, notified, race
from tests.api.test_workflow import TOMANG_OFFICE, history_count, staff_member
from tests.factories import Api, Citizen

RESULTS = """
results { reportId report { id status assignee { displayName } } errors { code message field } }
errors { code message field }
"""
BULK_STATUS = f"""
mutation B($input: BulkChangeReportStatusInput!) {{ bulkChangeReportStatus(input: $input) {{ {RESULTS} }} }}
"""
BULK_ASSIGN = f"""
mutation B($input: BulkAssignReportsInput!) {{ bulkAssignReports(input: $input) {{ {RESULTS} }} }}
"""


@pytest.fixture(scope="module")
async def elsewhere(resources: Resources) -> tuple[float, float]:
    """A point in a kelurahan of Jakarta Pusat: outside the Tomang lurah's jurisdiction."""
    async with resources.unit_of_work() as session:
        lat, lon = (
            await session.execute(
                select(
                    func.ST_Y(func.ST_PointOnSurface(Kelurahan.geom)),
                    func.ST_X(func.ST_PointOnSurface(Kelurahan.geom)),
                )
                .where(Kelurahan.code.like("31.71.%"))
                .order_by(Kelurahan.code)
                .limit(1)
            )
        ).one()
    return float(lat), float(lon)


def item(report_id: str, expected: str = "WAITING") -> dict[str, str]:
    return {"reportId": report_id, "expectedStatus": expected}


def summary(payload: dict[str, Any]) -> list[tuple[str, str | None, list[str]]]:
    """Each result as (report id, its status or None, its error codes)."""
    return [
        (r["reportId"], r["report"]["status"] if r["report"] else None, [e["code"] for e in r["errors"]])
        for r in payload["results"]
    ]


async def test_a_bulk_move_does_what_it_may_and_says_why_for_the_rest(
    api: Api, citizen: Citizen, resources: Resources, elsewhere: tuple[float, float]
) -> None:
    # given two waiting reports, one a colleague moved on, one outside the jurisdiction, and two that do not exist
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    first, second, moved = [(await api.create_report(citizen))["report"]["id"] for _ in range(3)]
    outside = (await api.create_report(citizen, lat=elsewhere[0], lon=elsewhere[1]))["report"]["id"]
    missing = str(uuid.uuid4())
    assert (await change(api, lurah, moved, "COORDINATION"))["errors"] == []

    # when the lurah moves them all to IN_PROGRESS
    payload = await call(
        api,
        BULK_STATUS,
        lurah,
        input={
            "reports": [item(first), item(moved), item(outside), item(missing), item("nope"), item(second)],
            "to": "IN_PROGRESS",
            "publicNote": "Petugas menuju lokasi",
        },
    )

    # then
    assert payload["errors"] == []
    assert summary(payload) == [
        (first, "IN_PROGRESS", []),
        (moved, "COORDINATION", ["STALE"]),
        (outside, None, ["FORBIDDEN"]),
        (missing, None, ["NOT_FOUND"]),
        ("nope", None, ["NOT_FOUND"]),
        (second, "IN_PROGRESS", []),
    ]
    assert payload["results"][1]["errors"][0]["message"] == (
        "The report is now COORDINATION (Koordinasi), not WAITING: look at it again before acting."
    )
    assert [await history_count(resources, r) for r in (first, moved, outside, second)] == [2, 2, 1, 2]
    for report_id, kinds in [
        (first, ["STATUS_CHANGED"]),
        (second, ["STATUS_CHANGED"]),
        (moved, ["STATUS_CHANGED"]),  # the colleague's move only
        (outside, []),
    ]:
        assert await notified(resources, citizen.user_id, report_id) == kinds


async def test_a_replayed_bulk_call_is_done_once_and_answered_the_same(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    done, closed = [(await api.create_report(citizen))["report"]["id"] for _ in range(2)]
    assert (await change(api, lurah, closed, "REJECTED", reason="Bukan masalah publik"))["errors"] == []
    sent = {
        "reports": [item(done), item(closed, "REJECTED")],
        "to": "COORDINATION",
        "clientRequestId": str(uuid.uuid4()),
    }

    first = await call(api, BULK_STATUS, lurah, input=sent)
    again = await call(api, BULK_STATUS, lurah, input=sent)
    conflict = await call(api, BULK_STATUS, lurah, input={**sent, "to": "IN_PROGRESS"})

    assert summary(first) == [(done, "COORDINATION", []), (closed, None, ["INVALID_TRANSITION"])]
    assert again == first
    assert [e["code"] for e in conflict["errors"]] == ["CONFLICT"]
    assert conflict["results"] == []
    assert await history_count(resources, done) == 2
    assert await history_count(resources, closed) == 2
    assert await notified(resources, citizen.user_id, done) == ["STATUS_CHANGED"]
    assert await keys_of(resources, lurah.user_id) == [(sent["clientRequestId"], "bulkChangeReportStatus")]


async def test_a_bulk_call_that_did_nothing_records_nothing(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    sent = {"reports": [item(report_id, "COORDINATION")], "to": "IN_PROGRESS", "clientRequestId": "bulk-1"}

    stale = await call(api, BULK_STATUS, lurah, input=sent)
    assert summary(stale) == [(report_id, "WAITING", ["STALE"])]
    assert await keys_of(resources, lurah.user_id) == []

    assert (await change(api, lurah, report_id, "COORDINATION"))["errors"] == []
    retried = await call(api, BULK_STATUS, lurah, input=sent)
    assert summary(retried) == [(report_id, "IN_PROGRESS", [])]
    assert await history_count(resources, report_id) == 3


async def test_bulk_rejection_and_duplicates_follow_the_single_rules(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    original, copy_1, copy_2, working = [(await api.create_report(citizen))["report"]["id"] for _ in range(4)]
    assert (await change(api, lurah, working, "IN_PROGRESS"))["errors"] == []

    no_reason = await call(api, BULK_STATUS, lurah, input={"reports": [item(copy_1)], "to": "REJECTED"})
    # completing needs each report's own after-photos: changeReportStatus
    completed = await call(
        api, BULK_STATUS, lurah, input={"reports": [item(working, "IN_PROGRESS")], "to": "COMPLETED"}
    )
    duplicates = await call(
        api,
        BULK_STATUS,
        lurah,
        input={"reports": [item(copy_1), item(copy_2), item(original)], "to": "DUPLICATE", "duplicateOf": original},
    )

    assert summary(no_reason) == [(copy_1, None, ["REASON_REQUIRED"])]
    assert summary(completed) == [(working, None, ["AFTER_PHOTO_REQUIRED"])]
    assert summary(duplicates) == [
        (copy_1, "DUPLICATE", []),
        (copy_2, "DUPLICATE", []),
        (original, None, ["INVALID_DUPLICATE"]),
    ]
    assert [await history_count(resources, r) for r in (original, copy_1, copy_2, working)] == [1, 2, 2, 2]


async def test_bulk_assignment(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    colleague = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    first, second, closed = [(await api.create_report(citizen))["report"]["id"] for _ in range(3)]
    assert (await change(api, lurah, closed, "REJECTED", reason="Bukan masalah publik"))["errors"] == []

    given = await call(
        api,
        BULK_ASSIGN,
        lurah,
        input={
            "reports": [item(first), item(second), item(closed, "REJECTED")],
            "assignee": colleague.user_id,
            "clientRequestId": str(uuid.uuid4()),
        },
    )
    released = await call(api, BULK_ASSIGN, lurah, input={"reports": [item(first)], "assignee": None})

    assert summary(given) == [(first, "WAITING", []), (second, "WAITING", []), (closed, None, ["INVALID_TRANSITION"])]
    assert [r["report"]["assignee"] for r in given["results"][:2]] == [{"displayName": f"Petugas {TOMANG_OFFICE}"}] * 2
    assert released["results"][0]["report"]["assignee"] is None
    assert [await history_count(resources, r) for r in (first, second, closed)] == [3, 2, 2]
    assert await notified(resources, colleague.user_id, first) == ["NEW_REPORT", "ASSIGNED"]
    assert await notified(resources, colleague.user_id, second) == ["NEW_REPORT", "ASSIGNED"]


async def test_two_bulk_calls_at_once_over_the_same_reports_in_other_orders_both_finish(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    camat = await staff_member(api, resources, Role.OFFICER, "kec-31.73.02")
    first, second = sorted([(await api.create_report(citizen))["report"]["id"] for _ in range(2)])

    # each locks the reports it acts on until it commits: taken in the given order, the second call would hold
    # `second` while waiting for `first`, and the first hold `first` while waiting for `second`
    answers = await race(
        api,
        resources,
        first,
        (lurah, {"reports": [item(first), item(second)], "assignee": lurah.user_id}),
        (camat, {"reports": [item(second), item(first)], "assignee": lurah.user_id}),
        document=BULK_ASSIGN,
    )

    assert [summary(a) for a in answers] == [
        [(first, "WAITING", []), (second, "WAITING", [])],
        [(second, "WAITING", []), (first, "WAITING", [])],
    ]
    assert [await history_count(resources, r) for r in (first, second)] == [2, 2]


@pytest.mark.parametrize(
    ("reports", "reason"),
    [
        ([], "NO_REPORTS"),
        ([item(str(uuid.uuid4())) for _ in range(101)], "TOO_MANY_REPORTS"),
        ([item("00000000-0000-4000-8000-000000000001")] * 2, "REPEATED_REPORT"),
    ],
)
async def test_a_bulk_call_takes_1_to_100_reports_each_once(
    api: Api, resources: Resources, reports: list[dict[str, str]], reason: str
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)

    body = await api.gql(BULK_STATUS, {"input": {"reports": reports, "to": "IN_PROGRESS"}}, token=lurah.token)

    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["reason"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", reason)
    ]


async def test_a_hundred_reports_are_taken(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    reports = [item(report_id)] + [item(str(uuid.uuid4())) for _ in range(99)]

    payload = await call(api, BULK_ASSIGN, lurah, input={"reports": reports, "assignee": lurah.user_id})

    assert [codes for _, _, codes in summary(payload)] == [[]] + [["NOT_FOUND"]] * 99
    assert await history_count(resources, report_id) == 2


async def test_bulk_actions_are_for_officers(api: Api, citizen: Citizen, resources: Resources) -> None:
    report_id = (await api.create_report(citizen))["report"]["id"]

    body = await api.gql(
        BULK_STATUS, {"input": {"reports": [item(report_id)], "to": "IN_PROGRESS"}}, token=citizen.token
    )

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await history_count(resources, report_id) == 1
