"""Citizens around a report through GraphQL: similar and nearby reports, supports, duplicates, comments, trending.

The reports are filed around a point of a kelurahan no other test uses, so that what is near is known.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.models import Kelurahan, Notification, Role
from domain.resources import Resources
from tests.api.test_workflow import act, change, staff_member
from tests.factories import Api, Citizen

SIMILAR = """
query Similar($lat: Float!, $lon: Float!, $category: String!) {
  similarReports(lat: $lat, lon: $lon, category: $category) { distanceM report { id status supportCount } }
}
"""
NEARBY = """
query Nearby($lat: Float!, $lon: Float!, $radius: Float!, $first: Int!, $after: String) {
  nearbyReports(lat: $lat, lon: $lon, radiusM: $radius, first: $first, after: $after) {
    edges { cursor node { distanceM report { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SUPPORT = """
mutation Support($id: ID!, $on: Boolean!) {
  supportReport(reportId: $id, support: $on) { report { id supportCount supportedByMe } errors { code field } }
}
"""
REPORT = """
query One($id: ID!, $first: Int!, $after: String) {
  report(id: $id) {
    id supportCount supportedByMe duplicates duplicateOf
    comments(first: $first, after: $after) {
      edges { cursor node { id body hidden hiddenReason byStaff author { displayName } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
COMMENT = """
mutation Comment($id: ID!, $body: String!) {
  addComment(reportId: $id, body: $body) { comment { id body hidden byStaff } errors { code field } }
}
"""
HIDE = """
mutation Hide($id: ID!, $reason: String!) {
  hideComment(commentId: $id, reason: $reason) { comment { id hidden body hiddenReason } errors { code field } }
}
"""
TRENDING = "query { trendingReports(first: 50, days: 7) { supports comments report { id } } }"
FOLLOW = """
mutation Follow($id: ID!) { followReport(reportId: $id, follow: true) { report { id } errors { code } } }
"""
METRES_PER_DEGREE = 111_320.0


@pytest.fixture(scope="module")
async def place(resources: Resources) -> tuple[str, float, float]:
    """A point inside a kelurahan of Jakarta Timur that the other tests leave alone, and its office."""
    async with resources.unit_of_work() as session:
        row = (
            await session.execute(
                select(
                    Kelurahan.code,
                    func.ST_Y(func.ST_PointOnSurface(Kelurahan.geom)),
                    func.ST_X(func.ST_PointOnSurface(Kelurahan.geom)),
                )
                .where(Kelurahan.code.like("31.75.%"))
                .order_by(Kelurahan.code.desc())
                .limit(1)
            )
        ).one()
    return f"kel-{row[0]}", row[1], row[2]


def north(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / METRES_PER_DEGREE, lon


def east(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat, lon + metres / (METRES_PER_DEGREE * math.cos(math.radians(lat)))


MONAS = (-6.1754, 106.8272)


def toward_centre(lat: float, lon: float, metres: float) -> tuple[float, float]:
    """``metres`` from the point towards Monas, so the place stays inside Jakarta."""
    dy = (MONAS[0] - lat) * METRES_PER_DEGREE
    dx = (MONAS[1] - lon) * METRES_PER_DEGREE * math.cos(math.radians(lat))
    length = math.hypot(dx, dy)
    return north(*east(lat, lon, dx / length * metres), dy / length * metres)


async def file_at(api: Api, who: Citizen, point: tuple[float, float], **extra: Any) -> str:
    made = await api.create_report(who, lat=point[0], lon=point[1], **extra)
    assert made["errors"] == [], made
    return str(made["report"]["id"])


async def test_similar_reports_are_open_of_the_category_within_250_m_nearest_first(
    api: Api, citizen: Citizen, resources: Resources, place: tuple[str, float, float]
) -> None:
    _, lat, lon = place
    # An admin moves the reports: 250 m from a kelurahan's point may be in the next kelurahan already.
    lurah = await staff_member(api, resources, Role.ADMIN)
    at = (lat, lon)
    ids = {m: await file_at(api, citizen, north(*at, m)) for m in (240, 30, 120, 200, 60, 180)}
    far = await file_at(api, citizen, north(*at, 400))
    other = await file_at(api, citizen, north(*at, 10), category="fallen-tree")
    secret = await file_at(api, citizen, north(*at, 5), confidential=True)
    closed = await file_at(api, citizen, north(*at, 15))
    assert (await change(api, lurah, closed, "REJECTED", reason="Bukan sampah"))["errors"] == []

    body = await api.gql(SIMILAR, {"lat": lat, "lon": lon, "category": "garbage"})
    assert "errors" not in body, body
    found = body["data"]["similarReports"]
    # The five nearest of the six within 250 m, nearest first; not the far, other, confidential or closed one.
    assert [f["report"]["id"] for f in found] == [ids[m] for m in (30, 60, 120, 180, 200)]
    for f, metres in zip(found, (30, 60, 120, 180, 200), strict=True):
        assert f["distanceM"] == pytest.approx(metres, abs=2)
    assert not {far, other, secret, closed} & {f["report"]["id"] for f in found}

    bad = await api.gql(SIMILAR, {"lat": lat, "lon": lon, "category": "nope"})
    assert bad["errors"][0]["extensions"]["reason"] == "UNKNOWN_CATEGORY"
    worse = await api.gql(SIMILAR, {"lat": 91.0, "lon": lon, "category": "garbage"})
    assert worse["errors"][0]["extensions"]["reason"] == "INVALID_LOCATION"


async def test_nearby_reports_page_by_distance(api: Api, citizen: Citizen, place: tuple[str, float, float]) -> None:
    _, lat, lon = place
    centre = east(lat, lon, 3000)  # apart from the other test's reports
    ids = [await file_at(api, citizen, east(*centre, m)) for m in (50, 10, 90, 30, 70)]
    secret = await file_at(api, citizen, east(*centre, 20), confidential=True)
    seen, distances = await nearby_pages(api, centre, radius=100, first=2)
    assert seen == [ids[1], ids[3], ids[0], ids[4], ids[2]]
    assert distances == sorted(distances)
    assert secret not in seen
    too_far = await api.gql(NEARBY, {"lat": centre[0], "lon": centre[1], "radius": 9000, "first": 2})
    assert too_far["errors"][0]["extensions"]["reason"] == "INVALID_RADIUS"


async def test_nearby_reports_are_in_geodesic_order_where_the_index_s_planar_order_differs(
    api: Api, citizen: Citizen, place: tuple[str, float, float]
) -> None:
    # given, near the equator where a degree of longitude is longer than a degree of latitude, one report due
    # north and two due east a little less far in degrees (nearer for the index) but farther in metres
    _, lat, lon = place
    centre = toward_centre(lat, lon, 1500)
    north_id = await file_at(api, citizen, (centre[0] + 0.0009, centre[1]))
    east_ids = [await file_at(api, citizen, (centre[0], centre[1] + d)) for d in (0.0008995, 0.0008998)]

    # when they are paged one at a time
    seen, distances = await nearby_pages(api, centre, radius=150, first=1)

    # then the one due north comes first, as its metres say
    assert seen == [north_id, *east_ids]
    assert distances == sorted(distances)


async def test_supporters_are_counted_and_hear_about_progress(
    api: Api, citizen: Citizen, resources: Resources, place: tuple[str, float, float]
) -> None:
    _, lat, lon = place
    lurah = await staff_member(api, resources, Role.ADMIN)
    report = await file_at(api, citizen, east(lat, lon, -3000))
    neighbour = await api.sign_up()

    own = await act(api, SUPPORT, citizen, id=report, on=True)
    assert [e["code"] for e in own["errors"]] == ["OWN_REPORT"]
    supported = await act(api, SUPPORT, neighbour, id=report, on=True)
    again = await act(api, SUPPORT, neighbour, id=report, on=True)  # idempotent
    assert supported["errors"] == again["errors"] == []
    assert (again["report"]["supportCount"], again["report"]["supportedByMe"]) == (1, True)
    public = await api.gql(REPORT, {"id": report, "first": 5})
    assert (public["data"]["report"]["supportCount"], public["data"]["report"]["supportedByMe"]) == (1, False)

    assert (await change(api, lurah, report, "IN_PROGRESS"))["errors"] == []
    assert await kinds(resources, neighbour.user_id, report) == ["STATUS_CHANGED"]

    taken_back = await act(api, SUPPORT, neighbour, id=report, on=False)
    assert taken_back["report"]["supportCount"] == 0
    rejected = await file_at(api, citizen, east(lat, lon, -3050))
    assert (await change(api, lurah, rejected, "REJECTED", reason="Bukan sampah"))["errors"] == []
    closed = await act(api, SUPPORT, neighbour, id=rejected, on=True)
    assert [e["code"] for e in closed["errors"]] == ["INVALID_TRANSITION"]


async def kinds(resources: Resources, user_id: str, report_id: str) -> list[str]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == user_id, Notification.report_id == report_id)
            .order_by(Notification.created_at)
        )
        return list(rows)


async def test_a_duplicates_people_move_to_the_original(
    api: Api, citizen: Citizen, resources: Resources, place: tuple[str, float, float]
) -> None:
    _, lat, lon = place
    lurah = await staff_member(api, resources, Role.ADMIN)
    original = await file_at(api, citizen, north(lat, lon, -3000))
    second_reporter, supporter, follower = await api.sign_up(), await api.sign_up(), await api.sign_up()
    duplicate = await file_at(api, second_reporter, north(lat, lon, -3010))
    assert (await act(api, SUPPORT, supporter, id=duplicate, on=True))["errors"] == []
    assert (await act(api, FOLLOW, follower, id=duplicate))["errors"] == []

    marked = await change(api, lurah, duplicate, "DUPLICATE", duplicateOf=original)
    assert marked["errors"] == []
    body = (await api.gql(REPORT, {"id": original, "first": 5}, token=supporter.token))["data"]["report"]
    assert (body["duplicates"], body["supportCount"], body["supportedByMe"]) == ([duplicate], 1, True)

    assert (await change(api, lurah, original, "IN_PROGRESS"))["errors"] == []
    for person in (second_reporter, supporter, follower):
        assert await kinds(resources, person.user_id, original) == ["STATUS_CHANGED"], person.email


async def test_comments_are_public_and_moderators_hide_them_with_a_reason(
    api: Api, citizen: Citizen, resources: Resources, place: tuple[str, float, float]
) -> None:
    office, lat, lon = place
    report = await file_at(api, citizen, toward_centre(lat, lon, 1500))
    neighbour = await api.sign_up(name="Bu Siti")
    lurah = await staff_member(api, resources, Role.OFFICER, office)
    admin = await staff_member(api, resources, Role.ADMIN)

    first = await act(api, COMMENT, neighbour, id=report, body="  Sudah seminggu di sini  ")
    official = await act(api, COMMENT, lurah, id=report, body="Besok diangkut")
    rude = await act(api, COMMENT, neighbour, id=report, body="kata-kata kasar")
    assert first["errors"] == official["errors"] == rude["errors"] == []
    assert (first["comment"]["body"], official["comment"]["byStaff"]) == ("Sudah seminggu di sini", True)
    for body, code in (("   ", "BODY_REQUIRED"), ("x" * 1001, "BODY_TOO_LONG")):
        assert [e["code"] for e in (await act(api, COMMENT, neighbour, id=report, body=body))["errors"]] == [code]
    assert await kinds(resources, citizen.user_id, report) == ["COMMENTED"] * 3

    rude_id = rude["comment"]["id"]
    not_allowed = await act(api, HIDE, neighbour, id=rude_id, reason="x")
    assert [e["code"] for e in not_allowed["errors"]] == ["FORBIDDEN"]
    no_reason = await act(api, HIDE, admin, id=rude_id, reason=" ")
    assert [e["code"] for e in no_reason["errors"]] == ["REASON_REQUIRED"]
    hidden = await act(api, HIDE, admin, id=rude_id, reason="Kata kasar")
    assert (hidden["comment"]["hidden"], hidden["comment"]["hiddenReason"]) == (True, "Kata kasar")

    pages, after = [], None
    while True:
        body = await api.gql(REPORT, {"id": report, "first": 2, "after": after})
        block = body["data"]["report"]["comments"]
        pages.append([e["node"] for e in block["edges"]])
        if not block["pageInfo"]["hasNextPage"]:
            break
        after = block["pageInfo"]["endCursor"]
    public = [c for page in pages for c in page]
    assert [len(p) for p in pages] == [2, 1]
    assert [(c["body"], c["hidden"], c["hiddenReason"]) for c in public] == [
        ("Sudah seminggu di sini", False, None),
        ("Besok diangkut", False, None),
        (None, True, None),  # the public sees that something was hidden, not what or why
    ]
    assert public[0]["author"] == {"displayName": "Bu Siti"}
    staff_view = await api.gql(REPORT, {"id": report, "first": 5}, token=lurah.token)
    last = staff_view["data"]["report"]["comments"]["edges"][-1]["node"]
    assert (last["body"], last["hiddenReason"]) == ("kata-kata kasar", "Kata kasar")


async def test_trending_counts_supports_twice_and_comments_once(
    api: Api, citizen: Citizen, place: tuple[str, float, float]
) -> None:
    _, lat, lon = place
    quiet = await file_at(api, citizen, toward_centre(lat, lon, 2000))
    busy = await file_at(api, citizen, toward_centre(lat, lon, 2100))
    talked = await file_at(api, citizen, toward_centre(lat, lon, 2200))
    for _ in range(3):
        assert (await act(api, SUPPORT, await api.sign_up(), id=busy, on=True))["errors"] == []
    for n in range(5):
        assert (await act(api, COMMENT, await api.sign_up(), id=talked, body=f"komentar {n}"))["errors"] == []
    body = await api.gql(TRENDING)
    assert "errors" not in body, body
    order = [t["report"]["id"] for t in body["data"]["trendingReports"]]
    entries = {t["report"]["id"]: (t["supports"], t["comments"]) for t in body["data"]["trendingReports"]}
    assert entries[busy] == (3, 0)
    assert entries[talked] == (0, 5)
    assert order.index(busy) < order.index(talked)  # 6 against 5
    assert quiet not in entries


async def nearby_pages(
    api: Api, centre: tuple[float, float], *, radius: float, first: int
) -> tuple[list[str], list[float]]:
    """Every page of nearbyReports around ``centre``: the reports' ids and distances in the order they came."""
    seen: list[str] = []
    distances: list[float] = []
    after = None
    while True:
        variables = {"lat": centre[0], "lon": centre[1], "radius": radius, "first": first, "after": after}
        page = await api.gql(NEARBY, variables)
        assert "errors" not in page, page
        block = page["data"]["nearbyReports"]
        seen += [e["node"]["report"]["id"] for e in block["edges"]]
        distances += [e["node"]["distanceM"] for e in block["edges"]]
        if not block["pageInfo"]["hasNextPage"]:
            return seen, distances
        after = block["pageInfo"]["endCursor"]
