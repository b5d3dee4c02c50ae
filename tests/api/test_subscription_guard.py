"""api.access.SubscriptionGuard in the API process: what a staff subscription passes on while its token counts,
and the coded error it ends with when the token expires or the account is closed (heard through NOTIFY)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from api.access import guarded
from api.context import Context
from api.errors import ClientError
from domain import staff
from domain.models import Role
from domain.resources import Resources
from domain.security import AccessClaims, decode_access_token
from domain.settings import Settings
from tests.api.test_workflow import TOMANG_OFFICE, staff_member
from tests.factories import Api


def subscription_context(app: Starlette, viewer: AccessClaims) -> Context:
    return Context(
        request=Request({"type": "http", "headers": []}),
        response=None,
        resources=app.state.resources,
        viewer=viewer,
        accounts=app.state.accounts,
    )


async def officer_claims(api: Api, resources: Resources, settings: Settings) -> AccessClaims:
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    claims = decode_access_token(settings, officer.token)
    assert claims is not None
    return claims


async def test_a_guard_passes_events_on_while_the_token_counts(
    api: Api, app: Starlette, resources: Resources, settings: Settings
) -> None:
    # given
    viewer = await officer_claims(api, resources, settings)
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait("first alert")

    # when
    async with guarded(subscription_context(app, viewer), viewer) as guard:
        passed = await guard.next(queue)

    # then
    assert passed == "first alert"


async def test_a_guard_ends_the_stream_when_the_token_expires(
    api: Api, app: Starlette, resources: Resources, settings: Settings
) -> None:
    # given a token with a second left, and no event coming
    viewer = replace(
        await officer_claims(api, resources, settings), expires_at=datetime.now(UTC) + timedelta(seconds=1)
    )
    queue: asyncio.Queue[str] = asyncio.Queue()

    # when
    async with guarded(subscription_context(app, viewer), viewer) as guard:
        with pytest.raises(ClientError) as ended:
            await guard.next(queue)

    # then
    assert ended.value.extensions == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}


async def test_a_guard_ends_the_stream_when_the_account_is_closed_elsewhere(
    api: Api, app: Starlette, resources: Resources, settings: Settings
) -> None:
    # given a guarded stream waiting for its next event
    viewer = await officer_claims(api, resources, settings)
    queue: asyncio.Queue[str] = asyncio.Queue()
    async with guarded(subscription_context(app, viewer), viewer) as guard:
        waiting = asyncio.create_task(guard.next(queue))

        # when another process closes the account (this test's own connection, not the API's)
        async with resources.unit_of_work() as session:
            await staff.close_staff_account(
                session, actor_id=None, user_id=viewer.user_id, reason="Akun bocor", now=datetime.now(UTC)
            )

        # then
        with pytest.raises(ClientError) as ended:
            await asyncio.wait_for(waiting, 30)
    assert ended.value.extensions == {"code": "UNAUTHENTICATED", "reason": "ACCOUNT_CLOSED"}


async def test_a_guard_refuses_to_start_for_a_token_from_before_a_move(
    api: Api, app: Starlette, resources: Resources, settings: Settings
) -> None:
    # given an officer moved since their token was issued
    viewer = await officer_claims(api, resources, settings)
    async with resources.unit_of_work() as session:
        await staff.move_staff_account(
            session,
            actor_id=None,
            user_id=viewer.user_id,
            role=Role.ADMIN,
            unit_id=None,
            reason="Naik jabatan",
            now=datetime.now(UTC),
        )

    # when
    with pytest.raises(ClientError) as refused:
        async with guarded(subscription_context(app, viewer), viewer):
            pass

    # then
    assert refused.value.extensions == {"code": "UNAUTHENTICATED", "reason": "ACCOUNT_CHANGED"}
