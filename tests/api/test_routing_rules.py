"""Admins edit the routing rules; the most specific rule decides where a new report goes."""

from __future__ import annotations

from typing import Any

from domain.models import Role
from domain.resources import Resources
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen

SET_RULE = """
mutation Set($input: SetRoutingRuleInput!) {
  setRoutingRule(input: $input) {
    rule { id areaCode areaName handler agencyCode unit { code } category { code } }
    errors { code field }
  }
}
"""

DELETE_RULE = """
mutation Delete($id: ID!) { deleteRoutingRule(id: $id) { rule { id } errors { code field } } }
"""

RULES = """
query Rules($category: String) { routingRules(category: $category) { id areaCode handler agencyCode } }
"""

CATEGORY = "fallen-tree"  # no other test files reports of it


async def set_rule(api: Api, who: Citizen, **fields: Any) -> dict[str, Any]:
    body = await api.gql(SET_RULE, {"input": {"category": CATEGORY, **fields}}, token=who.token)
    payload: dict[str, Any] = body["data"]["setRoutingRule"]
    return payload


async def unit_of_new_report(api: Api, citizen: Citizen) -> str:
    report = (await api.create_report(citizen, category=CATEGORY))["report"]
    return str(report["unit"]["code"])


async def test_an_area_rule_wins_over_the_city_rule_until_it_is_removed(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    admin = await staff_member(api, resources, Role.ADMIN)
    before = (await api.create_report(citizen, category=CATEGORY))["report"]
    assert before["unit"]["code"] == "kel-31.73.02.1003"

    elsewhere = await set_rule(api, admin, areaCode="31.73.02.1001", handler="KECAMATAN")
    assert elsewhere["errors"] == []
    assert await unit_of_new_report(api, citizen) == "kel-31.73.02.1003"  # a rule for another kelurahan

    kecamatan = await set_rule(api, admin, areaCode="31.73.02", handler="AGENCY", agencyCode="sudin-pertamanan")
    assert await unit_of_new_report(api, citizen) == "sudin-pertamanan-31.73"
    tomang = await set_rule(api, admin, areaCode="31.73.02.1003", handler="UNIT", unitCode="gulkarmat-31.73")
    assert tomang["rule"]["areaName"] == "Tomang"
    assert await unit_of_new_report(api, citizen) == "gulkarmat-31.73"
    replaced = await set_rule(api, admin, areaCode="31.73.02.1003", handler="KOTA")
    assert replaced["rule"]["id"] == tomang["rule"]["id"]
    assert await unit_of_new_report(api, citizen) == "kota-31.73"

    listed = (await api.gql(RULES, {"category": CATEGORY}, token=admin.token))["data"]["routingRules"]
    assert sorted((r["areaCode"] or "", r["handler"]) for r in listed) == [
        ("", "KELURAHAN"),
        ("31.73.02", "AGENCY"),
        ("31.73.02.1001", "KECAMATAN"),
        ("31.73.02.1003", "KOTA"),
    ]
    for rule in (replaced, kecamatan, elsewhere):
        deleted = await api.gql(DELETE_RULE, {"id": rule["rule"]["id"]}, token=admin.token)
        assert deleted["data"]["deleteRoutingRule"]["errors"] == []
    assert await unit_of_new_report(api, citizen) == "kel-31.73.02.1003"
    # Reports filed before stay where they were, with their history.
    again = await api.gql("query($id: ID!) { report(id: $id) { unit { code } } }", {"id": before["id"]})
    assert again["data"]["report"]["unit"]["code"] == "kel-31.73.02.1003"


async def test_rule_errors_and_who_may_change_rules(api: Api, citizen: Citizen, resources: Resources) -> None:
    admin = await staff_member(api, resources, Role.ADMIN)
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    city_rule = next(
        r
        for r in (await api.gql(RULES, {"category": CATEGORY}, token=officer.token))["data"]["routingRules"]
        if r["areaCode"] is None
    )

    cases = [
        (await set_rule(api, officer, handler="KOTA"), "FORBIDDEN"),
        (await set_rule(api, citizen, handler="KOTA"), "FORBIDDEN"),
        (await set_rule(api, admin, areaCode="99.99", handler="KOTA"), "UNKNOWN_AREA"),
        (await set_rule(api, admin, handler="AGENCY", agencyCode="no-such-agency"), "UNKNOWN_AGENCY"),
        (await set_rule(api, admin, handler="UNIT", unitCode="no-such-unit"), "UNKNOWN_UNIT"),
        (await set_rule(api, admin, handler="KOTA", agencyCode="polri"), "INVALID_HANDLER"),
        (
            (await api.gql(SET_RULE, {"input": {"category": "unicorns", "handler": "KOTA"}}, token=admin.token))[
                "data"
            ]["setRoutingRule"],
            "UNKNOWN_CATEGORY",
        ),
        (
            (await api.gql(DELETE_RULE, {"id": city_rule["id"]}, token=admin.token))["data"]["deleteRoutingRule"],
            "CITY_RULE_REQUIRED",
        ),
        ((await api.gql(DELETE_RULE, {"id": "12345678"}, token=admin.token))["data"]["deleteRoutingRule"], "NOT_FOUND"),
        # Past PostgreSQL's integer: it was a server error.
        ((await api.gql(DELETE_RULE, {"id": str(2**31)}, token=admin.token))["data"]["deleteRoutingRule"], "NOT_FOUND"),
        (
            (await api.gql(DELETE_RULE, {"id": city_rule["id"]}, token=officer.token))["data"]["deleteRoutingRule"],
            "FORBIDDEN",
        ),
    ]

    assert [[e["code"] for e in payload["errors"]] for payload, _ in cases] == [[code] for _, code in cases]
    assert (await api.gql(RULES, {}, token=citizen.token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await unit_of_new_report(api, citizen) == "kel-31.73.02.1003"
