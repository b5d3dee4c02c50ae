"""The officer app (/officer) in Debian's Chromium as a lurah's phone, against the real stack: reports filed by a
citizen over HTTP in Tomang, the lurah of Tomang (made with `jsc create-user`) works them in the app, and the
API's own history says what was stored."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Route, expect

from domain.adapters import playable
from domain.models import Camera, CctvEvidence
from domain.models.enums import CameraKind, CameraSource, EvidenceStatus
from domain.resources import Resources
from tests import clips as synthetic
from tests.e2e.processes import running
from tests.e2e.webapps import (
    ROOT,
    TOMANG_CAMAT,
    TOMANG_UNIT,
    Phone,
    Staff,
    axe_violations,
    chromium,
    in_queue,
    officer_log_in,
    open_action,
    open_report,
    phone,
    staff_account,
    until_sent,
)
from tests.factories import LOG_IN, Api, Citizen, jpeg_with_gps

pytestmark = pytest.mark.e2e

# Close to Tomang's point, each test a little apart, so that "similar reports nearby" finds only its own.
NEAR_TOMANG = (-6.1702, 106.7903)
AGENCY = "sudin-lingkungan-hidup-31.73"
CLIP_SECONDS = 2.0
# The player's metadata (duration, size) loaded, or the media error that stopped it.
LOADED_METADATA = """(video) => new Promise((loaded, failed) => {
  const stopped = () => failed(new Error(`media error ${video.error && video.error.code}`));
  if (video.readyState >= 1) loaded(video.duration);
  else if (video.error) stopped();
  else {
    video.addEventListener('loadedmetadata', () => loaded(video.duration), { once: true });
    video.addEventListener('error', stopped, { once: true });
  }
})"""
# Response templates seeded from data/jakarta/response_templates.csv.
ON_THE_WAY = "Petugas kami sedang menuju lokasi untuk menindaklanjuti laporan Anda."
TREE_REMOVED = "Pohon tumbang di lokasi sudah dievakuasi dan jalan sudah dapat dilalui kembali."

REPORT = """
query Report($id: ID!) {
  report(id: $id) {
    status
    unit { code }
    assignee { displayName }
    afterPhotos { id }
    duplicateOf
    history { kind toStatus publicNote internalNote toUnit { code } assignee { displayName } }
  }
}
"""

DISPOSE = """
mutation Dispose($input: DisposeReportInput!) {
  disposeReport(input: $input) { report { status } errors { code message } }
}
"""

PHOTO_STATUS = """
query Photo($id: ID!) { report(id: $id) { photos { status } } }
"""

CHANGE_STATUS = """
mutation Change($input: ChangeReportStatusInput!) {
  changeReportStatus(input: $input) { report { status } errors { code message } }
}
"""

UPLOAD = """
mutation Upload($contentType: String!, $byteSize: Int!) {
  requestPhotoUpload(contentType: $contentType, byteSize: $byteSize) { upload { key url fields } errors { code } }
}
"""


@dataclass
class Lurah:
    staff: Staff
    token: str
    name: str


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running() as urls:
        yield urls[0]


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


@pytest.fixture(scope="module")
async def citizen(server: str) -> Citizen:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        return await Api(client).sign_up(name="Warga Tomang")


async def lurah_of_tomang(api: Api, name: str) -> Lurah:
    staff = await staff_account("officer", TOMANG_UNIT, name)
    body = await api.gql(LOG_IN, {"login": staff.login, "password": staff.password})
    return Lurah(staff, body["data"]["logIn"]["session"]["accessToken"], name)


async def file(api: Api, citizen: Citizen, description: str, **fields: Any) -> str:
    created = await api.create_report(
        citizen, description=description, lat=NEAR_TOMANG[0], lon=NEAR_TOMANG[1], **fields
    )
    assert created["errors"] == [], created
    return str(created["report"]["id"])


async def photo_processed(api: Api, citizen: Citizen, report_id: str) -> None:
    """Waits for the worker to make the report's photo (and its thumbnail) ready."""
    for _ in range(120):
        body = await api.gql(PHOTO_STATUS, {"id": report_id}, token=citizen.token)
        status = body["data"]["report"]["photos"][0]["status"]
        if status != "ATTACHED":
            break
        await asyncio.sleep(0.5)
    assert status == "READY", "the worker did not process the photo"


