"""What the browser tests of the web apps (/officer, /app) share: Debian's Chromium as a phone, axe-core, the
page's console, screenshots, staff accounts made through the CLI as an operator makes them, and the steps every
test takes through each app's screens (logging in, finding a report in the officer's queue, filing a report with
the citizen's camera)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from cli.main import create_user_command
from tests.factories import LOG_IN, Api, Citizen

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "webapps"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Near Tomang (Jakarta Barat), in kelurahan Tomang (kel-31.73.02.1003) whose office is the lurah's unit.
TOMANG = {"latitude": -6.169348, "longitude": 106.789581, "accuracy": 12}
TOMANG_UNIT = "kel-31.73.02.1003"
TOMANG_CAMAT = "kec-31.73.02"
# A mid-range Android phone: what a lurah or a citizen holds.
PHONE: dict[str, Any] = {
    "viewport": {"width": 393, "height": 851},
    "device_scale_factor": 2.75,
    "is_mobile": True,
    "has_touch": True,
    "locale": "id-ID",
    "timezone_id": "Asia/Jakarta",
    "geolocation": TOMANG,
    "permissions": ["geolocation"],
    "service_workers": "allow",
}


class Console:
    """The page's errors: console.error lines and uncaught exceptions, less the network's own failures (which
    offline tests cause on purpose)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" and "net::ERR_INTERNET_DISCONNECTED" not in text and "Failed to fetch" not in text:
            self.errors.append(f"console: {text}")


@dataclass
class Phone:
    context: BrowserContext
    page: Page
    console: Console

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def offline(self, offline: bool = True) -> None:
        await self.context.set_offline(offline)

    async def service_worker_ready(self) -> None:
        """Waits until the app's service worker is active and controls the page (reloading once if needed)."""
        await self.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        if not await self.page.evaluate("navigator.serviceWorker.controller !== null"):
            await self.page.reload()
            await self.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        assert await self.page.evaluate("navigator.serviceWorker.controller !== null")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def phone(browser: Browser, base_url: str, name: str, **overrides: Any) -> AsyncIterator[Phone]:
    """A fresh phone (its own storage and service workers); on a failure, a screenshot named after the test."""
    context = await browser.new_context(base_url=base_url, **{**PHONE, **overrides})
    page = await context.new_page()
    console = Console(page)
    held = Phone(context, page, console)
    try:
        yield held
    except BaseException:
        with contextlib.suppress(Exception):
            await held.screenshot(f"{name}-failure")
        raise
    finally:
        await context.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on what the page shows now (WCAG 2 A and AA rules)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script>: the app's CSP allows only its own scripts.
        await page.evaluate(AXE.read_text() + "\n;true")
    result = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": item["id"], "impact": item["impact"], "nodes": [node["target"] for node in item["nodes"]]}
        for item in result["violations"]
        if item["impact"] in ("serious", "critical")
    ]


@dataclass(frozen=True)
class Staff:
    login: str
    password: str


async def staff_account(role: str, unit: str | None, name: str) -> Staff:
    """A staff account made as an operator makes one: `jsc create-user`'s own command, run in this process (a
    process of its own costs seconds of imports; tests/e2e/test_stack.py runs the real command line)."""
    login = f"{role}-{time.time_ns()}@jakarta.go.id"
    password = "kata sandi petugas 1"
    ns = argparse.Namespace(role=role, email=login, phone=None, name=name, unit=unit, password=password)
    assert await create_user_command(ns) == 0
    return Staff(login, password)


async def api_session(api: Api, login: str, password: str) -> Citizen:
    """Logs in over HTTP (a citizen or a staff account): the tokens a test reads and writes the API with."""
    body = await api.gql(LOG_IN, {"login": login, "password": password})
    session = body["data"]["logIn"]["session"]
    assert session is not None, body
    return Citizen(session["accessToken"], session["refreshToken"], session["user"]["id"], login, password)


async def until(check: Any, what: str, attempts: int = 120) -> Any:
    """Polls the API until ``check()`` gives something true (the worker's photo processing is not instant)."""
    for _ in range(attempts):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.5)
    pytest.fail(f"never: {what}")


async def shoot(held: Phone, name: str) -> None:
    """The whole screen as a phone this tall would show it: the bottom menu at the bottom, not over the middle."""
    page = held.page
    viewport = page.viewport_size
    assert viewport is not None
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    try:
        await held.screenshot(name)
    finally:
        await page.set_viewport_size(viewport)


