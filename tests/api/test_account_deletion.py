"""Self-service account deletion: the account goes, the reports stay, anonymised."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from domain.models import Report, ReportComment, ReportFollower, ReportSupport, Role, User
from domain.resources import Resources
from tests.api.test_community import COMMENT, FOLLOW, SUPPORT
from tests.api.test_workflow import act, staff_member
from tests.factories import LOG_IN, REQUEST_UPLOAD, Api, Citizen

DELETE = "mutation Delete($password: String!) { deleteAccount(password: $password) { deleted errors { code } } }"
REPORT = "query One($id: ID!) { report(id: $id) { id anonymous reporter { displayName } } }"


async def test_a_citizen_deletes_their_account_and_their_reports_stay_anonymised(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    named = (await api.create_report(citizen, anonymous=False))["report"]["id"]
    other = (await api.create_report(await api.sign_up()))["report"]["id"]
    assert (await act(api, COMMENT, citizen, id=other, body="Saya juga lihat"))["errors"] == []
    assert (await act(api, SUPPORT, citizen, id=other, on=True))["errors"] == []
    assert (await act(api, FOLLOW, citizen, id=other))["errors"] == []
    before = await api.gql(REPORT, {"id": named})
    assert before["data"]["report"]["reporter"] == {"displayName": "Warga"}

    wrong = await api.gql(DELETE, {"password": "not the password"}, token=citizen.token)
    assert wrong["data"]["deleteAccount"] == {"deleted": False, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    done = await api.gql(DELETE, {"password": citizen.password}, token=citizen.token)
    assert done["data"]["deleteAccount"] == {"deleted": True, "errors": []}

    user_id = uuid.UUID(citizen.user_id)
    async with resources.unit_of_work() as session:
        assert await session.get(User, user_id) is None
        report = await session.get(Report, uuid.UUID(named))
        assert report is not None
        assert (report.reporter_id, report.anonymous) == (None, True)
        comment = await session.scalar(select(ReportComment).where(ReportComment.report_id == uuid.UUID(other)))
        assert comment is not None
        assert (comment.author_id, comment.body) == (None, "Saya juga lihat")
        for table, column in ((ReportSupport, ReportSupport.user_id), (ReportFollower, ReportFollower.user_id)):
            assert await session.scalar(select(func.count()).select_from(table).where(column == user_id)) == 0
    after = await api.gql(REPORT, {"id": named})
    assert after["data"]["report"]["reporter"] is None

    # Logging in fails; the old access token, still unexpired, can write nothing (and gets no 500).
    login = await api.gql(LOG_IN, {"login": citizen.email, "password": citizen.password})
    assert login["data"]["logIn"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    for document, variables in (
        (REQUEST_UPLOAD, {"contentType": "image/jpeg", "byteSize": 1000}),
        (COMMENT, {"id": other, "body": "masih di sini?"}),
    ):
        body = await api.gql(document, variables, token=citizen.token)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    ghost = await api.raw(
        "mutation C($input: CreateReportInput!) { createReport(input: $input) { report { id } } }",
        {"input": {"clientRequestId": str(uuid.uuid4()), "category": "garbage", "description": "x",
                   "location": {"lat": -6.1754, "lon": 106.8272}}},
        token=citizen.token,
    )  # fmt: skip
    assert ghost.status_code == 200
    assert [e["extensions"]["code"] for e in ghost.json()["errors"]] == ["UNAUTHENTICATED"]


async def test_staff_accounts_are_not_deleted_by_their_holder(api: Api, resources: Resources) -> None:
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    body = await api.gql(DELETE, {"password": officer.password}, token=officer.token)
    assert body["data"]["deleteAccount"] == {"deleted": False, "errors": [{"code": "FORBIDDEN"}]}
    assert (await api.gql(DELETE, {"password": "x"}))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
