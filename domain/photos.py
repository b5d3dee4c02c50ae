"""Photos: upload tickets, the checks a photo passes before it joins a report, and its processing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import imaging
from domain.adapters.storage import ObjectMissingError, ObjectStorage, PresignedPost
from domain.errors import DomainError
from domain.models import Photo, PhotoStatus
from domain.settings import Settings

# Enough for the header of nearly every JPEG (EXIF and thumbnails come before the frame header).
HEADER_PROBE_BYTES = 256 * 1024


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
        upload_key=f"uploads/{owner_id}/{photo_id}",
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
    data = await storage.read(photo.upload_key)
    try:
        result = await asyncio.to_thread(
            imaging.make_publishable,
            data,
            max_pixels=settings.photo_max_pixels,
            max_side=settings.photo_max_side,
            thumb_side=settings.photo_thumb_side,
        )
    except DomainError as exc:
        photo.status = PhotoStatus.FAILED
        photo.error_code = exc.code
        photo.processed_at = now
        await session.flush()
        return photo
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


async def photos_left_behind(session: AsyncSession, *, older_than: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Photos attached to a report whose processing job never ran (a crash between commit and defer)."""
    rows = await session.scalars(
        select(Photo.id)
        .where(Photo.status == PhotoStatus.ATTACHED, Photo.created_at < older_than)
        .order_by(Photo.created_at)
        .limit(limit)
    )
    return list(rows)
