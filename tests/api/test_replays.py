"""Actions a phone may send twice: clientRequestId (done once, the replay gets the same outcome) and expectedStatus
(an action on a report that moved on since the officer looked is refused as STALE)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select, text

from domain.models import (
    AbuseFlag,
    HistoryKind,
    IdempotencyKey,
    Notification,
    ReportComment,
    ReportFollower,
    ReportStatusChange,
    ReportSupport,
    Role,
)
from domain.resources import Resources
from tests.api.test_performance import complete
from tests.api.test_workflow import GROGOL_OFFICE, OTHER_KECAMATAN_OFFICE, TOMANG_OFFICE, history_count, staff_member
from tests.factories import Api, Citizen

FIELDS = "report { id status updatedAt unit { code } assignee { displayName } } errors { code message field }"
CHANGE = f"mutation C($input: ChangeReportStatusInput!) {{ changeReportStatus(input: $input) {{ {FIELDS} }} }}"
DISPOSE = f"mutation D($input: DisposeReportInput!) {{ disposeReport(input: $input) {{ {FIELDS} }} }}"
ASSIGN = f"mutation A($input: AssignReportInput!) {{ assignReport(input: $input) {{ {FIELDS} }} }}"
REOPEN = f"""
mutation R($id: ID!, $reason: String!, $key: String) {{
  reopenReport(reportId: $id, reason: $reason, clientRequestId: $key) {{ {FIELDS} }}
}}
"""
RATE = f"""
mutation R($id: ID!, $rating: Int!, $key: String) {{
  rateReport(reportId: $id, rating: $rating, clientRequestId: $key) {{ {FIELDS} }}
}}
"""
SUPPORT = f"""
mutation S($id: ID!, $on: Boolean!, $key: String) {{
  supportReport(reportId: $id, support: $on, clientRequestId: $key) {{ {FIELDS} }}
}}
"""
FOLLOW = f"""
mutation F($id: ID!, $on: Boolean!, $key: String) {{
  followReport(reportId: $id, follow: $on, clientRequestId: $key) {{ {FIELDS} }}
}}
"""
COMMENT = """
mutation C($id: ID!, $body: String!, $key: String) {
  addComment(reportId: $id, body: $body, clientRequestId: $key) { comment { id body } errors { code field } }
}
"""
FLAG = """
mutation F($id: ID!, $reason: String!, $key: String) {
  flagReport(reportId: $id, reason: $reason, clientRequestId: $key) { flagged errors { code field } }
}
"""
HIDE = f"""
mutation H($id: ID!, $reason: String!, $key: String) {{
  hideReport(reportId: $id, reason: $reason, clientRequestId: $key) {{ {FIELDS} }}
}}
"""


async def call(api: Api, document: str, who: Citizen, **variables: Any) -> dict[str, Any]:
    body = await api.gql(document, variables, token=who.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def change(api: Api, who: Citizen, report_id: str, to: str, **extra: Any) -> dict[str, Any]:
    return await call(api, CHANGE, who, input={"reportId": report_id, "to": to, **extra})


async def count(resources: Resources, model: type, **where: object) -> int:
    async with resources.unit_of_work() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        found = await session.scalar(query)
    return int(found or 0)


async def notified(resources: Resources, user_id: str, report_id: str) -> list[str]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == uuid.UUID(user_id), Notification.report_id == uuid.UUID(report_id))
            .order_by(Notification.id)
        )
    return list(rows)


async def keys_of(resources: Resources, user_id: str) -> list[tuple[str, str]]:
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            select(IdempotencyKey.client_request_id, IdempotencyKey.operation)
            .where(IdempotencyKey.user_id == uuid.UUID(user_id))
            .order_by(IdempotencyKey.client_request_id)
        )
    return [(key, operation) for key, operation in rows]


# --- clientRequestId ----------------------------------------------------------------------------------------


async def test_a_replayed_status_change_is_done_once_and_answered_the_same(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    key = str(uuid.uuid4())

    first = await change(api, lurah, report_id, "COORDINATION", publicNote="Kami cek", clientRequestId=key)
    again = await change(api, lurah, report_id, "COORDINATION", publicNote="Kami cek", clientRequestId=key)

    assert first["errors"] == []
    assert again == first
    assert first["report"]["status"] == "COORDINATION"
    assert await history_count(resources, report_id) == 2  # filed, then one move
    assert await notified(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"]
    assert await keys_of(resources, lurah.user_id) == [(key, "changeReportStatus")]


async def test_a_replay_after_the_report_moved_on_gets_the_report_as_it_is_now_not_stale(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    key = str(uuid.uuid4())
    sent = {"expectedStatus": "WAITING", "clientRequestId": key}
    assert (await change(api, lurah, report_id, "COORDINATION", **sent))["errors"] == []
    assert (await change(api, lurah, report_id, "IN_PROGRESS"))["errors"] == []

    replay = await change(api, lurah, report_id, "COORDINATION", **sent)

    assert replay["errors"] == []
    assert replay["report"]["status"] == "IN_PROGRESS"
    assert await history_count(resources, report_id) == 3


async def test_the_same_key_with_other_input_or_another_action_is_a_conflict_and_changes_nothing(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    other_id = (await api.create_report(citizen))["report"]["id"]
    key = str(uuid.uuid4())
    assert (await change(api, lurah, report_id, "COORDINATION", clientRequestId=key))["errors"] == []

    other_status = await change(api, lurah, report_id, "IN_PROGRESS", clientRequestId=key)
    other_report = await change(api, lurah, other_id, "COORDINATION", clientRequestId=key)
    other_action = await call(
        api, ASSIGN, lurah, input={"reportId": report_id, "assignee": lurah.user_id, "clientRequestId": key}
    )

    for payload in (other_status, other_report, other_action):
        assert payload["errors"] == [
            {
                "code": "CONFLICT",
                "message": "This clientRequestId was already used for a different request.",
                "field": "clientRequestId",
            }
        ]
        assert payload["report"] is None
    assert await history_count(resources, report_id) == 2
    assert await history_count(resources, other_id) == 1
    assert await keys_of(resources, lurah.user_id) == [(key, "changeReportStatus")]


async def test_keys_are_per_user(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    key = str(uuid.uuid4())

    moved = await change(api, lurah, report_id, "COORDINATION", clientRequestId=key)
    commented = await call(api, COMMENT, citizen, id=report_id, body="Terima kasih", key=key)

    assert moved["errors"] == []
    assert commented["errors"] == []
    assert await keys_of(resources, lurah.user_id) == [(key, "changeReportStatus")]
    assert await keys_of(resources, citizen.user_id) == [(key, "addComment")]


async def test_a_refused_call_records_nothing_so_its_retry_can_succeed(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    camat = await staff_member(api, resources, Role.OFFICER, "kec-31.73.02")
    report_id = (await api.create_report(citizen))["report"]["id"]
    sent = {"expectedStatus": "COORDINATION", "clientRequestId": str(uuid.uuid4())}

    # given the lurah acted on a report he believes in COORDINATION, but it is not there yet
    early = await change(api, lurah, report_id, "IN_PROGRESS", **sent)
    assert codes(early) == ["STALE"]
    assert await keys_of(resources, lurah.user_id) == []

    # when the camat moves it there, and the lurah's phone retries the same action
    assert (await change(api, camat, report_id, "COORDINATION"))["errors"] == []
    retry = await change(api, lurah, report_id, "IN_PROGRESS", **sent)

    # then it is done
    assert retry["errors"] == []
    assert retry["report"]["status"] == "IN_PROGRESS"
    assert await history_count(resources, report_id) == 3


async def test_a_client_request_id_is_1_to_64_characters(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]

    for key in ("", "x" * 65):
        refused = await change(api, lurah, report_id, "COORDINATION", clientRequestId=key)
        comment = await call(api, COMMENT, citizen, id=report_id, body="Halo", key=key)
        assert refused["errors"] == [
            {
                "code": "INVALID_CLIENT_REQUEST_ID",
                "message": "clientRequestId needs 1 to 64 characters.",
                "field": "clientRequestId",
            }
        ]
        assert comment["errors"] == [{"code": "INVALID_CLIENT_REQUEST_ID", "field": "clientRequestId"}]
    assert (await change(api, lurah, report_id, "COORDINATION", clientRequestId="x" * 64))["errors"] == []
    assert await history_count(resources, report_id) == 2
    assert await count(resources, ReportComment, report_id=uuid.UUID(report_id)) == 0


async def test_every_workflow_action_replayed_is_done_once(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    disposed_id = (await api.create_report(citizen))["report"]["id"]
    await complete(api, lurah, report_id)
    sent: list[tuple[str, Citizen, dict[str, Any]]] = [
        (RATE, citizen, {"id": report_id, "rating": 4}),
        (REOPEN, citizen, {"id": report_id, "reason": "Sampah datang lagi"}),
        (ASSIGN, lurah, {"input": {"reportId": report_id, "assignee": lurah.user_id, "expectedStatus": "REOPENED"}}),
        (DISPOSE, lurah, {"input": {"reportId": disposed_id, "toUnit": GROGOL_OFFICE, "expectedStatus": "WAITING"}}),
    ]
    before = {r: await history_count(resources, r) for r in (report_id, disposed_id)}

    for document, who, variables in sent:
        key = str(uuid.uuid4())
        if "input" in variables:
            variables = {"input": {**variables["input"], "clientRequestId": key}}
        else:
            variables = {**variables, "key": key}
        first = await call(api, document, who, **variables)
        again = await call(api, document, who, **variables)
        assert first["errors"] == [], document
        assert again == first, document

    # rated, reopened, assigned: three rows; disposed: one
    assert await history_count(resources, report_id) == before[report_id] + 3
    assert await history_count(resources, disposed_id) == before[disposed_id] + 1
    async with resources.unit_of_work() as session:
        kinds = list(
            await session.scalars(
                select(ReportStatusChange.kind)
                .where(ReportStatusChange.report_id == uuid.UUID(report_id))
                .order_by(ReportStatusChange.id.desc())
                .limit(3)
            )
        )
    assert kinds == [HistoryKind.ASSIGNMENT, HistoryKind.STATUS, HistoryKind.RATING]
    assert await notified(resources, lurah.user_id, report_id) == ["NEW_REPORT", "REOPENED"]


async def test_citizen_actions_replayed_are_done_once(api: Api, citizen: Citizen, resources: Resources) -> None:
    neighbour = await api.sign_up()
    admin = await staff_member(api, resources, Role.ADMIN)
    report_id = (await api.create_report(citizen))["report"]["id"]
    report = uuid.UUID(report_id)
    keys = {name: str(uuid.uuid4()) for name in ("comment", "support", "follow", "flag", "hide")}

    comments = [await call(api, COMMENT, neighbour, id=report_id, body=" Sama di sini ", key=keys["comment"])]
    comments.append(await call(api, COMMENT, neighbour, id=report_id, body="Sama di sini", key=keys["comment"]))
    supports = [await call(api, SUPPORT, neighbour, id=report_id, on=True, key=keys["support"]) for _ in range(2)]
    follows = [await call(api, FOLLOW, neighbour, id=report_id, on=True, key=keys["follow"]) for _ in range(2)]
    flags = [await call(api, FLAG, neighbour, id=report_id, reason="Spam", key=keys["flag"]) for _ in range(2)]
    hides = [await call(api, HIDE, admin, id=report_id, reason="Data pribadi", key=keys["hide"]) for _ in range(2)]

    # the same comment both times (the spaces around it do not make it another request)
    assert comments[0]["errors"] == []
    assert comments[1] == comments[0]
    assert await count(resources, ReportComment, report_id=report) == 1
    assert await notified(resources, citizen.user_id, report_id) == ["COMMENTED"]
    for payloads in (supports, follows, hides):
        assert payloads[0]["errors"] == []
        assert payloads[1] == payloads[0]
    assert await count(resources, ReportSupport, report_id=report) == 1
    assert await count(resources, ReportFollower, report_id=report) == 1
    assert flags == [{"flagged": True, "errors": []}] * 2
    assert await count(resources, AbuseFlag, report_id=report) == 1
    # hiding twice without a key is refused ("already so"); with the same key it is the first answer again
    assert await count(resources, ReportStatusChange, report_id=report, kind=HistoryKind.MODERATION) == 1
    assert sorted(await keys_of(resources, neighbour.user_id)) == sorted(
        [
            (keys["comment"], "addComment"),
            (keys["support"], "supportReport"),
            (keys["follow"], "followReport"),
            (keys["flag"], "flagReport"),
        ]
    )


# --- two identical requests at once --------------------------------------------------------------------------


async def wait_for_waiters(resources: Resources, expected: int) -> None:
    """Waits until ``expected`` connections of this database are blocked on a lock (a signal, not a clock)."""
    for _ in range(2000):
        async with resources.engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND backend_type = 'client backend'"
                )
            )
        if waiting == expected:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never saw {expected} requests waiting on a lock")


async def race(
    api: Api, resources: Resources, report_id: str, *calls: tuple[Citizen, dict[str, Any]], document: str = CHANGE
) -> list[Any]:
    """Sends the calls at once while the report is locked, so that all of them are inside the database (waiting on
    the report's lock, or on the key a first one claimed) before any can finish; then lets them go."""
    async with resources.engine.connect() as holder:
        await holder.execute(text("SELECT id FROM reports WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(report_id)})
        sent = [asyncio.ensure_future(call(api, document, who, input=variables)) for who, variables in calls]
        await wait_for_waiters(resources, len(calls))
        await holder.rollback()
    return list(await asyncio.gather(*sent))


async def test_two_identical_requests_at_once_do_it_once_and_both_get_the_outcome(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    sent = {"reportId": report_id, "to": "COORDINATION", "expectedStatus": "WAITING", "clientRequestId": "same"}

    first, second = await race(api, resources, report_id, (lurah, sent), (lurah, sent))

    assert first["errors"] == []
    assert second == first
    assert first["report"]["status"] == "COORDINATION"
    assert await history_count(resources, report_id) == 2
    assert await notified(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"]


async def test_two_requests_at_once_with_one_key_and_other_input_one_is_done_the_other_a_conflict(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    sent = {"reportId": report_id, "clientRequestId": "same"}

    answers = await race(
        api, resources, report_id, (lurah, {**sent, "to": "COORDINATION"}), (lurah, {**sent, "to": "IN_PROGRESS"})
    )

    assert sorted(codes(a) for a in answers) == [[], ["CONFLICT"]]
    assert await history_count(resources, report_id) == 2


# --- expectedStatus ---------------------------------------------------------------------------------------------


async def test_an_action_on_a_report_that_moved_on_is_stale_and_shows_it_as_it_is_now(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    assert (await change(api, lurah, report_id, "COORDINATION"))["errors"] == []
    before = await history_count(resources, report_id)

    stale = [
        await change(api, lurah, report_id, "IN_PROGRESS", expectedStatus="WAITING"),
        await call(
            api, DISPOSE, lurah, input={"reportId": report_id, "toUnit": GROGOL_OFFICE, "expectedStatus": "WAITING"}
        ),
        await call(
            api, ASSIGN, lurah, input={"reportId": report_id, "assignee": lurah.user_id, "expectedStatus": "WAITING"}
        ),
    ]

    for payload in stale:
        assert payload["errors"] == [
            {
                "code": "STALE",
                "message": "The report is now COORDINATION (Koordinasi), not WAITING: look at it again before acting.",
                "field": "expectedStatus",
            }
        ]
        assert payload["report"]["id"] == report_id
        assert payload["report"]["status"] == "COORDINATION"
        assert payload["report"]["unit"]["code"] == TOMANG_OFFICE
        assert payload["report"]["assignee"] is None
    assert await history_count(resources, report_id) == before
    assert await notified(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"]
    # the status it is in now is what the officer expects next time
    moved = await change(api, lurah, report_id, "IN_PROGRESS", expectedStatus="COORDINATION")
    assert moved["errors"] == []


async def test_an_outsider_with_a_stale_view_is_forbidden_and_sees_nothing(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    outsider = await staff_member(api, resources, Role.OFFICER, OTHER_KECAMATAN_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]

    refused = await change(api, outsider, report_id, "IN_PROGRESS", expectedStatus="COORDINATION")

    assert codes(refused) == ["FORBIDDEN"]
    assert refused["report"] is None
