"""The auditor dashboard at /dashboard in Debian's headless Chromium (driven by Playwright; no browser download).

uvicorn runs as a separate process. The reports, their officers' work and the accounts are written through the
domain, with past times, so that the Tomang kelurahan office has a ranked month of figures, Grogol an unranked
one, and some reports are past their deadline. The overdue map's pixels are read from screenshots, so its colours
are checked as drawn.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from playwright.async_api import ConsoleMessage, Error, Page, Request, Route, async_playwright, expect
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from domain import accounts, reports, workflow
from domain.jobs import JobBuffer
from domain.models import Photo, PhotoStatus, Report, ReportStatus, Role, User
from domain.resources import Resources
from tests.e2e.processes import free_port, start_api, stop, wait_healthy
from tests.factories import LOG_IN, Api, jpeg_with_gps

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
SCREENSHOT = ARTIFACTS / "dashboard.png"
KELURAHAN = ROOT / "data" / "jakarta" / "jakarta_kelurahan.geojson"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery"
TOMANG = ("31.73.02.1003", "kel-31.73.02.1003")
GROGOL = ("31.73.02.1001", "kel-31.73.02.1001")
HARAPAN = ("31.01.01.1003", "kel-31.01.01.1003")  # Kepulauan Seribu's northernmost kelurahan
SERVICE_AREA = {"west": 106.35, "south": -6.5, "east": 107.1, "north": -5.15}  # dashboard.js's, the islands too
OVERDUE_LAYER = "overdue-reports"
CHOROPLETH_LAYER = "overdue-kelurahan"
BASE_FILL = (0xF6, 0xF4, 0xEE)
# dashboard.js's CHOROPLETH: the fewest overdue reports of each band, and its fill.
CHOROPLETH = ((1, (0xC6, 0xDB, 0xEF)), (10, (0x6B, 0xAE, 0xD6)), (50, (0x21, 0x71, 0xB5)), (200, (0x08, 0x30, 0x6B)))
pytestmark = pytest.mark.e2e

LEADERBOARD = """
query Board($level: PerformanceLevel!, $since: Date!, $until: Date!) {
  leaderboard(level: $level, since: $since, until: $until) {
    minReports
    entries { rank unrankedReason unit { id code name } figures { received } }
  }
}
"""

OVERDUE = """
query Overdue($after: String) {
  workQueue(filter: {overdue: true}, first: 100, after: $after) {
    edges { node { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

KELURAHAN_OVERDUE = "query { overdueByKelurahan { kelurahanCode kelurahanName reports oldestDueAt } }"

SERIES_CHART = """() => {
    const chart = window.Chart.getChart('series-chart');
    if (!chart || !chart.chartArea) return null;
    return {
        width: chart.chartArea.width,
        datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data})),
    };
}"""

RENDERED_OVERDUE = f"""() => {{
    const map = window.jscOverdueMap;
    if (!map || !map.getLayer('{OVERDUE_LAYER}')) return null;
    return [...new Set(map.queryRenderedFeatures({{layers: ['{OVERDUE_LAYER}']}}).map((f) => f.properties.id))];
}}"""


LAYER_ORDER = "() => window.jscOverdueMap.getStyle().layers.map((l) => [l.id, l.type])"

# The map moved to [lon, lat] at zoom 16 and drawn, then what the choropleth and the points have at its centre.
AT_CENTRE = f"""([lon, lat]) => new Promise((resolve) => {{
    const map = window.jscOverdueMap;
    map.once('idle', () => {{
        const centre = map.project(map.getCenter());
        const at = (layer) => map.queryRenderedFeatures(centre, {{layers: [layer]}});
        resolve({{
            choropleth: at('{CHOROPLETH_LAYER}').map((f) => f.properties.code),
            points: at('{OVERDUE_LAYER}').map((f) => f.properties.id),
        }});
    }});
    map.jumpTo({{center: [lon, lat], zoom: 16}});
}})"""


def api_port() -> int:
    """A free port outside the project's stacks (scripts/stack.py: 45400, 46400 and 47400 and up, and SeaweedFS's
    gRPC ports 10000 above them), which a stack started after this test could otherwise find taken."""
    while True:
        port = free_port()
        if (port // 100) % 100 not in (54, 64, 74):
            return port


@pytest.fixture(scope="module")
def dashboard_server(database: None) -> Iterator[str]:
    port = api_port()
    proc = start_api(port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield url
    finally:
        stop(proc)


@dataclass
class Seeded:
    auditor_email: str
    citizen_email: str
    overdue: dict[str, tuple[float, float]]  # report id -> (lat, lon), Tomang's reports now past their deadline
    island_overdue: str  # a report past its deadline in Pulau Harapan, 130 km north of Tomang at sea


def kelurahan_shapes() -> dict[str, BaseGeometry]:
    return {f["properties"]["kode_kel"]: shape(f["geometry"]) for f in json.loads(KELURAHAN.read_text())["features"]}


def spots(code: str, count: int) -> list[tuple[float, float]]:
    """`count` points well inside a kelurahan, about 70 m apart, nearest its representative point first."""
    inner = kelurahan_shapes()[code].buffer(-0.0005)
    centre = inner.representative_point()
    step = 0.00065
    grid = [
        Point(centre.x + dx * step, centre.y + dy * step)
        for dx in range(-8, 9)
        for dy in range(-8, 9)
        if inner.contains(Point(centre.x + dx * step, centre.y + dy * step))
    ]
    grid.sort(key=centre.distance)
    assert len(grid) >= count, code
    return [(p.y, p.x) for p in grid[:count]]


def clear_spot(polygon: BaseGeometry, away_from: list[tuple[float, float]]) -> tuple[float, float]:
    """The point more than 100 m inside a kelurahan that is farthest from the given (lat, lon) places."""
    inner = polygon.buffer(-0.001)
    west, south, east, north = inner.bounds
    step = 0.0002
    grid = [
        Point(west + i * step, south + j * step)
        for i in range(int((east - west) / step) + 1)
        for j in range(int((north - south) / step) + 1)
    ]
    places = [Point(lon, lat) for lat, lon in away_from]
    best = max((p for p in grid if inner.contains(p)), key=lambda p: min((p.distance(q) for q in places), default=0))
    return best.y, best.x


def box_of(area: dict[str, float]) -> BaseGeometry:
    return Polygon.from_bounds(area["west"], area["south"], area["east"], area["north"])


def lon_lat(place: tuple[float, float]) -> list[float]:
    return [place[1], place[0]]


def band_color(count: int) -> tuple[int, int, int]:
    color = BASE_FILL
    for least, band in CHOROPLETH:
        if count >= least:
            color = band
    return color


def assert_color(pixel: tuple[int, int, int], expected: tuple[int, int, int]) -> None:
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, expected, strict=True)), (pixel, expected)


class Seeder:
    """Reports filed and worked on through the domain at chosen times, each in its own transaction."""

    def __init__(self, resources: Resources, reporter: User, lurah: User, tomang_unit_id: int) -> None:
        self.resources = resources
        self.reporter = reporter
        self.lurah = workflow.Actor(lurah.id, Role.OFFICER, tomang_unit_id)
        self.calendar = workflow.calendar_for(resources.settings)

    async def file(self, at: tuple[float, float], when: datetime, *, unit_code: str) -> Report:
        reference = await self.resources.reference.get()
        async with self.resources.unit_of_work() as session:
            filed = await reports.create_report(
                session,
                self.resources.storage,
                self.resources.settings,
                reference,
                reporter_id=self.reporter.id,
                data=reports.NewReport(
                    client_request_id=str(uuid.uuid4()),
                    category="garbage",
                    description="Sampah menumpuk di pinggir jalan",
                    lat=at[0],
                    lon=at[1],
                ),
                jobs=JobBuffer(),
                now=when,
            )
        assert filed.report.unit_id == reference.unit_codes[unit_code].id, at
        return filed.report

    async def move(self, report: Report, to: ReportStatus, when: datetime, **change: Any) -> Report:
        reference = await self.resources.reference.get()
        async with self.resources.unit_of_work() as session:
            return await workflow.change_status(
                session,
                self.resources.storage,
                self.resources.settings,
                reference,
                self.calendar,
                actor=self.lurah,
                report_id=report.id,
                change=workflow.StatusChange(to=to, **change),
                jobs=JobBuffer(),
                now=when,
            )

    async def after_photo(self) -> str:
        """An after-photo uploaded as requestPhotoUpload and the browser leave it."""
        key = f"uploads/{self.lurah.user_id}/{uuid.uuid4()}"
        async with self.resources.unit_of_work() as session:
            session.add(
                Photo(
                    owner_id=self.lurah.user_id,
                    upload_key=key,
                    content_type="image/jpeg",
                    declared_bytes=1,
                    status=PhotoStatus.REQUESTED,
                )
            )
        await self.resources.storage.write(key, jpeg_with_gps(), content_type="image/jpeg")
        return key

    async def rate(self, report: Report, rating: int, when: datetime) -> None:
        reporter = workflow.Actor(self.reporter.id, Role.CITIZEN, None)
        async with self.resources.unit_of_work() as session:
            await workflow.rate(session, actor=reporter, report_id=report.id, rating=rating, comment=None, now=when)


async def account(resources: Resources, role: Role, unit_code: str | None = None) -> User:
    reference = await resources.reference.get()
    async with resources.unit_of_work() as session:
        return await accounts.sign_up(
            session,
            email=f"dasbor-{role.value.lower()}-{uuid.uuid4().hex[:10]}@jakarta.go.id",
            phone=None,
            password=PASSWORD,
            display_name=f"Dasbor {role.value.lower()}",
            role=role,
            unit_id=reference.unit_codes[unit_code].id if unit_code else None,
        )


@pytest.fixture(scope="module")
async def seeded(dashboard_server: str, resources: Resources) -> Seeded:
    reference = await resources.reference.get()
    tomang_unit = reference.unit_codes[TOMANG[1]]
    citizen = await account(resources, Role.CITIZEN)
    seeder = Seeder(resources, citizen, await account(resources, Role.OFFICER, TOMANG[1]), tomang_unit.id)
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=20), now - timedelta(days=3)
    hour = timedelta(hours=1)
    places = iter(spots(TOMANG[0], 12))
    final: dict[tuple[float, float], Report] = {}

    # Tomang, 12 reports (enough to be ranked): 3 never answered, 2 completed (one rated), 2 still in
    # progress after their completion deadline, 3 rejected within the hour, and 2 filed today, answered,
    # within their deadline.
    for place in (next(places) for _ in range(3)):
        final[place] = await seeder.file(place, old, unit_code=TOMANG[1])
    for rating in (4, None):
        place = next(places)
        report = await seeder.file(place, old, unit_code=TOMANG[1])
        await seeder.move(report, ReportStatus.IN_PROGRESS, old + 2 * hour)
        final[place] = await seeder.move(
            report, ReportStatus.COMPLETED, old + 26 * hour, after_photo_keys=(await seeder.after_photo(),)
        )
        if rating is not None:
            await seeder.rate(final[place], rating, old + 30 * hour)
    for place in (next(places) for _ in range(2)):
        report = await seeder.file(place, old, unit_code=TOMANG[1])
        final[place] = await seeder.move(report, ReportStatus.IN_PROGRESS, old + 5 * hour)
    for place in (next(places) for _ in range(3)):
        report = await seeder.file(place, recent, unit_code=TOMANG[1])
        final[place] = await seeder.move(report, ReportStatus.REJECTED, recent + hour, reason="Bukan wewenang")
    for place in (next(places) for _ in range(2)):
        report = await seeder.file(place, now - 2 * hour, unit_code=TOMANG[1])
        final[place] = await seeder.move(report, ReportStatus.COORDINATION, now - hour)
    # Grogol, 2 reports: too few to be ranked.
    for place in spots(GROGOL[0], 2):
        await seeder.file(place, recent, unit_code=GROGOL[1])

    overdue = {
        str(r.id): place
        for place, r in final.items()
        if r.status in workflow.OPEN and r.due_at is not None and r.due_at < now
    }
    assert len(overdue) == 5, "the 3 unanswered and the 2 late in progress"
    # Pulau Harapan, far out at sea: one never answered (the overdue map once stopped at the mainland's edge).
    [island] = spots(HARAPAN[0], 1)
    island_overdue = await seeder.file(island, old, unit_code=HARAPAN[1])
    auditor = await account(resources, Role.AUDITOR)
    assert auditor.email is not None
    assert citizen.email is not None
    return Seeded(auditor.email, citizen.email, overdue, str(island_overdue.id))


class Browser:
    """The page's console errors and every request it made, local or not; requests leaving 127.0.0.1 are
    refused, so the test never reaches the internet."""

    def __init__(self, page: Page, server: str) -> None:
        self.server = urlsplit(server)
        self.errors: list[str] = []
        self.requested: list[str] = []
        self.foreign: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _request(self, request: Request) -> None:
        self.requested.append(request.url)

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("data", "blob") or (parts.hostname == "127.0.0.1" and parts.port == self.server.port)

    async def route(self, route: Route) -> None:
        if self.is_local(route.request.url):
            await route.continue_()
        else:
            self.foreign.append(route.request.url)
            await route.abort()


@contextlib.asynccontextmanager
async def dashboard(server: str) -> AsyncIterator[tuple[Page, Browser]]:
    """Debian's Chromium with /dashboard; on a failure, a screenshot and the console errors."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await chromium.new_page(viewport={"width": 1400, "height": 1000})
        browser = Browser(page, server)
        try:
            await page.route("**/*", browser.route)
            await page.goto(f"{server}/dashboard")
            yield page, browser
        except Error as exc:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
            raise AssertionError(f"{exc}; console: {browser.errors}") from exc
        finally:
            await chromium.close()


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("E-mail atau nomor telepon").fill(email)
    await page.get_by_label("Kata sandi").fill(password)
    await page.get_by_role("button", name="Masuk").click()


async def token_of(api: Api, email: str) -> str:
    body = await api.gql(LOG_IN, {"login": email, "password": PASSWORD})
    token: str = body["data"]["logIn"]["session"]["accessToken"]
    return token


async def map_centre_pixel(page: Page) -> tuple[int, int, int]:
    """The colour drawn at the centre of the overdue map."""
    await page.locator("#overdue-map").scroll_into_view_if_needed()
    box = await page.locator("#overdue-map").bounding_box()
    assert box is not None
    png = await page.screenshot(
        clip={"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2, "width": 1, "height": 1}
    )
    pixel = Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


async def overdue_ids(api: Api, token: str) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        body = await api.gql(OVERDUE, {"after": after}, token=token)
        assert "errors" not in body, body
        queue = body["data"]["workQueue"]
        ids |= {edge["node"]["id"] for edge in queue["edges"]}
        if not queue["pageInfo"]["hasNextPage"]:
            return ids
        after = queue["pageInfo"]["endCursor"]


async def test_dashboard_page_and_chartjs_are_served(dashboard_server: str) -> None:
    async with httpx.AsyncClient(base_url=dashboard_server) as client:
        page = await client.get("/dashboard")
        script = await client.get("/static/vendor/chart.umd.js")
        licence = await client.get("/static/vendor/chart.js.LICENSE.md")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/vendor/chart.umd.js"></script>' in page.text
    assert '<script src="/static/vendor/maplibre-gl.js"></script>' in page.text
    assert script.status_code == 200
    assert script.text.startswith("/*!\n * Chart.js v4.")
    assert licence.status_code == 200
    assert "Chart.js Contributors" in licence.text


async def test_auditor_sees_the_leaderboard_a_time_series_and_the_overdue_map(
    seeded: Seeded, dashboard_server: str
) -> None:
    async with httpx.AsyncClient(base_url=dashboard_server, timeout=30) as client:
        api = Api(client)
        token = await token_of(api, seeded.auditor_email)

        async with dashboard(dashboard_server) as (page, browser):
            # given an auditor logged in on the page with its default period (the last 30 days)
            await log_in(page, seeded.auditor_email)
            tomang_row = page.locator(f'#leaderboard tbody tr[data-unit-code="{TOMANG[1]}"]')
            await expect(tomang_row).to_be_visible(timeout=15_000)
            since, until = await page.input_value("#since"), await page.input_value("#until")
            assert (datetime.fromisoformat(until) - datetime.fromisoformat(since)).days == 29

            # then the leaderboard shows what the API answers for the same query
            body = await api.gql(LEADERBOARD, {"level": "KELURAHAN", "since": since, "until": until}, token=token)
            assert "errors" not in body, body
            entries = {e["unit"]["code"]: e for e in body["data"]["leaderboard"]["entries"]}
            tomang, grogol = entries[TOMANG[1]], entries[GROGOL[1]]
            assert tomang["figures"]["received"] >= 12
            assert tomang["rank"] is not None
            await expect(tomang_row).to_have_class("ranked")
            await expect(tomang_row.locator("td.received")).to_have_text(str(tomang["figures"]["received"]))
            await expect(tomang_row.locator("td.rank")).to_have_text(str(tomang["rank"]))
            grogol_row = page.locator(f'#leaderboard tbody tr[data-unit-code="{GROGOL[1]}"]')
            await expect(grogol_row).to_have_class("unranked")
            await expect(grogol_row.locator(".reason")).to_have_text(grogol["unrankedReason"])
            await expect(grogol_row.locator("td.received")).to_have_text(str(grogol["figures"]["received"]))
            top_labels = await page.evaluate("() => window.Chart.getChart('top-chart').data.labels")
            assert tomang["unit"]["name"] in top_labels

            # when the Tomang row is clicked, then its weekly time series is drawn, adding up to its received
            await tomang_row.locator("button.unit-button").click()
            await expect(page.locator("#series-section")).to_have_attribute("data-state", "ready", timeout=15_000)
            drawn = await page.wait_for_function(SERIES_CHART, timeout=15_000)
            chart = await drawn.json_value()
            assert chart["width"] > 0
            assert [d["label"].split(" (")[0] for d in chart["datasets"]] == [
                "Diterima",
                "Selesai",
                "Tingkat selesai",
                "Respons ≤ SLA",
            ]
            received = chart["datasets"][0]["data"]
            assert len(received) >= 5  # the weeks touching a 30-day period
            assert sum(received) == tomang["figures"]["received"]
            assert sum(chart["datasets"][1]["data"]) >= 2

            # and the overdue map has one point for each report the work queue holds past its deadline
            expected = await overdue_ids(api, token)
            assert set(seeded.overdue) <= expected
            summary = page.locator("#overdue-summary")
            await expect(summary).to_have_attribute("data-state", "ready", timeout=15_000)
            await expect(summary).to_have_attribute("data-count", str(len(expected)))
            rendered = await page.wait_for_function(
                f"(count) => {{ const ids = ({RENDERED_OVERDUE})(); return ids && ids.length >= count ? ids : null; }}",
                arg=len(expected),
                timeout=15_000,
            )
            assert set(await rendered.json_value()) == expected
            assert seeded.island_overdue in expected

            # when one of them is clicked, then a popup names its category and kelurahan
            report_id, (lat, lon) = next(iter(seeded.overdue.items()))
            await page.evaluate(
                "([lon, lat]) => window.jscOverdueMap.jumpTo({center: [lon, lat], zoom: 18})", [lon, lat]
            )
            await page.wait_for_function(f"(id) => ({RENDERED_OVERDUE})()?.includes(id)", arg=report_id, timeout=15_000)
            await page.locator("#overdue-map").scroll_into_view_if_needed()
            box = await page.locator("#overdue-map").bounding_box()
            assert box is not None
            await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            popup = page.locator(".maplibregl-popup .popup")
            await expect(popup.locator(".category")).to_have_text("Sampah")
            await expect(popup.locator(".kelurahan")).to_have_text("Tomang")
            await page.locator(".maplibregl-popup-close-button").click()
            await expect(page.locator(".maplibregl-popup")).to_have_count(0)

            # and the caption gives overdueByKelurahan's city-wide total, which the points are all of here
            body = await api.gql(KELURAHAN_OVERDUE, token=token)
            assert "errors" not in body, body
            by_code = {row["kelurahanCode"]: row for row in body["data"]["overdueByKelurahan"]}
            total = sum(row["reports"] for row in by_code.values())
            assert total == len(expected)
            await expect(summary).to_have_attribute("data-total", str(total))
            await expect(summary).to_have_attribute("data-kelurahan", str(len(by_code)))
            await expect(summary).to_contain_text(
                f"Seluruh kota: {total} laporan terlambat di {len(by_code)} kelurahan"
            )
            await expect(summary).to_contain_text(f"; {len(expected)} are drawn as points.")

            # and the choropleth is a fill layer over the base fill and under the points
            layers = await page.evaluate(LAYER_ORDER)
            assert [CHOROPLETH_LAYER, "fill"] in layers
            order = [layer_id for layer_id, _ in layers]
            assert order.index("kelurahan-fill") < order.index(CHOROPLETH_LAYER) < order.index(OVERDUE_LAYER)

            # when a kelurahan without overdue reports is shown, then it is not in the layer and keeps the base fill
            shapes = kelurahan_shapes()
            quiet = max(
                (
                    code
                    for code, polygon in shapes.items()
                    if code not in by_code and polygon.within(box_of(SERVICE_AREA))
                ),
                key=lambda code: shapes[code].area,
            )
            at_centre = await page.evaluate(AT_CENTRE, lon_lat(clear_spot(shapes[quiet], [])))
            assert at_centre == {"choropleth": [], "points": []}, quiet
            assert_color(await map_centre_pixel(page), BASE_FILL)

            # when Tomang is shown away from its reports, then it is filled with the colour of the API's count
            tomang_overdue = by_code[TOMANG[0]]
            assert tomang_overdue["reports"] >= len(seeded.overdue)
            spot = lon_lat(clear_spot(shapes[TOMANG[0]], spots(TOMANG[0], 12)))
            at_centre = await page.evaluate(AT_CENTRE, spot)
            assert set(at_centre["choropleth"]) == {TOMANG[0]}
            assert at_centre["points"] == []
            assert_color(await map_centre_pixel(page), band_color(tomang_overdue["reports"]))

            # and a click there opens its popup: name, count, oldest deadline and how many days late that is
            box = await page.locator("#overdue-map").bounding_box()
            assert box is not None
            await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            area = page.locator(".maplibregl-popup .kelurahan-popup")
            await expect(area).to_have_attribute("data-code", TOMANG[0])
            await expect(area.locator(".name")).to_have_text(tomang_overdue["kelurahanName"])
            await expect(area.locator(".reports")).to_have_text(str(tomang_overdue["reports"]))
            await expect(area.locator(".oldest time")).to_have_attribute("datetime", tomang_overdue["oldestDueAt"])
            late = await area.locator(".late").inner_text()
            days = (datetime.now(UTC) - datetime.fromisoformat(tomang_overdue["oldestDueAt"])).total_seconds() / 86_400
            assert late.endswith(" hari (days)"), late
            # id-ID writes 2531.2 as "2.531,2": thousands with dots, the decimal comma
            assert abs(float(late.split()[0].replace(".", "").replace(",", ".")) - days) < 0.1, (late, days)

            # and a second click while it is open shows it again rather than closing it
            await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            await expect(page.locator(".maplibregl-popup")).to_have_count(1)
            await expect(area.locator(".reports")).to_have_text(str(tomang_overdue["reports"]))

            # (the screenshot: the popup and the kelurahan around Tomang)
            await page.evaluate(
                "() => new Promise((resolve) => { const map = window.jscOverdueMap; "
                "map.once('idle', resolve); map.jumpTo({zoom: 13}); })"
            )

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            assert browser.errors == []
            assert browser.foreign == []
            assert all(browser.is_local(url) for url in browser.requested), browser.requested
            assert any(url.endswith("/static/vendor/chart.umd.js") for url in browser.requested)


async def test_wrong_password_and_a_citizen_account_are_refused(seeded: Seeded, dashboard_server: str) -> None:
    async with dashboard(dashboard_server) as (page, browser):
        message = page.locator("#login-message")

        # when the password is wrong, then the page says so and stays on the login form
        await log_in(page, seeded.auditor_email, "not the password at all")
        await expect(message).to_have_attribute("data-code", "INVALID_CREDENTIALS")
        await expect(message).to_contain_text("wrong e-mail or password")

        # when a citizen logs in, then the API's FORBIDDEN is shown and the dashboard stays closed
        await log_in(page, seeded.citizen_email)
        await expect(message).to_have_attribute("data-code", "FORBIDDEN")
        await expect(message).to_contain_text("not a staff account")
        await expect(page.locator("#app")).to_be_hidden()
        assert await page.locator("#leaderboard tbody tr").count() == 0

        assert browser.errors == []
        assert browser.foreign == []


class ExpiringToken:
    """/graphql as it answers once the access token has expired: UNAUTHENTICATED, once for each operation named;
    counts the refreshes the page asks for."""

    def __init__(self) -> None:
        self.expired: set[str] = set()
        self.refreshes = 0

    async def __call__(self, route: Route) -> None:
        body = route.request.post_data_json or {}
        query = str(body.get("query", ""))
        self.refreshes += "mutation DashboardRefresh" in query
        operation = next((name for name in self.expired if f"query {name}" in query), None)
        if operation is None:
            await route.fallback()
            return
        self.expired.discard(operation)
        error = {"message": "Log in first.", "extensions": {"code": "UNAUTHENTICATED"}}
        await route.fulfill(status=200, content_type="application/json", body=json.dumps({"errors": [error]}))


async def test_an_expired_token_is_refreshed_once_for_queries_made_together(
    seeded: Seeded, dashboard_server: str
) -> None:
    async with dashboard(dashboard_server) as (page, browser):
        expiring = ExpiringToken()
        await page.route("**/graphql", expiring)
        await log_in(page, seeded.auditor_email)
        await expect(page.locator(f'#leaderboard tbody tr[data-unit-code="{TOMANG[1]}"]')).to_be_visible()
        await expect(page.locator("#overdue-summary")).to_have_attribute("data-state", "ready")

        # given a token that has expired when the leaderboard and the overdue map's two queries are reloaded
        expiring.expired = {"DashboardLeaderboard", "DashboardOverdue", "DashboardKelurahanOverdue"}
        await page.get_by_role("button", name="Tampilkan").click()

        # then the page refreshes its session once (a refresh token used twice would end it) and shows both
        await expect(page.locator("#overdue-summary")).to_have_attribute("data-state", "ready")
        await expect(page.locator(f'#leaderboard tbody tr[data-unit-code="{TOMANG[1]}"]')).to_be_visible()
        assert expiring.expired == set()
        assert expiring.refreshes == 1
        await expect(page.locator("#app")).to_be_visible()
        await expect(page.locator("#leaderboard-error")).to_be_hidden()
        await expect(page.locator("#overdue-error")).to_be_hidden()

        # and the refreshed session still works for what comes next
        await page.locator(f'#leaderboard tbody tr[data-unit-code="{TOMANG[1]}"] button').click()
        await expect(page.locator("#series-section")).to_have_attribute("data-state", "ready")
        assert browser.errors == []
        assert browser.foreign == []
