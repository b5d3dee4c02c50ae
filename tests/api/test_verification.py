"""Supervisor verification of completions through GraphQL: a kelurahan's completion waits for its camat, who
accepts it or sends it back; who may verify; who is told; the work queues; the figures; the setting per category.

Street vendors are a verified category from the catalogue (data/jakarta/categories.csv); garbage, the default of
the other tests, is not.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from domain.models import Notification, ReportCase, ReportStatusChange, Role, Unit, User
from domain.resources import Resources
from tests.api.test_performance import RATE, delta, figures_of
from tests.api.test_workflow import (
    GROGOL_PETAMBURAN_CAMAT,
    JAKBAR_WALIKOTA,
    REOPEN,
    REPORT_FIELDS,
    TOMANG_OFFICE,
    act,
    change,
    history_count,
    notifications_for,
    queue_ids,
    staff_member,
)
from tests.factories import TOMANG, Api, Citizen, jpeg_with_gps

VERIFIED = "street-vendors"
OTHER_CAMAT = "kec-31.73.04"  # Kebon Jeruk, in the same kota
SUDIN_BINA_MARGA_JAKBAR = "sudin-bina-marga-31.73"

VERIFY = f"""
mutation Verify($input: VerifyCompletionInput!) {{
  verifyCompletion(input: $input) {{ report {{ {REPORT_FIELDS} }} errors {{ code message field }} }}
}}
"""
DISPOSE_TO = """
mutation Dispose($input: DisposeReportInput!) {
  disposeReport(input: $input) { report { id unit { code } } errors { code } }
}
"""
SET_VERIFICATION = """
mutation Set($category: String!, $required: Boolean!) {
  setCategoryVerification(category: $category, required: $required) {
    category { code verificationRequired } errors { code field }
  }
}
"""
CATEGORIES = "query { categories { code verificationRequired } }"
FOLLOW = "mutation F($id: ID!) { followReport(reportId: $id) { report { id } errors { code } } }"
IN_BOX = """
query Box($bbox: BBoxInput!, $statuses: [ReportStatus!]) {
  reportsInBbox(bbox: $bbox, filter: {statuses: $statuses}, first: 100) { id status }
}
"""
SPOT = (TOMANG[0] - 0.0011, TOMANG[1] + 0.0009)  # apart from the other tests' reports, inside Tomang


def around(point: tuple[float, float]) -> dict[str, float]:
    return {
        "west": point[1] - 0.0002,
        "south": point[0] - 0.0002,
        "east": point[1] + 0.0002,
        "north": point[0] + 0.0002,
    }


async def officers(api: Api, resources: Resources, unit: str, n: int = 1) -> list[Citizen]:
    return [await staff_member(api, resources, Role.OFFICER, unit) for _ in range(n)]


async def verify(api: Api, who: Citizen, report_id: str, **verdict: Any) -> dict[str, Any]:
    return await act(api, VERIFY, who, input={"reportId": report_id, **verdict})


async def complete(
    api: Api, officer: Citizen, report_id: str, *, in_progress: bool = False, **extra: Any
) -> dict[str, Any]:
    """Work on it (unless it is in progress already), then complete it with a photo of the finished work."""
    if not in_progress:
        assert (await change(api, officer, report_id, "IN_PROGRESS"))["errors"] == []
    key = await api.upload_photo(officer, jpeg_with_gps())
    payload = await change(api, officer, report_id, "COMPLETED", afterPhotoKeys=[key], **extra)
    assert payload["errors"] == [], payload
    return payload["report"]


async def kinds_for_report(resources: Resources, report_id: str, kind: str) -> list[uuid.UUID]:
    """Who got a notification of this kind about the report."""
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.user_id).where(
                Notification.report_id == uuid.UUID(report_id), Notification.kind == kind
            )
        )
        return sorted(rows)


async def officers_of(resources: Resources, unit: str) -> list[uuid.UUID]:
    """Every open officer account of a unit, whoever made it (other tests add officers too)."""
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(User.id)
            .join(Unit, Unit.id == User.unit_id)
            .where(Unit.code == unit, User.role == Role.OFFICER, User.closed_at.is_(None))
        )
        return sorted(rows)


async def case_of(resources: Resources, report_id: str) -> ReportCase:
    async with resources.unit_of_work() as session:
        found = await session.scalar(
            select(ReportCase).where(ReportCase.report_id == uuid.UUID(report_id)).order_by(ReportCase.id.desc())
        )
        assert found is not None
        return found


async def history_times(resources: Resources, report_id: str, to: str) -> list[Any]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(ReportStatusChange.at)
            .where(ReportStatusChange.report_id == uuid.UUID(report_id), ReportStatusChange.to_status == to)
            .order_by(ReportStatusChange.id)
        )
        return list(rows)


def moves(report: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(h["fromStatus"], h["toStatus"]) for h in report["history"] if h["kind"] == "STATUS"]


async def test_a_completion_waits_for_the_camat_who_accepts_it(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah, colleague = await officers(api, resources, TOMANG_OFFICE, 2)
    camat, camat_colleague = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT, 2)
    (other_camat,) = await officers(api, resources, OTHER_CAMAT)
    follower = await api.sign_up()
    report_id = (await api.create_report(citizen, category=VERIFIED))["report"]["id"]
    assert (await act(api, FOLLOW, follower, id=report_id))["errors"] == []

    # when the kelurahan completes it
    waiting = await complete(api, lurah, report_id, publicNote="PKL sudah ditertibkan")

    # then it waits for verification, without a deadline, not closed
    assert (waiting["status"], waiting["dueAt"], waiting["closedAt"]) == ("VERIFYING", None, None)
    assert moves(waiting)[-1] == ("IN_PROGRESS", "VERIFYING")
    assert waiting["history"][-1]["publicNote"] == "PKL sudah ditertibkan"
    assert [p["status"] for p in waiting["afterPhotos"]] == ["ATTACHED"]
    # the camat's office is told, every officer of it once, and nobody else
    assert await kinds_for_report(resources, report_id, "VERIFICATION_REQUESTED") == await officers_of(
        resources, GROGOL_PETAMBURAN_CAMAT
    )
    assert await notifications_for(resources, camat.user_id, report_id) == ["VERIFICATION_REQUESTED"]
    assert await notifications_for(resources, camat_colleague.user_id, report_id) == ["VERIFICATION_REQUESTED"]
    assert await notifications_for(resources, other_camat.user_id, report_id) == []
    # the reporter and the follower hear each status, the label included
    assert await notifications_for(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"] * 2
    assert await notifications_for(resources, follower.user_id, report_id) == ["STATUS_CHANGED"] * 2
    # both queues show it; only the camat's asks for its verification
    assert report_id in await queue_ids(api, lurah)
    assert report_id in await queue_ids(api, camat, {"awaitingMyVerification": True})
    assert report_id not in await queue_ids(api, lurah, {"awaitingMyVerification": True})
    assert report_id not in await queue_ids(api, other_camat, {"awaitingMyVerification": True})
    assert report_id in await queue_ids(api, lurah, {"status": ["VERIFYING"]})
    # nothing else moves it meanwhile: not the kelurahan, not the reporter
    assert [e["code"] for e in (await change(api, lurah, report_id, "IN_PROGRESS"))["errors"]] == ["INVALID_TRANSITION"]
    assert [e["code"] for e in (await act(api, RATE, citizen, id=report_id, rating=5))["errors"]] == [
        "INVALID_TRANSITION"
    ]
    assert [e["code"] for e in (await act(api, REOPEN, citizen, id=report_id, reason="x"))["errors"]] == [
        "INVALID_TRANSITION"
    ]

    # when the camat accepts it
    accepted = await verify(api, camat, report_id, accept=True, publicNote="Sudah dicek di lokasi")

    # then it is completed now, and the history has every step with who took it
    done = accepted["report"]
    assert accepted["errors"] == []
    assert (done["status"], done["dueAt"], done["closedAt"]) == ("COMPLETED", None, done["history"][-1]["at"])
    assert moves(done) == [
        (None, "WAITING"),
        ("WAITING", "IN_PROGRESS"),
        ("IN_PROGRESS", "VERIFYING"),
        ("VERIFYING", "COMPLETED"),
    ]
    assert done["history"][-1]["actor"]["displayName"] == f"Petugas {GROGOL_PETAMBURAN_CAMAT}"
    assert done["history"][-1]["publicNote"] == "Sudah dicek di lokasi"
    # the reporter and the follower are told as for any completion; no officer hears of it again
    for person in (citizen, follower):
        assert await notifications_for(resources, person.user_id, report_id) == ["STATUS_CHANGED"] * 3
    async with resources.unit_of_work() as session:
        told = await session.scalar(
            select(Notification.data)
            .where(Notification.report_id == uuid.UUID(report_id), Notification.user_id == uuid.UUID(citizen.user_id))
            .order_by(Notification.id.desc())
        )
    assert told is not None
    assert told["status"] == "COMPLETED"
    assert await notifications_for(resources, camat_colleague.user_id, report_id) == ["VERIFICATION_REQUESTED"]
    assert await notifications_for(resources, lurah.user_id, report_id) == ["NEW_REPORT"]
    assert await notifications_for(resources, colleague.user_id, report_id) == ["NEW_REPORT"]
    # the reporter may rate it now; there is nothing left to verify
    assert (await act(api, RATE, citizen, id=report_id, rating=5))["errors"] == []
    assert [e["code"] for e in (await verify(api, camat_colleague, report_id, accept=True))["errors"]] == [
        "INVALID_TRANSITION"
    ]
    assert report_id not in await queue_ids(api, camat, {"awaitingMyVerification": True})


async def test_work_sent_back_goes_to_the_kelurahan_and_never_counts_until_accepted(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah, colleague = await officers(api, resources, TOMANG_OFFICE, 2)
    (camat,) = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT)
    auditor = await staff_member(api, resources, Role.AUDITOR)
    before = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    report_id = (await api.create_report(citizen, category=VERIFIED))["report"]["id"]
    await complete(api, lurah, report_id)
    waiting = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    rows = await history_count(resources, report_id)

    # when the camat sends it back, first without a reason
    reasonless = await verify(api, camat, report_id, accept=False, reason="  ")
    sent_back = await verify(
        api, camat, report_id, accept=False, reason="Foto bukan lokasi yang dilaporkan", internalNote="Cek RT 03"
    )

    # then the reason is required, and once given the work is in progress again for the kelurahan
    assert [(e["code"], e["field"]) for e in reasonless["errors"]] == [("REASON_REQUIRED", "reason")]
    assert reasonless["report"] is None
    back = sent_back["report"]
    assert sent_back["errors"] == []
    assert back["status"] == "IN_PROGRESS"
    assert back["dueAt"] == back["completionDueAt"]
    assert back["closedAt"] is None
    assert moves(back)[-2:] == [("IN_PROGRESS", "VERIFYING"), ("VERIFYING", "IN_PROGRESS")]
    assert back["history"][-1]["internalNote"] == "Foto bukan lokasi yang dilaporkan\n\nCek RT 03"
    assert await history_count(resources, report_id) == rows + 1
    # the kelurahan's officers are told why, each once; the reporter sees the status but never the reason
    for officer in (lurah, colleague):
        assert await notifications_for(resources, officer.user_id, report_id) == ["NEW_REPORT", "COMPLETION_RETURNED"]
    assert await kinds_for_report(resources, report_id, "COMPLETION_RETURNED") == await officers_of(
        resources, TOMANG_OFFICE
    )
    assert await notifications_for(resources, citizen.user_id, report_id) == ["STATUS_CHANGED"] * 3
    public = await api.gql(f"query R($id: ID!) {{ report(id: $id) {{ {REPORT_FIELDS} }} }}", {"id": report_id})
    assert {h["internalNote"] for h in public["data"]["report"]["history"]} == {None}
    # the sent-back completion never counts: not completed, still open
    sent = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    for figures in (waiting, sent):
        assert delta(figures, before, "received", "completed", "stillOpen", "completedOnTime") == {
            "received": 1,
            "completed": 0,
            "stillOpen": 1,
            "completedOnTime": 0,
        }
    case = await case_of(resources, report_id)
    assert (case.first_completed_at, case.verifying_since, case.ending, case.ended_at) == (None, None, None, None)

    # when the kelurahan completes it again and the camat accepts it
    await complete(api, lurah, report_id, in_progress=True)
    accepted = await verify(api, camat, report_id, accept=True)

    # then it counts once, completed at the kelurahan's second completion, on time
    assert accepted["report"]["status"] == "COMPLETED"
    after = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    assert delta(after, before, "received", "completed", "stillOpen", "completedOnTime") == {
        "received": 1,
        "completed": 1,
        "stillOpen": 0,
        "completedOnTime": 1,
    }
    completions = await history_times(resources, report_id, "VERIFYING")
    (accepted_at,) = await history_times(resources, report_id, "COMPLETED")
    case = await case_of(resources, report_id)
    assert len(completions) == 2
    assert (case.first_completed_at, case.verifying_since, case.ending, case.ended_at) == (
        completions[1],
        None,
        "COMPLETED",
        accepted_at,
    )
    assert case.completion_hours == (completions[1] - case.arrived_at).total_seconds() / 3600


async def test_only_the_supervising_office_verifies(api: Api, citizen: Citizen, resources: Resources) -> None:
    (lurah,) = await officers(api, resources, TOMANG_OFFICE)
    (camat,) = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT)
    (other_camat,) = await officers(api, resources, OTHER_CAMAT)
    (walikota,) = await officers(api, resources, JAKBAR_WALIKOTA)
    admin = await staff_member(api, resources, Role.ADMIN)
    report_id = (await api.create_report(citizen, category=VERIFIED))["report"]["id"]
    early = await verify(api, camat, report_id, accept=True)
    await complete(api, lurah, report_id)
    rows = await history_count(resources, report_id)

    # when everyone but the camat's office tries, either way
    refused = {
        name: [
            [e["code"] for e in (await verify(api, who, report_id, accept=accept, reason="Belum"))["errors"]]
            for accept in (True, False)
        ]
        for name, who in {
            "the kelurahan itself": lurah,
            "another camat": other_camat,
            "the walikota office": walikota,
            "an admin": admin,
            "the reporter": citizen,
        }.items()
    }
    missing = await verify(api, camat, str(uuid.uuid4()), accept=True)
    anonymous = await api.gql(VERIFY, {"input": {"reportId": report_id, "accept": True}})

    # then each is refused and nothing is written
    assert refused == {name: [["FORBIDDEN"], ["FORBIDDEN"]] for name in refused}
    assert [e["code"] for e in early["errors"]] == ["INVALID_TRANSITION"]
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await history_count(resources, report_id) == rows
    assert (await verify(api, camat, report_id, accept=True))["report"]["status"] == "COMPLETED"


async def test_a_camat_does_not_verify_a_completion_they_recorded(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    # given a camat who completes a kelurahan's report (area offices act on their area)
    camat, colleague = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT, 2)
    report_id = (await api.create_report(citizen, category=VERIFIED))["report"]["id"]
    await complete(api, camat, report_id)

    # when they verify it themselves, then a colleague does
    own = await verify(api, camat, report_id, accept=True)
    other = await verify(api, colleague, report_id, accept=True)

    # then
    assert [e["code"] for e in own["errors"]] == ["FORBIDDEN"]
    assert other["errors"] == []
    assert await notifications_for(resources, camat.user_id, report_id) == []
    assert await notifications_for(resources, colleague.user_id, report_id) == ["VERIFICATION_REQUESTED"]


async def test_a_suku_dinas_completion_is_verified_by_the_walikota_office_and_an_outside_bodys_is_final(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    (lurah,) = await officers(api, resources, TOMANG_OFFICE)
    (sudin,) = await officers(api, resources, SUDIN_BINA_MARGA_JAKBAR)
    (walikota,) = await officers(api, resources, JAKBAR_WALIKOTA)
    (pln,) = await officers(api, resources, "pln")
    (camat,) = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT)
    road, pole = [(await api.create_report(citizen, category="damaged-road"))["report"]["id"] for _ in range(2)]
    for report_id, unit in ((road, SUDIN_BINA_MARGA_JAKBAR), (pole, "pln")):
        moved = await act(api, DISPOSE_TO, lurah, input={"reportId": report_id, "toUnit": unit})
        assert moved["errors"] == [], moved

    # when each completes its report
    waiting = await complete(api, sudin, road)
    final = await complete(api, pln, pole)

    # then the Suku Dinas's waits for the walikota office, which alone is told and may accept it
    assert (waiting["status"], final["status"]) == ("VERIFYING", "COMPLETED")
    assert await kinds_for_report(resources, road, "VERIFICATION_REQUESTED") == await officers_of(
        resources, JAKBAR_WALIKOTA
    )
    assert await kinds_for_report(resources, pole, "VERIFICATION_REQUESTED") == []
    assert [e["code"] for e in (await verify(api, camat, road, accept=True))["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in (await verify(api, sudin, road, accept=True))["errors"]] == ["FORBIDDEN"]
    assert road in await queue_ids(api, walikota, {"awaitingMyVerification": True})
    assert (await verify(api, walikota, road, accept=True))["report"]["status"] == "COMPLETED"


async def test_the_setting_is_per_category_and_counts_for_completions_from_then_on(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    admin = await staff_member(api, resources, Role.ADMIN)
    (lurah,) = await officers(api, resources, TOMANG_OFFICE)
    (camat,) = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT)
    category = "unlicensed-ads"
    seen_by_staff = {
        c["code"]: c["verificationRequired"]
        for c in (await api.gql(CATEGORIES, token=lurah.token))["data"]["categories"]
    }
    seen_by_public = {c["code"]: c["verificationRequired"] for c in (await api.gql(CATEGORIES))["data"]["categories"]}
    assert {
        code: seen_by_staff[code] for code in (VERIFIED, "illegal-parking", "damaged-road", "garbage", category)
    } == {
        VERIFIED: True,
        "illegal-parking": True,
        "damaged-road": True,
        "garbage": False,
        category: False,
    }
    assert set(seen_by_public.values()) == {None}
    first, second, third = [(await api.create_report(citizen, category=category))["report"]["id"] for _ in range(3)]
    assert (await complete(api, lurah, first))["status"] == "COMPLETED"

    try:
        # when an admin turns it on
        turned_on = await act(api, SET_VERIFICATION, admin, category=category, required=True)
        pending = await complete(api, lurah, second)
        # and off again
        turned_off = await act(api, SET_VERIFICATION, admin, category=category, required=False)
        direct = await complete(api, lurah, third)
    finally:
        await act(api, SET_VERIFICATION, admin, category=category, required=False)

    # then only the completion made while it was on waits, and keeps waiting for its verdict
    assert turned_on == {"category": {"code": category, "verificationRequired": True}, "errors": []}
    assert turned_off == {"category": {"code": category, "verificationRequired": False}, "errors": []}
    assert (pending["status"], direct["status"]) == ("VERIFYING", "COMPLETED")
    assert (await verify(api, camat, second, accept=True))["report"]["status"] == "COMPLETED"


async def test_only_admins_change_the_setting(api: Api, resources: Resources) -> None:
    (camat,) = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT)
    admin = await staff_member(api, resources, Role.ADMIN)

    officer = await act(api, SET_VERIFICATION, camat, category="garbage", required=True)
    unknown = await act(api, SET_VERIFICATION, admin, category="no-such-category", required=True)

    assert officer == {"category": None, "errors": [{"code": "FORBIDDEN", "field": None}]}
    assert unknown == {"category": None, "errors": [{"code": "UNKNOWN_CATEGORY", "field": "category"}]}
    staff_view = (await api.gql(CATEGORIES, token=camat.token))["data"]["categories"]
    assert next(c for c in staff_view if c["code"] == "garbage")["verificationRequired"] is False


async def test_the_public_sees_the_waiting_status_with_its_label(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    (lurah,) = await officers(api, resources, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen, category=VERIFIED, lat=SPOT[0], lon=SPOT[1]))["report"]["id"]
    await complete(api, lurah, report_id)

    one = await api.gql("query R($id: ID!) { report(id: $id) { status statusLabel } }", {"id": report_id})
    box = await api.gql(IN_BOX, {"bbox": around(SPOT), "statuses": ["VERIFYING"]})

    assert one["data"]["report"] == {"status": "VERIFYING", "statusLabel": "Menunggu verifikasi"}
    assert {"id": report_id, "status": "VERIFYING"} in box["data"]["reportsInBbox"]


async def test_a_verdict_given_offline_and_replayed_is_given_once(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    # given a completion waiting for the camat, who sends it back from a phone that then replays the request
    (lurah,) = await officers(api, resources, TOMANG_OFFICE)
    (camat,) = await officers(api, resources, GROGOL_PETAMBURAN_CAMAT)
    report_id = (await api.create_report(citizen, category=VERIFIED))["report"]["id"]
    await complete(api, lurah, report_id)
    key = str(uuid.uuid4())

    # when the same verdict comes twice, and then the id comes with another verdict
    first = await verify(api, camat, report_id, accept=False, reason="Masih ada pedagang", clientRequestId=key)
    rows = await history_count(resources, report_id)
    again = await verify(api, camat, report_id, accept=False, reason="Masih ada pedagang", clientRequestId=key)
    other = await verify(api, camat, report_id, accept=True, clientRequestId=key)

    # then it was sent back once, the replay has the same outcome, and the other verdict is a conflict
    assert (first["errors"], first["report"]["status"]) == ([], "IN_PROGRESS")
    assert (again["errors"], again["report"]["status"]) == ([], "IN_PROGRESS")
    assert [e["code"] for e in other["errors"]] == ["CONFLICT"]
    assert await history_count(resources, report_id) == rows
    # (each of the kelurahan's officers told once: other tests add officers to the same office)
    returned = await kinds_for_report(resources, report_id, "COMPLETION_RETURNED")
    assert sorted(returned) == sorted(await officers_of(resources, TOMANG_OFFICE))
