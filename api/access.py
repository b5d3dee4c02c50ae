"""An access token counts only while it speaks for its account as the account is now.

Every operation (over HTTP or a WebSocket) checks the viewer's token against the account's current state
(domain/access.py) before it runs; a token of a closed account, or one whose role, unit or version differ from the
account's, acts as no token, and what needs a viewer is refused as UNAUTHENTICATED with the reason. Each process
learns that an account changed from a NOTIFY on account_changes (a trigger on users, migration 0013) on its own
LISTEN connection: it forgets the account's cached state and wakes the subscriptions of that account, which
check again and end if they must. A staff subscription also ends when the token that opened it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from api.context import Context
from api.errors import ErrorCode, unauthenticated
from api.live import ReportEventHub
from domain import access
from domain.access import AccountStates
from domain.security import AccessClaims

log = logging.getLogger("api.access")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Events(Protocol[T_co]):
    """What a guarded stream reads from: an asyncio.Queue, or a live Subscription (api/live.py)."""

    def get(self) -> Awaitable[T_co]: ...


ACCOUNT_CHANNEL = "account_changes"


class AccountWatch:
    """Hears account changes: drops the account's cached state, wakes the account's subscriptions."""

    def __init__(self, hub: ReportEventHub, states: AccountStates) -> None:
        self._states = states
        self._watchers: dict[uuid.UUID, set[asyncio.Event]] = {}
        hub.on_event(self._changed)
        # While the listener was away a change may have gone unheard: forget every state, re-check every stream.
        hub.on_reconnect(self._lost_track)

    @contextlib.contextmanager
    def watch(self, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._watchers.setdefault(user_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers.get(user_id, set())
            watchers.discard(event)
            if not watchers:
                self._watchers.pop(user_id, None)

    def _changed(self, payload: dict[str, Any]) -> None:
        try:
            user_id = uuid.UUID(str(payload["userId"]))
        except (KeyError, ValueError):
            self._lost_track()
            return
        self._states.forget(user_id)
        for event in self._watchers.get(user_id, ()):
            event.set()

    def _lost_track(self) -> None:
        self._states.forget_all()
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()


class CurrentAccount(SchemaExtension):
    """Before each operation: the viewer's token is checked against the account's current state."""

    async def on_operation(self):  # type: ignore[no-untyped-def,override]
        context = self.execution_context.context
        if isinstance(context, Context):
            try:
                await check_viewer(context)
            except Exception as exc:
                # Raised here, before the operation, an error skips OperationBoundary's masking and strawberry
                # would answer with its text (a pool timeout names the pool): the masked error, and the log.
                log.exception("checking the viewer's account failed (request %s)", context.request_id)
                raise GraphQLError(
                    "Internal server error",
                    extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": context.request_id},
                ) from exc
        yield


async def check_viewer(context: Context) -> None:
    viewer = context.viewer
    if viewer is None:
        return
    problem = await problem_of(context, viewer)
    if problem is not None:
        # One-way: a WebSocket's operations share its context, and a token that stopped counting never counts again.
        context.viewer = None
        context.viewer_problem = problem


async def problem_of(context: Context, viewer: AccessClaims) -> str | None:
    state = await context.resources.account_states.get(viewer.user_id)
    return access.token_problem(viewer, state, datetime.now(UTC))


@contextlib.asynccontextmanager
async def guarded(context: Context, viewer: AccessClaims) -> AsyncIterator[SubscriptionGuard]:
    """For a subscription that serves what only `viewer` may see: see SubscriptionGuard."""
    with contextlib.ExitStack() as stack:
        changed = stack.enter_context(context.accounts.watch(viewer.user_id)) if context.accounts else None
        guard = SubscriptionGuard(context, viewer, changed)
        await guard.check()
        yield guard


class SubscriptionGuard:
    """Ends a subscription, with UNAUTHENTICATED and a reason, when its token expires or its account is closed or
    changed: checked at its start, at each event, at the token's expiry, and when the account's NOTIFY comes."""

    def __init__(self, context: Context, viewer: AccessClaims, changed: asyncio.Event | None) -> None:
        self._context = context
        self._viewer = viewer
        self._changed = changed or asyncio.Event()

    async def check(self) -> None:
        # Cleared before the state is read: a change heard from here on wakes the next wait, so none is missed.
        self._changed.clear()
        problem = await problem_of(self._context, self._viewer)
        if problem is not None:
            raise unauthenticated(problem)

    async def next(self, events: Events[T]) -> T:
        """The next event, once the token still counts; raises UNAUTHENTICATED as soon as it does not."""
        while True:
            get = asyncio.ensure_future(events.get())
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({get, changed}, timeout=self._seconds_left(), return_when=asyncio.FIRST_COMPLETED)
            finally:
                get.cancel()
                changed.cancel()
            await self.check()
            # A cancelled get leaves its item in the queue (asyncio.Queue), so nothing is lost on a wake-up.
            if get.done() and not get.cancelled():
                return get.result()

    def _seconds_left(self) -> float | None:
        expires_at = self._viewer.expires_at
        if expires_at is None:
            return None
        return max((expires_at - datetime.now(UTC)).total_seconds(), 0.0)
