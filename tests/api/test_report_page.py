"""A report's page is read in one statement (domain/reports.report_page) and says what the separate queries said."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from starlette.applications import Starlette

from domain.models import Role
from domain.resources import Resources
from tests.api.test_community import COMMENT, HIDE, SUPPORT
from tests.api.test_workflow import act, change, staff_member
from tests.factories import TOMANG, Api, Citizen, jpeg_with_gps

FIELDS = """
  id status description supportCount reporter { displayName }
  photos { id status url thumbnailUrl width height errorCode }
  afterPhotos { id status url thumbnailUrl width height }
  history { kind fromStatus toStatus at publicNote internalNote escalationLevel rating toUnit { code } }
  comments(first: 2) {
    edges { cursor node { id body hidden hiddenReason byStaff createdAt } } pageInfo { hasNextPage endCursor }
  }
"""
PAGE = f"query Page($id: ID!) {{ report(id: $id) {{ {FIELDS} }} }}"
# The same fields through a fragment, as the apps ask them.
FRAGMENT = f"fragment F on Report {{ {FIELDS} }} query Page($id: ID!) {{ report(id: $id) {{ ...F }} }}"
# myReports presents the same Report type without reading its page in one statement: each field's own query.
MINE = f"query {{ myReports(first: 1) {{ edges {{ node {{ {FIELDS} }} }} }} }}"


def unsigned(value: Any) -> Any:
    """The answer with each photo URL's signature dropped: it names the second it was signed in."""
    if isinstance(value, dict):
        return {k: v.split("?")[0] if k in {"url", "thumbnailUrl"} and v else unsigned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsigned(v) for v in value]
    return value


@contextmanager
def statements(app: Starlette) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = app.state.resources.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def a_busy_report(
    api: Api, resources: Resources, citizen: Citizen, run_jobs: Callable[[], Awaitable[None]]
) -> tuple[str, Citizen]:
    """A report with two processed photos, an officer's after-photo, a history of moves, three supporters and
    three comments, one of them hidden."""
    keys = [await api.upload_photo(citizen, jpeg_with_gps()) for _ in range(2)]
    report_id = (await api.create_report(citizen, photo_keys=keys, lat=TOMANG[0], lon=TOMANG[1]))["report"]["id"]
    for _ in range(3):
        supported = await act(api, SUPPORT, await api.sign_up(), id=report_id, on=True)
        assert supported["errors"] == [], supported
    lurah = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    await change(api, lurah, report_id, "IN_PROGRESS", publicNote="Sedang dikerjakan")
    after = await api.upload_photo(lurah, jpeg_with_gps())
    await change(api, lurah, report_id, "COMPLETED", publicNote="Selesai", afterPhotoKeys=[after])
    await run_jobs()
    comments = [(await act(api, COMMENT, citizen, id=report_id, body=f"Komentar {n}"))["comment"] for n in range(3)]
    admin = await staff_member(api, resources, Role.ADMIN)
    await act(api, HIDE, admin, id=comments[1]["id"], reason="Kasar")
    return report_id, lurah


async def test_the_page_is_one_statement_and_says_what_each_fields_query_says(
    app: Starlette, api: Api, resources: Resources, citizen: Citizen, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    report_id, lurah = await a_busy_report(api, resources, citizen, run_jobs)

    for who in (None, citizen, lurah):  # the public, the reporter (privileged), an officer (staff)
        token = who.token if who else None
        with statements(app) as seen:
            page = await api.gql(PAGE, {"id": report_id}, token=token)
        assert "errors" not in page, page
        # one statement for the report and its page; the comments' authors are asked by the byStaff field
        assert len([s for s in seen if "FROM reports" in s]) == 1, seen
        assert [s for s in seen if "FROM photos" in s and "json_agg" not in s] == []
        assert [s for s in seen if "FROM report_status_changes" in s and "json_agg" not in s] == []
        assert [s for s in seen if "FROM report_comments" in s and "json_agg" not in s] == []
        with statements(app) as seen:
            through_fragment = await api.gql(FRAGMENT, {"id": report_id}, token=token)
        assert len([s for s in seen if "FROM reports" in s]) == 1, seen
        assert unsigned(through_fragment) == unsigned(page)
        if who is citizen:
            mine = await api.gql(MINE, token=token)
            assert unsigned(mine["data"]["myReports"]["edges"][0]["node"]) == unsigned(page["data"]["report"])

    # the comments' page size from a variable is read along too (the apps send a literal; a client may not)
    with statements(app) as seen:
        by_variable = await api.gql(
            "query Page($id: ID!, $n: Int!) { report(id: $id) { comments(first: $n) { pageInfo { hasNextPage } } } }",
            {"id": report_id, "n": 2},
        )
    assert by_variable == {"data": {"report": {"comments": {"pageInfo": {"hasNextPage": True}}}}}
    assert len(seen) == 1, seen

    shown = page["data"]["report"]  # the officer's
    assert [p["status"] for p in shown["photos"]] == ["READY", "READY"]
    assert all(p["url"] and p["thumbnailUrl"] for p in shown["photos"])
    assert [p["status"] for p in shown["afterPhotos"]] == ["READY"]
    assert [h["toStatus"] for h in shown["history"] if h["kind"] == "STATUS"] == ["WAITING", "IN_PROGRESS", "COMPLETED"]
    assert shown["supportCount"] == 3
    comments = shown["comments"]
    assert [e["node"]["body"] for e in comments["edges"]] == ["Komentar 0", "Komentar 1"]
    assert comments["edges"][1]["node"]["hiddenReason"] == "Kasar"
    assert comments["pageInfo"]["hasNextPage"] is True

    # the next page of comments is read by the field itself, from the cursor
    after = comments["pageInfo"]["endCursor"]
    rest = await api.gql(
        "query Rest($id: ID!, $after: String) { report(id: $id) { comments(first: 2, after: $after) "
        "{ edges { node { body } } pageInfo { hasNextPage } } } }",
        {"id": report_id, "after": after},
        token=lurah.token,
    )
    assert rest["data"]["report"]["comments"] == {
        "edges": [{"node": {"body": "Komentar 2"}}],
        "pageInfo": {"hasNextPage": False},
    }


async def test_a_page_that_asks_for_little_reads_only_the_report(
    app: Starlette, api: Api, resources: Resources, citizen: Citizen, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    report_id, _ = await a_busy_report(api, resources, citizen, run_jobs)

    with statements(app) as seen:
        body = await api.gql("query Page($id: ID!) { report(id: $id) { id status } }", {"id": report_id})

    assert body == {"data": {"report": {"id": report_id, "status": "COMPLETED"}}}
    assert len(seen) == 1
    assert "json_agg" not in seen[0]
    assert "report_supports" not in seen[0]
