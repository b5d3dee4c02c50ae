"""The citizen app (/app) in Debian's Chromium as a phone at Tomang, against the real stack (API and worker):
sign up, file a report with the camera, support a similar report instead, file offline and come back online,
follow, support and comment, rate and reopen a completed report, the inbox, log out and delete the account.
What the app did is checked through the HTTP API (or the database), not only on the screen."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, Route, expect
from sqlalchemy import select

from domain.models import Report
from domain.resources import Resources
from domain.settings import Settings
from tests.e2e.processes import running
from tests.e2e.webapps import (
    CITIZEN_OUTBOX,
    TOMANG,
    TOMANG_UNIT,
    api_session,
    axe_violations,
    chromium,
    citizen_log_in,
    fill_report,
    phone,
    shoot,
    staff_account,
    take_photo,
    until,
)
from tests.factories import LOG_IN, Api, Citizen, jpeg_with_gps

# A spot of its own in Tomang, about 180 m from where the other tests file: the similar reports are the nearest
# first, and a whole test run files many garbage reports at TOMANG itself.
SIMILAR_SPOT = (TOMANG["latitude"] + 0.0012, TOMANG["longitude"] + 0.0011)
pytestmark = pytest.mark.e2e

PASSWORD = "kata sandi warga 1"

MINE = """
query Mine {
  myReports(first: 10) {
    edges { node {
      id status description anonymous confidential
      location { lat lon accuracyM }
      category { code }
      kelurahan { name }
      photos { status width height }
      history { kind toStatus rating publicNote }
    } }
  }
}
"""
REPORT = """
query One($id: ID!) {
  report(id: $id) {
    id status supportCount supportedByMe followedByMe
    photos { status } afterPhotos { status }
    comments(first: 10) { edges { node { body author { displayName } } } }
    history { kind toStatus rating publicNote }
  }
}
"""
CHANGE_STATUS = """
mutation Change($input: ChangeReportStatusInput!) {
  changeReportStatus(input: $input) { report { id status } errors { code message } }
}
"""


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running(worker=True) as urls:
        yield urls[0]


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


async def my_reports(api: Api, citizen: Citizen) -> list[dict[str, Any]]:
    body = await api.gql(MINE, token=citizen.token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["myReports"]["edges"]]


async def processed(api: Api, citizen: Citizen) -> list[dict[str, Any]] | None:
    reports = await my_reports(api, citizen)
    photos = [photo for report in reports for photo in report["photos"]]
    return reports if photos and all(photo["status"] == "READY" for photo in photos) else None


async def read_report(api: Api, who: Citizen, report_id: str) -> dict[str, Any]:
    body = await api.gql(REPORT, {"id": report_id}, token=who.token)
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["report"]
    return report


async def check_axe(page: Page, screen: str) -> None:
    assert await axe_violations(page) == [], screen


async def test_a_citizen_signs_up_and_files_a_report_with_the_camera(server: str, api: Api) -> None:
    email = f"warga-{uuid.uuid4().hex[:10]}@example.id"
    async with chromium() as browser, phone(browser, server, "citizen-file") as held:
        page = held.page
        await page.goto("/app/")
        await expect(page.get_by_role("heading", name="Lapor Jakarta")).to_be_visible()
        await shoot(held, "citizen-welcome")
        await check_axe(page, "welcome")
        await page.get_by_label("Nama tampilan").fill("Siti")
        await page.get_by_label("E-mail (jika tidak memakai nomor HP)").fill(email)
        await page.get_by_label("Kata sandi (minimal 10 karakter)").fill(PASSWORD)
        await page.get_by_role("button", name="Daftar").last.click()
        await expect(page.get_by_role("heading", name="Laporan saya")).to_be_visible()
        await expect(page.get_by_text("Anda belum membuat laporan.")).to_be_visible()
        await check_axe(page, "my reports, empty")

        await fill_report(
            page, "Bencana banjir", "Air setinggi lutut di depan sekolah", photo=jpeg_with_gps(size=(3000, 2250))
        )
        await expect(page.get_by_text("Posisi ponsel, akurasi ± 12 m")).to_be_visible()
        await expect(
            page.get_by_text("Laporan akan diteruskan ke Kelurahan Tomang, Kecamatan Grogol Petamburan, Jakarta Barat.")
        ).to_be_visible()
        # The map is fetched on request only; moving it picks the point under the pin, "use my position" undoes it.
        async with page.expect_response(lambda response: "/tiles/kelurahan/" in response.url) as tile:
            await page.get_by_role("button", name="Perbaiki titik di peta").click()
        assert (await tile.value).status == 200
        await expect(page.get_by_text("Geser peta sampai penanda di tengah")).to_be_visible()
        await page.get_by_role("group", name="Peta: geser peta").get_by_role("region").focus()
        await page.keyboard.press("ArrowRight")
        await expect(page.get_by_text("Titik dipilih di peta")).to_be_visible()
        await check_axe(page, "file a report, map open")
        await page.get_by_role("button", name="Pakai posisi saya").click()
        await expect(page.get_by_text("Posisi ponsel, akurasi ± 12 m")).to_be_visible()
        await page.get_by_role("checkbox", name="Sembunyikan nama saya").uncheck()
        await shoot(held, "citizen-file-report")
        await check_axe(page, "file a report")
        await page.get_by_role("button", name="Kirim laporan").click()

        await expect(page.get_by_role("heading", name="Laporan saya")).to_be_visible()
        await expect(page.get_by_role("link", name="Bencana banjir")).to_be_visible()
        assert held.console.errors == []

    citizen = await api_session(api, email, PASSWORD)
    reports = await until(lambda: processed(api, citizen), "the report's photo processed")
    assert len(reports) == 1
    report = reports[0]
    assert (report["category"]["code"], report["description"], report["kelurahan"]["name"]) == (
        "flood",
        "Air setinggi lutut di depan sekolah",
        "Tomang",
    )
    assert report["location"] == {"lat": TOMANG["latitude"], "lon": TOMANG["longitude"], "accuracyM": 12.0}
    assert (report["anonymous"], report["confidential"]) == (False, False)
    # Resized on the phone to 2048 px on the longer side, kept at that size by the worker.
    assert report["photos"] == [{"status": "READY", "width": 2048, "height": 1536}]


async def test_a_similar_report_nearby_is_supported_instead_then_followed_and_commented(server: str, api: Api) -> None:
    neighbour = await api.sign_up(name="Budi")
    # Its own words: other tests file garbage in Tomang too, and the list shows every similar report nearby.
    description = f"Sampah menumpuk di depan pasar {uuid.uuid4().hex[:6]}"
    filed = await api.create_report(
        neighbour, category="garbage", description=description, lat=SIMILAR_SPOT[0], lon=SIMILAR_SPOT[1]
    )
    original = filed["report"]["id"]
    citizen = await api.sign_up(name="Rina", password=PASSWORD)
    lost = asyncio.Event()

    async def lose_first_comment_answer(route: Route) -> None:
        if not lost.is_set() and "body" in str((route.request.post_data_json or {}).get("variables", {})):
            await route.fetch()
            lost.set()
            await route.abort("connectionreset")
        else:
            await route.continue_()

    # No service worker: the test intercepts the app's requests, which a service worker would hide.
    here = {"latitude": SIMILAR_SPOT[0], "longitude": SIMILAR_SPOT[1], "accuracy": 12}
    async with (
        chromium() as browser,
        phone(browser, server, "citizen-similar", service_workers="block", geolocation=here) as held,
    ):
        page = held.page
        await citizen_log_in(held, citizen.email, PASSWORD)
        await fill_report(page, "Sampah", "Sampah lagi")
        similar = page.get_by_role("region", name="Sudah ada laporan serupa di dekat sini")
        ours = similar.get_by_role("listitem").filter(has_text=description)
        await expect(ours).to_be_visible()
        await check_axe(page, "similar reports")
        await ours.get_by_role("button", name="Dukung laporan ini saja").click()

        await expect(page.get_by_text("Anda mendukung laporan ini.")).to_be_visible()
        await expect(page.get_by_text("1 warga mendukung")).to_be_visible()
        await page.get_by_role("button", name="Ikuti (kabari saya)").click()
        await expect(page.get_by_text("Anda mengikuti laporan ini")).to_be_visible()
        # The comment reaches the API but its answer is lost: it waits on the phone, and sent again with the same
        # clientRequestId it is written once.
        await page.route("**/graphql", lose_first_comment_answer)
        await page.get_by_label("Tulis komentar").fill("Saya juga melihatnya setiap pagi")
        await page.get_by_role("button", name="Kirim komentar").click()
        await lost.wait()
        pending = page.get_by_role("region", name="Tindakan yang menunggu dikirim")
        await expect(pending.get_by_text("Komentar")).to_be_visible()
        await check_axe(page, "someone else's report, a comment waiting")
        await pending.get_by_role("button", name="Kirim sekarang").click()
        await expect(page.get_by_text("Saya juga melihatnya setiap pagi")).to_be_visible()
        await expect(pending).to_have_count(0)
        await check_axe(page, "someone else's report")
        assert [error for error in held.console.errors if "ERR_CONNECTION_RESET" not in error] == []

    seen = await read_report(api, citizen, original)
    assert (seen["supportCount"], seen["supportedByMe"], seen["followedByMe"]) == (1, True, True)
    assert [edge["node"] for edge in seen["comments"]["edges"]] == [
        {"body": "Saya juga melihatnya setiap pagi", "author": {"displayName": "Rina"}}
    ]
    # Supported instead of filed: the citizen has no report of their own.
    assert await my_reports(api, citizen) == []


async def test_a_report_filed_offline_is_stored_once_when_back_online(
    server: str, api: Api, resources: Resources
) -> None:
    citizen = await api.sign_up(name="Dewi", password=PASSWORD)
    # No service worker here: the test intercepts the app's requests, which a service worker would hide.
    async with chromium() as browser, phone(browser, server, "citizen-offline", service_workers="block") as held:
        page = held.page
        await citizen_log_in(held, citizen.email, PASSWORD)
        await page.get_by_role("link", name="Lapor", exact=True).click()
        # Online once: the categories are kept on the phone, the position is known.
        await expect(page.get_by_role("radio", name="Pohon tumbang")).to_be_attached()
        await expect(page.get_by_text("Kelurahan Tomang", exact=False)).to_be_visible()

        await held.offline()
        await take_photo(page, jpeg_with_gps())
        await page.get_by_role("radio", name="Pohon tumbang").check()
        await page.get_by_label("Keterangan").fill("Pohon tumbang menutup jalan")
        await page.get_by_role("button", name="Simpan dan kirim saat tersambung").click()
        waiting = page.get_by_role("listitem").filter(has_text="Pohon tumbang menutup jalan")
        await expect(waiting.get_by_text("Menunggu dikirim")).to_be_visible()
        await shoot(held, "citizen-my-reports-waiting")
        await check_axe(page, "my reports with a report waiting")
        entry_id = await page.evaluate(f"({CITIZEN_OUTBOX}).then((entries) => entries.map((entry) => entry.id))")
        assert len(entry_id) == 1

        # Back online, the first createReport reaches the API but its answer is lost on the way back: the app
        # sends it again with the same clientRequestId, and gets the same report.
        lost = asyncio.Event()

        async def lose_first_answer(route: Route) -> None:
            body = route.request.post_data_json or {}
            if not lost.is_set() and "clientRequestId" in str(body.get("variables", {})):
                await route.fetch()
                lost.set()
                await route.abort("connectionreset")
            else:
                await route.continue_()

        await page.route("**/graphql", lose_first_answer)
        await held.offline(False)
        await lost.wait()
        await waiting.get_by_role("button", name="Kirim sekarang").click()
        await expect(page.get_by_role("link", name="Pohon tumbang")).to_be_visible()
        await expect(page.get_by_text("Menunggu dikirim")).to_have_count(0)
        assert [error for error in held.console.errors if "ERR_CONNECTION_RESET" not in error] == []

    reports = await until(lambda: processed(api, citizen), "the offline report's photo processed")
    assert [(r["category"]["code"], r["description"], len(r["photos"])) for r in reports] == [
        ("fallen-tree", "Pohon tumbang menutup jalan", 1)
    ]
    async with resources.unit_of_work() as session:
        keys = (await session.scalars(select(Report.client_request_id).where(Report.id == reports[0]["id"]))).all()
    assert keys == entry_id


async def test_a_failed_upload_is_retried_and_an_expired_ticket_replaced(
    server: str, api: Api, settings: Settings
) -> None:
    citizen = await api.sign_up(name="Yanti", password=PASSWORD)
    storage = settings.s3_public_endpoint_url or settings.s3_endpoint_url
    assert storage
    tickets: list[str] = []
    uploads: list[str] = []

    async def count_tickets(route: Route) -> None:
        if "contentType" in str((route.request.post_data_json or {}).get("variables", {})):
            tickets.append(route.request.url)
        await route.continue_()

    def at_storage(url: str) -> bool:
        return url.startswith(storage)

    second_refusal = asyncio.Event()

    async def storage_down(route: Route) -> None:
        uploads.append("refused")
        await route.abort("connectionrefused")
        if len(uploads) == 2:
            second_refusal.set()

    async with chromium() as browser, phone(browser, server, "citizen-upload", service_workers="block") as held:
        page = held.page
        await citizen_log_in(held, citizen.email, PASSWORD)
        await page.route("**/graphql", count_tickets)
        await page.route(at_storage, storage_down)
        await fill_report(page, "Jalan rusak", "Lubang besar di tengah jalan", photo=jpeg_with_gps())
        await page.get_by_role("button", name="Kirim laporan").click()
        waiting = page.get_by_role("listitem").filter(has_text="Lubang besar di tengah jalan")
        await expect(waiting.get_by_text("Percobaan terakhir gagal", exact=False)).to_be_visible()
        assert (len(tickets), uploads) == (1, ["refused"])
        # Tried again while the ticket is valid: the same ticket, no new one.
        await waiting.get_by_role("button", name="Kirim sekarang").click()
        await second_refusal.wait()
        await page.wait_for_function(f"({CITIZEN_OUTBOX}).then((entries) => entries[0].attempts === 2)")
        assert len(tickets) == 1

        # The ticket kept with the report expires while the phone waits: the next attempt asks for a new one.
        await page.evaluate(
            """() => new Promise((resolve, reject) => {
                 const opening = indexedDB.open('jsc-app');
                 opening.onsuccess = () => {
                   const store = opening.result.transaction('outbox', 'readwrite').objectStore('outbox');
                   const read = store.getAll();
                   read.onsuccess = () => {
                     const [entry] = read.result;
                     entry.payload.photos[0].ticket.expiresAt = '2000-01-01T00:00:00Z';
                     store.put(entry).onsuccess = () => resolve(null);
                   };
                   read.onerror = () => reject(read.error);
                 };
               })"""
        )
        await page.unroute(at_storage, storage_down)
        await waiting.get_by_role("button", name="Kirim sekarang").click()
        await expect(page.get_by_role("link", name="Jalan rusak")).to_be_visible()
        assert len(tickets) == 2
        assert [e for e in held.console.errors if "ERR_CONNECTION_REFUSED" not in e] == []

    reports = await until(lambda: processed(api, citizen), "the photo uploaded on the second attempt processed")
    assert [(r["category"]["code"], [p["status"] for p in r["photos"]]) for r in reports] == [
        ("damaged-road", ["READY"])
    ]


async def complete_as_officer(api: Api, report_id: str) -> None:
    staff = await staff_account("officer", TOMANG_UNIT, "Lurah Tomang")
    lurah = await api_session(api, staff.login, staff.password)
    moved = await api.gql(CHANGE_STATUS, {"input": {"reportId": report_id, "to": "IN_PROGRESS"}}, token=lurah.token)
    assert moved["data"]["changeReportStatus"]["errors"] == [], moved
    after = await api.upload_photo(lurah, jpeg_with_gps())
    done = await api.gql(
        CHANGE_STATUS,
        {
            "input": {
                "reportId": report_id,
                "to": "COMPLETED",
                "publicNote": "Saluran sudah dibersihkan",
                "afterPhotoKeys": [after],
            }
        },
        token=lurah.token,
    )
    assert done["data"]["changeReportStatus"]["errors"] == [], done


async def test_the_reporter_sees_the_completion_in_the_inbox_rates_it_and_reopens_it(server: str, api: Api) -> None:
    citizen = await api.sign_up(name="Agus", password=PASSWORD)
    key = await api.upload_photo(citizen, jpeg_with_gps())
    filed = await api.create_report(citizen, category="flood", description="Saluran mampet", photo_keys=[key])
    report_id = filed["report"]["id"]
    await complete_as_officer(api, report_id)

    async def after_photo_ready() -> bool:
        report = await read_report(api, citizen, report_id)
        return [p["status"] for p in report["photos"] + report["afterPhotos"]] == ["READY", "READY"]

    await until(after_photo_ready, "the photos processed")
    async with chromium() as browser, phone(browser, server, "citizen-rate") as held:
        page = held.page
        await citizen_log_in(held, citizen.email, PASSWORD)
        await page.get_by_role("link", name="Kotak masuk (2 belum dibaca)").click()
        await expect(page.get_by_role("heading", name="Kotak masuk")).to_be_visible()
        await expect(page.get_by_role("listitem").filter(has_text="Selesai")).not_to_have_count(0)
        await shoot(held, "citizen-inbox")
        await check_axe(page, "inbox")
        await page.get_by_role("button", name="Buka laporan").first.click()

        await expect(page.get_by_text("Catatan petugas: Saluran sudah dibersihkan")).to_be_visible()
        await expect(page.get_by_role("img", name="Foto hasil pekerjaan 1")).to_be_visible()
        await expect(page.get_by_role("img", name="Foto laporan 1")).to_be_visible()
        await shoot(held, "citizen-report-detail")
        await check_axe(page, "report detail, completed")

        await page.get_by_role("radio", name="4 dari 5").check()
        await page.get_by_label("Komentar (tidak wajib)").fill("Cepat, terima kasih")
        await page.get_by_role("button", name="Kirim nilai").click()
        await expect(page.get_by_text("Dinilai 4 dari 5")).to_be_visible()
        await expect(page.get_by_role("button", name="Kirim nilai")).to_have_count(0)

        await page.get_by_label("Apa yang masih salah?").fill("Air naik lagi setelah hujan")
        await page.get_by_role("button", name="Buka kembali").click()
        await expect(page.get_by_text("Alasan: Air naik lagi setelah hujan")).to_be_visible()
        await check_axe(page, "report detail, reopened")
        assert held.console.errors == []

    report = await read_report(api, citizen, report_id)
    assert report["status"] == "REOPENED"
    assert [(h["kind"], h["toStatus"], h["rating"], h["publicNote"]) for h in report["history"][-2:]] == [
        ("RATING", "COMPLETED", 4, "Cepat, terima kasih"),
        ("STATUS", "REOPENED", None, "Air naik lagi setelah hujan"),
    ]


async def test_a_citizen_switches_language_logs_out_and_deletes_the_account(server: str, api: Api) -> None:
    citizen = await api.sign_up(name="Wati", password=PASSWORD)
    async with chromium() as browser, phone(browser, server, "citizen-account") as held:
        page = held.page
        await citizen_log_in(held, citizen.email, PASSWORD)
        await page.get_by_role("link", name="Akun", exact=True).click()
        await expect(page.get_by_role("heading", name="Akun", exact=True)).to_be_visible()
        await check_axe(page, "account")
        await page.get_by_label("Bahasa").select_option("en")
        await expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
        await page.get_by_label("Language").select_option("id")

        await page.get_by_role("button", name="Keluar").click()
        await expect(page.get_by_role("heading", name="Lapor Jakarta")).to_be_visible()
        assert await page.evaluate("localStorage.getItem('jsc.app.session')") is None

        await citizen_log_in(held, citizen.email, PASSWORD)
        await page.get_by_role("link", name="Akun", exact=True).click()
        await page.get_by_label("Kata sandi Anda, untuk memastikan").fill(PASSWORD)
        await page.get_by_role("button", name="Hapus akun saya").click()
        await expect(page.get_by_text("Akun Anda sudah dihapus")).to_be_visible()
        kept = await page.evaluate(
            """() => new Promise((resolve) => {
                 const opening = indexedDB.open('jsc-app');
                 opening.onsuccess = () => {
                   const stores = opening.result.transaction(['cache', 'outbox']);
                   const cache = stores.objectStore('cache').count();
                   const outbox = stores.objectStore('outbox').count();
                   stores.oncomplete = () => resolve([cache.result, outbox.result]);
                 };
               })"""
        )
        assert kept == [0, 0]
        assert await page.evaluate("localStorage.getItem('jsc.app.session')") is None
        await check_axe(page, "welcome after deletion")
        assert held.console.errors == []

    body = await api.gql(LOG_IN, {"login": citizen.email, "password": PASSWORD})
    assert [e["code"] for e in body["data"]["logIn"]["errors"]] == ["INVALID_CREDENTIALS"]
