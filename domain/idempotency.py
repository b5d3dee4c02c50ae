"""Idempotency keys: an action a phone sends again (it lost the answer, or queued the action offline and replays
it) is done once, and the replay gets the first call's outcome.

The client makes one request id per action (a UUID) and sends it with every try. The first try claims the key
(user, request id) in the action's own transaction, before it reads anything else: a concurrent try with the
same key waits on the key's unique index until the first one commits (then it reads the recorded outcome) or
rolls back (then it goes on as the first). A try whose action fails is rolled back with its claim, so a retry
with the same key is judged afresh. The same key with another operation or other input is CONFLICT: the client
reused a key by mistake, and doing either would be wrong.

createReport keeps its own key on the report row (domain/reports.py) with the same rules for the id.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.models import IdempotencyKey

T = TypeVar("T")
CLIENT_REQUEST_ID_MAX = 64
SWEEP_BATCH = 5000
Outcome = dict[str, Any]


def check_client_request_id(value: str) -> None:
    if not 0 < len(value) <= CLIENT_REQUEST_ID_MAX:
        raise DomainError(
            "INVALID_CLIENT_REQUEST_ID",
            f"clientRequestId needs 1 to {CLIENT_REQUEST_ID_MAX} characters.",
            field="clientRequestId",
        )


def normalise(value: object) -> object:
    """The form of an input that two tries meaning the same thing share: text without surrounding spaces (the
    actions strip it too), ids and enums as their text, sequences as lists."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, enum.Enum):
        return normalise(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"no normal form for {type(value).__name__}")


def fingerprint(request: Mapping[str, object]) -> str:
    canonical = json.dumps(normalise(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Key:
    user_id: uuid.UUID
    client_request_id: str
    operation: str
    fingerprint: str


def key_for(
    user_id: uuid.UUID, client_request_id: str | None, operation: str, request: Mapping[str, object]
) -> Key | None:
    """The key of a call, or None when the client sent no request id (the call is then not idempotent)."""
    if client_request_id is None:
        return None
    check_client_request_id(client_request_id)
    return Key(user_id, client_request_id, operation, fingerprint(request))


async def claim(session: AsyncSession, key: Key, *, now: datetime) -> Outcome | None:
    """Claims the key for this call: None for a first call (the caller acts, then `settle`s), the recorded outcome
    for a replay; CONFLICT when the key was used for another operation or other input."""
    for _ in range(2):
        claimed = await session.scalar(
            pg_insert(IdempotencyKey)
            .values(
                user_id=key.user_id,
                client_request_id=key.client_request_id,
                operation=key.operation,
                fingerprint=key.fingerprint,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.user_id)
        )
        if claimed is not None:
            return None
        found = (
            await session.execute(
                select(IdempotencyKey.operation, IdempotencyKey.fingerprint, IdempotencyKey.outcome).where(
                    IdempotencyKey.user_id == key.user_id,
                    IdempotencyKey.client_request_id == key.client_request_id,
                )
            )
        ).one_or_none()
        if found is None:
            continue  # swept between the two statements: claim it afresh
        operation, digest, outcome = found
        if operation != key.operation or digest != key.fingerprint:
            raise DomainError(
                "CONFLICT",
                "This clientRequestId was already used for a different request.",
                field="clientRequestId",
            )
        if outcome is None:
            raise LookupError("a committed idempotency key has no outcome")
        return dict(outcome)
    raise LookupError("an idempotency key kept vanishing while it was claimed")


async def settle(session: AsyncSession, key: Key, outcome: Outcome) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == key.user_id, IdempotencyKey.client_request_id == key.client_request_id)
        .values(outcome=outcome)
    )


async def once(
    session: AsyncSession,
    key: Key | None,
    *,
    act: Callable[[], Awaitable[T]],
    record: Callable[[T], Outcome],
    replay: Callable[[Outcome], Awaitable[T]],
    now: datetime,
) -> T:
    """Runs ``act`` unless this key's call was done before; ``record`` says what to keep of its result and
    ``replay`` makes the result again from what was kept (the objects as they are now)."""
    if key is None:
        return await act()
    previous = await claim(session, key, now=now)
    if previous is not None:
        return await replay(previous)
    result = await act()
    await settle(session, key, record(result))
    return result


async def sweep(session: AsyncSession, *, before: datetime) -> int:
    """Deletes up to SWEEP_BATCH keys claimed before ``before``; returns how many."""
    old = (
        select(IdempotencyKey.user_id, IdempotencyKey.client_request_id)
        .where(IdempotencyKey.created_at < before)
        .limit(SWEEP_BATCH)
    )
    result = await session.execute(
        delete(IdempotencyKey).where(tuple_(IdempotencyKey.user_id, IdempotencyKey.client_request_id).in_(old))
    )
    return int(getattr(result, "rowcount", 0) or 0)
