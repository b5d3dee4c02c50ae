"""The command-center wall (/command) in Debian's Chromium, on a 4K wall (3840×2160) and on the mayor's phone:
cameras registered by an admin through the API, an alert raised and a report filed while the wall is open show up
without a reload, the filters change the numbers (as the API counts them), axe-core finds nothing serious."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from domain.models import AlertKind, Camera, CctvAlert
from domain.resources import Resources
from tests.api.test_floodgates_api import SAVE_GATE, SAVE_GAUGE, gauge_input
from tests.e2e.processes import running
from tests.e2e.webapps import Staff, axe_violations, chromium, phone, staff_account
from tests.factories import LOG_IN, Api, Citizen, jpeg_with_gps

# What sticks out of the page on the right, to name it when the phone's page scrolls sideways.
WIDER = """() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 8).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""

pytestmark = pytest.mark.e2e

WALL: dict[str, Any] = {
    "viewport": {"width": 3840, "height": 2160},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
}
# The Manggarai floodgate (its gate's Siaga levels set by staff), a river and a road near it.
MANGGARAI = (-6.2087, 106.8500)
SAVE_CAMERA = "mutation S($input: CameraInput!) { saveCamera(input: $input) { camera { code } errors { code } } }"
STATS = "query S($filter: WallFilterInput) { wallStats(filter: $filter) { open overdue filedToday } }"
AGENCIES = "query { units(kind: AGENCY) { id name } }"
PHONE_HEIGHT = 851


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running(worker=False) as urls:
        yield urls[0]


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


async def token(api: Api, staff: Staff) -> str:
    body = await api.gql(LOG_IN, {"login": staff.login, "password": staff.password})
    return str(body["data"]["logIn"]["session"]["accessToken"])


async def cameras(api: Api, resources: Resources, suffix: str) -> dict[str, str]:
    """Three cameras registered by an admin (saveCamera), the road one with an older alert and its snapshot."""
    admin = await token(api, await staff_account("admin", None, "Admin Komando"))
    made = {
        "FLOODGATE": (f"pintu-air-manggarai-{suffix}", f"Pintu Air Manggarai {suffix}"),
        "RIVER": (f"kali-ciliwung-{suffix}", f"Kali Ciliwung {suffix}"),
        "ROAD": (f"jalan-saharjo-{suffix}", f"Jalan Saharjo {suffix}"),
    }
    for offset, (kind, (code, name)) in enumerate(made.items()):
        camera = {
            "code": code, "name": name, "operator": "Dinas SDA", "kind": kind,
            "lat": MANGGARAI[0] + offset * 0.002, "lon": MANGGARAI[1], "headingDeg": 90.0, "fovDeg": 60.0,
            "rangeM": 150.0, "sourceKind": "ARCHIVE", "source": f"cctv/{code}",
        }  # fmt: skip
        body = await api.gql(SAVE_CAMERA, {"input": camera}, token=admin)
        assert body["data"]["saveCamera"]["errors"] == [], body
    # the floodgate camera reads the gauge of its gate, whose Siaga levels staff set
    gate = {"name": f"Manggarai {suffix}", "siaga3Cm": 750, "siaga2Cm": 850, "siaga1Cm": 950}
    body = await api.gql(SAVE_GATE, {"input": gate}, token=admin)
    assert body["data"]["saveFloodgate"]["errors"] == [], body
    body = await api.gql(SAVE_GAUGE, {"input": gauge_input(made["FLOODGATE"][0], gate["name"])}, token=admin)
    assert body["data"]["saveCameraGauge"]["errors"] == [], body
    key = f"cctv-snapshots/{made['ROAD'][0]}/older.jpg"
    await resources.storage.write(key, jpeg_with_gps(), content_type="image/jpeg")
    await raise_alert(resources, made["ROAD"][0], snapshot_key=key, ago=timedelta(hours=2))
    return {kind: name for kind, (_, name) in made.items()} | {"road-code": made["ROAD"][0]}