async def cctv_evidence(resources: Resources, report_id: str, camera: str, *, rank: int = 1, copy: bool = True) -> str:
    """What the CCTV worker leaves for a report: a clip, its browser-playable copy (made by the worker's own
    transcoder from a synthetic 2 s clip) unless ``copy`` is off, as for evidence older than the copies, and a
    snapshot in object storage, the analysis in a row. Returns the evidence's prefix in object storage."""
    code = f"officer-{uuid.uuid4().hex[:8]}"
    base = f"cctv-evidence/{uuid.uuid4()}"
    await resources.storage.write(f"{base}/clip.ts", b"\x47" * 188 * 4, content_type="video/mp2t")
    await resources.storage.write(f"{base}/snapshot.jpg", jpeg_with_gps(), content_type="image/jpeg")
    if copy:
        with tempfile.TemporaryDirectory(prefix="jsc-e2e-clip-") as folder:
            source = await asyncio.to_thread(synthetic.still_clip, Path(folder) / "source.mp4", CLIP_SECONDS)
            made = await asyncio.to_thread(playable.to_playable, source, Path(folder) / "clip.mp4")
            await resources.storage.write_file(f"{base}/clip.mp4", made.path, content_type=playable.CONTENT_TYPE)
    now = datetime.now(UTC)
    summary = {
        "health": "OK",
        "motion_ratio": 0.4,
        "congestion_index": 0.25,
        "objects": {"car": {"max": 3, "mean": 1.5}},
        "faces_blurred": 1,
    }
    async with resources.unit_of_work() as session:
        placed = Camera(
            code=code, name=camera, operator="Dishub", kind=CameraKind.INTERSECTION,
            location=f"SRID=4326;POINT({NEAR_TOMANG[1]} {NEAR_TOMANG[0]})", heading_deg=0.0, fov_deg=90.0,
            range_m=100.0, source_kind=CameraSource.ARCHIVE, source=f"cctv/{code}", active=False,
        )  # fmt: skip
        session.add(placed)
        await session.flush()
        session.add(
            CctvEvidence(
                report_id=uuid.UUID(report_id), camera_id=placed.id, rank=rank, distance_m=35.0 + rank,
                status=EvidenceStatus.READY, window_start=now - timedelta(seconds=30), window_end=now,
                clip_key=f"{base}/clip.ts", playable_clip_key=f"{base}/clip.mp4" if copy else None,
                snapshot_key=f"{base}/snapshot.jpg", summary=summary,
            )
        )  # fmt: skip
    return base


