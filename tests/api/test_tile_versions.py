"""Tiles revalidate without rendering: their ETag comes from change counters kept by the database (migrations
0022, 0028), and every change the tile shows (a new report, a moved, hidden or deleted one, a category made
sensitive, boundaries loaded) gives a new ETag, while changes elsewhere leave it alone. A tile rendered at a
version is served again to the next viewer at that version without rendering (api/tile_cache.py)."""

from __future__ import annotations

import dataclasses
import math
import random

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from domain import public_map
from domain.models import Category
from domain.resources import Resources
from tests.factories import Api
from tests.public_views import tile_of

# A quiet spot of its own (Cakung, Jakarta Timur), and one in another kota.
HERE = (-6.1835, 106.9431)
ELSEWHERE = (-6.1712, 106.7912)
# Others, for the rendered-tile cache (Kramat Jati and Cipayung, Jakarta Timur).
KEPT = (-6.2750, 106.8680)
ROUNDED = (-6.31937, 106.90063)  # off the 0.001° grid sensitive points are rounded to


def _counted(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Counts the calls of public_map's tile renderer ``name`` while the test runs."""
    rendered: list[int] = []
    render = getattr(public_map, name)

    async def counting(*args: object, **kwargs: object) -> bytes:
        rendered.append(1)
        return await render(*args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(public_map, name, counting)
    return rendered


@pytest.fixture
def not_rendered(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts report tiles rendered while the test runs."""
    return _counted(monkeypatch, "report_tile")


@pytest.fixture
def kelurahan_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts kelurahan tiles rendered while the test runs."""
    return _counted(monkeypatch, "kelurahan_tile")


async def _get(client: httpx.AsyncClient, path: str, etag: str | None = None) -> httpx.Response:
    return await client.get(path, headers={"If-None-Match": etag} if etag else {})


async def test_an_unchanged_tile_is_revalidated_without_rendering_and_a_change_renews_it(
    api: Api, resources: Resources, not_rendered: list[int]
) -> None:
    client: httpx.AsyncClient = api.client
    citizen = await api.sign_up()
    first = await api.create_report(citizen, lat=HERE[0], lon=HERE[1])
    points = "/tiles/reports/17/{}/{}.pbf".format(*tile_of(*HERE, 17))
    clusters = "/tiles/reports/12/{}/{}.pbf".format(*tile_of(*HERE, 12))
    tiles = {path: await _get(client, path) for path in (points, clusters)}
    assert all(r.status_code == 200 and r.headers["etag"] for r in tiles.values())
    assert first["report"]["id"].encode() in tiles[points].content
    rendered_before = len(not_rendered)

    # Nothing changed here: 304, and no tile rendered. A report in another kota changes nothing here either.
    await api.create_report(citizen, lat=ELSEWHERE[0], lon=ELSEWHERE[1])
    for path, response in tiles.items():
        again = await _get(client, path, response.headers["etag"])
        assert again.status_code == 304, path
        assert again.headers["etag"] == response.headers["etag"]
    assert len(not_rendered) == rendered_before

    # A new report here: both tiles are new, and the new one is in them.
    second = await api.create_report(citizen, lat=HERE[0] + 0.0001, lon=HERE[1] + 0.0001)
    renewed = {path: await _get(client, path, r.headers["etag"]) for path, r in tiles.items()}
    assert all(r.status_code == 200 for r in renewed.values())
    assert second["report"]["id"].encode() in renewed[points].content
    assert renewed[clusters].content != tiles[clusters].content

    # Hidden from the public (as moderation does it), then shown again: a new tile each time.
    for confidential in (True, False):
        async with resources.unit_of_work() as session:
            await session.execute(
                text("UPDATE reports SET confidential = :c WHERE id = :id"),
                {"c": confidential, "id": second["report"]["id"]},
            )
        after = await _get(client, points, renewed[points].headers["etag"])
        assert after.status_code == 200
        assert (second["report"]["id"].encode() in after.content) is not confidential
        renewed[points] = after

    # A category made sensitive moves its reports' public points everywhere: every tile is new.
    async with resources.unit_of_work() as session:
        await session.execute(text("UPDATE categories SET sensitive = NOT sensitive WHERE code = 'garbage'"))
    try:
        assert (await _get(client, points, renewed[points].headers["etag"])).status_code == 200
    finally:
        async with resources.unit_of_work() as session:
            await session.execute(text("UPDATE categories SET sensitive = NOT sensitive WHERE code = 'garbage'"))


async def test_a_report_just_outside_a_cluster_tile_that_moves_its_cluster_renews_it(api: Api) -> None:
    """A cluster's cells overlap the tile's edge: a report beside the tile can change a cluster drawn in it."""
    client: httpx.AsyncClient = api.client
    citizen = await api.sign_up()
    # A zoom-14 tile near here whose east edge cuts a cluster cell well beyond the rounding of sensitive points.
    cell = public_map.CELL_LEVELS[public_map.cluster_grid(14)[0]]
    x, y = tile_of(*HERE, 14)
    while True:
        east = public_map._tile_bounds(14, x, y)[2]
        beyond = (math.floor(east / cell) + 1) * cell - east  # how far the cell reaches past the edge
        if beyond > 3 * public_map.SENSITIVE_DEG:
            break
        x -= 1  # westwards, into the city
    path = f"/tiles/reports/14/{x}/{y}.pbf"
    assert (await api.create_report(citizen, lat=HERE[0], lon=east - 0.0005))["report"]
    before = await _get(client, path)
    made = await api.create_report(citizen, lat=HERE[0], lon=east + beyond / 2)
    assert made["report"], made
    after = await _get(client, path, before.headers["etag"])
    assert after.status_code == 200


async def test_a_rolled_back_change_counts_nothing(resources: Resources) -> None:
    async with resources.unit_of_work() as session:
        before = await session.scalar(text("SELECT coalesce(sum(changes), 0) FROM map_tile_versions"))
    try:
        async with resources.unit_of_work() as session:
            await session.execute(
                text("UPDATE reports SET confidential = NOT confidential WHERE id IN (SELECT id FROM reports LIMIT 5)")
            )
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    async with resources.unit_of_work() as session:
        assert await session.scalar(text("SELECT coalesce(sum(changes), 0) FROM map_tile_versions")) == before


async def test_the_version_tiles_agree_with_the_database(resources: Resources) -> None:
    rng = random.Random(7)
    points = [(rng.uniform(106.6, 107.0), rng.uniform(-6.4, -6.05)) for _ in range(200)]
    points += [(-180.0, 0.0), (179.9999, 85.0511), (0.0, -85.0511)]
    async with resources.unit_of_work() as session:
        for lon, lat in points:
            tile = await session.scalar(
                text("SELECT jsc_tile14(jsonb_build_object('lon', CAST(:lon AS float8), 'lat', CAST(:lat AS float8)))"),
                {"lon": lon, "lat": lat},
            )
            assert tuple(tile) == public_map._version_tile(lon, lat), (lon, lat)


async def test_a_tile_rendered_for_one_viewer_is_served_to_the_next_until_it_changes(
    api: Api, not_rendered: list[int]
) -> None:
    client: httpx.AsyncClient = api.client
    citizen = await api.sign_up()
    first = await api.create_report(citizen, lat=KEPT[0], lon=KEPT[1])
    path = "/tiles/reports/16/{}/{}.pbf".format(*tile_of(*KEPT, 16))

    # given one viewer's first view of the tile
    viewed = await _get(client, path)
    assert viewed.status_code == 200
    assert first["report"]["id"].encode() in viewed.content
    assert len(not_rendered) == 1

    # when a second viewer (no ETag of their own) asks for it: the same tile, not rendered again
    second = await _get(client, path)
    assert (second.status_code, second.content, second.headers["etag"]) == (200, viewed.content, viewed.headers["etag"])
    assert len(not_rendered) == 1

    # a filter is a tile of its own: rendered once, then kept apart from the unfiltered one
    filtered = [await client.get(path, params={"categories": "flood"}) for _ in range(2)]
    assert all(r.status_code == 200 for r in filtered)
    assert first["report"]["id"].encode() not in filtered[0].content
    assert filtered[0].headers["etag"] != viewed.headers["etag"]
    assert filtered[1].content == filtered[0].content
    assert len(not_rendered) == 2
    assert (await _get(client, path)).content == viewed.content
    assert len(not_rendered) == 2

    # a change in the tile's area: a new render and a new ETag for the next viewer, then kept again
    later = await api.create_report(citizen, lat=KEPT[0] + 0.0001, lon=KEPT[1] + 0.0001)
    changed = [await _get(client, path) for _ in range(2)]
    assert changed[0].headers["etag"] != viewed.headers["etag"]
    assert later["report"]["id"].encode() in changed[0].content
    assert changed[1].content == changed[0].content
    assert len(not_rendered) == 3


async def test_the_kelurahan_layer_is_revalidated_and_served_again_without_rendering_until_boundaries_load(
    api: Api, resources: Resources, kelurahan_renders: list[int]
) -> None:
    client: httpx.AsyncClient = api.client
    path = "/tiles/kelurahan/15/{}/{}.pbf".format(*tile_of(*KEPT, 15))
    viewed = await client.get(path)
    assert viewed.status_code == 200
    assert viewed.content
    assert len(kelurahan_renders) == 1

    # a revalidation: 304 without rendering; another viewer's first view: served as kept
    revalidated = await _get(client, path, viewed.headers["etag"])
    another = await client.get(path)
    assert revalidated.status_code == 304
    assert (another.status_code, another.content, another.headers["etag"]) == (
        200,
        viewed.content,
        viewed.headers["etag"],
    )
    assert len(kelurahan_renders) == 1

    # boundaries written (as `jsc load-jakarta` writes them): a new ETag, rendered once more
    async with resources.unit_of_work() as session:
        await session.execute(text("UPDATE kelurahan SET name = name WHERE id = (SELECT min(id) FROM kelurahan)"))
    renewed = await _get(client, path, viewed.headers["etag"])
    assert renewed.status_code == 200
    assert renewed.headers["etag"] != viewed.headers["etag"]
    assert renewed.content == viewed.content
    assert len(kelurahan_renders) == 2


async def test_a_tile_kept_from_a_snapshot_that_did_not_know_a_category_sensitive_is_not_served_from_one_that_does(
    api: Api, app: Starlette, not_rendered: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category made sensitive bumps every tile's version, but a process may render with its reference snapshot
    from before the change for an instant (until the RESET reaches it): that tile is kept apart."""
    client: httpx.AsyncClient = api.client
    citizen = await api.sign_up()
    made = await api.create_report(citizen, category="garbage", lat=ROUNDED[0], lon=ROUNDED[1])
    path = "/tiles/reports/17/{}/{}.pbf".format(*tile_of(*ROUNDED, 17))
    exact = await _get(client, path)
    assert made["report"]["id"].encode() in exact.content
    rendered = len(not_rendered)

    # given the process's snapshot now knowing garbage as sensitive, at the same tile version
    resources: Resources = app.state.resources
    reference = await resources.reference.get()
    garbage = reference.category_codes["garbage"]
    sensitive = Category(id=garbage.id, code=garbage.code, sensitive=True)
    newer = dataclasses.replace(reference, categories={**reference.categories, garbage.id: sensitive})

    async def get() -> object:
        return newer

    monkeypatch.setattr(resources.reference, "get", get)

    # when the next viewer asks: rendered again, the point rounded to the grid, not the kept tile
    rounded = await _get(client, path)
    assert len(not_rendered) == rendered + 1
    assert rounded.content != exact.content
    # and a browser revalidating the tile it holds, drawn from the older snapshot, is not told it is current
    stale = await client.get(path, headers={"If-None-Match": exact.headers["etag"]})
    assert stale.status_code == 200
    assert stale.headers["etag"] != exact.headers["etag"]
