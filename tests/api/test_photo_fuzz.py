"""Hostile files through the whole photo pipeline: the presigned POST to the real object store, createReport,
then the processing job of the real worker app.

Each file ends in one typed outcome: createReport refuses it with a code, or the job marks the photo FAILED
with an errorCode, or the photo is READY and what is published is a JPEG re-encoded from pixels, so nothing
appended to or hidden in the upload survives. Never a job that raises (and so retries), never an upload
readable without a signature, never the uploaded bytes behind a photo's URL.
"""

from __future__ import annotations

import io
import random
import struct
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from domain.models import Photo
from domain.resources import Resources
from tests.factories import REPORT, REQUEST_UPLOAD, Api, Citizen, jpeg_with_gps, png_bytes, png_declaring

# What must not reach a published image: the payloads the polyglots carry, and the upload's metadata.
PAYLOAD_MARKERS = (b"PK\x03\x04", b"<script", b"<html", b"Exif", b"Jakarta Phone X", b"secret comment")


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("shell.jsp", '<% Runtime.getRuntime().exec(request.getParameter("c")); %>')
    return out.getvalue()


def jpeg_with_exif(payload: bytes) -> bytes:
    """A plain JPEG with an APP1 Exif segment holding `payload` (a TIFF structure, broken on purpose)."""
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 200, 10)).save(out, format="JPEG")
    plain = out.getvalue()
    body = b"Exif\x00\x00" + payload
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + plain[2:]


JPEG = jpeg_with_gps(size=(800, 600))
PNG = png_bytes((300, 200), mode="RGB")
HTML = b"<html><body><script>fetch('/steal?c=' + document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF\n"
# An IFD whose offset points past the end of the segment, and one whose Exif IFD and next IFD point back at itself.
EXIF_OUT_OF_BOUNDS = b"II*\x00" + struct.pack("<I", 0xFFFFFF00) + random.Random(1).randbytes(64)
EXIF_LOOP = (
    b"II*\x00"
    + struct.pack("<I", 8)
    + struct.pack("<H", 2)
    + struct.pack("<HHII", 0x8769, 4, 1, 8)
    + struct.pack("<HHII", 0x0112, 3, 1, 6)
    + struct.pack("<I", 8)
)


@dataclass(frozen=True)
class Hostile:
    data: bytes
    content_type: str = "image/jpeg"
    refused: str | None = None  # createReport's error code
    failed: str | None = None  # the photo's errorCode once the job has run
    overwrite: bytes | None = None  # POSTed again to the same key, with the same form, after createReport


