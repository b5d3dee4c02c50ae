"""What is new since the officer's last look: every change bumps Report.updatedAt, and the work queue lists the
reports changed after a time."""

from __future__ import annotations

from typing import Any

from domain.models import Role
from domain.resources import Resources
from tests.api.test_replays import ASSIGN, COMMENT, SUPPORT, call, change
from tests.api.test_workflow import TOMANG_OFFICE, staff_member
from tests.factories import Api, Citizen

QUEUE = """
query Queue($filter: WorkQueueFilter, $after: String) {
  workQueue(filter: $filter, first: 100, after: $after) {
    edges { node { id status dueAt updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
UPDATED = "query R($id: ID!) { report(id: $id) { updatedAt } }"


async def queue(api: Api, who: Citizen, flt: dict[str, Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = await api.gql(QUEUE, {"filter": flt, "after": after}, token=who.token)
        assert "errors" not in body, body
        page = body["data"]["workQueue"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def changed_since(api: Api, who: Citizen, since: str, **flt: Any) -> list[str]:
    return [n["id"] for n in await queue(api, who, {"changedSince": since, **flt})]


async def updated_at(api: Api, who: Citizen, report_id: str) -> str:
    body = await api.gql(UPDATED, {"id": report_id}, token=who.token)
    return str(body["data"]["report"]["updatedAt"])


async def test_every_change_is_new_since_the_last_look(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    neighbour = await api.sign_up()
    report_id = (await api.create_report(citizen))["report"]["id"]
    untouched = (await api.create_report(citizen))["report"]["id"]
    steps = {
        "comment": lambda: call(api, COMMENT, neighbour, id=report_id, body="Masih ada", key=None),
        "support": lambda: call(api, SUPPORT, neighbour, id=report_id, on=True, key=None),
        "support taken back": lambda: call(api, SUPPORT, neighbour, id=report_id, on=False, key=None),
        "assignment": lambda: call(api, ASSIGN, lurah, input={"reportId": report_id, "assignee": lurah.user_id}),
        "status": lambda: change(api, lurah, report_id, "COORDINATION"),
    }
    last_look = await updated_at(api, lurah, untouched)  # filed last
    assert report_id not in await changed_since(api, lurah, last_look)

    for name, step in steps.items():
        assert (await step())["errors"] == [], name
        now = await updated_at(api, lurah, report_id)
        seen = await changed_since(api, lurah, last_look)
        assert report_id in seen, name
        assert untouched not in seen, name
        assert report_id not in await changed_since(api, lurah, now), name
        last_look = now


async def test_closed_reports_are_listed_so_the_app_can_drop_them_and_the_order_is_the_deadline(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    first = (await api.create_report(citizen))["report"]["id"]
    last_look = await updated_at(api, lurah, first)
    rejected, waiting = [(await api.create_report(citizen))["report"]["id"] for _ in range(2)]

    assert (await change(api, lurah, rejected, "REJECTED", reason="Bukan masalah publik"))["errors"] == []

    nodes = [n for n in await queue(api, lurah, {"changedSince": last_look}) if n["id"] in {rejected, waiting}]
    assert [(n["id"], n["status"]) for n in nodes] == [(waiting, "WAITING"), (rejected, "REJECTED")]
    assert nodes[1]["dueAt"] is None
    dues = [n["dueAt"] for n in await queue(api, lurah, {"changedSince": last_look})]
    assert dues == sorted(d for d in dues if d) + [None] * dues.count(None)
    # with a status filter, only those
    assert rejected not in await changed_since(api, lurah, last_look, status=["WAITING"])
    assert rejected not in [n["id"] for n in await queue(api, lurah, {})]


async def test_changed_since_needs_a_time_zone(api: Api, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)

    body = await api.gql(QUEUE, {"filter": {"changedSince": "2026-12-01T08:00:00"}}, token=lurah.token)

    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", "changedSince")
    ]
