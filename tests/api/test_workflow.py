"""The officers' workflow through GraphQL: jurisdiction, the status machine, disposition, assignment, queue."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from domain import accounts
from domain.models import Device, Notification, Report, ReportStatusChange, Role, Unit, User
from domain.resources import Resources
from tests.factories import LOG_IN, REFRESH, Api, Citizen, jpeg_with_gps

TOMANG_OFFICE = "kel-31.73.02.1003"
GROGOL_OFFICE = "kel-31.73.02.1001"  # another kelurahan of the same kecamatan (Grogol Petamburan)
OTHER_KECAMATAN_OFFICE = "kel-31.73.04.1001"
GROGOL_PETAMBURAN_CAMAT = "kec-31.73.02"
JAKBAR_WALIKOTA = "kota-31.73"
SUDIN_SDA_JAKBAR = "sudin-sda-31.73"
SUDIN_SDA_JAKSEL = "sudin-sda-31.74"

REPORT_FIELDS = """
  id status dueAt overdue responseDueAt completionDueAt firstResponseAt closedAt escalationLevel duplicateOf
  kelurahan { code } unit { code }
  assignee { displayName }
  photos { id } afterPhotos { id status }
  history {
    kind at fromStatus toStatus publicNote internalNote fromUnit { code } toUnit { code } actor { displayName }
  }
"""

CHANGE_STATUS = f"""
mutation Change($input: ChangeReportStatusInput!) {{
  changeReportStatus(input: $input) {{ report {{ {REPORT_FIELDS} }} errors {{ code message field }} }}
}}
"""

DISPOSE = f"""
mutation Dispose($input: DisposeReportInput!) {{
  disposeReport(input: $input) {{ report {{ {REPORT_FIELDS} }} errors {{ code message field }} }}
}}
"""

ASSIGN = f"""
mutation Assign($input: AssignReportInput!) {{
  assignReport(input: $input) {{ report {{ {REPORT_FIELDS} }} errors {{ code message field }} }}
}}
"""

REOPEN = f"""
mutation Reopen($id: ID!, $reason: String!) {{
  reopenReport(reportId: $id, reason: $reason) {{ report {{ {REPORT_FIELDS} }} errors {{ code message field }} }}
}}
"""

WORK_QUEUE = """
query Queue($filter: WorkQueueFilter, $first: Int!, $after: String) {
  workQueue(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id dueAt status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def staff_member(api: Api, resources: Resources, role: Role, unit_code: str | None = None) -> Citizen:
    email = f"{role.value.lower()}-{uuid.uuid4().hex[:10]}@jakarta.go.id"
    password = "correct horse battery"
    async with resources.unit_of_work() as session:
        unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit_code)) if unit_code else None
        assert unit_code is None or unit_id is not None, unit_code
        user = await accounts.sign_up(
            session,
            email=email,
            phone=None,
            password=password,
            display_name=f"Petugas {unit_code}",
            role=role,
            unit_id=unit_id,
        )
    body = await api.gql(LOG_IN, {"login": email, "password": password})
    session_data = body["data"]["logIn"]["session"]
    return Citizen(session_data["accessToken"], session_data["refreshToken"], str(user.id), email, password)


@pytest.fixture
async def officer(api: Api, resources: Resources):  # type: ignore[no-untyped-def]
    async def make(unit_code: str | None, role: Role = Role.OFFICER) -> Citizen:
        return await staff_member(api, resources, role, unit_code)

    return make


async def act(api: Api, document: str, who: Citizen, **variables: Any) -> dict[str, Any]:
    body = await api.gql(document, variables, token=who.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def change(api: Api, who: Citizen, report_id: str, to: str, **extra: Any) -> dict[str, Any]:
    return await act(api, CHANGE_STATUS, who, input={"reportId": report_id, "to": to, **extra})


async def history_count(resources: Resources, report_id: str) -> int:
    async with resources.unit_of_work() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(ReportStatusChange)
            .where(ReportStatusChange.report_id == uuid.UUID(report_id))
        )
    return int(found or 0)


