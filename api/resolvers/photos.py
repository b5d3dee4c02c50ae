from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.resolvers.common import error_code, now, rate_limit
from api.schema.photos import PhotoUpload
from domain import photos
from domain.errors import DomainError


@strawberry.enum(description="Why requestPhotoUpload failed.")
class RequestPhotoUploadErrorCode(enum.Enum):
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    INVALID_SIZE = "INVALID_SIZE"


@strawberry.type(description="A requestPhotoUpload problem.")
class RequestPhotoUploadError:
    code: RequestPhotoUploadErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The argument at fault.")


@strawberry.type(description="Result of requestPhotoUpload.")
class RequestPhotoUploadPayload:
    upload: PhotoUpload | None = strawberry.field(description="Where to upload; null on error.")
    errors: list[RequestPhotoUploadError] = strawberry.field(description="Empty on success.")


@strawberry.type
class PhotoMutations:
    @strawberry.mutation(
        description="Get a presigned POST to upload one photo (JPEG, PNG or WebP, at most 10 MB) to object storage."
    )
    async def request_photo_upload(
        self,
        info: Info,
        content_type: Annotated[str, strawberry.argument(description="image/jpeg, image/png or image/webp.")],
        byte_size: Annotated[int, strawberry.argument(description="Size of the file in bytes.")],
    ) -> RequestPhotoUploadPayload:
        context = info.context
        viewer = context.require_viewer()
        await rate_limit(context, "requestPhotoUpload", user=viewer.user_id)

        async def run(session: AsyncSession) -> photos.UploadTicket:
            return await photos.request_upload(
                session,
                context.storage,
                context.settings,
                owner_id=viewer.user_id,
                content_type=content_type,
                byte_size=byte_size,
                now=now(),
            )

        try:
            ticket = await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, RequestPhotoUploadErrorCode)
            return RequestPhotoUploadPayload(
                upload=None,
                errors=[RequestPhotoUploadError(code=code, message=exc.message, field=exc.field)],
            )
        upload = PhotoUpload(
            key=ticket.photo.upload_key,
            url=ticket.post.url,
            fields=ticket.post.fields,
            expires_at=ticket.expires_at,
            max_bytes=context.settings.upload_max_bytes,
        )
        return RequestPhotoUploadPayload(upload=upload, errors=[])
