"""Whether an access token still speaks for its account: the account's state as the database has it now.

An access token lives for 15 minutes, and a staff account can be closed, or its officer moved to another unit or
role, within them. Every authenticated operation and every refresh compares the token with the account's current
state; each API process keeps those states for a few seconds (`JSC_ACCOUNT_STATE_CACHE_S`) and drops one the
moment PostgreSQL tells it the account changed (api/access.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.models import Role, User
from domain.security import AccessClaims

# Why a token no longer counts (the `reason` of its UNAUTHENTICATED error): the client refreshes on
# TOKEN_EXPIRED and ACCOUNT_CHANGED, and goes to its login screen on ACCOUNT_CLOSED.
TOKEN_EXPIRED = "TOKEN_EXPIRED"
ACCOUNT_CHANGED = "ACCOUNT_CHANGED"
ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
# Entries are tiny; past this many (every account active within ttl_s), starting again is cheaper than sweeping.
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class AccountState:
    role: Role
    unit_id: int | None
    token_version: int
    closed: bool


def token_problem(claims: AccessClaims, state: AccountState | None, now: datetime) -> str | None:
    """None when the token may act for its account now; else why not.

    A token whose role or unit differ from the account's is refused rather than read with the account's current
    powers: the client holds views (a unit's queue, an admin page) made for the old ones, and refreshing gives it a
    token, and a `me`, that say what it may do now."""
    if claims.expires_at is not None and claims.expires_at <= now:
        return TOKEN_EXPIRED
    if state is None or state.closed:
        return ACCOUNT_CLOSED
    if (claims.role, claims.unit_id, claims.version) != (state.role, state.unit_id, state.token_version):
        return ACCOUNT_CHANGED
    return None


async def load_state(session: AsyncSession, user_id: uuid.UUID) -> AccountState | None:
    row = (
        await session.execute(
            select(User.role, User.unit_id, User.token_version, User.closed_at).where(User.id == user_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return AccountState(row.role, row.unit_id, row.token_version, row.closed_at is not None)


class AccountStates:
    """Account states kept by one process for up to `ttl_s` seconds (0: read each time).

    `forget` drops one when the account changes; a state read while a forget happened is not kept, since it may
    predate the change."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[uuid.UUID, tuple[float, AccountState | None]] = {}
        self._forgets = 0

    async def get(self, user_id: uuid.UUID) -> AccountState | None:
        found = self._entries.get(user_id)
        if found is not None and found[0] > self._clock():
            return found[1]
        forgets = self._forgets
        async with self._sessions() as session:
            state = await load_state(session, user_id)
        if self._ttl_s > 0 and forgets == self._forgets:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[user_id] = (self._clock() + self._ttl_s, state)
        return state

    def forget(self, user_id: uuid.UUID) -> None:
        self._forgets += 1
        self._entries.pop(user_id, None)

    def forget_all(self) -> None:
        self._forgets += 1
        self._entries.clear()