# --- the officer app (/officer) ----------------------------------------------------------------------------------


async def officer_log_in(page: Page, staff: Staff, route: str = "") -> None:
    await page.goto(f"/officer/{route}")
    await page.get_by_label("E-mail atau nomor HP").fill(staff.login)
    await page.get_by_label("Kata sandi").fill(staff.password)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Antrian kerja")).to_be_visible()


async def in_queue(page: Page, description: str) -> Locator:
    """The report's entry in the queue as it is filtered now, paging on until it shows (the other tests' reports
    of the session may come first: the queue is sorted by deadline, and a new report's is the latest)."""
    queue = page.get_by_role("list", name="Laporan di antrian")
    entry = queue.get_by_role("link", name=re.compile(re.escape(description)))
    more = page.get_by_role("button", name="Tampilkan lebih banyak")
    for _ in range(40):
        # A live event may refresh the queue at any moment: the list then reloads, the button is disabled while it
        # does and may be gone after (everything fits on the first page). Look again after each settle.
        await expect(queue).to_have_attribute("aria-busy", "false")
        await expect(entry.or_(more).first).to_be_visible(timeout=30_000)
        if await entry.count():
            break
        before = await queue.get_by_role("listitem").count()
        try:
            await more.click(timeout=5_000)
        except PlaywrightTimeoutError:
            continue
        with contextlib.suppress(AssertionError):  # a refresh in between may leave the same count: look again
            await expect(queue.get_by_role("listitem")).not_to_have_count(before, timeout=5_000)
    await expect(entry).to_be_visible()
    return entry


async def open_report(page: Page, description: str) -> None:
    await (await in_queue(page, description)).click()
    await expect(page.get_by_role("heading", name="Laporan", exact=True)).to_be_visible()
    await expect(page.get_by_text(description, exact=True)).to_be_visible()


async def open_action(page: Page, action: str) -> None:
    await page.get_by_role("button", name="Tindakan", exact=True).click()
    sheet = page.get_by_role("dialog")
    await sheet.get_by_role("button", name=action).click()
    await expect(sheet.get_by_role("heading", name=action)).to_be_visible()


async def until_sent(page: Page) -> None:
    """The outbox is empty again: every action the phone kept has been accepted by the API."""
    await expect(page.get_by_text(re.compile("^Menunggu dikirim"))).to_have_count(0)
    await expect(page.get_by_role("heading", name="Menunggu dikirim")).to_have_count(0)


# --- the citizen app (/app) --------------------------------------------------------------------------------------

# The citizen app's outbox as kept in IndexedDB (web/src/shared/store.ts): what waits to be sent, with its progress.
CITIZEN_OUTBOX = """new Promise((resolve, reject) => {
  const opening = indexedDB.open('jsc-app');
  opening.onsuccess = () => {
    const read = opening.result.transaction('outbox').objectStore('outbox').getAll();
    read.onsuccess = () => resolve(read.result);
    read.onerror = () => reject(read.error);
  };
  opening.onerror = () => reject(opening.error);
})"""


async def citizen_log_in(held: Phone, login: str, password: str) -> None:
    page = held.page
    await page.goto("/app/")
    await page.get_by_role("button", name="Masuk").click()
    await page.get_by_label("E-mail atau nomor HP").fill(login)
    await page.get_by_label("Kata sandi").fill(password)
    await page.get_by_role("button", name="Masuk").last.click()
    await expect(page.get_by_role("heading", name="Laporan saya")).to_be_visible()


async def take_photo(page: Page, data: bytes) -> None:
    """What the camera gives the page: a phone's JPEG, EXIF with GPS included."""
    await page.get_by_label("Ambil atau pilih foto").set_input_files(
        {"name": "IMG_20261205_0712.jpg", "mimeType": "image/jpeg", "buffer": data}
    )


async def fill_report(page: Page, category: str, description: str, *, photo: bytes | None = None) -> None:
    await page.get_by_role("link", name="Lapor", exact=True).click()
    await expect(page.get_by_role("heading", name="Laporan baru")).to_be_visible()
    if photo is not None:
        await take_photo(page, photo)
        await expect(page.get_by_role("img", name="Foto 1 yang akan dikirim")).to_be_visible()
    await page.get_by_role("radio", name=category, exact=True).check()
    await page.get_by_label("Keterangan").fill(description)
