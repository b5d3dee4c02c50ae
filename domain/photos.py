"""Photos: upload tickets, the checks a photo passes before it joins a report, and its processing."""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import imaging
from domain.adapters.storage import ObjectMissingError, ObjectStorage, PresignedPost
from domain.errors import DomainError
from domain.models import Photo, PhotoStatus
from domain.settings import Settings

log = logging.getLogger(__name__)

# Enough for the header of nearly every JPEG (EXIF and thumbnails come before the frame header).
HEADER_PROBE_BYTES = 256 * 1024
# Where clients upload originals, EXIF and GPS included; nothing under it is ever shown to anyone.
UPLOADS_PREFIX = "uploads/"
UPLOADS_LIFECYCLE_RULE = "jsc-uploads-expire"
# Processing is over: the original has nothing left to give and only its metadata to leak.
FINISHED = (PhotoStatus.READY, PhotoStatus.FAILED)
SWEEP_BATCH = 500


def upload_prefix(owner_id: uuid.UUID) -> str:
    return f"{UPLOADS_PREFIX}{owner_id}/"


@dataclass(frozen=True)
class UploadTicket:
    photo: Photo
    post: PresignedPost
    expires_at: datetime


async def request_upload(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    owner_id: uuid.UUID,
    content_type: str,
    byte_size: int,
    now: datetime,
) -> UploadTicket:
    if content_type not in imaging.ALLOWED_CONTENT_TYPES:
        raise DomainError("UNSUPPORTED_TYPE", "Photos must be JPEG, PNG or WebP.", field="contentType")
    if not 0 < byte_size <= settings.upload_max_bytes:
        raise DomainError(
            "INVALID_SIZE",
            f"A photo needs 1 byte to {settings.upload_max_bytes} bytes.",
            field="byteSize",
        )
    photo_id = uuid.uuid4()
    photo = Photo(
        id=photo_id,
        owner_id=owner_id,
        upload_key=f"{upload_prefix(owner_id)}{photo_id}",
        content_type=content_type,
        declared_bytes=byte_size,
        status=PhotoStatus.REQUESTED,
    )
    session.add(photo)
    post = await storage.presign_post(
        photo.upload_key,
        content_type=content_type,
        max_bytes=settings.upload_max_bytes,
        expires_s=settings.upload_url_ttl_s,
    )
    await session.flush()
    return UploadTicket(photo, post, now + timedelta(seconds=settings.upload_url_ttl_s))


async def claim_for_report(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    owner_id: uuid.UUID,
    keys: list[str],
) -> list[Photo]:
    """Checks that each key is the caller's own, uploaded, and an acceptable image; locks the rows."""
    if len(set(keys)) != len(keys):
        raise DomainError("DUPLICATE_PHOTO", "The same photo is listed twice.", field="photoKeys")
    if not keys:
        return []
    rows = (await session.scalars(select(Photo).where(Photo.upload_key.in_(keys)).with_for_update())).all()
    by_key = {p.upload_key: p for p in rows}
    photos = []
    for key in keys:
        photo = by_key.get(key)
        if photo is None:
            raise DomainError("PHOTO_NOT_FOUND", f"No photo upload {key!r}.", field="photoKeys")
        if photo.owner_id != owner_id:
            raise DomainError(
                "PHOTO_FORBIDDEN",
                "That photo was uploaded by someone else.",
                field="photoKeys",
            )
        if photo.status != PhotoStatus.REQUESTED:
            raise DomainError(
                "PHOTO_ALREADY_USED",
                "That photo already belongs to a report.",
                field="photoKeys",
            )
        photos.append(photo)
    await asyncio.gather(*(check_upload(storage, settings, key) for key in keys))
    return photos


async def check_upload(storage: ObjectStorage, settings: Settings, key: str) -> imaging.ImageHeader:
    try:
        head, size = await storage.read_prefix(key, max_bytes=HEADER_PROBE_BYTES)
    except ObjectMissingError as exc:
        raise DomainError("PHOTO_NOT_UPLOADED", "The photo has not been uploaded yet.", field="photoKeys") from exc
    if size == 0:
        raise DomainError("PHOTO_EMPTY", "The photo file is empty.", field="photoKeys")
    if size > settings.upload_max_bytes:
        raise DomainError("INVALID_SIZE", "The photo is larger than allowed.", field="photoKeys")
    try:
        return imaging.read_header(head, max_pixels=settings.photo_max_pixels)
    except DomainError as exc:
        if exc.code != "PHOTO_NOT_AN_IMAGE" or size <= HEADER_PROBE_BYTES:
            raise
    # The header was past the probe (a large EXIF block): look at the whole file.
    return imaging.read_header(await storage.read(key), max_pixels=settings.photo_max_pixels)


