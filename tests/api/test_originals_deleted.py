"""Nothing with GPS survives in storage: after each way a photo's life ends, read back the whole bucket of the real
SeaweedFS.

Each test uploads a phone JPEG whose every metadata block (EXIF, its GPS directory, XMP, the comment) carries a
marker unique to the test. Then:
- no object anywhere in the bucket holds the marker (the bucket is shared with the other tests, so "anywhere" is
  the strongest check there is: a copy that kept any block of this upload would hold it);
- every object the flow wrote parses as what it should be, with no EXIF, GPS or XMP in it;
- nothing is left under uploads/ for the flow's photos.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from PIL import Image
from sqlalchemy import select, update

from domain import photos
from domain.adapters.storage import ObjectStorage, S3Storage
from domain.models import Photo, PhotoStatus, Role
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_account_deletion import DELETE
from tests.api.test_workflow import CHANGE_STATUS, staff_member
from tests.factories import REPORT, Api, Citizen, jpeg_with_marker

TOMANG_OFFICE = "kel-31.73.02.1003"
AFTER_PHOTOS = "query R($id: ID!) { report(id: $id) { afterPhotos { id status } } }"


@pytest.fixture
def marker() -> str:
    return f"jsc-privacy-marker-{uuid.uuid4().hex}"


async def bucket(storage: ObjectStorage) -> dict[str, bytes]:
    """Every object in the bucket, read whole."""
    keys: list[str] = []
    while page := await storage.list_keys("", start_after=keys[-1] if keys else None):
        keys += page
    return {key: await storage.read(key) for key in keys}


def assert_no_metadata(key: str, data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG", key
    assert dict(image.getexif()) == {}, key
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment"} & image.info.keys(), key
    assert [t for t in (b"Exif\x00", b"xmpmeta", b"GPS") if t in data] == [], key


class Bucket:
    """The bucket before a flow, to tell afterwards what the flow wrote."""

    def __init__(self, resources: Resources, marker: str) -> None:
        self.storage, self.marker = resources.storage, marker.encode()
        self.before: dict[str, bytes] = {}

    async def snapshot(self, run_jobs: Callable[[], Awaitable[None]] | None = None) -> None:
        """What the bucket holds now; with `run_jobs`, once the jobs that earlier tests of this process left
        queued have run (they would write photos of their own during the flow)."""
        if run_jobs is not None:
            await run_jobs()
        self.before = await bucket(self.storage)
        assert [k for k, data in self.before.items() if self.marker in data] == []

    async def assert_clean(self, *, upload_prefixes: list[str], written: int) -> None:
        after = await bucket(self.storage)
        assert [k for k, data in after.items() if self.marker in data] == []
        new = {k: data for k, data in after.items() if self.before.get(k) != data}
        assert len(new) == written, sorted(new)
        for key, data in new.items():
            assert_no_metadata(key, data)
        assert [k for k in after if any(k.startswith(p) for p in upload_prefixes)] == []


async def upload(api: Api, who: Citizen, marker: str, *, data: bytes | None = None) -> str:
    original = data or jpeg_with_marker(marker)
    assert original.count(marker.encode()) >= 3  # in EXIF, in its GPS directory, in XMP, in the comment
    return await api.upload_photo(who, original)


async def photo_row(resources: Resources, photo_id: str) -> Photo:
    async with resources.unit_of_work() as session:
        row = await session.get(Photo, uuid.UUID(photo_id))
    assert row is not None
    return row


async def test_a_processed_photo_leaves_no_original(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]], marker: str
) -> None:
    # given: a citizen's photo with GPS, filed
    seen = Bucket(resources, marker)
    await seen.snapshot(run_jobs)
    key = await upload(api, citizen, marker)
    assert marker.encode() in await resources.storage.read(key)
    report_id = (await api.create_report(citizen, photo_keys=[key]))["report"]["id"]

    # when: the photo job runs
    await run_jobs()

    # then: the photo is ready, its original gone, and the bucket holds only its clean copies
    [shown] = (await api.gql(REPORT, {"id": report_id}, token=citizen.token))["data"]["report"]["photos"]
    row = await photo_row(resources, shown["id"])
    assert (row.status, row.upload_key) == (PhotoStatus.READY, key)
    assert row.original_deleted_at is not None
    await seen.assert_clean(upload_prefixes=[f"uploads/{citizen.user_id}/"], written=2)


async def test_a_photo_that_fails_for_good_leaves_no_original(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]], marker: str
) -> None:
    # given: a JPEG whose header passes the checks at filing but whose pixels are cut off
    seen = Bucket(resources, marker)
    await seen.snapshot(run_jobs)
    whole = jpeg_with_marker(marker)
    key = await upload(api, citizen, marker, data=whole[: len(whole) - 2000])
    report_id = (await api.create_report(citizen, photo_keys=[key]))["report"]["id"]

    # when: the photo job runs
    await run_jobs()

    # then: the photo failed with its code, and its original went all the same
    [shown] = (await api.gql(REPORT, {"id": report_id}, token=citizen.token))["data"]["report"]["photos"]
    assert (shown["status"], shown["errorCode"]) == ("FAILED", "PHOTO_CORRUPT")
    assert (await photo_row(resources, shown["id"])).original_deleted_at is not None
    await seen.assert_clean(upload_prefixes=[f"uploads/{citizen.user_id}/"], written=0)


async def test_an_officers_after_photo_leaves_no_original(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]], marker: str
) -> None:
    # given: a report an officer completes with an after-photo straight from a phone
    lurah = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    report_id = (await api.create_report(citizen))["report"]["id"]
    await run_jobs()
    seen = Bucket(resources, marker)
    await seen.snapshot(run_jobs)
    after_key = await upload(api, lurah, marker)
    for to, extra in (("IN_PROGRESS", {}), ("COMPLETED", {"afterPhotoKeys": [after_key]})):
        body = await api.gql(CHANGE_STATUS, {"input": {"reportId": report_id, "to": to, **extra}}, token=lurah.token)
        assert body["data"]["changeReportStatus"]["errors"] == [], body

    # when: the photo job runs
    await run_jobs()

    # then: the after-photo is ready and nothing of the officer's upload is left
    shown = await api.gql(AFTER_PHOTOS, {"id": report_id})
    [after] = shown["data"]["report"]["afterPhotos"]
    assert after["status"] == "READY"
    assert (await photo_row(resources, after["id"])).original_deleted_at is not None
    await seen.assert_clean(upload_prefixes=[f"uploads/{lurah.user_id}/"], written=2)


async def test_an_upload_no_report_claimed_is_swept_after_its_ticket_and_grace(
    api: Api,
    citizen: Citizen,
    resources: Resources,
    settings: Settings,
    run_jobs: Callable[[], Awaitable[None]],
    marker: str,
) -> None:
    from workers import tasks

    # given: two uploads no report claimed: one whose ticket was issued before the cutoff (ticket life + grace),
    # one a citizen made just now and is about to file
    seen = Bucket(resources, marker)
    await seen.snapshot(run_jobs)
    old, fresh = await upload(api, citizen, marker), await upload(api, citizen, marker)
    lifetime = timedelta(seconds=settings.upload_url_ttl_s + settings.unclaimed_upload_grace_s)
    async with resources.unit_of_work() as session:
        await session.execute(
            update(Photo)
            .where(Photo.upload_key == old)
            .values(created_at=datetime.now(UTC) - lifetime - timedelta(seconds=5))
        )

    # when: the periodic sweep runs
    await tasks.sweep_uploads(timestamp=0)

    # then: the old upload and its ticket are gone; the fresh one is still there, and can still be filed
    assert await resources.storage.list_keys(old) == []
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(Photo).where(Photo.upload_key == old)) is None
    late = await api.gql(
        "mutation C($input: CreateReportInput!) { createReport(input: $input) { errors { code } } }",
        {"input": {"clientRequestId": str(uuid.uuid4()), "category": "garbage", "description": "sampah",
                   "location": {"lat": -6.1754, "lon": 106.8272}, "photoKeys": [old]}},
        token=citizen.token,
    )  # fmt: skip
    assert late["data"]["createReport"]["errors"] == [{"code": "PHOTO_NOT_FOUND"}]
    assert await resources.storage.list_keys(fresh) == [fresh]
    filed = await api.create_report(citizen, photo_keys=[fresh])
    assert filed["errors"] == []
    await run_jobs()
    await seen.assert_clean(upload_prefixes=[old, fresh], written=2)


async def test_an_object_under_uploads_that_no_photo_names_is_swept_once_old(
    resources: Resources, settings: Settings, marker: str
) -> None:
    # given: an upload whose ticket's request rolled back, so no row names it
    seen = Bucket(resources, marker)
    await seen.snapshot()
    key = f"uploads/{uuid.uuid4()}/{uuid.uuid4()}"
    await resources.storage.write(key, jpeg_with_marker(marker), content_type="image/jpeg")
    now = datetime.now(UTC)
    lifetime = timedelta(seconds=settings.upload_url_ttl_s + settings.unclaimed_upload_grace_s)

    # when: a sweep runs while its ticket could still be in use, then one after the ticket and the grace
    async with resources.unit_of_work() as session:
        await photos.sweep_uploads(session, resources.storage, settings, now=now)
    kept = await resources.storage.list_keys(key)
    async with resources.unit_of_work() as session:
        late, _ = await photos.sweep_uploads(session, resources.storage, settings, now=now + lifetime)

    # then: the first kept it, the second deleted it
    assert kept == [key]
    assert late >= 1
    await seen.assert_clean(upload_prefixes=[key], written=0)


async def test_deleting_an_account_deletes_every_file_it_uploaded(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]], marker: str
) -> None:
    # given: a citizen with a processed photo, one waiting for its job, and one never filed
    seen = Bucket(resources, marker)
    await seen.snapshot(run_jobs)
    processed = await upload(api, citizen, marker)
    await api.create_report(citizen, photo_keys=[processed])
    await run_jobs()
    waiting, unfiled = await upload(api, citizen, marker), await upload(api, citizen, marker)
    await api.create_report(citizen, photo_keys=[waiting])

    # when: the citizen deletes the account, and the jobs run
    done = await api.gql(DELETE, {"password": citizen.password}, token=citizen.token)
    assert done["data"]["deleteAccount"] == {"deleted": True, "errors": []}
    await run_jobs()

    # then: nothing of theirs is under uploads/, no ticket is left, and the marker is nowhere
    async with resources.unit_of_work() as session:
        rows = (await session.scalars(select(Photo).where(Photo.upload_key.in_([processed, waiting, unfiled])))).all()
    assert sorted((r.status, r.original_deleted_at is not None) for r in rows) == [
        (PhotoStatus.READY, True),
        (PhotoStatus.READY, True),
    ]
    await seen.assert_clean(upload_prefixes=[f"uploads/{citizen.user_id}/"], written=4)


async def test_an_outage_of_the_store_never_leaves_a_row_saying_the_original_is_gone(
    api: Api, citizen: Citizen, resources: Resources, settings: Settings, marker: str
) -> None:
    # given: a processed photo whose original is still there (the job's deletion has not run)
    key = await upload(api, citizen, marker)
    report_id = (await api.create_report(citizen, photo_keys=[key]))["report"]["id"]
    [shown] = (await api.gql(REPORT, {"id": report_id}, token=citizen.token))["data"]["report"]["photos"]
    photo_id = uuid.UUID(shown["id"])
    async with resources.unit_of_work() as session:
        await photos.process_photo(session, resources.storage, settings, photo_id=photo_id, now=datetime.now(UTC))
    down = S3Storage(settings.model_copy(update={"s3_endpoint_url": "http://127.0.0.1:9"}))

    # when: the deletion meets a store that is down
    with pytest.raises(EndpointConnectionError):
        async with resources.unit_of_work() as session:
            await photos.delete_original(session, down, photo_id=photo_id, now=datetime.now(UTC))

    # then: the row still says the original is there, as it is; the sweep deletes it once the store is back
    assert (await photo_row(resources, str(photo_id))).original_deleted_at is None
    assert await resources.storage.list_keys(key) == [key]
    async with resources.unit_of_work() as session:
        swept = await photos.delete_finished_originals(session, resources.storage, now=datetime.now(UTC))
    assert swept >= 1
    assert (await photo_row(resources, str(photo_id))).original_deleted_at is not None
    assert await resources.storage.list_keys(key) == []
    async with resources.unit_of_work() as session:
        assert (
            await photos.delete_original(session, resources.storage, photo_id=photo_id, now=datetime.now(UTC)) is False
        )


async def test_the_bucket_expires_uploads_by_a_lifecycle_rule_and_keeps_its_other_rules(
    resources: Resources, settings: Settings
) -> None:
    # given: a bucket with a rule of its own
    secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
    s3 = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret, region_name=settings.s3_region, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    theirs = {"ID": "operators-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket=settings.s3_bucket, LifecycleConfiguration={"Rules": [theirs]})

    # when: the backstop is set, twice (every worker start sets it)
    assert await photos.keep_uploads_backstop(resources.storage, settings) is True
    assert await photos.keep_uploads_backstop(resources.storage, settings) is True

    # then: SeaweedFS holds one rule expiring uploads/ after the setting's days, beside the operator's
    rules = s3.get_bucket_lifecycle_configuration(Bucket=settings.s3_bucket)["Rules"]
    ours = {"ID": photos.UPLOADS_LIFECYCLE_RULE, "Filter": {"Prefix": "uploads/"}, "Status": "Enabled",
            "Expiration": {"Days": settings.uploads_expire_days}}  # fmt: skip
    assert sorted(rules, key=lambda r: r["ID"]) == [ours, theirs]