async def raise_alert(
    resources: Resources, code: str, *, snapshot_key: str | None = None, ago: timedelta = timedelta(0)
) -> str:
    """An alert stored as the CCTV worker stores one (its NOTIFY reaches the API's subscribers)."""
    async with resources.unit_of_work() as session:
        camera_id = await session.scalar(select(Camera.id).where(Camera.code == code))
        assert camera_id is not None
        alert = CctvAlert(
            camera_id=camera_id, kind=AlertKind.CROWD, value=52, threshold=30, snapshot_key=snapshot_key,
            created_at=datetime.now(UTC) - ago,
        )  # fmt: skip
        session.add(alert)
        await session.flush()
        return str(alert.id)


async def counted(api: Api, who: str, flt: dict[str, Any] | None = None) -> dict[str, int]:
    body = await api.gql(STATS, {"filter": flt}, token=who)
    assert "errors" not in body, body
    figures: dict[str, int] = body["data"]["wallStats"]
    return figures


def number(value: int) -> str:
    return f"{value:,}".replace(",", ".")  # id-ID


def figure(page: Page, label: str) -> Any:
    return page.locator(".figure", has=page.get_by_text(label, exact=True)).get_by_role("definition")


async def figures_show(page: Page, figures: dict[str, int]) -> None:
    await expect(figure(page, "Laporan terbuka")).to_have_text(number(figures["open"]))
    await expect(figure(page, "Lewat tenggat")).to_have_text(number(figures["overdue"]))
    await expect(figure(page, "Masuk hari ini")).to_have_text(number(figures["filedToday"]))


async def open_wall(page: Page, who: Staff) -> None:
    await page.goto("/command")
    await page.get_by_label("E-mail atau nomor HP").fill(who.login)
    await page.get_by_label("Kata sandi").fill(who.password)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Pusat Komando Jakarta", level=1)).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Langsung")).to_be_visible()


async def test_the_wall_updates_live_and_filters_on_a_4k_screen(server: str, api: Api, resources: Resources) -> None:
    # given cameras of three kinds, a garbage report, and the mayor (an auditor) at the wall
    suffix = uuid.uuid4().hex[:6]
    names = await cameras(api, resources, suffix)
    citizen: Citizen = await api.sign_up(name="Warga Manggarai")
    garbage = await api.create_report(citizen, category="garbage")
    assert garbage["errors"] == [], garbage
    mayor = await staff_account("auditor", None, "Gubernur")
    mayor_token = await token(api, mayor)
    async with chromium() as browser, phone(browser, server, "command-wall", **WALL) as held:
        page = held.page
        await open_wall(page, mayor)
        await page.wait_for_function("() => window.jscCommandMap && window.jscCommandMap.loaded()")
        await figures_show(page, await counted(api, mayor_token))
        await page.evaluate("window.jscNotReloaded = true")

        # the floodgate with its Siaga levels and no readings yet; the snapshots grouped by kind
        gate = (
            page.get_by_role("list", name="Tinggi muka air pintu air")
            .get_by_role("listitem")
            .filter(has_text=names["FLOODGATE"])
        )
        await expect(gate).to_contain_text("Siaga 3 750 · Siaga 2 850 · Siaga 1 950 cm")
        await expect(gate).to_contain_text("Belum ada data ketinggian")
        shots = page.get_by_role("region", name="Tangkapan kamera terbaru")
        for group, kind in (("Pintu air", "FLOODGATE"), ("Sungai", "RIVER"), ("Jalan", "ROAD")):
            await expect(shots.get_by_role("region", name=group).get_by_text(names[kind])).to_be_visible()
        shot = shots.get_by_role("img", name=f"Tangkapan terbaru kamera {names['ROAD']} (wajah disamarkan)")
        assert await shot.evaluate("(image) => image.decode().then(() => image.naturalWidth)") == 640

        # when an alert is raised while the wall is open, it joins the feed without a reload
        alert_id = await raise_alert(resources, names["road-code"])
        alert = page.locator(f'[data-alert-id="{alert_id}"]')
        await expect(alert).to_contain_text("Kerumunan")
        await expect(alert).to_contain_text(names["ROAD"])
        await expect(shot).to_be_visible()  # the live alert kept no picture: the last one stays on the wall

        # when a report is filed, it is listed, the figures count it and the map fetches its tiles again
        before = await counted(api, mayor_token)
        async with page.expect_request(re.compile(r"/tiles/reports/\d+/\d+/\d+\.pbf\?v=\d+")):
            tree = await api.create_report(citizen, category="fallen-tree", description="Pohon tumbang di Saharjo")
            assert tree["errors"] == [], tree
        fresh = page.get_by_role("list", name="Laporan baru masuk").locator(
            f'[data-report-id="{tree["report"]["id"]}"]'
        )
        await expect(fresh).to_contain_text("Pohon tumbang")
        after = await counted(api, mayor_token)
        assert (after["open"] - before["open"], after["filedToday"] - before["filedToday"]) == (1, 1)
        await figures_show(page, after)
        assert await page.evaluate("window.jscNotReloaded === true")

        # then the filters change the numbers as the API counts them, and the map's tiles follow
        trees = {"categories": ["fallen-tree"]}
        async with page.expect_request(re.compile(r"/tiles/reports/.*categories=fallen-tree")):
            await page.get_by_label("Kategori", exact=True).select_option("fallen-tree")
        only_trees = await counted(api, mayor_token, trees)
        assert only_trees["open"] < after["open"]  # the garbage report is left out
        await figures_show(page, only_trees)
        await page.get_by_label("Status", exact=True).select_option("COMPLETED")
        await figures_show(page, await counted(api, mayor_token, {**trees, "statuses": ["COMPLETED"]}))
        await page.get_by_label("Status", exact=True).select_option("")
        await page.get_by_label("Kategori", exact=True).select_option("")
        agencies = (await api.gql(AGENCIES, token=mayor_token))["data"]["units"]
        await page.get_by_label("Instansi", exact=True).select_option(agencies[0]["id"])
        await figures_show(page, await counted(api, mayor_token, {"unitIds": [agencies[0]["id"]]}))
        await page.get_by_label("Instansi", exact=True).select_option("")
        await figures_show(page, after)

        assert await axe_violations(page) == []
        await held.screenshot("command-wall")
        assert held.console.errors == []