CASES = {
    "truncated-jpeg": Hostile(JPEG[: len(JPEG) // 2], failed="PHOTO_CORRUPT"),
    "truncated-jpeg-inside-its-header": Hostile(JPEG[:300], refused="PHOTO_NOT_AN_IMAGE"),
    "truncated-png": Hostile(PNG[: len(PNG) // 2], content_type="image/png", failed="PHOTO_CORRUPT"),
    "truncated-png-inside-its-header": Hostile(PNG[:40], content_type="image/png", refused="PHOTO_NOT_AN_IMAGE"),
    "png-labelled-jpeg": Hostile(PNG),
    "text-labelled-jpeg": Hostile(b"just some text, not a photo\n" * 20, refused="PHOTO_NOT_AN_IMAGE"),
    "html-labelled-jpeg": Hostile(HTML, refused="PHOTO_NOT_AN_IMAGE"),
    "pdf-labelled-jpeg": Hostile(PDF, refused="PHOTO_NOT_AN_IMAGE"),
    "zip-labelled-jpeg": Hostile(zip_archive(), refused="PHOTO_NOT_AN_IMAGE"),
    "png-30000x30000": Hostile(png_declaring(30_000, 30_000), content_type="image/png", refused="PHOTO_TOO_LARGE"),
    "png-30000x30000-labelled-jpeg": Hostile(png_declaring(30_000, 30_000), refused="PHOTO_TOO_LARGE"),
    "jpeg-then-zip": Hostile(JPEG + zip_archive()),
    "jpeg-then-html": Hostile(JPEG + HTML),
    "png-then-html": Hostile(PNG + HTML, content_type="image/png"),
    "zero-bytes": Hostile(b"", refused="PHOTO_NOT_UPLOADED"),
    "random-bytes-after-jpeg-magic": Hostile(
        b"\xff\xd8\xff\xe0" + random.Random(2).randbytes(8192), refused="PHOTO_NOT_AN_IMAGE"
    ),
    "exif-offset-out-of-bounds": Hostile(jpeg_with_exif(EXIF_OUT_OF_BOUNDS)),
    "exif-ifd-loop": Hostile(jpeg_with_exif(EXIF_LOOP)),
    "replaced-by-html-after-createReport": Hostile(JPEG, overwrite=HTML, failed="PHOTO_NOT_AN_IMAGE"),
    "replaced-by-a-bomb-after-createReport": Hostile(
        JPEG, overwrite=png_declaring(30_000, 30_000), failed="PHOTO_TOO_LARGE"
    ),
}


async def upload_ticket(api: Api, citizen: Citizen, case: Hostile) -> dict[str, Any]:
    size = max(len(case.data), len(case.overwrite or b""), 1)
    body = await api.gql(REQUEST_UPLOAD, {"contentType": case.content_type, "byteSize": size}, token=citizen.token)
    ticket: dict[str, Any] = body["data"]["requestPhotoUpload"]["upload"]
    return ticket


async def post(ticket: dict[str, Any], data: bytes, content_type: str) -> int:
    async with httpx.AsyncClient() as s3:
        response = await s3.post(ticket["url"], data=ticket["fields"], files={"file": ("photo", data, content_type)})
    return response.status_code


async def photo_jobs(resources: Resources, photo_id: str) -> list[tuple[str, int]]:
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT status, attempts FROM procrastinate_jobs WHERE args->>'photo_id' = :id ORDER BY id"),
            {"id": photo_id},
        )
    return [(str(r.status), int(r.attempts)) for r in rows]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_hostile_file_ends_in_a_typed_outcome(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]], case: Hostile
) -> None:
    # given: the file, uploaded through the presigned POST as a client would
    ticket = await upload_ticket(api, citizen, case)
    uploaded = await post(ticket, case.data, case.content_type)
    # The storage's policy takes 1 byte to 10 MB: an empty file is refused at the door.
    assert uploaded == (400 if not case.data else 204)
    async with httpx.AsyncClient() as anyone:
        unsigned = await anyone.get(f"{ticket['url'].rstrip('/')}/{ticket['key']}")
    assert unsigned.status_code in (403, 404)

    # when
    created = await api.create_report(citizen, photo_keys=[ticket["key"]])
    if case.refused:
        assert (created["report"], [e["code"] for e in created["errors"]]) == (None, [case.refused])
        return
    assert created["errors"] == []
    if case.overwrite is not None:
        assert await post(ticket, case.overwrite, case.content_type) == 204
    upload = await resources.storage.read(ticket["key"])
    await run_jobs()

    # then
    report_id = created["report"]["id"]
    mine = (await api.gql(REPORT, {"id": report_id}, token=citizen.token))["data"]["report"]["photos"]
    public = (await api.gql(REPORT, {"id": report_id}))["data"]["report"]["photos"]
    assert await photo_jobs(resources, mine[0]["id"]) == [("succeeded", 1)]
    async with resources.unit_of_work() as session:
        row = await session.get(Photo, uuid.UUID(mine[0]["id"]))
    assert row is not None
    assert row.attempts == 1
    # Made safe or not, the original (with whatever it carries) is gone.
    assert await resources.storage.list_keys(ticket["key"]) == []
    if case.failed:
        assert [(p["status"], p["errorCode"], p["url"], p["thumbnailUrl"]) for p in mine] == [
            ("FAILED", case.failed, None, None)
        ]
        assert public == []
        assert await resources.storage.list_keys(f"photos/{report_id}/") == []
        return
    assert [(p["status"], p["errorCode"]) for p in mine] == [("READY", None)]
    assert [p["id"] for p in public] == [mine[0]["id"]]
    assert row.image_key is not None
    assert row.thumb_key is not None
    for key, url in ((row.image_key, public[0]["url"]), (row.thumb_key, public[0]["thumbnailUrl"])):
        published = await resources.storage.read(key)
        async with httpx.AsyncClient() as anyone:
            served = await anyone.get(url)
        assert served.content == published
        assert published != upload
        assert published.startswith(b"\xff\xd8")
        assert published.endswith(b"\xff\xd9")
        assert [marker for marker in PAYLOAD_MARKERS if marker in published] == []
        image = Image.open(io.BytesIO(published))
        image.load()
        assert (image.format, image.mode, dict(image.getexif())) == ("JPEG", "RGB", {})