async def process_photo(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    photo_id: uuid.UUID,
    now: datetime,
) -> Photo | None:
    """Makes the publishable image and thumbnail. Idempotent: a finished photo is left as it is.

    A file that cannot be made safe ends as FAILED with a code; a storage outage raises, so the job retries.
    """
    photo = await session.scalar(select(Photo).where(Photo.id == photo_id).with_for_update(skip_locked=True))
    if photo is None or photo.status != PhotoStatus.ATTACHED or photo.report_id is None:
        return photo
    photo.attempts += 1
    try:
        data = await storage.read(photo.upload_key)
    except ObjectMissingError:
        # Deleted with its account, or by the store's lifecycle rule after processing waited too long: it will
        # not come back.
        return await _fail(session, photo, "PHOTO_UPLOAD_GONE", now)
    try:
        result = await asyncio.to_thread(
            imaging.make_publishable,
            data,
            max_pixels=settings.photo_max_pixels,
            max_side=settings.photo_max_side,
            thumb_side=settings.photo_thumb_side,
        )
    except DomainError as exc:
        return await _fail(session, photo, exc.code, now)
    base = f"photos/{photo.report_id}/{photo.id}"
    await storage.write(f"{base}.jpg", result.image, content_type="image/jpeg")
    await storage.write(f"{base}-thumb.jpg", result.thumbnail, content_type="image/jpeg")
    photo.image_key = f"{base}.jpg"
    photo.thumb_key = f"{base}-thumb.jpg"
    photo.width, photo.height = result.width, result.height
    photo.status = PhotoStatus.READY
    photo.processed_at = now
    await session.flush()
    return photo


async def _fail(session: AsyncSession, photo: Photo, code: str, now: datetime) -> Photo:
    photo.status = PhotoStatus.FAILED
    photo.error_code = code
    photo.processed_at = now
    await session.flush()
    return photo


async def delete_original(session: AsyncSession, storage: ObjectStorage, *, photo_id: uuid.UUID, now: datetime) -> bool:
    """Deletes a finished photo's upload from object storage. Idempotent.

    The row says so only once the store has deleted it: a storage outage raises and leaves the row for a retry or
    the sweep. A photo locked elsewhere is left to the sweep too."""
    photo = await session.scalar(select(Photo).where(Photo.id == photo_id).with_for_update(skip_locked=True))
    if photo is None or photo.status not in FINISHED or photo.original_deleted_at is not None:
        return False
    await storage.delete([photo.upload_key])
    photo.original_deleted_at = now
    await session.flush()
    return True


def unclaimed_cutoff(settings: Settings, now: datetime) -> datetime:
    """An upload older than this that no report has claimed never will be: its ticket expired, and the grace a
    citizen has to file the report after uploading (at the very end of the ticket's life) has passed too."""
    return now - timedelta(seconds=settings.upload_url_ttl_s + settings.unclaimed_upload_grace_s)


class UploadFate(enum.Enum):
    KEEP = "KEEP"
    DELETE = "DELETE"


def upload_fate(status: PhotoStatus | None, *, written_at: datetime, cutoff: datetime) -> UploadFate:
    """What the sweep does with an object under uploads/, given the status of the photo row naming it (None: no
    row names it)."""
    if status in FINISHED:
        # Even a fresh one: the ticket can be used again until it expires, after the original was deleted.
        return UploadFate.DELETE
    if status is None:
        # No row is ever made after its upload (the row commits before the ticket reaches the client), so only
        # a ticket whose request rolled back, or a photo whose account or report went, leaves one of these.
        return UploadFate.DELETE if written_at < cutoff else UploadFate.KEEP
    # REQUESTED: the citizen may still file the report; the row's own age decides (expire_unclaimed).
    # ATTACHED: processing needs it and deletes it when done.
    return UploadFate.KEEP