async def test_the_mayor_follows_it_on_a_phone_key_figures_first(server: str, api: Api, resources: Resources) -> None:
    # given the mayor on a phone, and an alert from a camera whose name is one long word (as registries name them)
    admin = await token(api, await staff_account("admin", None, "Admin Komando"))
    long_code = f"cctv-kampung-melayu-jatinegara-{uuid.uuid4().hex[:16]}"
    camera = {
        "code": long_code, "name": long_code.upper().replace("-", "_"), "operator": "Dinas Bina Marga", "kind": "ROAD",
        "lat": MANGGARAI[0], "lon": MANGGARAI[1] + 0.003, "headingDeg": 90.0, "fovDeg": 60.0,
        "rangeM": 150.0, "sourceKind": "ARCHIVE", "source": f"cctv/{long_code}",
    }  # fmt: skip
    assert (await api.gql(SAVE_CAMERA, {"input": camera}, token=admin))["data"]["saveCamera"]["errors"] == []
    await raise_alert(resources, long_code)
    mayor = await staff_account("auditor", None, "Gubernur")
    mayor_token = await token(api, mayor)
    async with chromium() as browser, phone(browser, server, "command-phone") as held:
        page = held.page

        # when the wall opens on it
        await open_wall(page, mayor)
        await figures_show(page, await counted(api, mayor_token))

        # then it is one column, the key figures right under the title, above the floodgates, the feed and the map
        order = ("Angka utama", "Tinggi muka air pintu air", "Peringatan CCTV", "Peta laporan dan kamera")
        boxes = [await page.get_by_role("region", name=name, exact=True).bounding_box() for name in order]
        placed = [box for box in boxes if box is not None]
        assert len(placed) == len(order)
        tops = [box["y"] for box in placed]
        assert tops == sorted(tops)
        assert tops[0] < PHONE_HEIGHT
        assert {round(box["x"]) for box in placed} == {round(placed[0]["x"])}
        assert await page.evaluate("document.documentElement.scrollWidth") == 393, await page.evaluate(WIDER)
        assert await axe_violations(page) == []
        await held.screenshot("command-phone")

        # and English is one choice away
        await page.get_by_label("Bahasa").select_option("en")
        await expect(page.get_by_role("heading", name="Jakarta Command Center", level=1)).to_be_visible()
        await expect(page.get_by_role("region", name="Key figures")).to_be_visible()
        assert held.console.errors == []
