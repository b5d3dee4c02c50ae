"""The two installable apps' shells in Debian's Chromium as a phone: served with their manifest, icons and
service worker, open offline once visited, switch language, and pass axe-core on their first screens."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from playwright.async_api import expect

from api.trusted_documents import TrustedDocuments
from scripts.trusted_documents import manifest_entries
from tests.e2e.processes import ROOT, running
from tests.e2e.webapps import axe_violations, chromium, phone

pytestmark = pytest.mark.e2e

FIRST_SCREEN = {
    "officer": ("Masuk sebagai petugas", "Log in as an officer"),
    "command": ("Masuk ke pusat komando", "Log in to the command center"),
    "app": ("Lapor Jakarta", "Report Jakarta"),
}


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running(worker=False) as urls:
        yield urls[0]


@pytest.mark.parametrize("app", ["officer", "command", "app"])
def test_app_is_served_installable(server: str, app: str) -> None:
    with httpx.Client(base_url=server) as http:
        redirect = http.get(f"/{app}")
        page = http.get(f"/{app}/")
        manifest = http.get(f"/{app}/manifest.webmanifest").json()
        worker = http.get(f"/{app}/sw.js")
        icons = [(icon["sizes"], icon["purpose"], http.get(f"/{app}/{icon['src']}")) for icon in manifest["icons"]]

    assert (redirect.status_code, redirect.headers["location"]) == (308, f"/{app}/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    # The page carries its bundle inline; the policy allows exactly that script (a wrong hash would stop the app,
    # which the browser test below would see).
    assert '<script type="module">' in page.text
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]
    assert (manifest["start_url"], manifest["scope"], manifest["display"], manifest["lang"]) == (
        "./",
        "./",
        "standalone",
        "id",
    )
    assert [(sizes, purpose) for sizes, purpose, _ in icons] == [
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    ]
    assert {(icon.status_code, icon.headers["content-type"]) for _, _, icon in icons} == {(200, "image/png")}
    assert (worker.status_code, worker.headers["cache-control"]) == (200, "no-cache")


@pytest.mark.parametrize("app", ["officer", "command", "app"])
async def test_app_opens_offline_in_either_language_and_passes_axe(server: str, app: str) -> None:
    indonesian, english = FIRST_SCREEN[app]
    async with chromium() as browser, phone(browser, server, f"shell-{app}") as held:
        page = held.page
        await page.goto(f"/{app}")
        await expect(page.get_by_role("heading", name=indonesian)).to_be_visible()
        assert await axe_violations(page) == []
        await held.service_worker_ready()

        await held.offline()
        await page.reload()
        await expect(page.get_by_role("heading", name=indonesian)).to_be_visible()
        await page.get_by_label("Bahasa").select_option("en")
        await expect(page.get_by_role("heading", name=english)).to_be_visible()
        assert await page.evaluate("document.documentElement.lang") == "en"
        await page.reload()
        await expect(page.get_by_role("heading", name=english)).to_be_visible()
        assert await axe_violations(page) == []
        assert held.console.errors == []


def test_the_built_manifest_trusts_every_document_the_apps_and_pages_send() -> None:
    built = TrustedDocuments.load(ROOT / "api" / "static" / "trusted-documents.json")
    pages = manifest_entries(sorted((ROOT / "api" / "static").glob("*.js")))
    generated = orjson.loads((ROOT / "web" / "src" / "gql" / "persisted-documents.json").read_bytes())

    assert built is not None
    assert len(pages) == 11
    assert {key: built.texts.get(key) for key in pages} == pages
    assert {key.removeprefix("sha256:"): text for key, text in generated.items()}.items() <= built.texts.items()
    assert len(built) == len(pages) + len(generated)
