"""reportsInBbox written by PostgreSQL: for a selection of plain map point fields the resolver answers with the JSON
list graphql-core would have completed (api/execution.py embeds it). Each answer here is compared with graphql-core's
own for the same selection (a directive on a field sends the operation the ordinary way), key order included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from domain import public_map
from domain.resources import Resources
from tests.factories import Api

# A few streets in Cempaka Putih, away from the points other modules use.
PLACE = (-6.1805, 106.8705)
BOX = {"west": PLACE[1] - 0.004, "south": PLACE[0] - 0.004, "east": PLACE[1] + 0.004, "north": PLACE[0] + 0.004}

SELECTIONS = [
    "id lat lon category status createdAt",
    "createdAt status id",
    "__typename where: lat again: lon first: createdAt",
    "__typename",
    "category category",  # one response name twice: the same field, merged
]


@pytest.fixture(scope="module")
async def placed(api: Api, resources: Resources) -> list[str]:
    """Reports of a plain and a sensitive category (rounded on the map) and a confidential one (left out), one of
    them filed at a whole second (no fractional seconds in its time)."""
    citizen = await api.sign_up()
    ids = []
    for n, (category, confidential) in enumerate(
        [("garbage", False), ("crime", False), ("flood", False), ("garbage", True), ("garbage", False)]
    ):
        made = await api.create_report(
            citizen,
            category=category,
            lat=PLACE[0] + 0.0001234 * n,
            lon=PLACE[1] - 0.0004321 * n,
            confidential=confidential,
        )
        ids.append(made["report"]["id"])
    async with resources.unit_of_work() as session:
        await session.execute(
            text("UPDATE reports SET created_at = date_trunc('second', created_at) WHERE id = :id"), {"id": ids[2]}
        )
    return ids


def ordered(body: str) -> Any:
    """The answer with each object as its (key, value) pairs in order."""
    return json.loads(body, object_pairs_hook=list)


async def ask(api: Api, selection: str) -> tuple[Any, Any]:
    query = "query List($bbox: BBoxInput!) { reportsInBbox(bbox: $bbox, first: 100) { %s } }"
    plain = await api.client.post("/graphql", json={"query": query % selection, "variables": {"bbox": BOX}})
    # The same selection with a directive on its first field, which graphql-core completes itself.
    first, _, rest = selection.partition(" ")
    completed = f"{first} @include(if: true) {rest}"
    ordinary = await api.client.post("/graphql", json={"query": query % completed, "variables": {"bbox": BOX}})
    assert plain.status_code == ordinary.status_code == 200
    return ordered(plain.text), ordered(ordinary.text)


@pytest.mark.parametrize("selection", SELECTIONS)
async def test_the_list_postgresql_writes_is_the_one_graphql_core_completes(
    api: Api, placed: list[str], selection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = 0
    points_json = public_map.points_json

    async def counted(*args: Any, **kwargs: Any) -> str:
        nonlocal written
        written += 1
        return await points_json(*args, **kwargs)

    monkeypatch.setattr(public_map, "points_json", counted)
    fast, ordinary = await ask(api, selection)
    assert written == 1, "the selection was not written by PostgreSQL"
    assert fast == ordinary
    [(_, [(_, points)])] = fast  # {"data": {"reportsInBbox": [...]}}
    assert len(points) >= 4


async def test_what_the_written_list_shows(api: Api, placed: list[str]) -> None:
    fast, _ = await ask(api, "id lat lon category createdAt")
    [(_, [(_, points)])] = fast
    by_id = {dict(p)["id"]: dict(p) for p in points}
    assert placed[3] not in by_id  # confidential
    plain, sensitive, whole_second = by_id[placed[0]], by_id[placed[1]], by_id[placed[2]]
    assert (plain["lat"], plain["lon"]) == pytest.approx(PLACE, abs=1e-9)
    assert sensitive["lat"] == round(sensitive["lat"], 3)
    assert sensitive["lon"] == round(sensitive["lon"], 3)
    assert "." not in whole_second["createdAt"]
    assert whole_second["createdAt"].endswith("+00:00")
    assert "." in plain["createdAt"]


@pytest.mark.parametrize(
    "selection",
    [
        "id ... on MapPoint { lat }",  # a fragment
        "id lat @skip(if: false)",  # a directive
    ],
)
async def test_other_selections_are_completed_by_graphql_core(
    api: Api, placed: list[str], selection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("written by PostgreSQL")

    monkeypatch.setattr(public_map, "points_json", refused)
    query = "query List($bbox: BBoxInput!) { reportsInBbox(bbox: $bbox, first: 100) { %s } }"
    body = await api.gql(query % selection, {"bbox": BOX})
    assert "errors" not in body, body
    assert {p["id"] for p in body["data"]["reportsInBbox"]} >= {placed[0], placed[1]}


MAP = "query Map($bbox: BBoxInput!, $zoom: Int!) { mapReports(bbox: $bbox, zoom: $zoom) { %s } }"


async def ask_map(api: Api, selection: str, completed: str, zoom: int) -> tuple[Any, Any]:
    answers = []
    for asked in (selection, completed):
        response = await api.client.post(
            "/graphql", json={"query": MAP % asked, "variables": {"bbox": BOX, "zoom": zoom}}
        )
        assert response.status_code == 200
        answers.append(ordered(response.text))
    return answers[0], answers[1]


@pytest.mark.parametrize(
    ("selection", "completed"),
    [
        (
            "zoom total truncated clusters { lat lon count } points { id lat lon category status createdAt }",
            "zoom total truncated clusters { lat lon count } "
            "points { id @include(if: true) lat lon category status createdAt }",
        ),
        ("mine: points { createdAt where: lat } total", "mine: points { createdAt @skip(if: false) where: lat } total"),
    ],
)
async def test_map_points_postgresql_writes_are_graphql_cores(
    api: Api, placed: list[str], selection: str, completed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = 0
    points_json = public_map.points_json

    async def counted(*args: Any, **kwargs: Any) -> tuple[str, int]:
        nonlocal written
        written += 1
        return await points_json(*args, **kwargs)

    monkeypatch.setattr(public_map, "points_json", counted)
    fast, ordinary = await ask_map(api, selection, completed, zoom=16)
    assert written == 1
    assert fast == ordinary


async def test_a_truncated_map_window_counts_the_same_both_ways(
    api: Api, placed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(public_map, "MAX_POINTS", 2)
    fast, ordinary = await ask_map(
        api, "total truncated points { id }", "total truncated points { id @include(if: true) }", zoom=17
    )
    assert fast == ordinary
    [(_, [(_, answer)])] = fast
    assert answer[:2] == [("total", 2), ("truncated", True)]
    assert len(answer[2][1]) == 2


async def test_a_list_asked_twice_under_one_name_is_completed_by_graphql_core(api: Api, placed: list[str]) -> None:
    query = (
        "query List($bbox: BBoxInput!) { reportsInBbox(bbox: $bbox, first: 100) { id } "
        "reportsInBbox(bbox: $bbox, first: 100) { lat } }"
    )
    body = await api.gql(query, {"bbox": BOX})
    assert "errors" not in body, body
    assert all(set(p) == {"id", "lat"} for p in body["data"]["reportsInBbox"])
