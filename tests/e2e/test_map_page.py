"""The web map at /map in Debian's headless Chromium (driven by Playwright; no browser download).

uvicorn and a worker run as separate processes; reports are filed over HTTP near Tomang, one with a photo the
worker processes, so that a click on its point shows the detail with a thumbnail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Error, Page, WebSocketRoute, async_playwright, expect

from domain.resources import Resources
from scripts.trusted_documents import manifest_entries
from tests.e2e.live import CANARY_EVERY_S, WAIT_S, notify
from tests.e2e.processes import running
from tests.e2e.test_live_events import report_event
from tests.factories import REPORT, Api, Citizen, jpeg_with_gps

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "tests" / "artifacts" / "map.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
POINTS_LAYER = "report-points"
CLUSTERS_LAYER = "report-clusters"
# A little away from TOMANG itself, where other e2e tests file their reports, so that each click hits ours.
WITH_PHOTO = (-6.1700, 106.7885)
WITHOUT_PHOTO = (-6.1686, 106.7910)
LIVE = (-6.1680, 106.7870)
pytestmark = pytest.mark.e2e

AT_TOMANG = "/map?lat=-6.1693&lon=106.7896&zoom=16"
RENDERED_IDS = f"""() => window.jscMap && window.jscMap.isStyleLoaded()
    ? window.jscMap.queryRenderedFeatures({{layers: ['{POINTS_LAYER}']}}).map((f) => String(f.properties.id))
    : []"""


@pytest.fixture(scope="module")
def map_server(database: None) -> Iterator[str]:
    with running() as urls:
        yield urls[0]


@pytest.fixture(scope="module")
def trusted_map_server(database: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An API running, for the public, the documents of the map's scripts and nothing else (as in production)."""
    manifest = tmp_path_factory.mktemp("trusted") / "trusted-documents.json"
    manifest.write_text(
        json.dumps(manifest_entries([ROOT / "api" / "static" / "map.js", ROOT / "api" / "static" / "live.js"]))
    )
    with running(worker=False, JSC_TRUSTED_DOCUMENTS_ONLY="true", JSC_TRUSTED_DOCUMENTS_PATH=str(manifest)) as urls:
        yield urls[0]


@pytest.fixture
async def http_api(map_server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=map_server, timeout=30) as client:
        yield Api(client)


@dataclass
class Seeded:
    citizen: Citizen
    with_photo: dict[str, Any]
    without_photo: dict[str, Any]


async def file_report(api: Api, citizen: Citizen, at: tuple[float, float], **fields: Any) -> dict[str, Any]:
    created = await api.create_report(citizen, lat=at[0], lon=at[1], **fields)
    assert created["errors"] == [], created
    report: dict[str, Any] = created["report"]
    return report


@pytest.fixture(scope="module")
async def seeded(map_server: str) -> Seeded:
    async with httpx.AsyncClient(base_url=map_server, timeout=30) as client:
        return await seed(Api(client))


async def seed(api: Api) -> Seeded:
    citizen = await api.sign_up(name="Dewi")
    key = await api.upload_photo(citizen, jpeg_with_gps(size=(800, 600)))
    # A second report nearby, without a photo: two distinct points in the tiles.
    without_photo = await file_report(
        api, citizen, WITHOUT_PHOTO, category="garbage", description="Sampah menumpuk di depan pasar"
    )
    with_photo = await file_report(
        api,
        citizen,
        WITH_PHOTO,
        category="flood",
        description="Genangan di depan halte Tomang, foto terlampir",
        photo_keys=[key],
    )
    for _ in range(120):
        body = await api.gql(REPORT, {"id": with_photo["id"]}, token=citizen.token)
        status = body["data"]["report"]["photos"][0]["status"]
        if status != "ATTACHED":
            break
        await asyncio.sleep(0.5)
    assert status == "READY", "the worker did not process the photo"
    return Seeded(citizen, with_photo, without_photo)


class Console:
    """The page's errors: console.error lines and uncaught exceptions, less the live socket's retries."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "WebSocket" not in message.text:
            self.errors.append(f"console: {message.text}")


class RefusedSubscriptions:
    """/graphql as a server without `reportEvents` answers: it acks the connection, refuses the subscription."""

    def __init__(self) -> None:
        self.connections = 0
        self.reconnected = asyncio.Event()

    def __call__(self, socket: WebSocketRoute) -> None:
        self.connections += 1
        if self.connections >= 2:
            self.reconnected.set()

        def reply(raw: str | bytes) -> None:
            message = json.loads(raw)
            if message["type"] == "connection_init":
                socket.send(json.dumps({"type": "connection_ack"}))
            elif message["type"] == "subscribe":
                error = {"message": "Cannot query field 'reportEvents' on type 'Subscription'."}
                socket.send(json.dumps({"type": "error", "id": message["id"], "payload": [error]}))

        socket.on_message(reply)


@contextlib.asynccontextmanager
async def map_page(url: str, *, live: RefusedSubscriptions | None = None) -> AsyncIterator[tuple[Page, Console]]:
    """Debian's Chromium with the map page; on a failure, a screenshot and the console errors."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        console = Console(page)
        try:
            if live is not None:
                await page.route_web_socket("**/graphql", live)
            await page.goto(url)
            yield page, console
        except Error as exc:
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT.with_name("map-failure.png")))
            raise AssertionError(f"{exc}; console: {console.errors}") from exc
        finally:
            await browser.close()


async def click_report(page: Page, lat: float, lon: float) -> None:
    point = await page.evaluate("([lon, lat]) => window.jscMap.project([lon, lat])", [lon, lat])
    box = await page.locator("#map").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