async def queue_ids(api: Api, who: Citizen, flt: dict[str, Any] | None = None) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        body = await api.gql(WORK_QUEUE, {"filter": flt, "first": 100, "after": after}, token=who.token)
        assert "errors" not in body, body
        page = body["data"]["workQueue"]
        ids += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def notifications_for(resources: Resources, user_id: str, report_id: str) -> list[str]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == uuid.UUID(user_id), Notification.report_id == uuid.UUID(report_id))
            .order_by(Notification.id)
        )
    return list(rows)


async def test_a_new_report_has_deadlines_and_reaches_the_lurah(
    api: Api, citizen: Citizen, officer, resources: Resources
) -> None:  # type: ignore[no-untyped-def]
    lurah = await officer(TOMANG_OFFICE)

    report = (await api.create_report(citizen, category="garbage"))["report"]

    async with resources.unit_of_work() as session:
        row = await session.get(Report, uuid.UUID(report["id"]))
    assert row is not None
    assert row.due_at is not None
    assert row.response_due_at is not None
    assert row.due_at == row.response_due_at < row.completion_due_at  # type: ignore[operator]
    assert row.response_due_at > row.created_at
    assert await notifications_for(resources, lurah.user_id, report["id"]) == ["NEW_REPORT"]
    assert report["id"] in await queue_ids(api, lurah)