async def report(api: Api, lurah: Lurah, report_id: str) -> dict[str, Any]:
    body = await api.gql(REPORT, {"id": report_id}, token=lurah.token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["report"]
    return result


async def move(api: Api, lurah: Lurah, report_id: str, to: str) -> None:
    body = await api.gql(CHANGE_STATUS, {"input": {"reportId": report_id, "to": to}}, token=lurah.token)
    assert body["data"]["changeReportStatus"]["errors"] == [], body


async def complete(api: Api, lurah: Lurah, report_id: str) -> str:
    """The lurah completes the report through the API with an after-photo; returns the status it lands on."""
    photo = jpeg_with_gps()
    body = await api.gql(UPLOAD, {"contentType": "image/jpeg", "byteSize": len(photo)}, token=lurah.token)
    upload = body["data"]["requestPhotoUpload"]["upload"]
    async with httpx.AsyncClient() as s3:
        stored = await s3.post(upload["url"], data=upload["fields"], files={"file": ("after.jpg", photo, "image/jpeg")})
    assert stored.status_code == 204, stored.text
    change = {"reportId": report_id, "to": "COMPLETED", "afterPhotoKeys": [upload["key"]]}
    body = await api.gql(CHANGE_STATUS, {"input": change}, token=lurah.token)
    assert body["data"]["changeReportStatus"]["errors"] == [], body
    return str(body["data"]["changeReportStatus"]["report"]["status"])


async def check_axe(held: Phone) -> None:
    assert await axe_violations(held.page) == []


async def test_lurah_sees_filters_and_works_reports(
    server: str, api: Api, citizen: Citizen, resources: Resources
) -> None:
    lurah = await lurah_of_tomang(api, "Lurah Tomang")
    tag = uuid.uuid4().hex[:6]
    tree = f"Pohon tumbang menutup jalan {tag}"
    light = f"Lampu jalan mati sejak kemarin {tag}"
    key = await api.upload_photo(citizen, jpeg_with_gps(size=(800, 600)))
    tree_id = await file(api, citizen, tree, category="fallen-tree", photo_keys=[key])
    light_id = await file(api, citizen, light, category="street-light")
    await photo_processed(api, citizen, tree_id)
    with_copy = await cctv_evidence(resources, tree_id, "CCTV Simpang Tomang")
    without_copy = await cctv_evidence(resources, tree_id, "CCTV Jembatan Tomang", rank=2, copy=False)

    async with chromium() as browser, phone(browser, server, "officer-work") as held:
        page = held.page
        await officer_log_in(page, lurah.staff)
        await expect(page.get_by_role("list", name="Laporan di antrian")).to_be_visible()

        # Filter by category: kept in the URL's hash, so a reload shows the same queue.
        await page.get_by_text("Saring antrian").click()
        await page.get_by_label("Kategori").select_option("fallen-tree")
        await expect(page).to_have_url(re.compile(r"#/\?category=fallen-tree$"))
        await in_queue(page, tree)
        await expect(page.get_by_role("link", name=re.compile(light))).to_have_count(0)
        await page.reload()
        await in_queue(page, tree)
        await expect(page.get_by_text("Baru", exact=True).first).to_be_visible()
        await check_axe(held)
        await held.screenshot("officer-queue")
        await page.get_by_label("Batas waktu").select_option("1")
        await expect(page).to_have_url(re.compile(r"category=fallen-tree&overdue=1$"))
        await expect(page.get_by_role("list", name="Laporan di antrian")).to_have_attribute("aria-busy", "false")
        await expect(page.get_by_role("link", name=re.compile(tree))).to_have_count(0)
        await page.get_by_label("Batas waktu").select_option("")
        await page.get_by_label("Kategori").select_option("street-light")
        await expect(page).to_have_url(re.compile(r"#/\?category=street-light$"))
        await in_queue(page, light)

        # New since the last look, and live: a change made elsewhere shows up marked, without a reload.
        await page.get_by_role("button", name="Tandai semua sudah dilihat").click()
        await expect(page.get_by_text("Baru", exact=True)).to_have_count(0)
        await move(api, lurah, light_id, "COORDINATION")
        await expect(page.get_by_role("link", name=re.compile(f"Baru.*{light}.*Koordinasi"))).to_be_visible()
        # Only what changed since: the light, not the tree filed before the look (every category now).
        await page.get_by_label("Kategori").select_option("")
        await page.get_by_label("Hanya yang baru sejak terakhir dilihat").check()
        await expect(page).to_have_url(re.compile(r"#/\?new=1$"))
        await in_queue(page, light)
        await expect(page.get_by_role("link", name=re.compile(tree))).to_have_count(0)
        await page.get_by_label("Hanya yang baru sejak terakhir dilihat").uncheck()
        await page.get_by_label("Kategori").select_option("fallen-tree")
        await in_queue(page, tree)

        # The area map: loaded only now, the list did not wait for it.
        await page.get_by_role("button", name="Peta wilayah").click()
        await expect(page.get_by_role("region", name="Peta wilayah dengan laporan di antrian")).to_be_visible()
        await page.wait_for_function("() => window.jscOfficerMap && window.jscOfficerMap.loaded()")
        await check_axe(held)
        await held.screenshot("officer-queue-map")
        await page.get_by_role("button", name="Peta wilayah").click()

        # The report: photo, place, deadlines, history.
        await open_report(page, tree)
        await expect(page.get_by_role("heading", name="Pohon tumbang")).to_be_visible()
        await expect(page.get_by_text("Warga Tomang", exact=True)).to_be_visible()
        await expect(page.get_by_text("Belum dieskalasi")).to_be_visible()
        await page.get_by_role("button", name="Foto laporan 1").click()
        viewer = page.get_by_role("dialog", name="Foto laporan")
        await expect(viewer.get_by_role("img", name="Foto laporan 1")).to_be_visible()
        await check_axe(held)
        await viewer.get_by_role("button", name="Tutup").click()
        await expect(viewer).to_have_count(0)
        snapshot = page.get_by_role("img", name="Tangkapan layar kamera CCTV Simpang Tomang")
        await expect(snapshot).to_be_visible()
        assert await snapshot.evaluate("(image) => image.decode().then(() => image.naturalWidth)") == 640
        await expect(page.get_by_text("car: 3")).to_have_count(2)  # both cameras
        # The H.264 copy plays in the page: Chromium reads its duration from the first bytes (faststart) ...
        player = page.get_by_label("Klip kamera CCTV Simpang Tomang")
        await expect(player).to_have_attribute("src", re.compile(f"{with_copy}/clip.mp4"))
        await expect(player).to_have_attribute("preload", "metadata")
        await expect(player).to_have_attribute("playsinline", "")
        duration = await player.evaluate(LOADED_METADATA)
        assert abs(duration - CLIP_SECONDS) <= 0.1  # within a frame at 10 fps
        # ... and the original MPEG-TS, the evidence itself, stays downloadable.
        original = page.get_by_role("link", name="Unduh klip asli")
        await expect(original).to_have_attribute("href", re.compile(f"{with_copy}/clip.ts"))
        # Evidence without a copy (collected before copies were made, or whose copy failed): Chromium plays no
        # MPEG-TS, so the clip is offered for download instead of a player that cannot start.
        await expect(page.get_by_label("Klip kamera CCTV Jembatan Tomang")).to_have_count(0)
        download = page.get_by_role("link", name="Unduh klip", exact=True)
        await expect(download).to_have_attribute("href", re.compile(f"{without_copy}/clip.ts"))
        await check_axe(held)
        await held.screenshot("officer-report")

        # Change status with a public and an internal note.
        await open_action(page, "Ubah status")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Status baru").select_option("IN_PROGRESS")
        await sheet.get_by_label("Templat jawaban").select_option(label="Petugas menuju lokasi")
        await expect(sheet.get_by_label("Catatan untuk pelapor dan publik")).to_have_value(ON_THE_WAY)
        await sheet.get_by_label("Catatan internal").fill("Bawa gergaji mesin")
        await check_axe(held)
        await held.screenshot("officer-action-sheet")
        await sheet.get_by_role("button", name="Simpan").click()
        await until_sent(page)
        await expect(page.get_by_text(f"Catatan publik: {ON_THE_WAY}")).to_be_visible()
        await expect(page.get_by_text("Catatan internal: Bawa gergaji mesin")).to_be_visible()

        # Complete with an after-photo from the camera, made smaller on the phone.
        await open_action(page, "Selesaikan dengan foto")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Foto sesudah dikerjakan").set_input_files(
            {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(size=(3000, 2000))}
        )
        taken = sheet.get_by_role("img", name="Foto sesudah 1")
        await expect(taken).to_be_visible()
        # Made smaller on the phone (this is what is uploaded): 3000 x 2000 from the camera, at most 2048 px.
        size = await taken.evaluate("(image) => image.decode().then(() => [image.naturalWidth, image.naturalHeight])")
        assert size == [2048, 1365]
        await sheet.get_by_label("Templat jawaban").select_option(label="Pohon tumbang sudah dievakuasi")
        await check_axe(held)
        await sheet.get_by_role("button", name="Selesaikan laporan").click()
        await until_sent(page)
        await expect(page.get_by_role("heading", name="Foto sesudah dikerjakan")).to_be_visible()
        assert held.console.errors == []

    stored = await report(api, lurah, tree_id)
    assert stored["status"] == "COMPLETED"
    assert len(stored["afterPhotos"]) == 1
    assert [(row["kind"], row["toStatus"], row["publicNote"], row["internalNote"]) for row in stored["history"]] == [
        ("STATUS", "WAITING", None, None),
        ("STATUS", "IN_PROGRESS", ON_THE_WAY, "Bawa gergaji mesin"),
        ("STATUS", "COMPLETED", TREE_REMOVED, None),
    ]
    assert (await report(api, lurah, light_id))["status"] == "COORDINATION"


