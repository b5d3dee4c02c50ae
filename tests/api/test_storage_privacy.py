"""The bucket is private and every link into it short-lived: checked against the real SeaweedFS of the stack."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from domain.models import Camera, CctvEvidence, EvidenceStatus, Role
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_cctv import SAVE_CAMERA, camera_input
from tests.api.test_workflow import staff_member
from tests.factories import REPORT, REQUEST_UPLOAD, Api, Citizen, jpeg_with_gps

TOMANG_OFFICE = "kel-31.73.02.1003"
EVIDENCE = "query Evidence($id: ID!) { report(id: $id) { cctvEvidence { clipUrl playableClipUrl snapshotUrl } } }"
REQUEST_EXPORT = """
mutation Export($since: Date!, $until: Date!) {
  requestPerformanceExport(level: KELURAHAN, since: $since, until: $until) { id }
}
"""
EXPORT = "query One($id: ID!) { performanceExport(id: $id) { status url } }"


def lifetime(url: str) -> tuple[datetime, int]:
    """When a SigV4 presigned URL was signed, and for how many seconds."""
    query = parse_qs(urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed, int(query["X-Amz-Expires"][0])


def assert_lives(url: str, ttl_s: int) -> None:
    signed, expires = lifetime(url)
    assert expires == ttl_s
    assert abs(datetime.now(UTC) - signed) < timedelta(seconds=60)


async def test_the_bucket_refuses_anonymous_reads_listings_and_writes(resources: Resources, settings: Settings) -> None:
    # given: an object in the bucket
    key = f"privacy/{uuid.uuid4()}.jpg"
    await resources.storage.write(key, b"not for the public", content_type="image/jpeg")
    bucket = f"{settings.s3_endpoint_url}/{settings.s3_bucket}"

    # when: someone without credentials asks for it, for the bucket's listing, or writes into it
    async with httpx.AsyncClient() as anonymous:
        read = await anonymous.get(f"{bucket}/{key}")
        listing = await anonymous.get(bucket)
        listing_v2 = await anonymous.get(bucket, params={"list-type": "2"})
        written = await anonymous.put(f"{bucket}/privacy/{uuid.uuid4()}.jpg", content=b"graffiti")
        signed = await anonymous.get(await resources.storage.presign_get(key, expires_s=60))

    # then: all refused, while the same object is there for a signed request
    assert [r.status_code for r in (read, listing, listing_v2, written)] == [403, 403, 403, 403]
    assert b"not for the public" not in read.content
    assert key not in listing.text + listing_v2.text
    assert (signed.status_code, signed.content) == (200, b"not for the public")


async def test_a_link_made_for_one_second_is_refused_once_it_expired(resources: Resources) -> None:
    # given: links for one second and for a minute, to read an object and to upload one
    key, upload_key = f"privacy/{uuid.uuid4()}.jpg", f"privacy/{uuid.uuid4()}.jpg"
    await resources.storage.write(key, b"short-lived", content_type="image/jpeg")
    storage = resources.storage
    short, long = [await storage.presign_get(key, expires_s=ttl) for ttl in (1, 60)]
    short_post, long_post = [
        await storage.presign_post(upload_key, content_type="image/jpeg", max_bytes=100, expires_s=ttl)
        for ttl in (1, 60)
    ]

    # when: they are used two seconds later
    await asyncio.sleep(2.5)
    async with httpx.AsyncClient() as http:
        stale, fresh = [await http.get(url) for url in (short, long)]
        stale_upload, fresh_upload = [
            await http.post(post.url, data=post.fields, files={"file": ("p.jpg", b"late", "image/jpeg")})
            for post in (short_post, long_post)
        ]

    # then: the one-second ones are refused, the others still work (so the refusal is the expiry's)
    assert (stale.status_code, fresh.status_code) == (403, 200)
    assert b"expired" in stale.content.lower()
    assert (stale_upload.status_code, fresh_upload.status_code) == (403, 204)
    assert await storage.read(upload_key) == b"late"


async def test_the_upload_policy_bounds_size_type_key_and_time(api: Api, citizen: Citizen, settings: Settings) -> None:
    body = await api.gql(REQUEST_UPLOAD, {"contentType": "image/jpeg", "byteSize": 1234}, token=citizen.token)
    upload = body["data"]["requestPhotoUpload"]["upload"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))

    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(0) < expiration - datetime.now(UTC) <= timedelta(seconds=settings.upload_url_ttl_s)
    assert ["content-length-range", 1, settings.upload_max_bytes] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert {"key": upload["key"]} in policy["conditions"]
    assert {"bucket": settings.s3_bucket} in policy["conditions"]
    assert upload["key"].startswith(f"uploads/{citizen.user_id}/")


async def test_every_link_the_api_hands_out_lives_no_longer_than_its_setting(
    api: Api, citizen: Citizen, resources: Resources, settings: Settings, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: a report with a processed photo, the CCTV evidence of a camera, and an auditor's export
    key = await api.upload_photo(citizen, jpeg_with_gps())
    report_id = (await api.create_report(citizen, photo_keys=[key]))["report"]["id"]
    admin = await staff_member(api, resources, Role.ADMIN)
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    auditor = await staff_member(api, resources, Role.AUDITOR)
    code = f"privacy-{uuid.uuid4().hex[:6]}"
    saved = await api.gql(SAVE_CAMERA, {"input": camera_input(code, active=False)}, token=admin.token)
    assert saved["data"]["saveCamera"]["errors"] == []
    base = f"cctv-evidence/{uuid.uuid4()}"
    await resources.storage.write(f"{base}/clip.ts", b"\x47" * 188, content_type="video/mp2t")
    await resources.storage.write(f"{base}/clip.mp4", b"\x00\x00\x00\x18ftypisom", content_type="video/mp4")
    await resources.storage.write(f"{base}/snapshot.jpg", jpeg_with_gps(), content_type="image/jpeg")
    now = datetime.now(UTC)
    async with resources.unit_of_work() as session:
        camera_id = await session.scalar(select(Camera.id).where(Camera.code == code))
        assert camera_id is not None
        session.add(
            CctvEvidence(
                report_id=uuid.UUID(report_id), camera_id=camera_id, rank=1, distance_m=40.0,
                status=EvidenceStatus.READY, window_start=now - timedelta(seconds=30), window_end=now,
                clip_key=f"{base}/clip.ts", playable_clip_key=f"{base}/clip.mp4", snapshot_key=f"{base}/snapshot.jpg",
                summary={"camera": code},
            )
        )  # fmt: skip
    today = datetime.now(UTC).date().isoformat()
    export_id = (await api.gql(REQUEST_EXPORT, {"since": today, "until": today}, token=auditor.token))["data"][
        "requestPerformanceExport"
    ]["id"]
    await run_jobs()

    # when: the owner, an officer and the auditor read them
    mine = (await api.gql(REPORT, {"id": report_id}, token=citizen.token))["data"]["report"]["photos"]
    staff = (await api.gql(REPORT, {"id": report_id}, token=officer.token))["data"]["report"]["photos"]
    [evidence] = (await api.gql(EVIDENCE, {"id": report_id}, token=officer.token))["data"]["report"]["cctvEvidence"]
    export = (await api.gql(EXPORT, {"id": export_id}, token=auditor.token))["data"]["performanceExport"]

    # then: each link lives exactly as long as its setting says, from now, and works
    links = [mine[0]["url"], mine[0]["thumbnailUrl"], staff[0]["url"], staff[0]["thumbnailUrl"]]
    links += [evidence["clipUrl"], evidence["playableClipUrl"], evidence["snapshotUrl"]]
    for url in links:
        assert_lives(url, settings.download_url_ttl_s)
    assert export["status"] == "READY"
    assert_lives(export["url"], settings.export_url_ttl_s)
    async with httpx.AsyncClient() as http:
        served = [(await http.get(url)).status_code for url in [*links, export["url"]]]
    assert served == [200] * 8
