"""Nothing lost: a crash between commit and job defer leaves photos that the periodic sweep picks up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from domain import accounts, reports
from domain.jobs import JobBuffer
from domain.models import Photo, PhotoStatus, User
from domain.resources import Resources
from tests.factories import TOMANG, jpeg_with_gps


async def uploaded_photo(resources: Resources) -> tuple[User, Photo]:
    """A citizen with one photo uploaded to S3 and its upload ticket, as requestPhotoUpload leaves them."""
    async with resources.unit_of_work() as session:
        user = await accounts.sign_up(
            session,
            email=f"sweep-{uuid.uuid4().hex[:8]}@example.id",
            phone=None,
            password="long password 123",
            display_name="Sweep",
        )
        photo = Photo(
            owner_id=user.id,
            upload_key=f"uploads/{user.id}/{uuid.uuid4()}",
            content_type="image/jpeg",
            declared_bytes=1,
            status=PhotoStatus.REQUESTED,
        )
        session.add(photo)
    await resources.storage.write(photo.upload_key, jpeg_with_gps(), content_type="image/jpeg")
    return user, photo


async def test_sweep_redefers_photos_whose_job_was_never_sent(resources: Resources) -> None:
    from workers import tasks
    from workers.runtime import app as worker_app

    settings = resources.settings
    user, photo = await uploaded_photo(resources)
    lost_jobs = JobBuffer()
    async with resources.unit_of_work() as session:
        await reports.create_report(
            session,
            resources.storage,
            settings,
            await resources.reference.get(),
            reporter_id=user.id,
            data=reports.NewReport(
                client_request_id="crash-1",
                category="garbage",
                description="sampah",
                lat=TOMANG[0],
                lon=TOMANG[1],
                photo_keys=[photo.upload_key],
            ),
            jobs=lost_jobs,
            now=datetime.now(UTC),
        )
        # The process dies here: the report is committed, its jobs are never deferred.
        await session.execute(
            update(Photo).where(Photo.id == photo.id).values(created_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    assert [j.task for j in lost_jobs.requests if j.task.startswith("photos.")] == ["photos.process"]

    async with worker_app.open_async():
        sent = await tasks.sweep_photos(timestamp=0)
        await worker_app.run_worker_async(wait=False, install_signal_handlers=False, queues=["photos"])

    async with resources.unit_of_work() as session:
        processed = await session.get(Photo, photo.id)
    assert sent >= 1
    assert processed is not None
    assert processed.status == PhotoStatus.READY


async def test_processing_twice_is_harmless(resources: Resources) -> None:
    from workers import tasks
    from workers.runtime import app as worker_app

    user, photo = await uploaded_photo(resources)
    async with resources.unit_of_work() as session:
        await reports.create_report(
            session,
            resources.storage,
            resources.settings,
            await resources.reference.get(),
            reporter_id=user.id,
            data=reports.NewReport(
                client_request_id="twice",
                category="garbage",
                description="sampah",
                lat=TOMANG[0],
                lon=TOMANG[1],
                photo_keys=[photo.upload_key],
            ),
            jobs=JobBuffer(),
            now=datetime.now(UTC),
        )

    async with worker_app.open_async():
        await tasks.process_photo(photo_id=str(photo.id))
        async with resources.unit_of_work() as session:
            first = await session.get(Photo, photo.id)
        await tasks.process_photo(photo_id=str(photo.id))
        async with resources.unit_of_work() as session:
            second = await session.get(Photo, photo.id)

    assert first is not None
    assert second is not None
    assert (second.status, second.attempts, second.image_key) == (PhotoStatus.READY, 1, first.image_key)