async def test_lurah_disposes_marks_a_duplicate_and_rejects(server: str, api: Api, citizen: Citizen) -> None:
    lurah = await lurah_of_tomang(api, "Lurah Tomang Dua")
    tag = uuid.uuid4().hex[:6]
    dump = f"Sampah liar dibuang di kali {tag}"
    first = f"Parkir liar di trotoar {tag}"
    again = f"Parkir liar lagi di trotoar yang sama {tag}"
    dump_id = await file(api, citizen, dump, category="garbage")
    first_id = await file(api, citizen, first, category="illegal-parking")
    again_id = await file(api, citizen, again, category="illegal-parking")
    vague = f"Ada yang aneh di sini {tag}"
    vague_id = await file(api, citizen, vague, category="beggars")

    async with chromium() as browser, phone(browser, server, "officer-dispose") as held:
        page = held.page
        await officer_log_in(page, lurah.staff, "#/?category=garbage")
        await open_report(page, dump)
        await open_action(page, "Disposisi ke unit lain")
        sheet = page.get_by_role("dialog")
        # anchored: the template picker's name holds its options, and other tests' templates may say "diteruskan ke"
        await sheet.get_by_label(re.compile(r"^Teruskan ke")).select_option("AGENCY")
        await sheet.get_by_label("Cari unit").fill("Lingkungan Hidup Jakarta Barat")
        await sheet.get_by_label("Unit tujuan").select_option(AGENCY)
        await sheet.get_by_label("Catatan untuk pelapor dan publik").fill("Diteruskan ke Suku Dinas LH")
        await check_axe(held)
        await sheet.get_by_role("button", name="Disposisikan").click()
        await until_sent(page)
        await expect(page.get_by_text("Disposisi", exact=True).first).to_be_visible()

        await page.goto("/officer/#/?category=illegal-parking")
        await open_report(page, again)
        await open_action(page, "Tandai duplikat")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_role("radio", name=re.compile(re.escape(first))).check()
        await check_axe(held)
        await sheet.get_by_role("button", name="Tandai sebagai duplikat").click()
        await until_sent(page)
        await expect(page.get_by_role("link", name="Laporan asli")).to_be_visible()

        await page.goto("/officer/#/?category=beggars")
        await open_report(page, vague)
        await open_action(page, "Tolak")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Templat jawaban").select_option(label="Laporan kurang jelas")
        await expect(sheet.get_by_label("Alasan penolakan")).to_have_value(re.compile("^Mohon maaf, lokasi"))
        await check_axe(held)
        await sheet.get_by_role("button", name="Tolak laporan").click()
        await until_sent(page)
        await expect(page.get_by_role("region", name="Pengemis").get_by_text("Ditolak", exact=True)).to_be_visible()
        assert held.console.errors == []

    disposed = await report(api, lurah, dump_id)
    assert (disposed["status"], disposed["unit"]["code"]) == ("DISPOSITION", AGENCY)
    assert disposed["history"][-1]["publicNote"] == "Diteruskan ke Suku Dinas LH"
    duplicate = await report(api, lurah, again_id)
    assert (duplicate["status"], duplicate["duplicateOf"]) == ("DUPLICATE", first_id)
    assert (await report(api, lurah, vague_id))["status"] == "REJECTED"


