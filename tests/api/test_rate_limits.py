"""Rate limits on createReport, requestPhotoUpload, comments, signUp, logIn, refreshToken and Open311 POST: HTTP 429
with Retry-After, per user, per address (the proxies' X-Forwarded-For believed only from trusted proxies), per
login in its one spelling and per Open311 app; GCRA, shared through PostgreSQL, with no window edge to game;
nothing done for a refused request."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from api.app import create_app
from domain import rate_limits
from domain.models import RateLimit, Report, User
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_community import COMMENT
from tests.factories import CREATE_REPORT, LOG_IN, REFRESH, REQUEST_UPLOAD, SIGN_UP, TOMANG, Api, report_input

LIMITS = {
    "createReport:user": (2, 3600),
    "createReport:ip": (50, 3600),
    "requestPhotoUpload:user": (3, 3600),
    "addComment:user": (2, 3600),
    "logIn:ip": (100, 300),
    "logIn:login": (3, 900),
    "signUp:ip": (100, 3600),
}
OPEN311_KEY = "rate-limited-app"


def an_address() -> str:
    """A client address of this test's own, so that no other test's requests count against it."""
    return f"10.{random.randrange(250)}.{random.randrange(250)}.{random.randrange(1, 250)}"


def a_phone() -> str:
    return f"0812{random.randrange(10**8):08d}"


@contextlib.asynccontextmanager
async def serving(settings: Settings, **update: Any) -> AsyncIterator[Any]:
    app = create_app(settings.model_copy(update={"rate_limits_enabled": True, **update}))
    async with app.router.lifespan_context(app):
        yield app


def client(app: Any, address: str, base_url: str = "http://api.test") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30)


@pytest.fixture
async def limited(settings: Settings, database: None) -> AsyncIterator[Api]:
    """The API with low limits, on its own client address."""
    async with serving(settings, rate_limits=LIMITS) as app, client(app, an_address()) as http:
        yield Api(http)


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
    refusals = REGISTRY.get_sample_value("jsc_rate_limit_refusals_total", {"action": "logIn"}) or 0.0
    blocked = await limited.raw(LOG_IN, {"login": citizen.email.upper(), "password": citizen.password})
    assert blocked.status_code == 429
    assert blocked.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert REGISTRY.get_sample_value("jsc_rate_limit_refusals_total", {"action": "logIn"}) == refusals + 1
    # Another account is not held back by these failures.
    other = await limited.sign_up()
    ok = await limited.raw(LOG_IN, {"login": other.email, "password": other.password})
    assert ok.status_code == 200
    assert ok.json()["data"]["logIn"]["errors"] == []


async def test_login_counts_every_spelling_of_a_phone_as_one_login(limited: Api) -> None:
    # given: an account with a phone number
    phone = a_phone()
    password = "kata sandi panjang"
    body = await limited.gql(SIGN_UP, {"input": {"phone": phone, "password": password, "displayName": "Budi"}})
    assert body["data"]["signUp"]["errors"] == []
    national = phone[1:]

    # when: three wrong guesses, each spelling the number another way, then the right password
    spellings = [phone, f"+62{national}", f"62 {national[:3]}-{national[3:7]}-{national[7:]}"]
    wrong = [
        (await limited.gql(LOG_IN, {"login": s, "password": "tebakan salah"}))["data"]["logIn"]["errors"][0]["code"]
        for s in spellings
    ]
    blocked = await limited.raw(LOG_IN, {"login": f"({phone[:4]}) {phone[4:8]}.{phone[8:]}", "password": password})

    # then: one login, counted three times
    assert wrong == ["INVALID_CREDENTIALS"] * 3
    assert blocked.status_code == 429
    assert blocked.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_sign_up_is_limited_per_phone_in_any_spelling_and_per_address(
    settings: Settings, database: None, resources: Resources
) -> None:
    limits = {"signUp:ip": (3, 3600), "signUp:login": (2, 3600)}
    phone = a_phone()
    fresh = f"baru-{uuid.uuid4().hex[:8]}@example.id"

    async def sign_up(http: httpx.AsyncClient, **login: str) -> httpx.Response:
        account = {**login, "password": "kata sandi panjang", "displayName": "Budi"}
        return await http.post("/graphql", json={"query": SIGN_UP, "variables": {"input": account}})

    async with serving(settings, rate_limits=limits) as app, client(app, an_address()) as http:
        # given: an account with the phone, and a second sign-up with it spelled otherwise
        first = await sign_up(http, phone=phone)
        again = await sign_up(http, phone=f"+62 {phone[1:]}")

        # when: a third spelling of the same phone, then a new e-mail from the same address
        third = await sign_up(http, phone=f"62{phone[1:]}")
        from_same_address = await sign_up(http, email=fresh)

        # then: the phone's two sign-ups are used up, and so are the address's three
        assert first.json()["data"]["signUp"]["errors"] == []
        assert [e["code"] for e in again.json()["data"]["signUp"]["errors"]] == ["ACCOUNT_EXISTS"]
        assert (third.status_code, from_same_address.status_code) == (429, 429)
        assert third.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 0 < int(from_same_address.headers["Retry-After"]) <= 3600
        async with client(app, an_address()) as elsewhere:
            assert (await sign_up(elsewhere, email=fresh)).json()["data"]["signUp"]["errors"] == []
    async with resources.unit_of_work() as session:
        holders = await session.scalar(select(func.count()).select_from(User).where(User.email == fresh))
    assert holders == 1  # the refused sign-up stored nothing


async def test_refresh_token_is_limited_per_address(settings: Settings, database: None) -> None:
    async with serving(settings, rate_limits={"refreshToken:ip": (2, 300)}) as app, client(app, an_address()) as http:
        # given: a session
        citizen = await Api(http).sign_up()

        # when: it refreshes three times in a row
        token, statuses = citizen.refresh_token, []
        for _ in range(3):
            response = await Api(http).raw(REFRESH, {"token": token})
            statuses.append(response.status_code)
            if response.status_code == 200:
                token = response.json()["data"]["refreshToken"]["session"]["refreshToken"]

        # then
        assert statuses == [200, 200, 429]
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_open311_post_is_limited_per_app_and_per_address(settings: Settings, api: Api) -> None:
    app_account = await api.sign_up(name="Aplikasi Warga")
    limits = {"open311Post:app": (2, 3600), "open311Post:ip": (3, 3600)}
    form = {"api_key": OPEN311_KEY, "service_code": "garbage", "lat": str(TOMANG[0]), "long": str(TOMANG[1])}
    async with serving(settings, rate_limits=limits, open311_api_keys={OPEN311_KEY: app_account.email}) as app:
        # given: an app that files two requests
        async with client(app, an_address(), "http://api.test/open311/v2") as http:
            filed = [(await http.post("/requests.json", data=form)).status_code for _ in range(2)]

            # when: it files a third
            third = await http.post("/requests.xml", data=form)

        # and: someone else guesses keys
        async with client(app, an_address(), "http://api.test/open311/v2") as guesser:
            guesses = [
                (await guesser.post("/requests.json", data={**form, "api_key": f"guess-{n}"})).status_code
                for n in range(4)
            ]

    # then
    assert filed == [201, 201]
    assert third.status_code == 429
    assert third.headers["content-type"].startswith("text/xml")
    assert 0 < int(third.headers["Retry-After"]) <= 3600
    assert guesses == [403, 403, 403, 429]


async def test_x_forwarded_for_is_believed_from_a_trusted_proxy_only(settings: Settings, database: None) -> None:
    limits = {"refreshToken:ip": (1, 300)}

    async def refresh(http: httpx.AsyncClient, forwarded_for: str) -> int:
        variables = {"token": "not a token"}
        headers = {"X-Forwarded-For": forwarded_for}
        return (
            await http.post("/graphql", json={"query": REFRESH, "variables": variables}, headers=headers)
        ).status_code

    # given: the API behind a load balancer it trusts
    proxy = an_address()
    async with serving(settings, rate_limits=limits, trusted_proxies=[proxy]) as app, client(app, proxy) as http:
        # when: two citizens come through it, one of them twice, once claiming another address to the left
        first = await refresh(http, "198.51.100.7")
        other = await refresh(http, "198.51.100.8")
        spoofed = await refresh(http, "203.0.113.1, 198.51.100.7")

    # then: each citizen has an allowance of their own, and the address a client wrote itself is not believed
    assert (first, other, spoofed) == (200, 200, 429)

    # given: the same API trusting no proxy (the default)
    peer = an_address()
    async with serving(settings, rate_limits=limits) as app, client(app, peer) as http:
        # when: a client claims two addresses of its own
        claimed = [await refresh(http, f"198.51.100.{n}") for n in (9, 10)]

    # then: both are counted under the address that connected
    assert claimed == [200, 429]


# --- GCRA against the database, with the clock driven by the test --------------------------------


async def test_2n_cannot_pass_across_a_window_boundary(resources: Resources, settings: Settings) -> None:
    # given: 3 per minute, and a client that uses them all a second before a minute ends
    tight = settings.model_copy(update={"rate_limits_enabled": True, "rate_limits": {"x:ip": (3, 60)}})
    who = {"ip": f"192.0.2.{random.randrange(1, 250)}-{uuid.uuid4().hex[:6]}"}
    end_of_minute = datetime(2026, 12, 4, 10, 0, 59, tzinfo=UTC)

    async def passes(at: datetime) -> bool:
        try:
            await rate_limits.check(resources.engine, tight, "x", who, now=at)
        except rate_limits.Limited:
            return False
        return True

    before = [await passes(end_of_minute) for _ in range(3)]

    # when: it tries 3 more two seconds later, in the next minute
    with pytest.raises(rate_limits.Limited) as refused:
        await rate_limits.check(resources.engine, tight, "x", who, now=end_of_minute + timedelta(seconds=2))
    after = [await passes(end_of_minute + timedelta(seconds=2)) for _ in range(2)]

    # then: none passes; one more every 20 s from the burst on
    assert before == [True, True, True]
    assert after == [False, False]
    assert refused.value.retry_after == 18
    assert [await passes(end_of_minute + timedelta(seconds=s)) for s in (19, 20, 20)] == [False, True, False]


async def test_a_steady_client_gets_the_burst_then_the_rate(resources: Resources, settings: Settings) -> None:
    # given: 3 per minute
    tight = settings.model_copy(update={"rate_limits_enabled": True, "rate_limits": {"x:ip": (3, 60)}})
    who = {"ip": f"steady-{uuid.uuid4().hex}"}
    start = datetime(2026, 12, 4, 10, 0, 30, tzinfo=UTC)

    # when: a client tries once a second for five minutes
    passed = []
    for second in range(301):
        try:
            await rate_limits.check(resources.engine, tight, "x", who, now=start + timedelta(seconds=second))
            passed.append(second)
        except rate_limits.Limited:
            pass

    # then: 3 at once, then one every 20 s: 5 (2N - 1) in the busiest minute, 3 per minute from then on
    assert passed == [0, 1, 2, *range(20, 301, 20)]
    assert max(sum(1 for p in passed if s <= p < s + 60) for s in range(301)) == 5


async def test_concurrent_requests_from_many_connections_share_one_allowance(
    resources: Resources, settings: Settings
) -> None:
    # given: 3 per minute
    tight = settings.model_copy(
        update={"rate_limits_enabled": True, "rate_limits": {"x:ip": (3, 60), "x:user": (9, 60)}}
    )
    who = {"ip": f"crowd-{uuid.uuid4().hex}", "user": f"u-{uuid.uuid4().hex}"}
    now = datetime.now(UTC)

    # when: 10 requests at the same moment, each on a connection of its own
    outcomes = await asyncio.gather(
        *(rate_limits.check(resources.engine, tight, "x", who, now=now) for _ in range(10)), return_exceptions=True
    )

    # then: exactly 3 pass
    assert sum(1 for o in outcomes if o is None) == 3
    assert all(isinstance(o, rate_limits.Limited) for o in outcomes if o is not None)


async def test_nothing_counts_when_off_or_unlimited_and_full_allowances_are_swept(
    resources: Resources, settings: Settings
) -> None:
    tight = settings.model_copy(update={"rate_limits_enabled": True, "rate_limits": {"x:ip": (1, 60)}})
    who = {"ip": f"sweep-{uuid.uuid4().hex}"}
    now = datetime.now(UTC)
    # Off, or an action without a limit: nothing counts.
    await rate_limits.check(resources.engine, settings, "x", who, now=now)
    await rate_limits.check(resources.engine, tight, "y", who, now=now)
    await rate_limits.check(resources.engine, tight, "x", who, now=now)
    with pytest.raises(rate_limits.Limited):
        await rate_limits.check(resources.engine, tight, "x", who, now=now)

    # A minute on, the key is back to its full allowance: the sweep drops it, and it lets a request through.
    assert await rate_limits.sweep(resources.engine, now=now + timedelta(seconds=61)) >= 1
    async with resources.engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(RateLimit).where(RateLimit.key.like(f"%{who['ip']}%"))
        )
    assert left == 0
    await rate_limits.check(resources.engine, tight, "x", who, now=now + timedelta(seconds=61))
