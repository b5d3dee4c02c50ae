"""The authorization matrix: every query, mutation and subscription of the schema, tried by every kind of caller.

One world is made (a citizen's report in Tomang routed to its lurah, a completed one, a comment, a camera, a
routing rule, an export), then each root field is called by each role with arguments that would make it
succeed for someone allowed. Every call runs in a transaction that is rolled back, so each sees the same world
and none changes it for the next. What each role gets is compared with EXPECTED, the table below: a field the
table does not name fails the test, so no operation reaches production without someone deciding who may run it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import GraphQLField, GraphQLObjectType, get_named_type
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from strawberry.types import ExecutionResult

from api.context import Context
from api.graphql import build_schema
from api.live import ALERT_CHANNEL, ReportEventHub
from domain.models import Role, Unit
from domain.resources import Resources
from domain.security import decode_access_token
from domain.settings import Settings
from tests.api.test_cctv import camera_input
from tests.api.test_performance import complete
from tests.api.test_workflow import staff_member
from tests.factories import TOMANG, Api, Citizen, report_input
from tests.operations import operation

ROLES = (
    "anonymous",
    "citizen",  # the reporter of the report
    "other_citizen",
    "lurah",  # an officer of the kelurahan the report is in, which it was routed to
    "other_lurah",  # an officer of a kelurahan in another kota
    "camat",  # an officer of the report's kecamatan
    "agency",  # an officer of a city agency that does not handle the report
    "auditor",
    "admin",
)
# What each role gets, in the order of ROLES: A it runs and does what was asked, R it runs but its own rules
# refuse these arguments (in the payload's errors), U refused as UNAUTHENTICATED, F refused as FORBIDDEN.
# Public lists and the map are A for everyone and filter what they show; that is tested where they are.
#                            anon, citizen, other citizen, lurah, other lurah, camat, agency, auditor, admin
EXPECTED: dict[str, str] = {
    # --- queries
    "me": "AAAAAAAAA",
    "report": "AAAAAAAAA",
    "myReports": "UAAAAAAAA",
    "categories": "AAAAAAAAA",
    "kelurahanAt": "AAAAAAAAA",
    "workQueue": "UFFAAAAAA",
    "units": "UFFAAAAAA",
    "unitOfficers": "UFFAAAAAA",
    "notifications": "UAAAAAAAA",
    "routingRules": "UFFAAAAAA",
    "mapReports": "AAAAAAAAA",
    "reportsInBbox": "AAAAAAAAA",
    "mapGeoJSON": "AAAAAAAAA",
    "cityStats": "AAAAAAAAA",
    "cameras": "UFFAAAAAA",
    "cctvAlerts": "UFFAAAAAA",
    "unitPerformance": "UFFAAAAAA",
    "leaderboard": "UFFAAAAAA",
    "unitTimeSeries": "UFFAAAAAA",
    "overdueByKelurahan": "UFFAAAAAA",
    "performanceExport": "UFFAAAAAA",
    "abuseFlags": "UFFFFFFAA",
    "similarReports": "AAAAAAAAA",
    "nearbyReports": "AAAAAAAAA",
    "trendingReports": "AAAAAAAAA",
    # --- mutations
    "signUp": "AAAAAAAFA",  # a new account is a change, and auditors change nothing (api/extensions.py)
    "logIn": "AAAAAAAAA",
    "refreshToken": "AAAAAAAAA",
    "logOut": "AAAAAAAAA",
    "deleteAccount": "UAAFFFFFF",
    "requestPhotoUpload": "UAAAAAAFA",
    "createReport": "UAAAAAAFA",
    "changeReportStatus": "UFFAFAFFA",
    "disposeReport": "UFFAFAFFA",
    "assignReport": "UFFAFAFFA",
    "reopenReport": "UAFFFFFFF",
    "rateReport": "UAFFFFFFF",
    "followReport": "UAAAAAAFA",
    "registerDevice": "UAAAAAAAA",
    "unregisterDevice": "UAAAAAAAA",
    "markNotificationsRead": "UAAAAAAAA",
    "setRoutingRule": "UFFFFFFFA",
    "deleteRoutingRule": "UFFFFFFFA",
    "saveCamera": "UFFFFFFFA",
    "setCameraActive": "UFFFFFFFA",
    "setAlertRule": "UFFFFFFFA",
    "requestPerformanceExport": "UFFAAAAAA",
    "supportReport": "URAAAAAFA",  # R: no supporting your own report
    "addComment": "UAAAAAAFA",
    "hideComment": "UFFFFFFFA",
    "flagReport": "UAAAAAAFA",
    "flagComment": "UAAAAAAFA",
    "hideReport": "UFFFFFFFA",
    "closeStaffAccount": "UFFFFFFFA",
    "moveStaffAccount": "UFFFFFFFA",
    # --- subscriptions
    "reportEvents": "AAAAAAAAA",
    "cctvAlertRaised": "UFFAAAAAA",
}
ALLOWED, REFUSED, UNAUTHENTICATED, FORBIDDEN = "A", "R", "U", "F"
PASSWORD = "correct horse battery"


@dataclass
class World:
    people: dict[str, Citizen | None]
    report_id: str
    completed_id: str
    comment_id: str
    lurah_unit: str
    lurah_unit_id: str
    lurah_id: str
    agency_unit: str
    camera_code: str
    routing_rule_id: str
    export_id: str


def arguments(world: World, role: str) -> dict[str, dict[str, Any]]:
    """For each field, the arguments someone allowed would send; the rest of its required ones get any value."""
    me = world.people[role] or world.people["citizen"]
    assert me is not None
    period = {"level": "KELURAHAN", "since": "2026-01-01", "until": "2026-12-31"}
    bbox = {"west": TOMANG[1] - 0.05, "south": TOMANG[0] - 0.05, "east": TOMANG[1] + 0.05, "north": TOMANG[0] + 0.05}
    at = {"lat": TOMANG[0], "lon": TOMANG[1]}
    return {
        "report": {"id": world.report_id},
        "kelurahanAt": at,
        "unitOfficers": {"unit": world.lurah_unit},
        "mapReports": {"bbox": bbox, "zoom": 16},
        "reportsInBbox": {"bbox": bbox},
        "mapGeoJSON": {"bbox": bbox},
        "unitPerformance": period,
        "leaderboard": period,
        "unitTimeSeries": {"unitId": world.lurah_unit_id, "interval": "DAY", **period} | {"level": None},
        "performanceExport": {"id": world.export_id},
        "similarReports": {**at, "category": "garbage"},
        "nearbyReports": at,
        "signUp": {
            "input": {"email": f"baru-{uuid.uuid4().hex[:10]}@example.id", "password": PASSWORD, "displayName": "Baru"}
        },
        "logIn": {"login": me.email, "password": me.password},
        "refreshToken": {"refreshToken": me.refresh_token},
        "logOut": {"refreshToken": me.refresh_token},
        "deleteAccount": {"password": me.password},
        "requestPhotoUpload": {"contentType": "image/jpeg", "byteSize": 1000},
        "createReport": {"input": report_input()},
        "changeReportStatus": {"input": {"reportId": world.report_id, "to": "IN_PROGRESS"}},
        "disposeReport": {"input": {"reportId": world.report_id, "toUnit": world.agency_unit}},
        "assignReport": {"input": {"reportId": world.report_id, "assignee": world.lurah_id}},
        "reopenReport": {"reportId": world.completed_id, "reason": "Masih belum diperbaiki"},
        "rateReport": {"reportId": world.completed_id, "rating": 4},
        "followReport": {"reportId": world.report_id},
        "registerDevice": {"token": f"device-{uuid.uuid4()}", "platform": "ANDROID"},
        "unregisterDevice": {"token": f"device-{uuid.uuid4()}"},
        "setRoutingRule": {"input": {"category": "garbage", "areaCode": "31.73.02", "handler": "KECAMATAN"}},
        "deleteRoutingRule": {"id": world.routing_rule_id},
        "saveCamera": {"input": camera_input(f"cam-{uuid.uuid4().hex[:8]}")},
        "setCameraActive": {"code": world.camera_code, "active": True},
        "setAlertRule": {"input": {"cameraCode": world.camera_code, "crowdAbovePersons": 30}},
        "requestPerformanceExport": period,
        "supportReport": {"reportId": world.report_id},
        "addComment": {"reportId": world.report_id, "body": "Masih ada di sana"},
        "hideComment": {"commentId": world.comment_id, "reason": "Kata-kata kasar"},
        "flagReport": {"reportId": world.report_id, "reason": "Spam"},
        "flagComment": {"commentId": world.comment_id, "reason": "Kasar"},
        "hideReport": {"reportId": world.report_id, "reason": "Data pribadi"},
        "closeStaffAccount": {"userId": world.lurah_id, "reason": "Pensiun"},
        "moveStaffAccount": {
            "input": {"userId": world.lurah_id, "role": "OFFICER", "unit": world.agency_unit, "reason": "Mutasi"}
        },
    }


def root_fields(settings: Settings) -> dict[str, tuple[str, GraphQLField]]:
    schema = build_schema(settings)._schema
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    return {name: (kind, field) for kind, root in roots.items() if root for name, field in root.fields.items()}


def document_for(kind: str, name: str, field: GraphQLField, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    document, variables = operation(kind, name, field, {k: v for k, v in values.items() if v is not None})
    payload = get_named_type(field.type)
    if isinstance(payload, GraphQLObjectType) and "errors" in payload.fields:
        # A payload's own errors are where some refusals are: ask for their codes.
        document = document.replace("{ __typename }", "{ __typename errors { code } }")
    return document, variables


def outcome(name: str, body: dict[str, Any]) -> str:
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    assert not codes & {"INTERNAL_SERVER_ERROR", "GRAPHQL_VALIDATION_FAILED", None}, (name, body)
    if "UNAUTHENTICATED" in codes:
        return UNAUTHENTICATED
    if "FORBIDDEN" in codes:
        return FORBIDDEN
    payload = (body.get("data") or {}).get(name)
    refusals = {e["code"] for e in payload.get("errors") or []} if isinstance(payload, dict) else set()
    if "FORBIDDEN" in refusals:
        return FORBIDDEN
    return REFUSED if refusals else ALLOWED


@pytest.fixture
async def world(api: Api, resources: Resources) -> World:
    async def unit(code: str) -> str:
        async with resources.unit_of_work() as session:
            found = await session.scalar(select(Unit.id).where(Unit.code == code))
        assert found is not None, code
        return str(found)

    lurah_unit, agency_unit = "kel-31.73.02.1003", "dinas-perhubungan"
    citizen, other_citizen = await api.sign_up(), await api.sign_up()
    lurah = await staff_member(api, resources, Role.OFFICER, lurah_unit)
    admin = await staff_member(api, resources, Role.ADMIN)
    auditor = await staff_member(api, resources, Role.AUDITOR)
    people: dict[str, Citizen | None] = {
        "anonymous": None,
        "citizen": citizen,
        "other_citizen": other_citizen,
        "lurah": lurah,
        "other_lurah": await staff_member(api, resources, Role.OFFICER, "kel-31.74.02.1003"),
        "camat": await staff_member(api, resources, Role.OFFICER, "kec-31.73.02"),
        "agency": await staff_member(api, resources, Role.OFFICER, agency_unit),
        "auditor": auditor,
        "admin": admin,
    }

    async def run(who: Citizen, document: str, **variables: Any) -> dict[str, Any]:
        body = await api.gql(document, variables, token=who.token)
        assert "errors" not in body, body
        payload: dict[str, Any] = next(iter(body["data"].values()))
        assert not payload.get("errors"), payload
        return payload

    report = (await api.create_report(citizen))["report"]
    assert report["unit"]["code"] == lurah_unit
    completed = (await api.create_report(citizen))["report"]
    await complete(api, lurah, completed["id"])
    comment = await run(
        other_citizen,
        'mutation C($id: ID!) { addComment(reportId: $id, body: "Benar") { comment { id } errors { code } } }',
        id=report["id"],
    )
    await run(
        admin,
        "mutation S($input: CameraInput!) { saveCamera(input: $input) { camera { code } errors { code } } }",
        input=camera_input(camera_code := f"cam-{uuid.uuid4().hex[:8]}"),
    )
    rule = await run(
        admin,
        "mutation R($input: SetRoutingRuleInput!) { setRoutingRule(input: $input) { rule { id } errors { code } } }",
        input={"category": "flood", "areaCode": "31.73.02.1003", "handler": "KECAMATAN"},
    )
    export = await run(
        auditor,
        'mutation E { requestPerformanceExport(level: KOTA, since: "2026-01-01", until: "2026-01-31") { id } }',
    )
    return World(
        people=people,
        report_id=report["id"],
        completed_id=completed["id"],
        comment_id=comment["comment"]["id"],
        lurah_unit=lurah_unit,
        lurah_unit_id=await unit(lurah_unit),
        lurah_id=lurah.user_id,
        agency_unit=agency_unit,
        camera_code=camera_code,
        routing_rule_id=rule["rule"]["id"],
        export_id=export["id"],
    )


@pytest.fixture
def rolled_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every operation's transaction ends in a rollback, whatever it did."""
    finish = Context.finish

    async def never_commit(self: Context, *, commit: bool) -> None:
        await finish(self, commit=False)

    monkeypatch.setattr(Context, "finish", never_commit)