def document_id(operation: str) -> str:
    """The trusted document id the app sends for one of its operations."""
    documents: dict[str, str] = json.loads((ROOT / "api" / "static" / "trusted-documents.json").read_text())
    [found] = [key for key, text in documents.items() if re.search(rf"\b{operation}\b", text)]
    return found


async def test_offline_actions_are_stored_once_and_a_stale_one_is_refused(
    server: str, api: Api, citizen: Citizen
) -> None:
    lurah = await lurah_of_tomang(api, "Lurah Tomang Tiga")
    tag = uuid.uuid4().hex[:6]
    leaning = f"Tiang listrik miring {tag}"
    leak = f"Pipa air bocor di gang {tag}"
    leaning_id = await file(api, citizen, leaning, category="utilities")
    leak_id = await file(api, citizen, leak, category="utilities")
    await move(api, lurah, leaning_id, "IN_PROGRESS")
    change_status = document_id("OfficerChangeStatus")

    async with chromium() as browser, phone(browser, server, "officer-offline") as held:
        page = held.page
        await officer_log_in(page, lurah.staff, "#/?category=utilities")
        await open_report(page, leak)
        await page.get_by_role("link", name="Kembali").click()
        await in_queue(page, leaning)
        await held.service_worker_ready()

        # Offline: the kept queue; a report never opened before, completed with a photo; another, opened
        # before, moved on while a colleague moves it on elsewhere.
        await held.offline()
        await page.reload()
        await expect(page.get_by_text(re.compile("^Data tersimpan di ponsel"))).to_be_visible()
        await open_report(page, leaning)
        await expect(page.get_by_text(re.compile("^Rincian laporan ini belum tersimpan"))).to_be_visible()
        await open_action(page, "Selesaikan dengan foto")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Foto sesudah dikerjakan").set_input_files(
            {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
        )
        await expect(sheet.get_by_role("img", name="Foto sesudah 1")).to_be_visible()
        await sheet.get_by_role("button", name="Selesaikan laporan").click()
        await expect(page.get_by_text(re.compile("^Menunggu dikirim: Status Selesai"))).to_be_visible()
        await check_axe(held)
        await page.get_by_role("link", name="Kembali").click()
        await open_report(page, leak)
        await expect(page.get_by_role("heading", name="Riwayat")).to_be_visible()
        await open_action(page, "Ubah status")
        await page.get_by_role("dialog").get_by_role("button", name="Simpan").click()
        await expect(page.get_by_text(re.compile("^Menunggu dikirim: Status Koordinasi"))).to_be_visible()
        await move(api, lurah, leak_id, "IN_PROGRESS")

        # Back online, the first answer lost on the way: the API did the completion, the phone cannot know.
        answer_lost = asyncio.Event()

        async def lose_first_answer(route: Route) -> None:
            if not answer_lost.is_set() and (route.request.post_data_json or {}).get("documentId") == change_status:
                await route.fetch()
                answer_lost.set()
                await route.abort("connectionreset")
            else:
                await route.continue_()

        await page.route("**/graphql", lose_first_answer)
        await page.get_by_role("link", name="Kembali").click()
        await held.offline(False)
        await answer_lost.wait()
        outbox = page.get_by_role("region", name="Menunggu dikirim")
        await outbox.get_by_role("button", name="Kirim sekarang").first.click()

        # Sent again with the same key: done once. The stale one is refused and shown, on the report too.
        await expect(outbox.get_by_text(re.compile("^Ditolak"))).to_be_visible()
        await open_report(page, leak)
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("Tindakan ditolak: Status Koordinasi")
        await expect(alert).to_contain_text("sekarang: Proses")
        await check_axe(held)
        await held.screenshot("officer-stale")
        await alert.get_by_role("button", name="Muat ulang laporan dan tutup pesan ini").click()
        await expect(page.get_by_role("alert")).to_have_count(0)

    stored = await report(api, lurah, leaning_id)
    assert stored["status"] == "COMPLETED"
    assert len(stored["afterPhotos"]) == 1
    assert [row["toStatus"] for row in stored["history"]] == ["WAITING", "IN_PROGRESS", "COMPLETED"]
    stale = await report(api, lurah, leak_id)
    assert [row["toStatus"] for row in stale["history"]] == ["WAITING", "IN_PROGRESS"]


