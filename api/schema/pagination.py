from __future__ import annotations

import base64
import uuid
from datetime import datetime

import strawberry

from api.errors import ClientError, ErrorCode

MAX_FIRST = 100


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_FIRST:
        raise ClientError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {MAX_FIRST}.")
    return first


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except ValueError as exc:
        raise ClientError(ErrorCode.BAD_USER_INPUT, "`after` is not a cursor this API gave out.") from exc
