"""The authorization matrix: every query, mutation and subscription of the schema, tried by every kind of caller.

One world is made (a citizen's report in Tomang routed to its lurah, a completed one, a comment, a camera, a
routing rule, an export), then each root field is called by each role with arguments that would make it
succeed for someone allowed. Every call runs in a transaction that is rolled back, so each sees the same world
and none changes it for the next. What each role gets is compared with EXPECTED, the table below: a field the
table does not name fails the test, so no operation reaches production without someone deciding who may run it.
An allowed call must also have done what it was asked: ANSWERS says, per field, what its answer holds. An
allowed subscription must deliver an event, made after it has registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLField, GraphQLObjectType, get_named_type
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from strawberry.types import ExecutionResult

from api.context import Context
from api.graphql import build_schema
from api.live import ALERT_CHANNEL, ReportEventHub
from domain.models import AlertKind, Camera, CctvAlert, Report, Role, Unit
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
    "enforcement",  # staff who read plates, and otherwise read as auditors do and change nothing
)
# What each role gets, in the order of ROLES: A it runs and does what was asked, R it runs but its own rules
# refuse these arguments (in the payload's errors, or a bulk action's per-report errors), U refused as
# UNAUTHENTICATED, F refused as FORBIDDEN (as a GraphQL error or a payload's code).
# Public lists and the map are A for everyone and filter what they show; that is tested where they are.
#                   anon, citizen, other citizen, lurah, other lurah, camat, agency, auditor, admin, enforcement
GAUGE = {
    "polygon": [[600, 100], [680, 100], [680, 600], [600, 600]],
    "marks": [[640, 120, 1000], [640, 580, 600]],
    "frameWidth": 1280,
    "frameHeight": 720,
}
EXPECTED: dict[str, str] = {
    # --- queries
    "me": "AAAAAAAAAA",
    "report": "AAAAAAAAAA",
    "myReports": "UAAAAAAAAA",
    "categories": "AAAAAAAAAA",
    "kelurahanAt": "AAAAAAAAAA",
    "workQueue": "UFFAAAAAAF",  # enforcement: cameras and alerts, not the reports queue
    "units": "UFFAAAAAAA",
    "unitOfficers": "UFFAAAAAAA",
    "notifications": "UAAAAAAAAA",
    "routingRules": "UFFAAAAAAA",
    "mapReports": "AAAAAAAAAA",
    "reportsInBbox": "AAAAAAAAAA",
    "mapGeoJSON": "AAAAAAAAAA",
    "cityStats": "AAAAAAAAAA",
    "cameras": "UFFAAAAAAA",
    "cctvAlerts": "UFFAAAAAAA",
    "wallStats": "UFFAAAAAAA",
    "floodgateLevels": "UFFAAAAAAA",
    "unitPerformance": "UFFAAAAAAA",
    "leaderboard": "UFFAAAAAAA",
    "unitTimeSeries": "UFFAAAAAAA",
    "overdueByKelurahan": "UFFAAAAAAA",
    "performanceExport": "UFFAAAAAAA",
    "abuseFlags": "UFFFFFFAAF",
    "similarReports": "AAAAAAAAAA",
    "nearbyReports": "AAAAAAAAAA",
    "trendingReports": "AAAAAAAAAA",
    "responseTemplates": "UFFAAAAAAA",
    "alertPlates": "UFFFFFFFFA",  # licence plates: enforcement staff only, every read audited
    "floodgates": "AAAAAAAAAA",  # a gate's Siaga levels are published information
    "floodgate": "AAAAAAAAAA",
    "cameraGauge": "UFFAAAAAAA",  # staff read how a camera is calibrated, as they read its zones; admins draw it
    # --- mutations
    "signUp": "AAAAAAAFAF",  # a new account is a change, and auditors change nothing (api/extensions.py)
    "logIn": "AAAAAAAAAA",
    "refreshToken": "AAAAAAAAAA",
    "logOut": "AAAAAAAAAA",
    "deleteAccount": "UAAFFFFFFF",
    "requestPhotoUpload": "UAAAAAAFAF",
    "createReport": "UAAAAAAFAF",
    "changeReportStatus": "UFFAFAFFAF",
    "disposeReport": "UFFAFAFFAF",
    "assignReport": "UFFAFAFFAF",
    "bulkChangeReportStatus": "UFFAFAFFAF",  # F for outsiders: each report of theirs is FORBIDDEN
    "bulkAssignReports": "UFFAFAFFAF",
    "reopenReport": "UAFFFFFFFF",
    "rateReport": "UAFFFFFFFF",
    "followReport": "UAAAAAAFAF",
    "registerDevice": "UAAAAAAAAA",
    "unregisterDevice": "UAAAAAAAAA",
    "markNotificationsRead": "UAAAAAAAAA",
    "setRoutingRule": "UFFFFFFFAF",
    "deleteRoutingRule": "UFFFFFFFAF",
    "saveCamera": "UFFFFFFFAF",
    "setCameraActive": "UFFFFFFFAF",
    "resetCameraReference": "UFFFFFFFAF",
    "setAlertRule": "UFFFFFFFAF",
    "saveCameraZone": "UFFFFFFFAF",
    "deleteCameraZone": "UFFFFFFFAF",
    "saveWatchRule": "UFFFFFFFAF",
    "deleteWatchRule": "UFFFFFFFAF",
    "saveFloodgate": "UFFFFFFFAF",
    "saveCameraGauge": "UFFFFFFFAF",
    "deleteCameraGauge": "UFFFFFFFAF",
    "requestPerformanceExport": "UFFAAAAAAA",
    "supportReport": "URAAAAAFAF",  # R: no supporting your own report
    "addComment": "UAAAAAAFAF",
    "hideComment": "UFFFFFFFAF",
    "flagReport": "UAAAAAAFAF",
    "flagComment": "UAAAAAAFAF",
    "hideReport": "UFFFFFFFAF",
    "closeStaffAccount": "UFFFFFFFAF",
    "moveStaffAccount": "UFFFFFFFAF",
    "verifyCompletion": "UFFFFAFFFF",  # only the supervisor: the camat's office over the kelurahan that completed it
    "setCategoryVerification": "UFFFFFFFAF",
    "saveResponseTemplate": "UFFFFFFFAF",
    "archiveResponseTemplate": "UFFFFFFFAF",
    # --- subscriptions
    "reportEvents": "AAAAAAAAAA",
    "cctvAlertRaised": "UFFAAAAAAA",
}
ALLOWED, REFUSED, UNAUTHENTICATED, FORBIDDEN = "A", "R", "U", "F"
FAILED = "E"  # an error that is no refusal: never expected
PASSWORD = "correct horse battery"
# Where the world's report is: in Tomang, but not where the other tests file theirs, so the lists that answer
# "nearest first, at most a few" (similarReports) have it first.
SPOT = (TOMANG[0] + 0.0004, TOMANG[1] + 0.0004)
# A bound on how long a subscription that never answers may hang the test, not a wait: the event is made first.
EVENT_TIMEOUT_S = 10.0
Check = Callable[[Any, "World", str], bool]


def ids(items: list[dict[str, Any]], *path: str) -> set[Any]:
    """The value at ``path`` in each item: ids(edges, "node", "id")."""
    found = set()
    for item in items:
        value: Any = item
        for step in path:
            value = value[step]
        found.add(value)
    return found


# What an allowed call's answer holds, per field: the selection asked for and a check of the answer (the field's
# value), the world and the caller's role. The calls are rolled back, so a mutation is judged by the object it
# answers with, read back in its own transaction.
ANSWERS: dict[str, tuple[str, Check]] = {
    # --- queries
    "me": ("id role", lambda a, w, r: a is None if r == "anonymous" else a["id"] == w.person(r).user_id),
    "report": ("id unit { code }", lambda a, w, r: (a["id"], a["unit"]["code"]) == (w.report_id, w.lurah_unit)),
    "myReports": (
        "edges { node { id } }",
        lambda a, w, r: ({w.report_id, w.completed_id} <= ids(a["edges"], "node", "id")) == (r == "citizen"),
    ),
    "categories": ("code", lambda a, w, r: "garbage" in ids(a, "code")),
    "kelurahanAt": ("kelurahan { code }", lambda a, w, r: a["kelurahan"]["code"] == "31.73.02.1003"),
    "workQueue": (
        "edges { node { id } }",
        lambda a, w, r: (w.report_id in ids(a["edges"], "node", "id")) == (r in {"lurah", "camat", "auditor", "admin"}),
    ),
    "units": ("code", lambda a, w, r: {w.lurah_unit, w.agency_unit} <= ids(a, "code")),
    "unitOfficers": ("id", lambda a, w, r: w.lurah_id in ids(a, "id")),
    "notifications": (
        "unreadCount edges { node { reportId } }",
        lambda a, w, r: (w.report_id in ids(a["edges"], "node", "reportId")) == (r in {"citizen", "lurah"}),
    ),
    "routingRules": ("id", lambda a, w, r: w.routing_rule_id in ids(a, "id")),
    "mapReports": ("points { id }", lambda a, w, r: w.report_id in ids(a["points"], "id")),
    "reportsInBbox": ("id", lambda a, w, r: w.report_id in ids(a, "id")),
    "mapGeoJSON": ("", lambda a, w, r: w.report_id in ids(a["features"], "id")),
    "cityStats": ("key total", lambda a, w, r: sum(g["total"] for g in a) >= 2),
    "cameras": ("code", lambda a, w, r: w.camera_code in ids(a, "code")),
    "cctvAlerts": ("id cameraCode", lambda a, w, r: w.alert_id in ids(a, "id")),
    "alertPlates": ("track text", lambda a, w, r: a == []),  # the world's alert read no plate
    "floodgates": ("name", lambda a, w, r: len(a) >= 1),  # the world's gate, or those of other tests before it
    "floodgate": ("name siaga1Cm", lambda a, w, r: (a["name"], a["siaga1Cm"]) == (w.floodgate, 950)),
    "cameraGauge": (
        "cameraCode floodgateName marks",
        lambda a, w, r: (
            (a["cameraCode"], a["floodgateName"], a["marks"]) == (w.camera_code, w.floodgate, GAUGE["marks"])
        ),
    ),
    "wallStats": ("open byUnit { key }", lambda a, w, r: a["open"] >= 1 and w.lurah_unit in ids(a["byUnit"], "key")),
    "floodgateLevels": ("camera { code }", lambda a, w, r: w.camera_code in ids(a, "camera", "code")),
    "unitPerformance": (
        "unit { code } figures { received }",
        lambda a, w, r: any(u["unit"]["code"] == w.lurah_unit and u["figures"]["received"] >= 2 for u in a),
    ),
    "leaderboard": ("entries { unit { code } }", lambda a, w, r: w.lurah_unit in ids(a["entries"], "unit", "code")),
    "unitTimeSeries": (
        "unit { code } points { figures { received } }",
        lambda a, w, r: a["unit"]["code"] == w.lurah_unit and sum(p["figures"]["received"] for p in a["points"]) >= 2,
    ),
    "overdueByKelurahan": (
        "kelurahanCode reports",
        lambda a, w, r: any(k["kelurahanCode"] == "31.73.02.1003" and k["reports"] >= 1 for k in a),
    ),
    "performanceExport": (
        "id",
        lambda a, w, r: (a is not None and a["id"] == w.export_id) == (r in {"auditor", "admin"}),
    ),
    "abuseFlags": ("reportId", lambda a, w, r: w.report_id in ids(a, "reportId")),
    "similarReports": ("report { id }", lambda a, w, r: w.report_id in ids(a, "report", "id")),
    "nearbyReports": (
        "edges { node { report { id } } }",
        lambda a, w, r: w.report_id in ids(a["edges"], "node", "report", "id"),
    ),
    "trendingReports": ("report { id }", lambda a, w, r: w.report_id in ids(a, "report", "id")),
    "responseTemplates": ("id", lambda a, w, r: w.template_id in ids(a, "id")),
    # --- mutations
    "signUp": ("session { user { role } }", lambda a, w, r: a["session"]["user"]["role"] == "CITIZEN"),
    "logIn": ("session { user { id } }", lambda a, w, r: a["session"]["user"]["id"] == w.person(r).user_id),
    "refreshToken": ("session { user { id } }", lambda a, w, r: a["session"]["user"]["id"] == w.person(r).user_id),
    "logOut": ("ok", lambda a, w, r: a["ok"] is True),
    "deleteAccount": ("deleted", lambda a, w, r: a["deleted"] is True),
    "requestPhotoUpload": (
        "upload { key maxBytes }",
        lambda a, w, r: a["upload"]["key"].startswith(f"uploads/{w.person(r).user_id}/"),
    ),
    "createReport": ("report { unit { code } }", lambda a, w, r: a["report"]["unit"]["code"] == w.lurah_unit),
    "changeReportStatus": (
        "report { id status }",
        lambda a, w, r: (a["report"]["id"], a["report"]["status"]) == (w.report_id, "IN_PROGRESS"),
    ),
    "disposeReport": ("report { unit { code } }", lambda a, w, r: a["report"]["unit"]["code"] == w.agency_unit),
    "assignReport": ("report { assignee { displayName } }", lambda a, w, r: a["report"]["assignee"] is not None),
    "bulkChangeReportStatus": (
        "results { reportId report { status } errors { code } }",
        lambda a, w, r: (
            [(x["reportId"], x["report"]["status"]) for x in a["results"]] == [(w.report_id, "IN_PROGRESS")]
        ),
    ),
    "bulkAssignReports": (
        "results { reportId report { assignee { displayName } } errors { code } }",
        lambda a, w, r: (
            [x["reportId"] for x in a["results"]] == [w.report_id] and a["results"][0]["report"]["assignee"] is not None
        ),
    ),
    "reopenReport": ("report { id status }", lambda a, w, r: a["report"]["status"] == "REOPENED"),
    "rateReport": ("report { history { rating } }", lambda a, w, r: 4 in ids(a["report"]["history"], "rating")),
    "followReport": ("report { id }", lambda a, w, r: a["report"]["id"] == w.report_id),
    "registerDevice": ("registered", lambda a, w, r: a["registered"] is True),
    "unregisterDevice": ("", lambda a, w, r: a is True),
    # The camat has the request to verify the world's completion.
    "markNotificationsRead": ("", lambda a, w, r: (a > 0) == (r in {"citizen", "lurah", "camat"})),
    "setRoutingRule": (
        "rule { areaCode handler }",
        lambda a, w, r: (a["rule"]["areaCode"], a["rule"]["handler"]) == ("31.73.02", "KECAMATAN"),
    ),
    "deleteRoutingRule": ("rule { id }", lambda a, w, r: a["rule"] is None),
    "saveCamera": ("created camera { active }", lambda a, w, r: a["created"] is True),
    "setCameraActive": (
        "camera { code active }",
        lambda a, w, r: (a["camera"]["code"], a["camera"]["active"]) == (w.camera_code, True),
    ),
    "resetCameraReference": ("camera { code }", lambda a, w, r: a["camera"]["code"] == w.camera_code),
    "setAlertRule": (
        "rule { cameraCode crowdAbovePersons }",
        lambda a, w, r: (a["rule"]["cameraCode"], a["rule"]["crowdAbovePersons"]) == (w.camera_code, 30),
    ),
    "saveCameraZone": (
        "zone { name purpose }",
        lambda a, w, r: (a["zone"]["name"], a["zone"]["purpose"]) == ("kerb", "NO_STOPPING"),
    ),
    "deleteCameraZone": ("zone { name }", lambda a, w, r: a["zone"] is None),
    "saveWatchRule": (
        "rule { zoneName kind }",
        lambda a, w, r: (a["rule"]["zoneName"], a["rule"]["kind"]) == ("lane", "BUSWAY"),
    ),
    "deleteWatchRule": ("rule { kind }", lambda a, w, r: a["rule"] is None),
    "saveFloodgate": ("floodgate { name siaga1Cm }", lambda a, w, r: a["floodgate"]["siaga1Cm"] == 950),
    "saveCameraGauge": (
        "gauge { cameraCode floodgateName }",
        lambda a, w, r: (a["gauge"]["cameraCode"], a["gauge"]["floodgateName"]) == (w.camera_code, w.floodgate),
    ),
    "deleteCameraGauge": ("gauge { cameraCode }", lambda a, w, r: a["gauge"] is None),
    "requestPerformanceExport": ("status level", lambda a, w, r: (a["status"], a["level"]) == ("PENDING", "KELURAHAN")),
    "supportReport": (
        "report { supportCount supportedByMe }",
        lambda a, w, r: a["report"]["supportedByMe"] is True and a["report"]["supportCount"] == 1,
    ),
    "addComment": (
        "comment { body author { displayName } }",
        lambda a, w, r: a["comment"]["body"] == "Masih ada di sana",
    ),
    "hideComment": ("comment { hidden hiddenReason }", lambda a, w, r: a["comment"]["hidden"] is True),
    "flagReport": ("flagged", lambda a, w, r: a["flagged"] is True),
    "flagComment": ("flagged", lambda a, w, r: a["flagged"] is True),
    "hideReport": ("report { hidden hiddenReason }", lambda a, w, r: a["report"]["hidden"] is True),
    "closeStaffAccount": (
        "account { id closedAt } errors { code }",
        lambda a, w, r: a["errors"] == [] and a["account"]["id"] == w.lurah_id and a["account"]["closedAt"] is not None,
    ),
    "moveStaffAccount": (
        "account { id role unit { code } } errors { code }",
        lambda a, w, r: (
            a["errors"] == []
            and (a["account"]["id"], a["account"]["role"], a["account"]["unit"]["code"])
            == (w.lurah_id, "OFFICER", w.agency_unit)
        ),
    ),
    "verifyCompletion": (
        "report { id status }",
        lambda a, w, r: (a["report"]["id"], a["report"]["status"]) == (w.verifying_id, "COMPLETED"),
    ),
    "setCategoryVerification": (
        "category { code verificationRequired }",
        lambda a, w, r: a["category"] == {"code": "unlicensed-ads", "verificationRequired": True},
    ),
    "saveResponseTemplate": (
        "template { title category { code } }",
        lambda a, w, r: (a["template"]["title"], a["template"]["category"]["code"]) == ("Sudah diperbaiki", "flood"),
    ),
    "archiveResponseTemplate": (
        "template { id active }",
        lambda a, w, r: (a["template"]["id"], a["template"]["active"]) == (w.template_id, False),
    ),
    # --- subscriptions: the event made after subscribing (World.event_id)
    "reportEvents": ("kind report { id }", lambda a, w, r: (a["kind"], a["report"]["id"]) == ("CREATED", w.event_id)),
    "cctvAlertRaised": ("id cameraCode", lambda a, w, r: (a["id"], a["cameraCode"]) == (w.event_id, w.camera_code)),
}


@dataclass
class World:
    people: dict[str, Citizen | None]
    report_id: str
    completed_id: str
    verifying_id: str  # completed by the lurah in a verified category: waiting for the camat
    template_id: str
    comment_id: str
    lurah_unit: str
    lurah_unit_id: str
    lurah_id: str
    agency_unit: str
    camera_code: str
    routing_rule_id: str
    export_id: str
    alert_id: str
    devices: dict[str, str]  # a push token each person has registered
    filer: Citizen  # files the reports that the subscriptions are sent
    floodgate: str  # a gate whose level the camera reads on a gauge
    made_at: datetime  # before any of the above: the queues are asked for what changed since
    event_id: str = ""  # the report or alert made for the subscription being tried

    def person(self, role: str) -> Citizen:
        """The caller, or for anonymous calls that name someone (logIn, refreshToken) the citizen."""
        who = self.people[role] or self.people["citizen"]
        assert who is not None
        return who


def arguments(world: World, role: str) -> dict[str, dict[str, Any]]:
    """For each field, the arguments someone allowed would send; the rest of its required ones get any value."""
    me = world.person(role)
    period = {"level": "KELURAHAN", "since": "2026-01-01", "until": "2026-12-31"}
    bbox = {"west": TOMANG[1] - 0.05, "south": TOMANG[0] - 0.05, "east": TOMANG[1] + 0.05, "north": TOMANG[0] + 0.05}
    at = {"lat": SPOT[0], "lon": SPOT[1]}
    return {
        "report": {"id": world.report_id},
        "kelurahanAt": at,
        "unitOfficers": {"unit": world.lurah_unit},
        # Only what changed since the world was made: a city-wide queue holds the suite's other reports too.
        "workQueue": {"first": 100, "filter": {"changedSince": world.made_at.isoformat()}},
        "myReports": {"first": 100},
        "notifications": {"first": 100},
        "mapReports": {"bbox": bbox, "zoom": 16},
        "reportsInBbox": {"bbox": bbox, "first": 100},
        "mapGeoJSON": {"bbox": bbox, "first": 100},
        "cctvAlerts": {"first": 100},
        "alertPlates": {"alertId": world.alert_id},
        "floodgates": {"first": 100},
        "floodgate": {"name": world.floodgate},
        "cameraGauge": {"cameraCode": world.camera_code},
        "abuseFlags": {"first": 100},
        "trendingReports": {"first": 50},
        "nearbyReports": {**at, "first": 100},
        "unitPerformance": period,
        "leaderboard": period,
        "unitTimeSeries": {"unitId": world.lurah_unit_id, "interval": "DAY", **period} | {"level": None},
        "performanceExport": {"id": world.export_id},
        "similarReports": {**at, "category": "garbage"},
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
        "bulkChangeReportStatus": {
            "input": {"reports": [{"reportId": world.report_id, "expectedStatus": "WAITING"}], "to": "IN_PROGRESS"}
        },
        "bulkAssignReports": {
            "input": {
                "reports": [{"reportId": world.report_id, "expectedStatus": "WAITING"}],
                "assignee": world.lurah_id,
            }
        },
        "reopenReport": {"reportId": world.completed_id, "reason": "Masih belum diperbaiki"},
        "rateReport": {"reportId": world.completed_id, "rating": 4},
        "followReport": {"reportId": world.report_id},
        "registerDevice": {"token": f"device-{uuid.uuid4()}", "platform": "ANDROID"},
        "unregisterDevice": {"token": world.devices.get(role, "")},
        "setRoutingRule": {"input": {"category": "garbage", "areaCode": "31.73.02", "handler": "KECAMATAN"}},
        "deleteRoutingRule": {"id": world.routing_rule_id},
        "saveCamera": {"input": camera_input(f"cam-{uuid.uuid4().hex[:8]}")},
        "setCameraActive": {"code": world.camera_code, "active": True},
        "resetCameraReference": {"code": world.camera_code},
        "setAlertRule": {"input": {"cameraCode": world.camera_code, "crowdAbovePersons": 30}},
        "saveCameraZone": {
            "input": {
                "cameraCode": world.camera_code,
                "name": "kerb",
                "purpose": "NO_STOPPING",
                "polygon": [[0, 360], [640, 360], [640, 720], [0, 720]],
                "frameWidth": 1280,
                "frameHeight": 720,
            }
        },
        "deleteCameraZone": {"cameraCode": world.camera_code, "name": "lane"},
        "saveWatchRule": {"input": {"cameraCode": world.camera_code, "zoneName": "lane", "kind": "BUSWAY"}},
        "deleteWatchRule": {"cameraCode": world.camera_code, "kind": "CROWD"},
        "saveFloodgate": {"input": {"name": world.floodgate, "siaga3Cm": 750, "siaga2Cm": 850, "siaga1Cm": 950}},
        "saveCameraGauge": {"input": {**GAUGE, "cameraCode": world.camera_code, "floodgateName": world.floodgate}},
        "deleteCameraGauge": {"cameraCode": world.camera_code},
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
        "verifyCompletion": {"input": {"reportId": world.verifying_id, "accept": True}},
        "setCategoryVerification": {"category": "unlicensed-ads", "required": True},
        "saveResponseTemplate": {
            "input": {
                "category": "flood",
                "status": "COMPLETED",
                "title": "Sudah diperbaiki",
                "bodyId": "Saluran bersih",
            }
        },
        "archiveResponseTemplate": {"id": world.template_id},
    }


def root_fields(settings: Settings) -> dict[str, tuple[str, GraphQLField]]:
    schema = build_schema(settings)._schema
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    return {name: (kind, field) for kind, root in roots.items() if root for name, field in root.fields.items()}


def document_for(kind: str, name: str, field: GraphQLField, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    document, variables = operation(kind, name, field, {k: v for k, v in values.items() if v is not None})
    payload = get_named_type(field.type)
    selection = ANSWERS[name][0]
    if isinstance(payload, GraphQLObjectType) and "errors" in payload.fields:
        # A payload's own errors are where some refusals are: ask for their codes.
        selection += " errors { code }"
    return document.replace("{ __typename }", f"{{ __typename {selection} }}"), variables


def outcome(name: str, body: dict[str, Any]) -> str:
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    assert not codes & {"INTERNAL_SERVER_ERROR", "GRAPHQL_VALIDATION_FAILED", None}, (name, body)
    if "UNAUTHENTICATED" in codes:
        return UNAUTHENTICATED
    if "FORBIDDEN" in codes:
        return FORBIDDEN
    if codes:
        return FAILED
    payload = (body.get("data") or {}).get(name)
    refusals = {e["code"] for e in payload.get("errors") or []} if isinstance(payload, dict) else set()
    if isinstance(payload, dict):
        # A bulk action's refusals are per report.
        refusals |= {e["code"] for result in payload.get("results") or [] for e in result.get("errors") or []}
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

    made_at = datetime.now(UTC)
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
        "enforcement": await staff_member(api, resources, Role.ENFORCEMENT),
    }

    async def run(who: Citizen, document: str, **variables: Any) -> dict[str, Any]:
        body = await api.gql(document, variables, token=who.token)
        assert "errors" not in body, body
        payload: dict[str, Any] = next(iter(body["data"].values()))
        assert not payload.get("errors"), payload
        return payload

    report = (await api.create_report(citizen, lat=SPOT[0], lon=SPOT[1]))["report"]
    assert report["unit"]["code"] == lurah_unit
    completed = (await api.create_report(citizen))["report"]
    await complete(api, lurah, completed["id"])
    verifying = (await api.create_report(citizen, category="street-vendors"))["report"]
    await complete(api, lurah, verifying["id"])
    template = await run(
        admin,
        "mutation T($input: ResponseTemplateInput!) { saveResponseTemplate(input: $input) {"
        " template { id } errors { code } } }",
        input={"category": "fire", "status": "COORDINATION", "title": f"Uji {uuid.uuid4().hex[:8]}", "bodyId": "x"},
    )
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
    # A busway lane on the camera's view and a crowd rule on its whole view, for the calls that remove them.
    await run(
        admin,
        "mutation Z($input: CameraZoneInput!) { saveCameraZone(input: $input) { zone { name } errors { code } } }",
        input={
            "cameraCode": camera_code,
            "name": "lane",
            "purpose": "BUSWAY",
            "polygon": [[640, 360], [1280, 360], [1280, 720], [640, 720]],
            "frameWidth": 1280,
            "frameHeight": 720,
        },
    )
    await run(
        admin,
        "mutation W($input: WatchRuleInput!) { saveWatchRule(input: $input) { rule { kind } errors { code } } }",
        input={"cameraCode": camera_code, "kind": "CROWD", "threshold": 30},
    )
    # A floodgate the camera reads on a staff gauge, for the calls that redraw and remove the gauge.
    floodgate = f"Pintu Air Uji {uuid.uuid4().hex[:8]}"
    await run(
        admin,
        "mutation F($input: FloodgateInput!) { saveFloodgate(input: $input) { floodgate { name } errors { code } } }",
        input={"name": floodgate, "siaga3Cm": 750, "siaga2Cm": 850, "siaga1Cm": 950},
    )
    await run(
        admin,
        "mutation G($input: CameraGaugeInput!) { saveCameraGauge(input: $input) { gauge { marks } errors { code } } }",
        input={**GAUGE, "cameraCode": camera_code, "floodgateName": floodgate},
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
    await run(
        await api.sign_up(),
        'mutation F($id: ID!) { flagReport(reportId: $id, reason: "Spam") { flagged errors { code } } }',
        id=report["id"],
    )
    devices = {role: f"device-{uuid.uuid4()}" for role, who in people.items() if who is not None}
    for role, token in devices.items():
        await run(
            people[role],  # type: ignore[arg-type]
            "mutation D($t: String!) { registerDevice(token: $t, platform: ANDROID) { registered errors { code } } }",
            t=token,
        )
    async with resources.unit_of_work() as session:
        # Late, so that overdueByKelurahan has it to show.
        await session.execute(
            update(Report)
            .where(Report.id == uuid.UUID(report["id"]))
            .values(due_at=datetime.now(UTC) - timedelta(days=1))
        )
        alert = CctvAlert(camera_id=await camera_id(session, camera_code), kind=AlertKind.CROWD, value=41, threshold=30)
        session.add(alert)
        await session.flush()
    return World(
        made_at=made_at,
        people=people,
        report_id=report["id"],
        completed_id=completed["id"],
        verifying_id=verifying["id"],
        template_id=template["template"]["id"],
        comment_id=comment["comment"]["id"],
        lurah_unit=lurah_unit,
        lurah_unit_id=await unit(lurah_unit),
        lurah_id=lurah.user_id,
        agency_unit=agency_unit,
        camera_code=camera_code,
        routing_rule_id=rule["rule"]["id"],
        export_id=export["id"],
        alert_id=str(alert.id),
        devices=devices,
        filer=await api.sign_up(),
        floodgate=floodgate,
    )


async def camera_id(session: AsyncSession, code: str) -> int:
    found = await session.scalar(select(Camera.id).where(Camera.code == code))
    assert found is not None, code
    return found


@dataclass
class Transactions:
    committing: bool = False

    @contextlib.contextmanager
    def committed(self) -> Iterator[None]:
        self.committing = True
        try:
            yield
        finally:
            self.committing = False


@pytest.fixture
def rolled_back(monkeypatch: pytest.MonkeyPatch) -> Transactions:
    """Every operation's transaction ends in a rollback, whatever it did, except inside ``committed()``: a
    report filed for a subscription to hear of must be committed, since NOTIFY is sent only on commit."""
    transactions = Transactions()
    finish = Context.finish

    async def commit_only_when_asked(self: Context, *, commit: bool) -> None:
        await finish(self, commit=commit and transactions.committing)

    monkeypatch.setattr(Context, "finish", commit_only_when_asked)
    return transactions


class Registrations:
    """Set when a subscription registers with one of the hubs: from then on it hears every event sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *hubs: ReportEventHub) -> None:
        self.registered = asyncio.Event()
        for hub in hubs:
            monkeypatch.setattr(hub, "subscribe", self._signalling(hub.subscribe))

    def _signalling(
        self, subscribe: Callable[[], AbstractAsyncContextManager[asyncio.Queue[dict[str, Any]]]]
    ) -> Callable[[], AbstractAsyncContextManager[asyncio.Queue[dict[str, Any]]]]:
        @contextlib.asynccontextmanager
        async def signalling() -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
            async with subscribe() as queue:
                self.registered.set()
                yield queue

        return signalling


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
    assert sorted(fields ^ set(ANSWERS)) == [], "ANSWERS must say what each field's answer holds, and only theirs"
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
    rolled_back: Transactions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = build_schema(settings)
    registrations = Registrations(monkeypatch, app.state.live, alerts)

    async def file_a_report() -> str:
        with rolled_back.committed():
            return str((await api.create_report(world.filer))["report"]["id"])

    async def raise_an_alert() -> str:
        async with resources.unit_of_work() as session:
            alert = CctvAlert(
                camera_id=await camera_id(session, world.camera_code), kind=AlertKind.CROWD, value=45, threshold=30
            )
            session.add(alert)
            await session.flush()
        return str(alert.id)

    triggers = {"reportEvents": file_a_report, "cctvAlertRaised": raise_an_alert}
    got: dict[str, str] = {}
    wrong: list[str] = []
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
                stream = schema.subscribe(document, variables, context)
                body = await first_event(stream, registrations.registered, world, triggers[name])
            else:
                body = await api.gql(document, variables, token=who.token if who else None)
            row += outcome(name, body)
            if row[-1] == FAILED:
                wrong.append(f"{name} by {role} failed: {body['errors']!r:.300}")
            if row[-1] == ALLOWED and not holds(name, body["data"][name], world, role):
                wrong.append(f"{name} by {role}, allowed but not done as asked: {body['data'][name]!r:.300}")
        got[name] = row
    differences = {
        name: f"expected {EXPECTED.get(name)} got {row}" for name, row in got.items() if EXPECTED.get(name) != row
    }
    problems = [f"{name}: {text}" for name, text in differences.items()] + wrong
    assert not problems, "\n".join(problems)


