"""Abuse flags and moderators: a hidden report leaves every public view and comes back as it was; the history
keeps the reason; flags are resolved by the moderator's action."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette

from api.live import ReportEventHub
from domain.models import Role
from domain.resources import Resources
from tests.api.test_community import COMMENT, HIDE
from tests.api.test_workflow import act, staff_member
from tests.factories import Api, Citizen
from tests.public_views import next_about, public_views, without_it

FLAG_REPORT = """
mutation Flag($id: ID!, $reason: String!) { flagReport(reportId: $id, reason: $reason) { flagged errors { code } } }
"""
FLAG_COMMENT = """
mutation Flag($id: ID!, $reason: String!) { flagComment(commentId: $id, reason: $reason) { flagged errors { code } } }
"""
FLAGS = "query { abuseFlags(first: 100) { id reportId commentId reason } }"
HIDE_REPORT = """
mutation Hide($id: ID!, $reason: String!, $hidden: Boolean!) {
  hideReport(reportId: $id, reason: $reason, hidden: $hidden) {
    report { id hidden hiddenReason confidential history { kind internalNote } } errors { code }
  }
}
"""
PUBLIC = "query One($id: ID!) { report(id: $id) { id hidden hiddenReason } }"


# In Tomang, apart from the other tests' reports at factories.TOMANG.
SPOT = (-6.1662, 106.7931)


def open_flags(body: dict[str, Any], report_id: str) -> list[dict[str, Any]]:
    return [f for f in body["data"]["abuseFlags"] if f["reportId"] == report_id]


async def test_a_flagged_report_hidden_by_a_moderator_leaves_the_public_and_comes_back(
    api: Api, app: Starlette, citizen: Citizen, resources: Resources
) -> None:
    hub: ReportEventHub = app.state.live
    filed_since = datetime.now(UTC) - timedelta(seconds=1)
    report = (await api.create_report(citizen, lat=SPOT[0], lon=SPOT[1]))["report"]["id"]
    flagger, admin = await api.sign_up(), await staff_member(api, resources, Role.ADMIN)
    auditor = await staff_member(api, resources, Role.AUDITOR)
    first = await act(api, FLAG_REPORT, flagger, id=report, reason="Iklan, bukan laporan")
    again = await act(api, FLAG_REPORT, flagger, id=report, reason="Iklan lagi")
    assert first == again == {"flagged": True, "errors": []}
    for reason, code in (("  ", "REASON_REQUIRED"), ("x" * 501, "REASON_TOO_LONG")):
        assert (await act(api, FLAG_REPORT, flagger, id=report, reason=reason))["errors"] == [{"code": code}]
    missing = await act(api, FLAG_REPORT, flagger, id="00000000-0000-4000-8000-000000000000", reason="x")
    assert missing["errors"] == [{"code": "NOT_FOUND"}]
    # One flag per person; moderators and auditors see it, citizens do not.
    assert [f["reason"] for f in open_flags(await api.gql(FLAGS, token=admin.token), report)] == [
        "Iklan, bukan laporan"
    ]
    assert len(open_flags(await api.gql(FLAGS, token=auditor.token), report)) == 1
    assert (await api.gql(FLAGS, token=flagger.token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    refused = await act(api, HIDE_REPORT, flagger, id=report, reason="x", hidden=True)
    assert refused["errors"] == [{"code": "FORBIDDEN"}]
    views = functools.partial(
        public_views, api, report, lat=SPOT[0], lon=SPOT[1], category="garbage", filed_since=filed_since
    )
    shown_before = await views()  # also fills the map cache
    assert all(shown_before.listed.values()), shown_before
    async with hub.subscribe() as events:
        hidden = await act(api, HIDE_REPORT, admin, id=report, reason="Iklan komersial", hidden=True)
        assert (await next_about(events, report))["kind"] == "REMOVED"
    assert hidden["errors"] == []
    assert (hidden["report"]["hidden"], hidden["report"]["confidential"]) == (True, True)
    assert hidden["report"]["history"][-1] == {"kind": "MODERATION", "internalNote": "Disembunyikan: Iklan komersial"}
    assert open_flags(await api.gql(FLAGS, token=admin.token), report) == []

    # Gone from every public view; its reporter still sees it, with the reason.
    assert await views() == without_it(shown_before)
    mine = (await api.gql(PUBLIC, {"id": report}, token=citizen.token))["data"]["report"]
    assert mine == {"id": report, "hidden": True, "hiddenReason": "Iklan komersial"}
    twice = await act(api, HIDE_REPORT, admin, id=report, reason="lagi", hidden=True)
    assert twice["errors"] == [{"code": "INVALID_TRANSITION"}]

    async with hub.subscribe() as events:
        shown = await act(api, HIDE_REPORT, admin, id=report, reason="Salah paham", hidden=False)
        assert (await next_about(events, report))["kind"] == "UPDATED"
    assert (shown["report"]["hidden"], shown["report"]["confidential"]) == (False, False)
    assert await views() == shown_before
    assert (await api.gql(PUBLIC, {"id": report}))["data"]["report"] == {
        "id": report,
        "hidden": False,
        "hiddenReason": None,
    }


async def test_a_confidential_report_stays_confidential_after_it_is_shown_again(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    report = (await api.create_report(citizen, confidential=True))["report"]["id"]
    admin = await staff_member(api, resources, Role.ADMIN)
    await act(api, HIDE_REPORT, admin, id=report, reason="Cek", hidden=True)
    shown = await act(api, HIDE_REPORT, admin, id=report, reason="Selesai dicek", hidden=False)
    assert (shown["report"]["hidden"], shown["report"]["confidential"]) == (False, True)


async def test_flagging_a_comment_and_hiding_it_resolves_the_flag(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    report = (await api.create_report(citizen))["report"]["id"]
    rude = await act(api, COMMENT, await api.sign_up(), id=report, body="hinaan")
    comment = rude["comment"]["id"]
    assert (await act(api, FLAG_COMMENT, citizen, id=comment, reason="Menghina"))["flagged"] is True
    admin = await staff_member(api, resources, Role.ADMIN)
    flags = open_flags(await api.gql(FLAGS, token=admin.token), report)
    assert [(f["commentId"], f["reason"]) for f in flags] == [(comment, "Menghina")]
    assert (await act(api, HIDE, admin, id=comment, reason="Menghina"))["errors"] == []
    assert open_flags(await api.gql(FLAGS, token=admin.token), report) == []
    history = await api.gql(
        "query H($id: ID!) { report(id: $id) { history { kind internalNote } } }", {"id": report}, token=admin.token
    )
    assert history["data"]["report"]["history"][-1] == {
        "kind": "MODERATION",
        "internalNote": f"Komentar {comment} disembunyikan: Menghina",
    }


async def test_a_reason_with_a_nul_character_is_refused_as_bad_input(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    # Found by tests/e2e/test_graphql_fuzz.py: PostgreSQL refused the text and the client saw a server error.
    report = (await api.create_report(citizen))["report"]["id"]
    comment = (await act(api, COMMENT, await api.sign_up(), id=report, body="hinaan"))["comment"]["id"]
    as_variable = await api.gql(FLAG_REPORT, {"id": report, "reason": "spam\x00"}, token=citizen.token)
    as_literal = await api.gql(
        f'mutation {{ flagComment(commentId: "{comment}", reason: "spam\\u0000") {{ flagged }} }}', token=citizen.token
    )
    # The lexer takes the character itself inside a string, block strings too.
    as_character = await api.gql(
        f'mutation {{ flagComment(commentId: "{comment}", reason: """spam\x00""") {{ flagged }} }}', token=citizen.token
    )

    for body in (as_variable, as_literal, as_character):
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["extensions"]["reason"]) for e in body["errors"]] == [
            ("BAD_USER_INPUT", "NUL_CHARACTER")
        ]
    admin = await staff_member(api, resources, Role.ADMIN)
    assert open_flags(await api.gql(FLAGS, token=admin.token), report) == []
