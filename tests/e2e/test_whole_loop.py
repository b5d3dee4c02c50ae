"""Both web apps together, in one browser as three phones against the real stack (API and worker): the loop a
report makes through the city's hands, each step on the screens (a citizen files it in /app, the lurah of Tomang
works and completes it in /officer, the camat verifies the completion, the citizen sees it done and rates it), and
both phones offline at once. The per-app modules (test_citizen_app.py, test_officer_app.py) check each screen in
detail; this one checks that the apps hand a report to each other, and what the API stored in the end."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from domain.models import Report
from domain.resources import Resources
from tests.e2e.processes import running
from tests.e2e.webapps import (
    CITIZEN_OUTBOX,
    TOMANG_CAMAT,
    TOMANG_UNIT,
    api_session,
    axe_violations,
    chromium,
    citizen_log_in,
    fill_report,
    officer_log_in,
    open_action,
    open_report,
    phone,
    shoot,
    staff_account,
    take_photo,
    until,
    until_sent,
)
from tests.factories import Api, Citizen, jpeg_with_gps

pytestmark = pytest.mark.e2e

PASSWORD = "kata sandi warga 1"
# Illegal street vendors: a kelurahan's completion waits for its camat's verification
# (data/jakarta/categories.csv, verification_required).
VENDORS = "Pedagang kaki lima liar"
ON_IT = "Satpol PP menertibkan pedagang hari ini"
# Near Tomang's point, apart from the other modules' reports.
NEAR_TOMANG = (-6.1689, 106.7889)

REPORT = """
query Loop($id: ID!) {
  report(id: $id) {
    status
    afterPhotos { status }
    history { kind fromStatus toStatus publicNote rating actor { displayName } }
  }
}
"""
MINE = """
query Mine { myReports(first: 10) { edges { node { id description photos { id } } } } }
"""
CHANGE_STATUS = """
mutation Change($input: ChangeReportStatusInput!) {
  changeReportStatus(input: $input) { report { status } errors { code } }
}
"""


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running() as urls:
        yield urls[0]


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def read(api: Api, who: Citizen, report_id: str) -> dict[str, Any]:
    body = await api.gql(REPORT, {"id": report_id}, token=who.token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["report"]
    return found


async def move(api: Api, officer: Citizen, report_id: str, to: str) -> None:
    body = await api.gql(CHANGE_STATUS, {"input": {"reportId": report_id, "to": to}}, token=officer.token)
    assert body["data"]["changeReportStatus"]["errors"] == [], body


async def no_axe_violations(page: Page, screen: str) -> None:
    assert await axe_violations(page) == [], screen


async def test_a_report_goes_from_the_citizen_to_the_lurah_and_the_camat_and_back(
    server: str, api: Api, browser: Browser
) -> None:
    tag = uuid.uuid4().hex[:6]
    description = f"Pedagang menutup trotoar depan halte {tag}"
    email = f"warga-loop-{tag}@example.id"
    lurah = await staff_account("officer", TOMANG_UNIT, "Lurah Tomang")
    camat = await staff_account("officer", TOMANG_CAMAT, "Camat Grogol Petamburan")

    async with (
        phone(browser, server, "loop-citizen") as citizen,
        phone(browser, server, "loop-lurah") as lurahs,
        phone(browser, server, "loop-camat") as camats,
    ):
        # The citizen signs up and files the report with the camera, at the phone's position.
        page = citizen.page
        await page.goto("/app/")
        await page.get_by_label("Nama tampilan").fill("Sari")
        await page.get_by_label("E-mail (jika tidak memakai nomor HP)").fill(email)
        await page.get_by_label("Kata sandi (minimal 10 karakter)").fill(PASSWORD)
        await page.get_by_role("button", name="Daftar").last.click()
        await expect(page.get_by_role("heading", name="Laporan saya")).to_be_visible()
        await fill_report(page, VENDORS, description, photo=jpeg_with_gps())
        await expect(page.get_by_text(re.compile("^Laporan akan diteruskan ke Kelurahan Tomang"))).to_be_visible()
        await page.get_by_role("button", name="Kirim laporan").click()
        # A link, not a waiting entry: the city has the report.
        await expect(page.get_by_role("link", name=VENDORS)).to_be_visible()
        await expect(page.get_by_text("Menunggu", exact=True)).to_be_visible()
        await no_axe_violations(page, "my reports, one filed")
        await shoot(citizen, "loop-1-citizen-filed")

        # The lurah finds it in the queue, takes it on with a public note, completes it with the camera.
        page = lurahs.page
        await officer_log_in(page, lurah, "#/?category=street-vendors")
        await open_report(page, description)
        # Anonymous to the public, not to the officers (the citizen app says so when filing).
        await expect(page.get_by_text("Sari (anonim: nama tidak tampil untuk publik)")).to_be_visible()
        await open_action(page, "Ubah status")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Status baru").select_option("IN_PROGRESS")
        await sheet.get_by_label("Catatan untuk pelapor dan publik").fill(ON_IT)
        await sheet.get_by_role("button", name="Simpan").click()
        await until_sent(page)
        await expect(page.get_by_text(f"Catatan publik: {ON_IT}")).to_be_visible()
        await open_action(page, "Selesaikan dengan foto")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Foto sesudah dikerjakan").set_input_files(
            {"name": "IMG_20261205_1530.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(size=(1600, 1200))}
        )
        await expect(sheet.get_by_role("img", name="Foto sesudah 1")).to_be_visible()
        await sheet.get_by_role("button", name="Selesaikan laporan").click()
        await until_sent(page)
        # Not done yet: the camat's office verifies street vendors' completions.
        await expect(
            page.get_by_role("region", name=VENDORS).get_by_text("Menunggu verifikasi", exact=True)
        ).to_be_visible()
        await no_axe_violations(page, "officer's report, waiting for verification")
        await shoot(lurahs, "loop-2-lurah-completed")

        # The camat sees it among the completions waiting for the office, and accepts it.
        page = camats.page
        await officer_log_in(page, camat)
        await (
            page.get_by_role("region", name="Hanya penyelesaian yang menunggu verifikasi saya")
            .get_by_role("button", name="Tampilkan")
            .click()
        )
        await open_report(page, description)
        await expect(page.get_by_role("heading", name="Foto sesudah dikerjakan")).to_be_visible()
        await no_axe_violations(page, "supervisor's report, waiting for verification")
        await open_action(page, "Verifikasi penyelesaian")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Terima: laporan selesai").check()
        await sheet.get_by_role("button", name="Kirim keputusan").click()
        await until_sent(page)
        await expect(page.get_by_role("region", name=VENDORS).get_by_text("Selesai", exact=True)).to_be_visible()
        await shoot(camats, "loop-3-camat-accepted")

        # The citizen sees it done, with the lurah's note and after-photo (once the worker made it), and rates it.
        session = await api_session(api, email, PASSWORD)
        [mine] = (await api.gql(MINE, token=session.token))["data"]["myReports"]["edges"]
        report_id = mine["node"]["id"]

        async def after_photo_ready() -> bool:
            return [photo["status"] for photo in (await read(api, session, report_id))["afterPhotos"]] == ["READY"]

        await until(after_photo_ready, "the after-photo processed")
        page = citizen.page
        await page.get_by_role("link", name=VENDORS).click()
        await expect(page.get_by_text(f"Catatan petugas: {ON_IT}")).to_be_visible()
        await expect(page.get_by_role("img", name="Foto hasil pekerjaan 1")).to_be_visible()
        await expect(page.get_by_text("Selesai", exact=True).first).to_be_visible()
        await shoot(citizen, "loop-4-citizen-sees-it-completed")
        await page.get_by_role("radio", name="5 dari 5").check()
        await page.get_by_label("Komentar (tidak wajib)").fill("Trotoar bisa dilewati lagi")
        await page.get_by_role("button", name="Kirim nilai").click()
        await expect(page.get_by_text("Dinilai 5 dari 5")).to_be_visible()
        await expect(page.get_by_role("button", name="Kirim nilai")).to_have_count(0)
        await no_axe_violations(page, "report detail, rated")
        await shoot(citizen, "loop-5-citizen-rated")

        for held in (citizen, lurahs, camats):
            assert held.console.errors == []

    officer = await api_session(api, lurah.login, lurah.password)
    stored = await read(api, officer, report_id)
    assert stored["status"] == "COMPLETED"
    assert stored["afterPhotos"] == [{"status": "READY"}]
    assert [
        (row["kind"], row["fromStatus"], row["toStatus"], row["publicNote"], row["rating"], row["actor"])
        for row in stored["history"]
    ] == [
        # Staff see who filed it, anonymous to the public or not.
        ("STATUS", None, "WAITING", None, None, {"displayName": "Sari"}),
        ("STATUS", "WAITING", "IN_PROGRESS", ON_IT, None, {"displayName": "Lurah Tomang"}),
        ("STATUS", "IN_PROGRESS", "VERIFYING", None, None, {"displayName": "Lurah Tomang"}),
        ("STATUS", "VERIFYING", "COMPLETED", None, None, {"displayName": "Camat Grogol Petamburan"}),
        ("RATING", "COMPLETED", "COMPLETED", "Trotoar bisa dilewati lagi", 5, {"displayName": "Sari"}),
    ]


async def test_both_phones_offline_at_once_then_a_stale_action(
    server: str, api: Api, browser: Browser, resources: Resources
) -> None:
    tag = uuid.uuid4().hex[:6]
    bench = f"Bangku taman patah {tag}"
    toilet = f"Toilet umum terkunci {tag}"
    jam = f"Macet karena lampu lalu lintas mati {tag}"
    filer = await api.sign_up(name="Warga Tomang")
    citizen_account = await api.sign_up(name="Rudi", password=PASSWORD)
    lurah = await staff_account("officer", TOMANG_UNIT, "Lurah Tomang")
    # Another officer of the kelurahan office, working from the API while the lurah's phone is offline.
    colleague = await staff_account("officer", TOMANG_UNIT, "Staf Kelurahan Tomang")
    colleague_session = await api_session(api, colleague.login, colleague.password)
    ids: dict[str, str] = {}
    for description in (bench, toilet):
        filed = await api.create_report(
            filer, category="public-facilities", description=description, lat=NEAR_TOMANG[0], lon=NEAR_TOMANG[1]
        )
        assert filed["errors"] == [], filed
        ids[description] = filed["report"]["id"]
    await move(api, colleague_session, ids[bench], "IN_PROGRESS")

    async with (
        phone(browser, server, "loop-offline-citizen") as citizen,
        phone(browser, server, "loop-offline-lurah") as lurahs,
    ):
        # Online first: the lurah opens both reports (the phone keeps them), the citizen's phone knows where it is.
        await officer_log_in(lurahs.page, lurah, "#/?category=public-facilities")
        for description in (bench, toilet):
            await open_report(lurahs.page, description)
            await expect(lurahs.page.get_by_role("heading", name="Riwayat")).to_be_visible()
            await lurahs.page.get_by_role("link", name="Kembali").click()
        await citizen_log_in(citizen, citizen_account.email, PASSWORD)
        await citizen.page.get_by_role("link", name="Lapor", exact=True).click()
        await expect(citizen.page.get_by_role("radio", name="Kemacetan")).to_be_attached()
        await expect(
            citizen.page.get_by_text(re.compile("^Laporan akan diteruskan ke Kelurahan Tomang"))
        ).to_be_visible()

        await citizen.offline()
        await lurahs.offline()
        # The citizen files a report with a photo; it waits on the phone.
        page = citizen.page
        await take_photo(page, jpeg_with_gps())
        await expect(page.get_by_role("img", name="Foto 1 yang akan dikirim")).to_be_visible()
        await page.get_by_role("radio", name="Kemacetan").check()
        await page.get_by_label("Keterangan").fill(jam)
        await page.get_by_role("button", name="Simpan dan kirim saat tersambung").click()
        await expect(page.get_by_role("listitem").filter(has_text=jam).get_by_text("Menunggu dikirim")).to_be_visible()
        [request_id] = await page.evaluate(f"({CITIZEN_OUTBOX}).then((entries) => entries.map((entry) => entry.id))")
        # The lurah completes one kept report with an after-photo, and moves the other on, which a colleague
        # moves on meanwhile.
        page = lurahs.page
        await open_report(page, bench)
        await expect(page.get_by_role("heading", name="Riwayat")).to_be_visible()
        await open_action(page, "Selesaikan dengan foto")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Foto sesudah dikerjakan").set_input_files(
            {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
        )
        await expect(sheet.get_by_role("img", name="Foto sesudah 1")).to_be_visible()
        await sheet.get_by_role("button", name="Selesaikan laporan").click()
        await expect(page.get_by_text("Menunggu dikirim: Status Selesai")).to_be_visible()
        await page.get_by_role("link", name="Kembali").click()
        await open_report(page, toilet)
        await open_action(page, "Ubah status")
        await page.get_by_role("dialog").get_by_role("button", name="Simpan").click()
        await expect(page.get_by_text("Menunggu dikirim: Status Koordinasi")).to_be_visible()
        await move(api, colleague_session, ids[toilet], "IN_PROGRESS")
        await page.get_by_role("link", name="Kembali").click()
        outbox = page.get_by_role("region", name="Menunggu dikirim")
        await expect(outbox.get_by_role("listitem")).to_have_count(2)
        await shoot(citizen, "loop-offline-citizen-waiting")
        await shoot(lurahs, "loop-offline-lurah-waiting")

        # Back online together: each phone sends what it kept; the stale change is refused and shown.
        await citizen.offline(False)
        await lurahs.offline(False)
        await expect(citizen.page.get_by_role("link", name="Kemacetan")).to_be_visible()
        await expect(citizen.page.get_by_text("Menunggu dikirim")).to_have_count(0)
        await expect(outbox.get_by_text(re.compile("^Ditolak"))).to_be_visible()
        await expect(outbox.get_by_role("listitem")).to_have_count(1)
        await open_report(page, toilet)
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("Tindakan ditolak: Status Koordinasi")
        await expect(alert).to_contain_text("sekarang: Proses")
        await shoot(lurahs, "loop-offline-lurah-stale")
        for held in (citizen, lurahs):
            assert held.console.errors == []

    # Each stored once: one report with the phone's clientRequestId, with its photo; one completion, one photo.
    citizen_session = await api_session(api, citizen_account.email, PASSWORD)
    mine = [edge["node"] for edge in (await api.gql(MINE, token=citizen_session.token))["data"]["myReports"]["edges"]]
    assert [(report["description"], len(report["photos"])) for report in mine] == [(jam, 1)]
    async with resources.unit_of_work() as session:
        keyed = (await session.scalars(select(Report.id).where(Report.client_request_id == request_id))).all()
    assert [str(report_id) for report_id in keyed] == [mine[0]["id"]]
    completed = await read(api, colleague_session, ids[bench])
    assert completed["status"] == "COMPLETED"
    assert len(completed["afterPhotos"]) == 1
    assert [(row["toStatus"], row["actor"]) for row in completed["history"]] == [
        ("WAITING", {"displayName": "Warga Tomang"}),
        ("IN_PROGRESS", {"displayName": "Staf Kelurahan Tomang"}),
        ("COMPLETED", {"displayName": "Lurah Tomang"}),
    ]
    stale = await read(api, colleague_session, ids[toilet])
    assert [row["toStatus"] for row in stale["history"]] == ["WAITING", "IN_PROGRESS"]
