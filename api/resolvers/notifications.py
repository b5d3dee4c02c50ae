"""Push devices and the in-app inbox."""

from __future__ import annotations

import base64
import enum
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import INT8_MAX, error_code, now, row_id
from api.schema.pagination import PageInfo, check_first
from domain import models, notifications
from domain.errors import DomainError

PlatformEnum = strawberry.enum(models.DevicePlatform, name="DevicePlatform", description="Kind of device.")
MARK_READ_MAX = 500


@strawberry.type(description="An item of your in-app inbox; the same item is pushed to your devices.")
class Notification:
    id: strawberry.ID = strawberry.field(description="Also sent in the push data as `notificationId`.")
    kind: str = strawberry.field(
        description="NEW_REPORT, STATUS_CHANGED, DISPOSED, ASSIGNED, ESCALATED, REOPENED, COMMENTED, CCTV_ALERT, "
        "VERIFICATION_REQUESTED (a completion for your office to verify) or COMPLETION_RETURNED (your unit's "
        "completion was sent back)."
    )
    title: str = strawberry.field(description="Short title.")
    body: str = strawberry.field(description="Text.")
    report_id: strawberry.ID | None = strawberry.field(description="The report it is about.")
    data: JSON = strawberry.field(description="The push data payload (string values).")
    created_at: datetime = strawberry.field(description="When it was made.")
    read_at: datetime | None = strawberry.field(description="When you marked it read; null if unread.")

    @classmethod
    def from_model(cls, m: models.Notification) -> Notification:
        return cls(
            id=strawberry.ID(str(m.id)),
            kind=m.kind,
            title=m.title,
            body=m.body,
            report_id=strawberry.ID(str(m.report_id)) if m.report_id else None,
            data=m.data,  # type: ignore[arg-type]
            created_at=m.created_at,
            read_at=m.read_at,
        )


@strawberry.type(description="An edge of the inbox.")
class NotificationEdge:
    cursor: str = strawberry.field(description="Opaque position.")
    node: Notification = strawberry.field(description="The notification.")


@strawberry.type(description="A page of the inbox, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow.")
    unread_count: int = strawberry.field(description="Unread notifications in the whole inbox.")


@strawberry.enum(description="Why registerDevice failed.")
class RegisterDeviceErrorCode(enum.Enum):
    INVALID_TOKEN = "INVALID_TOKEN"


@strawberry.type(description="A registerDevice problem.")
class RegisterDeviceError:
    code: RegisterDeviceErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The argument at fault.")


@strawberry.type(description="Result of registerDevice.")
class RegisterDevicePayload:
    registered: bool = strawberry.field(description="Whether pushes now reach this device.")
    errors: list[RegisterDeviceError] = strawberry.field(description="Empty on success.")


def _cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"n|{row_id}".encode()).decode()


def _decode(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        tag, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        row = row_id(value, largest=INT8_MAX)
        if tag != "n" or row is None:
            raise ValueError(cursor)
    except ValueError as exc:
        raise ClientError(ErrorCode.BAD_USER_INPUT, "`after` is not a cursor this API gave out.") from exc
    return row


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="Your inbox, newest first.")
    async def notifications(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")] = None,
    ) -> NotificationConnection:
        context: Context = info.context
        viewer = context.require_viewer()
        limit = check_first(first)
        before = _decode(after)

        async def run(session: AsyncSession) -> tuple[list[models.Notification], int]:
            rows = await notifications.inbox(session, viewer.user_id, before_id=before, limit=limit + 1)
            return rows, await notifications.unread_count(session, viewer.user_id)

        rows, unread = await context.db(run)
        page = rows[:limit]
        edges = [NotificationEdge(cursor=_cursor(n.id), node=Notification.from_model(n)) for n in page]
        return NotificationConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None),
            unread_count=unread,
        )


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Send your pushes to this device (its FCM registration token).")
    async def register_device(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="FCM registration token.")],
        platform: Annotated[PlatformEnum, strawberry.argument(description="ANDROID, IOS or WEB.")],  # type: ignore[valid-type]
    ) -> RegisterDevicePayload:
        context: Context = info.context
        viewer = context.require_viewer()

        async def run(session: AsyncSession) -> models.Device:
            return await notifications.register_device(
                session, user_id=viewer.user_id, token=token, platform=platform, now=now()
            )

        try:
            await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, RegisterDeviceErrorCode)
            return RegisterDevicePayload(
                registered=False, errors=[RegisterDeviceError(code=code, message=exc.message, field=exc.field)]
            )
        return RegisterDevicePayload(registered=True, errors=[])

    @strawberry.mutation(description="Stop sending pushes to this device (on log-out). True if it was registered.")
    async def unregister_device(
        self, info: Info, token: Annotated[str, strawberry.argument(description="FCM registration token.")]
    ) -> bool:
        context: Context = info.context
        viewer = context.require_viewer()
        return await context.db(
            lambda session: notifications.unregister_device(session, user_id=viewer.user_id, token=token)
        )

    @strawberry.mutation(
        description="Mark notifications read: the given ids, or all when ids is left out. Returns how many."
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description=f"At most {MARK_READ_MAX}; null for all.")
        ] = None,
    ) -> int:
        context: Context = info.context
        viewer = context.require_viewer()
        numbers: list[int] | None = None
        if ids is not None:
            if len(ids) > MARK_READ_MAX:
                raise ClientError(ErrorCode.BAD_USER_INPUT, f"At most {MARK_READ_MAX} ids at once.")
            numbers = [n for n in (row_id(i, largest=INT8_MAX) for i in ids) if n is not None]
            if len(numbers) != len(ids):
                raise ClientError(ErrorCode.BAD_USER_INPUT, "Notification ids are positive numbers.")
        return await context.db(
            lambda session: notifications.mark_read(session, viewer.user_id, ids=numbers, now=now())
        )
