"""Every image the system stores for anyone to see keeps nothing of the upload but its pixels: read back from S3.

tests/api/test_reports.py checks the orientation and sizes of a report photo; here the metadata of each kind the
API serves (a citizen's photos as JPEG and as PNG, an officer's after-photo) with every block a phone or an editor
writes: EXIF with GPS and the camera, a comment, XMP naming the position, an ICC profile, PNG text chunks.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable

import pytest
from PIL import Image, PngImagePlugin

from domain.models import Photo, Role
from domain.resources import Resources
from tests.api.test_workflow import CHANGE_STATUS, staff_member
from tests.factories import REPORT, Api, Citizen, jpeg_with_gps

TOMANG_OFFICE = "kel-31.73.02.1003"
MODEL = b"Jakarta Phone X"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>6,10.16S</exif:GPSLatitude></x:xmpmeta>'
ICC = b"FAKE-ICC-PROFILE" * 16
# What must not be left in a stored image's bytes: the blocks' markers and the values they carried.
TRACES = [b"Exif", b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"xmpmeta", b"GPS", MODEL, b"secret comment",
          b"6,10.16S", b"FAKE-ICC-PROFILE"]  # fmt: skip


def jpeg_with_every_block() -> bytes:
    source = Image.open(io.BytesIO(jpeg_with_gps()))
    out = io.BytesIO()
    source.save(out, format="JPEG", exif=source.info["exif"], comment=b"secret comment", icc_profile=ICC, xmp=XMP)
    return out.getvalue()


def png_with_every_block() -> bytes:
    source = Image.open(io.BytesIO(jpeg_with_gps()))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret comment")
    text.add_text("Location", "6,10.16S", zip=True)
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    source.convert("RGB").save(out, format="PNG", pnginfo=text, exif=source.getexif().tobytes(), icc_profile=ICC)
    return out.getvalue()


def assert_only_pixels(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not {"exif", "comment", "icc_profile", "xmp", "XML:com.adobe.xmp", "photoshop"} & image.info.keys()
    assert [trace for trace in TRACES if trace in data] == []


@pytest.mark.parametrize(
    ("make", "content_type"), [(jpeg_with_every_block, "image/jpeg"), (png_with_every_block, "image/png")]
)
async def test_a_citizens_photo_and_thumbnail_are_stored_without_metadata(
    api: Api,
    citizen: Citizen,
    resources: Resources,
    run_jobs: Callable[[], Awaitable[None]],
    make: Callable[[], bytes],
    content_type: str,
) -> None:
    # given: an upload that really carries every block (else this test would prove nothing)
    original = make()
    found = [trace for trace in (b"Exif" if content_type == "image/jpeg" else b"eXIf", MODEL, b"secret comment",
                                 b"xmpmeta", b"FAKE-ICC" if content_type == "image/jpeg" else b"iCCP")
             if trace in original]  # fmt: skip
    assert len(found) == 5
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)[1] == "S"

    # when: it is filed and processed
    key = await api.upload_photo(citizen, original, content_type=content_type)
    report_id = (await api.create_report(citizen, photo_keys=[key]))["report"]["id"]
    await run_jobs()

    # then: the processed image and its thumbnail, read back from storage, are pixels only
    [photo] = (await api.gql(REPORT, {"id": report_id}, token=citizen.token))["data"]["report"]["photos"]
    assert photo["status"] == "READY"
    for stored in await stored_copies(resources, photo["id"]):
        assert_only_pixels(stored)


async def test_an_officers_after_photo_is_stored_without_metadata(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: a report an officer completes with an after-photo straight from a phone
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    after_key = await api.upload_photo(lurah, jpeg_with_every_block())
    for to, extra in (("IN_PROGRESS", {}), ("COMPLETED", {"afterPhotoKeys": [after_key]})):
        body = await api.gql(CHANGE_STATUS, {"input": {"reportId": report_id, "to": to, **extra}}, token=lurah.token)
        assert body["data"]["changeReportStatus"]["errors"] == [], body

    # when: the photo job runs
    await run_jobs()

    # then: what the public and the reporter see of it is pixels only
    shown = await api.gql("query R($id: ID!) { report(id: $id) { afterPhotos { id status } } }", {"id": report_id})
    [after] = shown["data"]["report"]["afterPhotos"]
    assert after["status"] == "READY"
    for stored in await stored_copies(resources, after["id"]):
        assert_only_pixels(stored)


async def stored_copies(resources: Resources, photo_id: str) -> list[bytes]:
    async with resources.unit_of_work() as session:
        row = await session.get(Photo, uuid.UUID(photo_id))
    assert row is not None
    assert row.image_key
    assert row.thumb_key
    return [await resources.storage.read(row.image_key), await resources.storage.read(row.thumb_key)]
