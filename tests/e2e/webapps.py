"""What the browser tests of the web apps (/officer, /app) share: Debian's Chromium as a phone, axe-core, the
page's console, screenshots, and staff accounts made through the CLI as an operator makes them."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

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


def run_cli(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@dataclass(frozen=True)
class Staff:
    login: str
    password: str


async def staff_account(role: str, unit: str | None, name: str) -> Staff:
    """A staff account made as an operator makes one (`jsc create-user`)."""
    login = f"{role}-{time.time_ns()}@jakarta.go.id"
    password = "kata sandi petugas 1"
    args = ["create-user", "--role", role, "--email", login, "--name", name, "--password", password]
    if unit is not None:
        args += ["--unit", unit]
    await asyncio.to_thread(run_cli, *args)
    return Staff(login, password)