@pytest.fixture
async def alerts(settings: Settings) -> AsyncIterator[ReportEventHub]:
    hub = ReportEventHub(settings.database_url, channel=ALERT_CHANNEL)
    hub.start()
    yield hub
    await hub.stop()


def test_every_root_field_has_an_entry_and_every_entry_a_field(settings: Settings) -> None:
    fields = set(root_fields(settings))

    assert sorted(fields - set(EXPECTED)) == [], "fields nobody decided on: add them to EXPECTED"
    assert sorted(set(EXPECTED) - fields) == [], "EXPECTED names fields the schema no longer has"
    assert all(
        len(row) == len(ROLES) and set(row) <= {ALLOWED, REFUSED, UNAUTHENTICATED, FORBIDDEN}
        for row in EXPECTED.values()
    )


async def test_every_operation_by_every_role(
    api: Api,
    app: Starlette,
    settings: Settings,
    resources: Resources,
    world: World,
    alerts: ReportEventHub,
    rolled_back: None,
) -> None:
    schema = build_schema(settings)
    got: dict[str, str] = {}
    for name, (kind, field) in sorted(root_fields(settings).items()):
        row = ""
        for role in ROLES:
            who = world.people[role]
            document, variables = document_for(kind, name, field, arguments(world, role).get(name, {}))
            if kind == "subscription":
                context = Context(
                    request=Request({"type": "http", "headers": []}),
                    response=None,
                    resources=resources,
                    viewer=decode_access_token(settings, who.token) if who else None,
                    live=app.state.live,
                    alerts=alerts,
                )
                row += await subscription_outcome(name, schema.subscribe(document, variables, context))
            else:
                row += outcome(name, await api.gql(document, variables, token=who.token if who else None))
        got[name] = row
    differences = {
        name: f"expected {EXPECTED.get(name)} got {row}" for name, row in got.items() if EXPECTED.get(name) != row
    }
    assert differences == {}, "\n".join(f"{name}: {text}" for name, text in differences.items())


async def subscription_outcome(name: str, started: Awaitable[Any]) -> str:
    """A subscription refused says so at its first result; one allowed waits for events."""
    stream = await started
    if isinstance(stream, ExecutionResult):
        return outcome(name, {"errors": [e.formatted for e in stream.errors or []]})
    try:
        first = await asyncio.wait_for(anext(stream), timeout=0.5)
    except TimeoutError:
        return ALLOWED
    finally:
        await stream.aclose()
    return outcome(name, {"errors": [e.formatted for e in first.errors or []]})