async def test_bulk_assign_answers_for_each_report(server: str, api: Api, citizen: Citizen) -> None:
    lurah = await lurah_of_tomang(api, "Lurah Tomang Empat")
    tag = uuid.uuid4().hex[:6]
    # More than a page of them: the queue pages.
    for number in range(21):
        await file(api, citizen, f"Spanduk liar {number} {tag}", category="unlicensed-ads")
    descriptions = [f"Reklame tanpa izin nomor {number} {tag}" for number in (1, 2, 3)]
    ids = [await file(api, citizen, description, category="unlicensed-ads") for description in descriptions]
    # The third is with an agency now: a lurah cannot take it.
    body = await api.gql(DISPOSE, {"input": {"reportId": ids[2], "toUnit": AGENCY}}, token=lurah.token)
    assert body["data"]["disposeReport"]["errors"] == [], body

    async with chromium() as browser, phone(browser, server, "officer-bulk") as held:
        page = held.page
        await officer_log_in(page, lurah.staff, "#/?category=unlicensed-ads")
        await expect(page.get_by_text("20 laporan ditampilkan")).to_be_visible()
        await expect(page.get_by_role("button", name="Tampilkan lebih banyak")).to_be_visible()
        for description in descriptions:
            await in_queue(page, description)
            await page.get_by_role("checkbox", name=re.compile(re.escape(description))).check()
        await expect(page.get_by_text("3 laporan dipilih")).to_be_visible()
        await (
            page.get_by_role("region", name="Tindakan untuk laporan terpilih")
            .get_by_role("button", name="Tugaskan")
            .click()
        )
        sheet = page.get_by_role("dialog")
        await expect(sheet.get_by_label("Petugas")).to_have_value(re.compile(".+"))
        await sheet.get_by_role("button", name="Tugaskan").click()
        results = sheet.get_by_role("list", name="Hasil per laporan")
        await expect(results.get_by_text("Berhasil")).to_have_count(2)
        await expect(results.get_by_role("listitem").filter(has_text=descriptions[2])).to_contain_text(
            "Ditolak: Petugas itu bukan petugas unit yang memegang laporan."
        )
        await check_axe(held)
        await held.screenshot("officer-bulk")
        await sheet.get_by_role("button", name="Selesai").click()
        outbox = page.get_by_role("region", name="Menunggu dikirim")
        await expect(
            outbox.get_by_text(re.compile(f"^Tugaskan ke Lurah Tomang Empat: {descriptions[2]}"))
        ).to_be_visible()

        await page.get_by_role("link", name="Kotak masuk").click()
        await expect(page.get_by_role("heading", name="Kotak masuk")).to_be_visible()
        await expect(page.get_by_text("Belum dibaca", exact=True)).to_have_count(24)
        await check_axe(held)
        await held.screenshot("officer-inbox")
        await page.get_by_role("button", name="Tandai semua sudah dibaca").click()
        await expect(page.get_by_text("Belum dibaca", exact=True)).to_have_count(0)
        await expect(page.get_by_role("link", name="Kotak masuk")).to_have_text("Kotak masuk")
        await page.get_by_role("link", name="Akun").click()
        await expect(page.get_by_text("Kelurahan Tomang")).to_be_visible()
        await check_axe(held)
        await page.get_by_label("Bahasa").select_option("en")
        await page.get_by_role("link", name="Queue").click()
        await expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
        await expect(page.get_by_role("list", name="Reports in the queue")).to_be_visible()
        await expect(page.get_by_role("button", name="Refresh")).to_be_visible()
        await check_axe(held)
        assert held.console.errors == []

    assignees = [(await report(api, lurah, report_id))["assignee"] for report_id in ids]
    assert assignees == [{"displayName": lurah.name}, {"displayName": lurah.name}, None]


