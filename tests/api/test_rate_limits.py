"""Rate limits on createReport, requestPhotoUpload, comments and login: HTTP 429 with Retry-After, per user,
per address and per login name, shared through PostgreSQL, nothing done for a refused request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from domain import rate_limits
from domain.models import Report
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_community import COMMENT
from tests.factories import CREATE_REPORT, LOG_IN, REQUEST_UPLOAD, Api, report_input

LIMITS = {
    "createReport:user": (2, 3600),
    "createReport:ip": (50, 3600),
    "requestPhotoUpload:user": (3, 3600),
    "addComment:user": (2, 3600),
    "logIn:ip": (100, 300),
    "logIn:login": (3, 900),
}


@pytest.fixture
async def limited(settings: Settings, database: None) -> AsyncIterator[Api]:
    """The API with low limits, on its own client address."""
    app = create_app(settings.model_copy(update={"rate_limits_enabled": True, "rate_limits": LIMITS}))
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
            yield Api(client)


async def test_create_report_is_limited_per_user_with_429_and_retry_after(limited: Api, resources: Resources) -> None:
    citizen = await limited.sign_up()
    for _ in range(2):
        assert (await limited.create_report(citizen))["errors"] == []
    refused = await limited.raw(CREATE_REPORT, {"input": report_input()}, token=citizen.token)
    assert refused.status_code == 429
    retry = int(refused.headers["Retry-After"])
    assert 0 < retry <= 3600
    error = refused.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["retryAfter"]) == ("RATE_LIMITED", str(retry))
    async with resources.unit_of_work() as session:
        mine = await session.scalar(
            select(func.count()).select_from(Report).where(Report.reporter_id == uuid.UUID(citizen.user_id))
        )
    assert mine == 2  # nothing of the refused one was stored
    # Another citizen from the same address still may.
    assert (await limited.create_report(await limited.sign_up()))["errors"] == []


async def test_uploads_and_comments_are_limited_per_user(limited: Api) -> None:
    citizen = await limited.sign_up()
    statuses = [
        (
            await limited.raw(REQUEST_UPLOAD, {"contentType": "image/jpeg", "byteSize": 1000}, token=citizen.token)
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    report = (await limited.create_report(citizen))["report"]["id"]
    said = [
        (await limited.raw(COMMENT, {"id": report, "body": f"komentar {n}"}, token=citizen.token)).status_code
        for n in range(3)
    ]
    assert said == [200, 200, 429]


async def test_login_is_limited_per_login_name_even_when_it_fails(limited: Api) -> None:
    citizen = await limited.sign_up()
    wrong = [
        (await limited.raw(LOG_IN, {"login": citizen.email, "password": "guess"})).json()["data"]["logIn"]["errors"]
        for _ in range(3)
    ]
    assert [w[0]["code"] for w in wrong] == ["INVALID_CREDENTIALS"] * 3
    blocked = await limited.raw(LOG_IN, {"login": citizen.email.upper(), "password": citizen.password})
    assert blocked.status_code == 429
    assert blocked.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # Another account is not held back by these failures.
    other = await limited.sign_up()
    ok = await limited.raw(LOG_IN, {"login": other.email, "password": other.password})
    assert ok.status_code == 200
    assert ok.json()["data"]["logIn"]["errors"] == []


async def test_counters_are_shared_and_old_windows_swept(resources: Resources, settings: Settings) -> None:
    tight = settings.model_copy(update={"rate_limits_enabled": True, "rate_limits": {"x:ip": (1, 60)}})
    now = datetime.now(UTC)
    await rate_limits.check(resources.engine, tight, "x", {"ip": "192.0.2.1"}, now=now)
    with pytest.raises(rate_limits.Limited) as over:
        await rate_limits.check(resources.engine, tight, "x", {"ip": "192.0.2.1"}, now=now)
    assert 1 <= over.value.retry_after <= 60
    # Nothing counts when limits are off, or for an action without a limit.
    await rate_limits.check(resources.engine, settings, "x", {"ip": "192.0.2.1"}, now=now)
    await rate_limits.check(resources.engine, tight, "y", {"ip": "192.0.2.1"}, now=now)
    assert await rate_limits.sweep(resources.engine, now=now, keep=timedelta(0)) >= 1