def holds(name: str, answer: Any, world: World, role: str) -> bool:
    try:
        return ANSWERS[name][1](answer, world, role)
    except (KeyError, TypeError):  # an answer without the parts asked for
        return False


async def first_event(
    started: Awaitable[Any], registered: asyncio.Event, world: World, trigger: Callable[[], Awaitable[str]]
) -> dict[str, Any]:
    """A subscription refused says so at its first result. One allowed registers with its hub: then an event is
    made (its id in world.event_id) and the subscription's first result must be that event."""
    stream = await started
    if isinstance(stream, ExecutionResult):
        return {"errors": [e.formatted for e in stream.errors or []]}
    registered.clear()
    first = asyncio.ensure_future(anext(stream))
    waiting = asyncio.ensure_future(registered.wait())
    try:
        await asyncio.wait({first, waiting}, timeout=EVENT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        if not first.done():
            if not registered.is_set():
                raise TimeoutError
            world.event_id = await trigger()
        result = await asyncio.wait_for(first, timeout=EVENT_TIMEOUT_S)
    except TimeoutError:
        # Never registered, or registered and did not pass the event on.
        return {"errors": [{"message": f"no event in {EVENT_TIMEOUT_S} s", "extensions": {"code": "NO_EVENT"}}]}
    finally:
        waiting.cancel()
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await first
        await stream.aclose()
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return body