async def test_map_page_and_maplibre_are_served(map_server: str) -> None:
    async with httpx.AsyncClient(base_url=map_server) as client:
        page = await client.get("/map")
        script = await client.get("/static/vendor/maplibre-gl.js")
        licence = await client.get("/static/vendor/maplibre-gl.LICENSE.txt")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/vendor/maplibre-gl.js"></script>' in page.text
    assert script.status_code == 200
    assert len(script.content) > 100_000
    assert licence.status_code == 200
    assert "MapLibre" in licence.text


async def test_map_shows_seeded_reports_details_and_live_events(seeded: Seeded, http_api: Api, map_server: str) -> None:
    wanted = {seeded.with_photo["id"], seeded.without_photo["id"]}

    async with map_page(f"{map_server}{AT_TOMANG}") as (page, console):
        # given the map at zoom 16: both seeded reports are drawn as points
        await page.wait_for_function(
            f"(wanted) => {{ const ids = ({RENDERED_IDS})(); return wanted.every((id) => ids.includes(id)); }}",
            arg=sorted(wanted),
            timeout=30_000,
        )
        await expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=15_000)

        # when the report with a photo is clicked, then its detail shows with a loaded thumbnail
        await click_report(page, *WITH_PHOTO)
        await expect(page.locator("#detail")).to_have_attribute("data-report-id", seeded.with_photo["id"])
        body = page.locator("#detail-body")
        await expect(body.locator(".description")).to_have_text(seeded.with_photo["description"])
        await expect(body.locator(".category")).to_have_text("Bencana banjir")
        await expect(body.locator(".status")).to_have_text("Menunggu")
        await expect(body.locator(".kelurahan")).not_to_be_empty()
        await page.wait_for_function(
            "() => { const img = document.querySelector('#detail-body img.thumbnail');"
            " return img !== null && img.complete && img.naturalWidth > 0; }",
            timeout=15_000,
        )
        natural = await body.locator("img.thumbnail").evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        assert natural == [400, 300]

        # when a report is filed while the page is open, then the live panel lists it and the map shows it
        live = await file_report(
            http_api, seeded.citizen, LIVE, category="garbage", description="Laporan baru saat peta terbuka"
        )
        await expect(page.locator(f'#live-events li[data-report-id="{live["id"]}"]')).to_be_visible(timeout=15_000)
        await page.wait_for_function(f"(id) => ({RENDERED_IDS})().includes(id)", arg=live["id"], timeout=15_000)

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))

        # when zoomed out to 13, then the reports are drawn as clusters
        await page.evaluate("() => window.jscMap.jumpTo({zoom: 13})")
        clusters = await page.wait_for_function(
            f"""() => {{
                    const found = window.jscMap.queryRenderedFeatures({{layers: ['{CLUSTERS_LAYER}']}});
                    const total = found.reduce((sum, f) => sum + f.properties.count, 0);
                    return total >= 3 ? total : null;
                }}""",
            timeout=15_000,
        )
        assert await clusters.json_value() >= 3

        assert console.errors == []


async def test_map_works_while_live_updates_are_unavailable(seeded: Seeded, map_server: str) -> None:
    refusing = RefusedSubscriptions()

    async with map_page(f"{map_server}{AT_TOMANG}", live=refusing) as (page, console):
        # given a server that refuses the subscription: the reports are drawn all the same
        await page.wait_for_function(
            f"(id) => ({RENDERED_IDS})().includes(id)", arg=seeded.without_photo["id"], timeout=30_000
        )

        # then the page keeps retrying quietly, on a new connection each time
        await expect(page.locator("#live-state")).to_have_attribute("data-state", "retrying", timeout=15_000)
        await asyncio.wait_for(refusing.reconnected.wait(), timeout=15)
        assert console.errors == []


async def live_panel_registered(page: Page, resources: Resources) -> None:
    """Returns once the page's subscription delivers: canary events, as the trigger sends them, until one is listed
    (graphql-transport-ws does not acknowledge a subscription)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            canary = str(uuid.uuid4())
            await notify(resources, "report_events", report_event(canary, lat=LIVE[0], lon=LIVE[1]))
            try:
                listed = page.locator(f'#live-events li[data-report-id="{canary}"]')
                await expect(listed).to_be_visible(timeout=CANARY_EVERY_S * 1000)
                return
            except AssertionError:
                continue


async def test_the_map_works_where_only_trusted_documents_run(
    seeded: Seeded, http_api: Api, trusted_map_server: str, resources: Resources
) -> None:
    # given an API that refuses the public any text its apps do not send
    async with httpx.AsyncClient(base_url=trusted_map_server) as client:
        refused = (await client.post("/graphql", json={"query": "query { categories { code } }"})).json()
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["UNTRUSTED_DOCUMENT"]

    async with map_page(f"{trusted_map_server}{AT_TOMANG}") as (page, console):
        # then the page's categories query runs: the filter lists them
        await expect(page.locator("#category-filter option[value=flood]")).to_have_text("Bencana banjir")
        await page.wait_for_function(
            f"(id) => ({RENDERED_IDS})().includes(id)", arg=seeded.without_photo["id"], timeout=30_000
        )

        # when a report is clicked, then its detail query runs
        await click_report(page, *WITHOUT_PHOTO)
        await expect(page.locator("#detail")).to_have_attribute("data-report-id", seeded.without_photo["id"])

        # when a report is filed elsewhere, once the page's subscription is registered, then it delivers it
        await live_panel_registered(page, resources)
        live = await file_report(http_api, seeded.citizen, LIVE, category="garbage", description="Laporan terpercaya")
        await expect(page.locator(f'#live-events li[data-report-id="{live["id"]}"]')).to_be_visible(timeout=15_000)
        assert console.errors == []
