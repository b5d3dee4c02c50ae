"""Auditors' figures through GraphQL: the fairness rules on a scripted history, the leaderboard, time series, the
CSV export job, ratings, and the auditor who reads everything and changes nothing."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from api.extensions import AUDITOR_MUTATIONS
from api.graphql import build_schema
from domain import exports
from domain.models import Export, ExportStatus, Report, ReportStatusChange, Role
from domain.performance import FiguresCache
from domain.resources import Resources
from domain.settings import Settings
from domain.sla import JAKARTA
from tests.api.test_workflow import (
    DISPOSE,
    REOPEN,
    SUDIN_SDA_JAKBAR,
    TOMANG_OFFICE,
    act,
    change,
    staff_member,
)
from tests.factories import Api, Citizen, jpeg_with_gps
from tests.operations import operation

FIGURES = """
  received passedOn duplicates assessed completed rejected stillOpen overdueOpen completionRate responded
  respondedOnTime responseWithinSlaRate medianResponseHours p90ResponseHours completedOnTime
  completionWithinSlaRate medianCompletionHours p90CompletionHours escalated escalationRate reopened reopenRate
  ratings meanRating
"""
UNIT_PERFORMANCE = f"""
query Perf($level: PerformanceLevel!, $since: Date!, $until: Date!, $category: String) {{
  unitPerformance(level: $level, since: $since, until: $until, category: $category) {{
    unit {{ id code kind }} ranked figures {{ {FIGURES} }}
  }}
}}
"""
LEADERBOARD = f"""
query Board($level: PerformanceLevel!, $since: Date!, $until: Date!) {{
  leaderboard(level: $level, since: $since, until: $until) {{
    level since until minReports
    entries {{
      rank score unrankedReason unit {{ id code }} components {{ name weight value }} figures {{ {FIGURES} }}
    }}
  }}
}}
"""
SERIES = """
query Series($unit: ID!, $interval: TimeInterval!, $since: Date!, $until: Date!) {
  unitTimeSeries(unitId: $unit, interval: $interval, since: $since, until: $until) {
    unit { code } interval points { start figures { received completed } }
  }
}
"""
RATE = """
mutation Rate($id: ID!, $rating: Int!, $comment: String) {
  rateReport(reportId: $id, rating: $rating, comment: $comment) {
    report { id history { kind rating publicNote } } errors { code field }
  }
}
"""
REQUEST_EXPORT = """
mutation Export($level: PerformanceLevel!, $since: Date!, $until: Date!) {
  requestPerformanceExport(level: $level, since: $since, until: $until) { id status rows url }
}
"""
EXPORT = "query One($id: ID!) { performanceExport(id: $id) { id status rows url error level since until } }"


def today() -> str:
    return datetime.now(UTC).astimezone(JAKARTA).date().isoformat()


def window() -> dict[str, str]:
    day = datetime.now(UTC).astimezone(JAKARTA).date()
    return {"since": (day - timedelta(days=1)).isoformat(), "until": (day + timedelta(days=1)).isoformat()}


async def figures_of(api: Api, who: Citizen, level: str, code: str) -> dict[str, Any]:
    body = await api.gql(UNIT_PERFORMANCE, {"level": level, **window()}, token=who.token)
    assert "errors" not in body, body
    return next(u["figures"] for u in body["data"]["unitPerformance"] if u["unit"]["code"] == code)


def delta(after: dict[str, Any], before: dict[str, Any], *names: str) -> dict[str, int]:
    return {name: after[name] - before[name] for name in names}


@pytest.fixture
async def auditor(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.AUDITOR)


async def complete(api: Api, lurah: Citizen, report_id: str) -> None:
    if (await change(api, lurah, report_id, "IN_PROGRESS"))["errors"]:
        raise AssertionError("IN_PROGRESS refused")
    key = await api.upload_photo(lurah, jpeg_with_gps())
    assert (await change(api, lurah, report_id, "COMPLETED", afterPhotoKeys=[key]))["errors"] == []


COUNTS = (
    "received",
    "passedOn",
    "duplicates",
    "assessed",
    "completed",
    "rejected",
    "stillOpen",
    "responded",
    "reopened",
    "ratings",
    "escalated",
)


async def test_the_fairness_rules_on_a_scripted_history(
    api: Api, citizen: Citizen, auditor: Citizen, resources: Resources
) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    sudin = await staff_member(api, resources, Role.OFFICER, SUDIN_SDA_JAKBAR)
    kel_before = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    sudin_before = await figures_of(api, auditor, "AGENCY", SUDIN_SDA_JAKBAR)

    # 1. Outside the kelurahan's remit: passed to the agency, which completes it.
    passed = (await api.create_report(citizen))["report"]["id"]
    assert (await act(api, DISPOSE, lurah, input={"reportId": passed, "toUnit": SUDIN_SDA_JAKBAR}))["errors"] == []
    await complete(api, sudin, passed)
    # 2. Completed, rated, reopened as not fixed, completed again and rated again: the last rating counts.
    fixed = (await api.create_report(citizen))["report"]["id"]
    await complete(api, lurah, fixed)
    assert (await act(api, RATE, citizen, id=fixed, rating=4, comment="Cepat"))["errors"] == []
    assert (await act(api, REOPEN, citizen, id=fixed, reason="Sampah datang lagi"))["errors"] == []
    await complete(api, lurah, fixed)
    assert (await act(api, RATE, citizen, id=fixed, rating=2))["errors"] == []
    # 3. A duplicate, 4. a rejection, 5. one left waiting.
    duplicate = (await api.create_report(citizen))["report"]["id"]
    assert (await change(api, lurah, duplicate, "DUPLICATE", duplicateOf=fixed))["errors"] == []
    rejected = (await api.create_report(citizen))["report"]["id"]
    assert (await change(api, lurah, rejected, "REJECTED", reason="Bukan ruang publik"))["errors"] == []
    await api.create_report(citizen)

    kel = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    sudin_after = await figures_of(api, auditor, "AGENCY", SUDIN_SDA_JAKBAR)
    assert delta(kel, kel_before, *COUNTS) == {
        "received": 5,
        "passedOn": 1,  # does not count against the kelurahan...
        "duplicates": 1,
        "assessed": 3,  # ...so 5 received, 3 assessed: the fixed one, the rejected one, the waiting one
        "completed": 1,
        "rejected": 1,
        "stillOpen": 1,
        "responded": 4,  # passing a report on is a response
        "reopened": 1,
        "ratings": 1,
        "escalated": 0,
    }
    # The agency answers for the report from the moment it received it.
    assert delta(sudin_after, sudin_before, *COUNTS) == {
        "received": 1,
        "passedOn": 0,
        "duplicates": 0,
        "assessed": 1,
        "completed": 1,
        "rejected": 0,
        "stillOpen": 0,
        "responded": 1,
        "reopened": 0,
        "ratings": 0,
        "escalated": 0,
    }
    assert kel["completionRate"] == kel["completed"] / kel["assessed"]
    assert kel["reopenRate"] == kel["reopened"] / kel["completed"]
    assert kel["responseWithinSlaRate"] == kel["respondedOnTime"] / kel["received"]


async def test_ratings_are_the_reporters_once_per_completion(api: Api, citizen: Citizen, resources: Resources) -> None:
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report = (await api.create_report(citizen))["report"]["id"]
    assert [e["code"] for e in (await act(api, RATE, citizen, id=report, rating=5))["errors"]] == ["INVALID_TRANSITION"]
    await complete(api, lurah, report)
    other = await api.sign_up()
    for who, rating, code in [(other, 5, "FORBIDDEN"), (citizen, 0, "INVALID_RATING"), (citizen, 6, "INVALID_RATING")]:
        assert [e["code"] for e in (await act(api, RATE, who, id=report, rating=rating))["errors"]] == [code]
    rated = await act(api, RATE, citizen, id=report, rating=3, comment="Lumayan")
    assert rated["errors"] == []
    assert rated["report"]["history"][-1] == {"kind": "RATING", "rating": 3, "publicNote": "Lumayan"}
    again = await act(api, RATE, citizen, id=report, rating=1)
    assert [e["code"] for e in again["errors"]] == ["ALREADY_RATED"]


async def test_the_leaderboard_ranks_only_units_with_enough_reports(
    api: Api, auditor: Citizen, citizen: Citizen, settings: Settings
) -> None:
    # Tomang surely has enough reports in the window; most kelurahan have none.
    for _ in range(settings.ranking_min_reports):
        await api.create_report(citizen)
    body = await api.gql(LEADERBOARD, {"level": "KELURAHAN", **window()}, token=auditor.token)
    assert "errors" not in body, body
    board = body["data"]["leaderboard"]
    assert board["minReports"] == settings.ranking_min_reports
    entries = board["entries"]
    assert len(entries) == 267
    ranked = [e for e in entries if e["rank"] is not None]
    for entry in entries:
        enough = entry["figures"]["assessed"] >= board["minReports"]
        assert (entry["rank"] is not None) == (enough and entry["score"] is not None), entry
        assert [c["name"] for c in entry["components"]] == [
            "completion",
            "completionOnTime",
            "responseOnTime",
            "notReopened",
            "rating",
        ]
    assert TOMANG_OFFICE in [e["unit"]["code"] for e in ranked]
    assert len(ranked) < len(entries)
    # Best first; ranked units before the others; equal scores share a rank.
    assert entries[: len(ranked)] == ranked
    scores = [e["score"] for e in ranked]
    assert scores == sorted(scores, reverse=True)
    for a, b in itertools.pairwise(ranked):
        assert b["rank"] == (a["rank"] if a["score"] == b["score"] else ranked.index(b) + 1)
    assert all(e["unrankedReason"] for e in entries[len(ranked) :])


async def test_an_answer_presented_before_is_served_again_only_while_no_unit_s_figures_changed(
    api: Api, app: Starlette, auditor: Citizen, citizen: Citizen
) -> None:
    # given an auditor's two questions asked once each
    figures: FiguresCache = app.state.resources.figures
    board_variables = {"level": "KELURAHAN", **window()}
    before = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    board = await api.gql(LEADERBOARD, board_variables, token=auditor.token)
    served_again = figures.presented_again

    # when they are asked again with nothing filed: the same answers, served as presented (neither ranked nor
    # completed again)
    assert await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE) == before
    assert await api.gql(LEADERBOARD, board_variables, token=auditor.token) == board
    assert figures.presented_again == served_again + 2

    # and once a report is filed in Tomang, both answers count it
    await api.create_report(citizen)
    after = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
    assert delta(after, before, "received", "stillOpen") == {"received": 1, "stillOpen": 1}
    entries = (await api.gql(LEADERBOARD, board_variables, token=auditor.token))["data"]["leaderboard"]["entries"]
    tomang = next(e for e in entries if e["unit"]["code"] == TOMANG_OFFICE)
    assert tomang["figures"]["received"] == before["received"] + 1
    assert figures.presented_again == served_again + 2
    # another selection of the same question is completed for itself, not given the other's completion
    narrow = UNIT_PERFORMANCE.replace(f"ranked figures {{ {FIGURES} }}", "").replace("id code kind", "code")
    units = (await api.gql(narrow, board_variables, token=auditor.token))["data"]["unitPerformance"]
    assert len(units) == 267
    assert all(unit == {"unit": {"code": unit["unit"]["code"]}} for unit in units)


async def test_time_series_buckets_cover_the_period(
    api: Api, auditor: Citizen, citizen: Citizen, resources: Resources
) -> None:
    await api.create_report(citizen)
    reference = await resources.reference.get()
    unit = reference.unit_codes[TOMANG_OFFICE]
    day = datetime.now(UTC).astimezone(JAKARTA).date()
    since = (day - timedelta(days=20)).isoformat()
    for interval, buckets in (("DAY", 21), ("MONTH", None)):
        body = await api.gql(
            SERIES, {"unit": str(unit.id), "interval": interval, "since": since, "until": today()}, token=auditor.token
        )
        assert "errors" not in body, body
        points = body["data"]["unitTimeSeries"]["points"]
        if buckets is not None:
            assert len(points) == buckets
        assert points[-1]["figures"]["received"] >= 1
        whole = await figures_of(api, auditor, "KELURAHAN", TOMANG_OFFICE)
        assert whole["received"] >= points[-1]["figures"]["received"]


@pytest.mark.parametrize(
    ("query", "variables", "reason"),
    [
        (UNIT_PERFORMANCE, {"level": "KOTA", "since": "2026-02-01", "until": "2026-01-01"}, "INVALID_PERIOD"),
        (UNIT_PERFORMANCE, {"level": "KOTA", "since": "2020-01-01", "until": "2026-01-01"}, "INVALID_PERIOD"),
        (
            UNIT_PERFORMANCE,
            {"level": "KOTA", "since": "2026-01-01", "until": "2026-01-31", "category": "nope"},
            "UNKNOWN_CATEGORY",
        ),
        (SERIES, {"unit": "1", "interval": "DAY", "since": "2024-01-01", "until": "2026-06-01"}, "INVALID_PERIOD"),
    ],
)
async def test_bad_input_is_a_typed_error(api: Api, auditor: Citizen, query: str, variables: dict, reason: str) -> None:  # type: ignore[type-arg]
    body = await api.gql(query, variables, token=auditor.token)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"].get("reason")) for e in body["errors"]] == [
        ("BAD_USER_INPUT", reason)
    ]


async def test_figures_are_for_staff_only(api: Api, citizen: Citizen) -> None:
    variables = {"level": "KELURAHAN", **window()}
    for token, code in ((None, "UNAUTHENTICATED"), (citizen.token, "FORBIDDEN")):
        body = await api.gql(LEADERBOARD, variables, token=token)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    body = await api.gql(REQUEST_EXPORT, variables, token=citizen.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_csv_export_is_made_by_a_job_and_matches_the_leaderboard(
    api: Api, auditor: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    variables = {"level": "KECAMATAN", **window()}
    asked = await api.gql(REQUEST_EXPORT, variables, token=auditor.token)
    assert "errors" not in asked, asked
    export = asked["data"]["requestPerformanceExport"]
    assert (export["status"], export["url"]) == ("PENDING", None)
    await run_jobs()
    body = await api.gql(EXPORT, {"id": export["id"]}, token=auditor.token)
    made = body["data"]["performanceExport"]
    assert (made["status"], made["rows"]) == ("READY", 44)
    async with httpx.AsyncClient() as client:
        response = await client.get(made["url"])
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == exports.COLUMNS
    board = (await api.gql(LEADERBOARD, variables, token=auditor.token))["data"]["leaderboard"]["entries"]
    assert [r["unit_code"] for r in rows] == [e["unit"]["code"] for e in board]
    for row, entry in zip(rows, board, strict=True):
        assert row["received"] == str(entry["figures"]["received"])
        assert row["rank"] == ("" if entry["rank"] is None else str(entry["rank"]))
        assert (float(row["score"]) if row["score"] else None) == entry["score"]
        rate = entry["figures"]["completionRate"]
        assert (float(row["completion_rate"]) if row["completion_rate"] else None) == rate
    # Someone else's export is not there for another auditor; running the job again changes nothing.
    other = await staff_member(api, resources, Role.AUDITOR)
    assert (await api.gql(EXPORT, {"id": export["id"]}, token=other.token))["data"]["performanceExport"] is None
    async with resources.unit_of_work() as session:
        assert await exports.start_attempt(session, export_id=uuid.UUID(export["id"])) is None


async def test_a_lost_export_job_is_found_by_the_sweep(api: Api, auditor: Citizen, resources: Resources) -> None:
    asked = await api.gql(REQUEST_EXPORT, {"level": "KOTA", **window()}, token=auditor.token)
    export_id = uuid.UUID(asked["data"]["requestPerformanceExport"]["id"])
    async with resources.unit_of_work() as session:
        # As if the process died between the commit and the defer: no job, the row waits for the sweep.
        later = datetime.now(UTC) + exports.SWEEP_GRACE + timedelta(seconds=1)
        assert export_id in await exports.left_pending(session, older_than=later)
        assert export_id not in await exports.left_pending(session, older_than=datetime.now(UTC) - timedelta(hours=1))
        await session.execute(Export.__table__.update().where(Export.id == export_id).values(status=ExportStatus.READY))
        assert export_id not in await exports.left_pending(session, older_than=later)


# --- the auditor reads everything and changes nothing -------------------------------------------------------


async def test_the_auditor_is_refused_every_mutation_but_their_own_sessions(
    api: Api, auditor: Citizen, settings: Settings, resources: Resources
) -> None:
    schema = build_schema(settings)._schema
    mutation = schema.mutation_type
    assert mutation is not None
    assert set(mutation.fields) >= AUDITOR_MUTATIONS, "the allow-list names a mutation that does not exist"
    async with resources.unit_of_work() as session:
        history_before = await session.scalar(select(func.count()).select_from(ReportStatusChange))
    refused = []
    for name, field in mutation.fields.items():
        document, variables = operation("mutation", name, field)
        body = await api.gql(document, variables, token=auditor.token)
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        assert "GRAPHQL_VALIDATION_FAILED" not in codes, (name, body)
        if name in AUDITOR_MUTATIONS:
            assert "errors" not in body, (name, body)
        else:
            assert codes == ["FORBIDDEN"], (name, body)
            refused.append(name)
    assert len(refused) == len(mutation.fields) - len(AUDITOR_MUTATIONS)
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(ReportStatusChange)) == history_before


# The one read kept from auditors: licence plates are for enforcement staff only (domain/plate_reading.py).
NOT_FOR_AUDITORS = frozenset({"alertPlates"})


async def test_the_auditor_may_run_every_query(api: Api, auditor: Citizen, settings: Settings) -> None:
    schema = build_schema(settings)._schema
    for name, field in schema.query_type.fields.items():
        document, variables = operation("query", name, field)
        body = await api.gql(document, variables, token=auditor.token)
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        if name in NOT_FOR_AUDITORS:
            assert codes == ["FORBIDDEN"], (name, body)
            continue
        assert not {"FORBIDDEN", "UNAUTHENTICATED", "INTERNAL_SERVER_ERROR", "GRAPHQL_VALIDATION_FAILED"} & set(
            codes
        ), (name, body)


OVERDUE = "query { overdueByKelurahan { kelurahanCode kelurahanName reports oldestDueAt } }"


async def overdue(api: Api, auditor: Citizen) -> dict[str, dict[str, Any]]:
    body = await api.gql(OVERDUE, token=auditor.token)
    assert "errors" not in body, body
    return {row.pop("kelurahanCode"): row for row in body["data"]["overdueByKelurahan"]}


async def test_overdue_reports_per_kelurahan_are_the_open_ones_past_their_deadline(
    api: Api, citizen: Citizen, auditor: Citizen, resources: Resources
) -> None:
    # Given four new reports in Tomang: three and one day late, one due in an hour, one late but completed.
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    tomang = TOMANG_OFFICE.removeprefix("kel-")
    before = await overdue(api, auditor)
    now = datetime.now(UTC)
    due = {
        (await api.create_report(citizen))["report"]["id"]: now - late
        for late in (timedelta(days=3), timedelta(days=1), timedelta(hours=-1), timedelta(days=2))
    }
    async with resources.unit_of_work() as session:
        for report_id, due_at in due.items():
            await session.execute(
                Report.__table__.update().where(Report.id == uuid.UUID(report_id)).values(due_at=due_at)
            )
    await complete(api, lurah, list(due)[3])

    # When an auditor asks which reports are overdue where,
    after = await overdue(api, auditor)

    # then Tomang has two more, the oldest three days late, and no other kelurahan has changed.
    had = before.pop(tomang, {"kelurahanName": "Tomang", "reports": 0, "oldestDueAt": None})
    row = after.pop(tomang)
    assert (row["kelurahanName"], row["reports"]) == ("Tomang", had["reports"] + 2)
    oldest_before = [datetime.fromisoformat(had["oldestDueAt"])] if had["oldestDueAt"] else []
    assert datetime.fromisoformat(row["oldestDueAt"]) == min([now - timedelta(days=3), *oldest_before])
    assert after == before
    assert (await api.gql(OVERDUE, token=citizen.token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