async def test_the_whole_life_of_a_report(api: Api, citizen: Citizen, officer, resources: Resources) -> None:  # type: ignore[no-untyped-def]
    lurah = await officer(TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]

    coordination = await change(api, lurah, report_id, "COORDINATION", publicNote="Kami cek", internalNote="RT 05")
    in_progress = await change(api, lurah, report_id, "IN_PROGRESS")
    after_key = await api.upload_photo(lurah, jpeg_with_gps())
    completed = await change(api, lurah, report_id, "COMPLETED", afterPhotoKeys=[after_key], publicNote="Sudah bersih")

    assert coordination["errors"] == []
    assert in_progress["errors"] == []
    assert completed["errors"] == []
    done = completed["report"]
    assert done["status"] == "COMPLETED"
    assert done["dueAt"] is None
    # The first answer was the move to COORDINATION, the close the move to COMPLETED.
    assert done["firstResponseAt"] == done["history"][1]["at"]
    assert done["closedAt"] == done["history"][3]["at"]
    assert [p["status"] for p in done["afterPhotos"]] == ["ATTACHED"]
    assert [(h["fromStatus"], h["toStatus"]) for h in done["history"]] == [
        (None, "WAITING"),
        ("WAITING", "COORDINATION"),
        ("COORDINATION", "IN_PROGRESS"),
        ("IN_PROGRESS", "COMPLETED"),
    ]
    assert done["history"][1]["internalNote"] == "RT 05"
    assert done["history"][1]["actor"]["displayName"] == f"Petugas {TOMANG_OFFICE}"
    assert await notifications_for(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"] * 3

    reopened = await act(api, REOPEN, citizen, id=report_id, reason="Sampah datang lagi")

    assert reopened["errors"] == []
    assert reopened["report"]["status"] == "REOPENED"
    assert reopened["report"]["dueAt"] is not None
    assert reopened["report"]["closedAt"] is None
    # The reporter sees the public notes, never the internal ones or who acted.
    assert [h["internalNote"] for h in reopened["report"]["history"]] == [None] * 5
    assert {h["actor"] is None for h in reopened["report"]["history"]} == {True}
    assert (await notifications_for(resources, lurah.user_id, report_id))[-1] == "REOPENED"


@pytest.mark.parametrize(
    ("path", "to", "extra", "code"),
    [
        ([], "COMPLETED", {}, "INVALID_TRANSITION"),
        ([], "DISPOSITION", {}, "INVALID_TRANSITION"),
        ([], "REOPENED", {}, "INVALID_TRANSITION"),
        ([], "REJECTED", {}, "REASON_REQUIRED"),
        ([], "DUPLICATE", {}, "DUPLICATE_OF_REQUIRED"),
        ([], "DUPLICATE", {"duplicateOf": str(uuid.uuid4())}, "INVALID_DUPLICATE"),
        (["IN_PROGRESS"], "COMPLETED", {}, "AFTER_PHOTO_REQUIRED"),
        (["IN_PROGRESS"], "REJECTED", {"reason": "x"}, "INVALID_TRANSITION"),
        ([], "COORDINATION", {"publicNote": "x" * 2001}, "NOTE_TOO_LONG"),
    ],
)
async def test_invalid_moves_are_typed_errors_and_change_nothing(  # type: ignore[no-untyped-def]
    api: Api,
    citizen: Citizen,
    officer,
    resources: Resources,
    path: list[str],
    to: str,
    extra: dict[str, Any],
    code: str,
) -> None:
    lurah = await officer(TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    for step in path:
        assert (await change(api, lurah, report_id, step))["errors"] == []
    before = await history_count(resources, report_id)

    payload = await change(api, lurah, report_id, to, **extra)

    assert [e["code"] for e in payload["errors"]] == [code]
    assert payload["report"] is None
    assert await history_count(resources, report_id) == before


async def test_rejection_and_duplicate_close_the_report(api: Api, citizen: Citizen, officer) -> None:  # type: ignore[no-untyped-def]
    lurah = await officer(TOMANG_OFFICE)
    original = (await api.create_report(citizen))["report"]["id"]
    copy = (await api.create_report(citizen))["report"]["id"]
    wrong = (await api.create_report(citizen))["report"]["id"]

    duplicate = await change(api, lurah, copy, "DUPLICATE", duplicateOf=original)
    rejected = await change(api, lurah, wrong, "REJECTED", reason="Bukan wilayah publik")

    assert duplicate["report"]["status"] == "DUPLICATE"
    assert duplicate["report"]["duplicateOf"] == original
    assert rejected["report"]["status"] == "REJECTED"
    assert rejected["report"]["history"][-1]["publicNote"] == "Bukan wilayah publik"
    assert rejected["report"]["dueAt"] is None


async def test_every_action_outside_the_jurisdiction_is_forbidden(  # type: ignore[no-untyped-def]
    api: Api, citizen: Citizen, officer, resources: Resources
) -> None:
    report_id = (await api.create_report(citizen))["report"]["id"]
    tomang = await officer(TOMANG_OFFICE)
    # Auditors are refused every one of these before it runs (tests/api/test_performance.py).
    outsiders = [
        await officer(OTHER_KECAMATAN_OFFICE),
        await officer(SUDIN_SDA_JAKBAR),
        await api.sign_up(),
    ]
    key = await api.upload_photo(outsiders[0], jpeg_with_gps())
    before = await history_count(resources, report_id)

    for outsider in outsiders:
        results = [
            await change(api, outsider, report_id, "COORDINATION"),
            await change(api, outsider, report_id, "REJECTED", reason="x"),
            await change(api, outsider, report_id, "DUPLICATE", duplicateOf=str(uuid.uuid4())),
            await act(api, DISPOSE, outsider, input={"reportId": report_id, "toUnit": GROGOL_OFFICE}),
            await act(api, ASSIGN, outsider, input={"reportId": report_id, "assignee": tomang.user_id}),
            await act(api, ASSIGN, outsider, input={"reportId": report_id, "assignee": None}),
        ]
        assert [[e["code"] for e in r["errors"]] for r in results] == [["FORBIDDEN"]] * len(results), outsider.email
    assert (await change(api, tomang, report_id, "IN_PROGRESS"))["errors"] == []
    not_theirs = await change(api, outsiders[0], report_id, "COMPLETED", afterPhotoKeys=[key])
    someone_else = await act(api, REOPEN, outsiders[2], id=report_id, reason="x")
    assert [e["code"] for e in not_theirs["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in someone_else["errors"]] == ["FORBIDDEN"]
    assert await history_count(resources, report_id) == before + 1
    for outsider in outsiders[:2]:
        assert report_id not in await queue_ids(api, outsider)


async def test_a_camats_queue_merges_the_area_and_what_the_office_holds_elsewhere_in_deadline_order(
    api: Api, citizen: Citizen, officer, resources: Resources
) -> None:  # type: ignore[no-untyped-def]
    # given reports of the kecamatan, one its office holds inside it, one it holds in another kecamatan, with
    # deadlines before anyone else's, and one waiting for verification (no deadline)
    camat = await officer(GROGOL_PETAMBURAN_CAMAT)
    made = [(await api.create_report(citizen))["report"]["id"] for _ in range(5)]
    area_first, held_elsewhere, held_inside, area_last, verifying = made
    async with resources.unit_of_work() as session:
        office = await session.scalar(select(Unit).where(Unit.code == GROGOL_PETAMBURAN_CAMAT))
        elsewhere = await session.scalar(select(Unit).where(Unit.code == OTHER_KECAMATAN_OFFICE))
        assert office is not None
        assert elsewhere is not None
        for day, report_id in enumerate((area_first, held_elsewhere, held_inside, area_last), start=1):
            row = await session.get(Report, uuid.UUID(report_id))
            assert row is not None
            row.due_at = datetime(2020, 1, day, tzinfo=UTC)
            if report_id in (held_elsewhere, held_inside):
                row.unit_id = office.id
            if report_id == held_elsewhere:
                row.kelurahan_id, row.kecamatan_id = elsewhere.kelurahan_id, elsewhere.kecamatan_id
        row = await session.get(Report, uuid.UUID(verifying))
        assert row is not None
        row.status, row.due_at = "VERIFYING", None

    # when the camat pages through the queue one report at a time
    seen: list[str] = []
    after = None
    for _ in range(4):
        body = await api.gql(WORK_QUEUE, {"first": 1, "after": after}, token=camat.token)
        assert "errors" not in body, body
        seen += [e["node"]["id"] for e in body["data"]["workQueue"]["edges"]]
        after = body["data"]["workQueue"]["pageInfo"]["endCursor"]
    everything = await queue_ids(api, camat)

    # then both parts come in one deadline order, each report once, the one without a deadline after every other
    assert seen == [area_first, held_elsewhere, held_inside, area_last]
    assert len(everything) == len(set(everything))
    # (other tests may leave reports waiting for verification in this kecamatan: those come last too)
    waiting = everything[everything.index(verifying) :]
    async with resources.unit_of_work() as session:
        dues = (
            await session.scalars(select(Report.due_at).where(Report.id.in_([uuid.UUID(i) for i in waiting])))
        ).all()
    assert everything.index(verifying) > everything.index(area_last)
    assert dues == [None] * len(waiting)
    assert verifying in await queue_ids(api, camat, {"overdue": False})
    assert verifying not in await queue_ids(api, camat, {"overdue": True})
    assert held_elsewhere in await queue_ids(api, camat, {"overdue": True})
    # (closed again, so that no other test's queue holds a report without a deadline)
    async with resources.unit_of_work() as session:
        row = await session.get(Report, uuid.UUID(verifying))
        assert row is not None
        row.status = "REJECTED"


async def test_the_camat_and_the_walikota_office_act_on_their_area(api: Api, citizen: Citizen, officer) -> None:  # type: ignore[no-untyped-def]
    camat = await officer(GROGOL_PETAMBURAN_CAMAT)
    walikota = await officer(JAKBAR_WALIKOTA)
    report_id = (await api.create_report(citizen))["report"]["id"]

    assert report_id in await queue_ids(api, camat)
    assert report_id in await queue_ids(api, walikota)
    assert (await change(api, camat, report_id, "COORDINATION"))["errors"] == []
    assert (await change(api, walikota, report_id, "IN_PROGRESS"))["errors"] == []


async def test_disposition_to_another_kelurahan_moves_the_report_there(  # type: ignore[no-untyped-def]
    api: Api, citizen: Citizen, officer
) -> None:
    tomang, grogol, camat = (
        await officer(TOMANG_OFFICE),
        await officer(GROGOL_OFFICE),
        await officer(GROGOL_PETAMBURAN_CAMAT),
    )
    report_id = (await api.create_report(citizen))["report"]["id"]

    moved = await act(
        api, DISPOSE, tomang, input={"reportId": report_id, "toUnit": GROGOL_OFFICE, "internalNote": "GPS salah"}
    )

    report = moved["report"]
    assert moved["errors"] == []
    assert (report["status"], report["unit"]["code"], report["kelurahan"]["code"]) == (
        "DISPOSITION",
        GROGOL_OFFICE,
        "31.73.02.1001",
    )
    last = report["history"][-1]
    assert (last["fromUnit"]["code"], last["toUnit"]["code"], last["internalNote"]) == (
        TOMANG_OFFICE,
        GROGOL_OFFICE,
        "GPS salah",
    )
    assert report_id not in await queue_ids(api, tomang)
    assert report_id in await queue_ids(api, grogol)
    assert report_id in await queue_ids(api, camat)
    assert (await change(api, tomang, report_id, "IN_PROGRESS"))["errors"][0]["code"] == "FORBIDDEN"
    assert (await change(api, grogol, report_id, "IN_PROGRESS"))["errors"] == []


@pytest.mark.parametrize("target", [SUDIN_SDA_JAKBAR, "pln", "pam-jaya"])
async def test_disposition_to_an_agency_or_an_outside_body(  # type: ignore[no-untyped-def]
    api: Api, citizen: Citizen, officer, resources: Resources, target: str
) -> None:
    lurah, agency, other_kota_agency = (
        await officer(TOMANG_OFFICE),
        await officer(target),
        await officer(SUDIN_SDA_JAKSEL),
    )
    report_id = (await api.create_report(citizen, category="flood"))["report"]["id"]

    moved = await act(api, DISPOSE, lurah, input={"reportId": report_id, "toUnit": target, "publicNote": "Diteruskan"})

    assert moved["errors"] == []
    assert moved["report"]["unit"]["code"] == target
    assert moved["report"]["kelurahan"]["code"] == "31.73.02.1003"  # the place does not change
    assert report_id in await queue_ids(api, agency)
    assert report_id not in await queue_ids(api, other_kota_agency)
    assert await notifications_for(resources, agency.user_id, report_id) == ["DISPOSED"]
    assert (await change(api, agency, report_id, "IN_PROGRESS"))["errors"] == []
    assert (await change(api, other_kota_agency, report_id, "COORDINATION"))["errors"][0]["code"] == "FORBIDDEN"


async def test_disposition_errors(api: Api, citizen: Citizen, officer) -> None:  # type: ignore[no-untyped-def]
    lurah = await officer(TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]

    unknown = await act(api, DISPOSE, lurah, input={"reportId": report_id, "toUnit": "no-such-unit"})
    same = await act(api, DISPOSE, lurah, input={"reportId": report_id, "toUnit": TOMANG_OFFICE})
    missing = await act(api, DISPOSE, lurah, input={"reportId": str(uuid.uuid4()), "toUnit": GROGOL_OFFICE})

    assert [e["code"] for e in unknown["errors"]] == ["UNKNOWN_UNIT"]
    assert [e["code"] for e in same["errors"]] == ["SAME_UNIT"]
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]


async def test_assignment_to_an_officer_of_the_unit(api: Api, citizen: Citizen, officer, resources: Resources) -> None:  # type: ignore[no-untyped-def]
    lurah, colleague, stranger = (
        await officer(TOMANG_OFFICE),
        await officer(TOMANG_OFFICE),
        await officer(GROGOL_OFFICE),
    )
    report_id = (await api.create_report(citizen))["report"]["id"]

    given = await act(api, ASSIGN, lurah, input={"reportId": report_id, "assignee": colleague.user_id})
    wrong = await act(api, ASSIGN, lurah, input={"reportId": report_id, "assignee": stranger.user_id})

    assert given["errors"] == []
    assert given["report"]["assignee"]["displayName"] == f"Petugas {TOMANG_OFFICE}"
    assert given["report"]["history"][-1]["kind"] == "ASSIGNMENT"
    assert [e["code"] for e in wrong["errors"]] == ["INVALID_ASSIGNEE"]
    assert await notifications_for(resources, colleague.user_id, report_id) == ["NEW_REPORT", "ASSIGNED"]
    mine = await queue_ids(api, colleague, {"assignedToMe": True})
    assert report_id in mine
    assert report_id not in await queue_ids(api, lurah, {"assignedToMe": True})


async def test_the_queue_is_sorted_by_deadline_and_filters(
    api: Api, citizen: Citizen, officer, resources: Resources
) -> None:  # type: ignore[no-untyped-def]
    lurah = await officer(TOMANG_OFFICE)
    slow = (await api.create_report(citizen, category="building-permit"))["report"]["id"]
    fast = (await api.create_report(citizen, category="traffic"))["report"]["id"]
    late = (await api.create_report(citizen, category="garbage"))["report"]["id"]
    async with resources.unit_of_work() as session:
        row = await session.get(Report, uuid.UUID(late))
        assert row is not None
        row.due_at = datetime(2026, 1, 5, 9, tzinfo=UTC)

    everything = await queue_ids(api, lurah)
    body = await api.gql(WORK_QUEUE, {"first": 100}, token=lurah.token)
    dues = [e["node"]["dueAt"] for e in body["data"]["workQueue"]["edges"]]

    assert dues == sorted(dues)
    assert everything.index(late) < everything.index(fast) < everything.index(slow)
    assert late in await queue_ids(api, lurah, {"overdue": True})
    assert fast not in await queue_ids(api, lurah, {"overdue": True})
    assert fast in await queue_ids(api, lurah, {"category": "traffic"})
    assert slow not in await queue_ids(api, lurah, {"category": "traffic"})
    assert fast not in await queue_ids(api, lurah, {"status": ["COMPLETED"]})


async def test_citizens_have_no_work_queue(api: Api, citizen: Citizen) -> None:
    body = await api.gql(WORK_QUEUE, {"first": 10}, token=citizen.token)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


INBOX = """
query Inbox($first: Int!, $after: String) {
  notifications(first: $first, after: $after) {
    edges { cursor node { id kind title body reportId data readAt } }
    pageInfo { hasNextPage endCursor }
    unreadCount
  }
}
"""

REGISTER = """
mutation Register($token: String!, $platform: DevicePlatform!) {
  registerDevice(token: $token, platform: $platform) { registered errors { code field } }
}
"""


async def test_the_inbox_pages_and_marks_read(api: Api, citizen: Citizen, officer) -> None:  # type: ignore[no-untyped-def]
    lurah = await officer(TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    for to in ("COORDINATION", "IN_PROGRESS"):
        await change(api, lurah, report_id, to)

    first = (await api.gql(INBOX, {"first": 1}, token=citizen.token))["data"]["notifications"]
    second = (await api.gql(INBOX, {"first": 1, "after": first["pageInfo"]["endCursor"]}, token=citizen.token))["data"][
        "notifications"
    ]

    newest, older = first["edges"][0]["node"], second["edges"][0]["node"]
    assert first["unreadCount"] == 2
    assert (newest["kind"], newest["reportId"], newest["data"]["status"]) == (
        "STATUS_CHANGED",
        report_id,
        "IN_PROGRESS",
    )
    assert older["data"]["status"] == "COORDINATION"
    assert int(newest["id"]) > int(older["id"])
    assert second["pageInfo"]["hasNextPage"] is False

    marked = await api.gql(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }", {"ids": [older["id"]]}, token=citizen.token
    )
    others = await api.gql(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }", {"ids": [older["id"]]}, token=lurah.token
    )
    after = (await api.gql(INBOX, {"first": 5}, token=citizen.token))["data"]["notifications"]
    assert marked["data"]["markNotificationsRead"] == 1
    assert others["data"]["markNotificationsRead"] == 0  # not theirs
    assert after["unreadCount"] == 1
    everything = await api.gql("mutation { markNotificationsRead }", token=citizen.token)
    assert everything["data"]["markNotificationsRead"] == 1


# Past PostgreSQL's bigint: sent as a parameter, the driver refused it and the client saw a server error.
BEYOND_BIGINT = str(2**63)


@pytest.mark.parametrize("wrong", [BEYOND_BIGINT, "0", "-1", "x"])
async def test_ids_no_notification_can_have_are_bad_input(api: Api, citizen: Citizen, wrong: str) -> None:
    marked = await api.gql(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }", {"ids": [wrong]}, token=citizen.token
    )
    cursor = base64.urlsafe_b64encode(f"n|{wrong}".encode()).decode()
    paged = await api.gql(INBOX, {"first": 1, "after": cursor}, token=citizen.token)

    assert [e["extensions"]["code"] for e in marked["errors"]] == ["BAD_USER_INPUT"]
    assert [e["extensions"]["code"] for e in paged["errors"]] == ["BAD_USER_INPUT"]


async def test_devices_register_move_between_accounts_and_unregister(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    other = await api.sign_up()
    token = f"fcm-token-{uuid.uuid4().hex}"

    mine = await api.gql(REGISTER, {"token": token, "platform": "ANDROID"}, token=citizen.token)
    again = await api.gql(REGISTER, {"token": token, "platform": "ANDROID"}, token=citizen.token)
    moved = await api.gql(REGISTER, {"token": token, "platform": "ANDROID"}, token=other.token)
    bad = await api.gql(REGISTER, {"token": "has space", "platform": "IOS"}, token=citizen.token)
    # Found by tests/e2e/test_graphql_fuzz.py: PostgreSQL refused the text and the client saw a server error.
    nul = await api.gql(REGISTER, {"token": "fcm\x00token", "platform": "WEB"}, token=citizen.token)
    gone_for_me = await api.gql(
        "mutation($t: String!) { unregisterDevice(token: $t) }", {"t": token}, token=citizen.token
    )

    assert mine["data"]["registerDevice"] == again["data"]["registerDevice"] == {"registered": True, "errors": []}
    assert moved["data"]["registerDevice"]["registered"] is True
    assert bad["data"]["registerDevice"]["errors"] == [{"code": "INVALID_TOKEN", "field": "token"}]
    assert [e["extensions"]["code"] for e in nul["errors"]] == ["BAD_USER_INPUT"]
    assert gone_for_me["data"]["unregisterDevice"] is False  # it belongs to the other account now
    async with resources.unit_of_work() as session:
        owner = await session.scalar(select(Device.user_id).where(Device.token == token))
    assert str(owner) == other.user_id
    gone = await api.gql("mutation($t: String!) { unregisterDevice(token: $t) }", {"t": token}, token=other.token)
    assert gone["data"]["unregisterDevice"] is True


async def test_followers_hear_about_progress_until_they_stop(  # type: ignore[no-untyped-def]
    api: Api, citizen: Citizen, officer, resources: Resources
) -> None:
    lurah = await officer(TOMANG_OFFICE)
    neighbour = await api.sign_up()
    report_id = (await api.create_report(citizen))["report"]["id"]
    follow = "mutation($id: ID!, $on: Boolean!) { followReport(reportId: $id, follow: $on) { errors { code } } }"

    followed = await api.gql(follow, {"id": report_id, "on": True}, token=neighbour.token)
    await change(api, lurah, report_id, "COORDINATION")
    await api.gql(follow, {"id": report_id, "on": False}, token=neighbour.token)
    await change(api, lurah, report_id, "IN_PROGRESS")
    missing = await api.gql(follow, {"id": str(uuid.uuid4()), "on": True}, token=neighbour.token)

    assert followed["data"]["followReport"]["errors"] == []
    assert await notifications_for(resources, neighbour.user_id, report_id) == ["STATUS_CHANGED"]
    assert await notifications_for(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"] * 2
    assert [e["code"] for e in missing["data"]["followReport"]["errors"]] == ["NOT_FOUND"]


async def test_a_report_says_whether_you_filed_it_and_whether_you_follow_it(api: Api, citizen: Citizen) -> None:
    neighbour = await api.sign_up()
    report_id = (await api.create_report(citizen))["report"]["id"]
    ask = "query($id: ID!) { report(id: $id) { filedByMe followedByMe } }"
    follow = "mutation($id: ID!, $on: Boolean!) { followReport(reportId: $id, follow: $on) { errors { code } } }"

    before = await api.gql(ask, {"id": report_id}, token=neighbour.token)
    followed = await api.gql(follow, {"id": report_id, "on": True}, token=neighbour.token)
    following = await api.gql(ask, {"id": report_id}, token=neighbour.token)
    await api.gql(follow, {"id": report_id, "on": False}, token=neighbour.token)
    stopped = await api.gql(ask, {"id": report_id}, token=neighbour.token)
    reporter = await api.gql(ask, {"id": report_id}, token=citizen.token)
    public = await api.gql(ask, {"id": report_id})

    assert followed["data"]["followReport"]["errors"] == []
    assert before["data"]["report"] == {"filedByMe": False, "followedByMe": False}
    assert following["data"]["report"] == {"filedByMe": False, "followedByMe": True}
    assert stopped["data"]["report"] == {"filedByMe": False, "followedByMe": False}
    assert reporter["data"]["report"] == {"filedByMe": True, "followedByMe": False}
    assert public["data"]["report"] == {"filedByMe": False, "followedByMe": False}


async def test_an_officer_moved_to_another_unit_loses_the_old_jurisdiction_at_once(  # type: ignore[no-untyped-def]
    api: Api, citizen: Citizen, officer, resources: Resources
) -> None:
    lurah = await officer(TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    async with resources.unit_of_work() as session:
        user = await session.get(User, uuid.UUID(lurah.user_id))
        assert user is not None
        user.unit_id = await session.scalar(select(Unit.id).where(Unit.code == OTHER_KECAMATAN_OFFICE))

    # The access token still names Tomang's office: it is refused (api/access.py), and the refreshed one acts for
    # the new office only.
    stale = await api.gql(CHANGE_STATUS, {"input": {"reportId": report_id, "to": "COORDINATION"}}, token=lurah.token)
    assert [e["extensions"] for e in stale["errors"]] == [{"code": "UNAUTHENTICATED", "reason": "ACCOUNT_CHANGED"}]
    refreshed = await api.gql(REFRESH, {"token": lurah.refresh_token})
    lurah.token = refreshed["data"]["refreshToken"]["session"]["accessToken"]
    moved = await change(api, lurah, report_id, "COORDINATION")

    assert [e["code"] for e in moved["errors"]] == ["FORBIDDEN"]
    assert report_id not in await queue_ids(api, lurah)
