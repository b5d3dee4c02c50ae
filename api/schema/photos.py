from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.loaders import later
from domain import models

PhotoStatusEnum = strawberry.enum(
    models.PhotoStatus,
    name="PhotoStatus",
    description="Where a photo is in its processing.",
)


@strawberry.type(description="A photo of a report. Only the processed copy (no metadata, bounded size) is served.")
class Photo:
    id: strawberry.ID = strawberry.field(description="Photo id.")
    status: PhotoStatusEnum = strawberry.field(description="Processing state.")  # type: ignore[valid-type]
    width: int | None = strawberry.field(description="Width of the processed image in pixels.")
    height: int | None = strawberry.field(description="Height of the processed image in pixels.")
    error_code: str | None = strawberry.field(
        description="Why processing failed (PHOTO_CORRUPT, PHOTO_TOO_LARGE, ...); shown to the reporter and staff."
    )
    image_key: strawberry.Private[str | None]
    thumb_key: strawberry.Private[str | None]

    @strawberry.field(description="Short-lived URL of the processed image; null until it is ready.")
    def url(self, info: Info) -> str | None:
        return signed_url(info, self.image_key)

    @strawberry.field(description="Short-lived URL of the 400 px thumbnail; null until it is ready.")
    def thumbnail_url(self, info: Info) -> str | None:
        return signed_url(info, self.thumb_key)

    @classmethod
    def from_model(cls, m: models.Photo, *, show_error: bool) -> Photo:
        ready = m.status == models.PhotoStatus.READY
        return cls(
            id=strawberry.ID(str(m.id)),
            status=m.status,
            width=m.width,
            height=m.height,
            error_code=m.error_code if show_error else None,
            image_key=m.image_key if ready else None,
            thumb_key=m.thumb_key if ready else None,
        )


def signed_url(info: Info, key: str | None) -> str | None:
    """A short-lived URL of a stored object, for a resolver to return: made at once where the store signs without
    I/O (a photo list of twenty thumbnails is twenty of them), else boto3's, awaited."""
    if key is None:
        return None
    storage, expires_s = info.context.storage, info.context.settings.download_url_ttl_s
    url = storage.sign_get(key, expires_s=expires_s)
    return url if url is not None else later(storage.presign_get(key, expires_s=expires_s))


@strawberry.type(description="Where and how to upload one photo: an HTML-form style POST straight to object storage.")
class PhotoUpload:
    key: str = strawberry.field(description="The photo key to pass to createReport in photoKeys.")
    url: str = strawberry.field(description="POST the form here.")
    fields: JSON = strawberry.field(
        description="Form fields to send before the file field (named `file`), exactly as given."
    )
    expires_at: datetime = strawberry.field(description="The upload must start before this time.")
    max_bytes: int = strawberry.field(description="The largest file the storage will accept.")