async def delete_finished_originals(
    session: AsyncSession, storage: ObjectStorage, *, now: datetime, limit: int = SWEEP_BATCH
) -> int:
    """Deletes the uploads of finished photos that still have them (the job that should have died, a crash)."""
    photos = (
        await session.scalars(
            select(Photo)
            .where(Photo.status.in_(FINISHED), Photo.original_deleted_at.is_(None))
            .order_by(Photo.processed_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not photos:
        return 0
    await storage.delete([p.upload_key for p in photos])
    for photo in photos:
        photo.original_deleted_at = now
    await session.flush()
    return len(photos)


async def expire_unclaimed(
    session: AsyncSession, storage: ObjectStorage, settings: Settings, *, now: datetime, limit: int = SWEEP_BATCH
) -> int:
    """Deletes uploads that no report claimed in time, and their tickets: a late createReport then hears
    PHOTO_NOT_FOUND. A ticket being claimed right now is locked by createReport and skipped."""
    photos = (
        await session.scalars(
            select(Photo)
            .where(Photo.status == PhotoStatus.REQUESTED, Photo.created_at < unclaimed_cutoff(settings, now))
            .order_by(Photo.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not photos:
        return 0
    await storage.delete([p.upload_key for p in photos])
    await session.execute(delete(Photo).where(Photo.id.in_([p.id for p in photos])))
    return len(photos)


async def sweep_uploads(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    now: datetime,
    start_after: str | None = None,
    limit: int = SWEEP_BATCH,
) -> tuple[int, str | None]:
    """Looks at one page of objects under uploads/ and deletes those no photo needs (upload_fate).

    Returns how many it deleted and where the next page starts (None: that was the last)."""
    found = await storage.list_objects(UPLOADS_PREFIX, start_after=start_after, limit=limit)
    if not found:
        return 0, None
    keys = [o.key for o in found]
    rows = dict((await session.execute(select(Photo.upload_key, Photo.status).where(Photo.upload_key.in_(keys)))).all())
    cutoff = unclaimed_cutoff(settings, now)
    doomed = [
        o.key
        for o in found
        if upload_fate(rows.get(o.key), written_at=o.last_modified, cutoff=cutoff) is UploadFate.DELETE
    ]
    await storage.delete(doomed)
    if doomed:
        await _mark_deleted(session, doomed, now)
    return len(doomed), (keys[-1] if len(found) == limit else None)


async def delete_owner_uploads(
    session: AsyncSession, storage: ObjectStorage, *, owner_id: uuid.UUID, now: datetime
) -> int:
    """Deletes everything an account ever uploaded (its account is gone). A photo of a report that was still
    waiting for processing then fails with PHOTO_UPLOAD_GONE: it was never made safe to show."""
    deleted, start_after = 0, None
    while True:
        keys = await storage.list_keys(upload_prefix(owner_id), start_after=start_after, limit=SWEEP_BATCH)
        if not keys:
            return deleted
        await storage.delete(keys)
        await _mark_deleted(session, keys, now)
        deleted += len(keys)
        start_after = keys[-1]


async def _mark_deleted(session: AsyncSession, keys: list[str], now: datetime) -> None:
    await session.execute(
        update(Photo)
        .where(Photo.upload_key.in_(keys), Photo.status.in_(FINISHED), Photo.original_deleted_at.is_(None))
        .values(original_deleted_at=now)
    )


async def keep_uploads_backstop(storage: ObjectStorage, settings: Settings) -> bool:
    """Asks the object store to delete whatever is left under uploads/ after ``uploads_expire_days``, in case the
    app's own deletions and sweeps stop. Says in the log whether the store took the rule."""
    days = settings.uploads_expire_days
    if days <= 0:
        log.warning("no lifecycle rule on %s: JSC_UPLOADS_EXPIRE_DAYS is 0", UPLOADS_PREFIX)
        return False
    if await storage.expire_prefix(UPLOADS_PREFIX, days=days, rule_id=UPLOADS_LIFECYCLE_RULE):
        log.info("object store lifecycle rule: %s expires after %d days", UPLOADS_PREFIX, days)
        return True
    log.warning(
        "the object store does not support lifecycle rules: originals under %s are deleted only by the app",
        UPLOADS_PREFIX,
    )
    return False


async def photos_left_behind(session: AsyncSession, *, older_than: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Photos attached to a report whose processing job never ran (a crash between commit and defer)."""
    rows = await session.scalars(
        select(Photo.id)
        .where(Photo.status == PhotoStatus.ATTACHED, Photo.created_at < older_than)
        .order_by(Photo.created_at)
        .limit(limit)
    )
    return list(rows)