async def test_camat_verifies_completions(server: str, api: Api, citizen: Citizen) -> None:
    lurah = await lurah_of_tomang(api, "Lurah Tomang Lima")
    camat = await staff_account("officer", TOMANG_CAMAT, "Camat Grogol Petamburan")
    tag = uuid.uuid4().hex[:6]
    patched = f"Jalan berlubang di depan pasar {tag}"
    sunken = f"Jalan amblas di depan sekolah {tag}"
    ids = [await file(api, citizen, description, category="damaged-road") for description in (patched, sunken)]
    for report_id in ids:
        await move(api, lurah, report_id, "IN_PROGRESS")
        # Damaged roads are verified by the camat's office: the lurah's completion waits for it.
        assert await complete(api, lurah, report_id) == "VERIFYING"

    async with chromium() as browser, phone(browser, server, "officer-verify") as held:
        page = held.page
        await officer_log_in(page, camat)
        waiting = page.get_by_role("region", name="Hanya penyelesaian yang menunggu verifikasi saya")
        await expect(waiting).to_contain_text("penyelesaian menunggu verifikasi Anda")
        await waiting.get_by_role("button", name="Tampilkan").click()
        await expect(page).to_have_url(re.compile(r"#/\?verify=1$"))
        for description in (patched, sunken):
            await expect(
                page.get_by_role("link", name=re.compile(f"{description}.*Menunggu verifikasi"))
            ).to_be_visible()
        await check_axe(held)
        await held.screenshot("officer-verify-queue")

        await open_report(page, patched)
        await open_action(page, "Verifikasi penyelesaian")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Terima: laporan selesai").check()
        await sheet.get_by_label("Catatan untuk pelapor dan publik").fill("Sudah dicek di lapangan")
        await check_axe(held)
        await sheet.get_by_role("button", name="Kirim keputusan").click()
        await until_sent(page)
        await expect(page.get_by_text("Catatan publik: Sudah dicek di lapangan")).to_be_visible()
        await expect(page.get_by_role("region", name="Jalan rusak").get_by_text("Selesai", exact=True)).to_be_visible()

        await page.get_by_role("link", name="Kembali").click()
        await open_report(page, sunken)
        await open_action(page, "Verifikasi penyelesaian")
        sheet = page.get_by_role("dialog")
        await sheet.get_by_label("Kembalikan ke unit untuk dikerjakan lagi").check()
        await sheet.get_by_label("Apa yang belum sesuai").fill("Lubang masih terlihat di foto")
        await sheet.get_by_role("button", name="Kirim keputusan").click()
        await until_sent(page)
        await expect(page.get_by_text("Catatan internal: Lubang masih terlihat di foto")).to_be_visible()
        assert held.console.errors == []

    accepted, returned = [await report(api, lurah, report_id) for report_id in ids]
    assert (accepted["status"], accepted["history"][-1]["publicNote"]) == ("COMPLETED", "Sudah dicek di lapangan")
    assert (returned["status"], returned["history"][-1]["internalNote"]) == (
        "IN_PROGRESS",
        "Lubang masih terlihat di foto",
    )
