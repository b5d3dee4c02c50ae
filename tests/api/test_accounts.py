from __future__ import annotations

import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from starlette.applications import Starlette

from domain.models import Role, User
from domain.resources import Resources
from domain.security import verify_password
from domain.settings import Settings, get_settings
from tests.api.test_workflow import staff_member
from tests.factories import LOG_IN, REFRESH, SIGN_UP, Api

ME = "query { me { id email phone displayName role unit { code } } }"


async def test_sign_up_with_email_logs_in(api: Api) -> None:
    citizen = await api.sign_up(email="Siti.Rahma@Example.ID", name="Siti")

    body = await api.gql(ME, token=citizen.token)

    assert body["data"]["me"]["email"] == "siti.rahma@example.id"
    assert body["data"]["me"]["role"] == "CITIZEN"
    assert body["data"]["me"]["unit"] is None


async def test_sign_up_with_phone_normalises_to_e164_and_logs_in_by_phone(api: Api) -> None:
    body = await api.gql(
        SIGN_UP, {"input": {"phone": "0812-9000-1234", "password": "kata sandi panjang", "displayName": "Budi"}}
    )
    assert body["data"]["signUp"]["errors"] == []
    assert body["data"]["signUp"]["session"]["user"]["phone"] == "+6281290001234"

    login = await api.gql(LOG_IN, {"login": "+62 812 9000 1234", "password": "kata sandi panjang"})

    assert login["data"]["logIn"]["errors"] == []


async def test_one_phone_in_another_spelling_is_the_same_account(api: Api) -> None:
    # given: an account signed up with a phone
    password = "kata sandi panjang"
    body = await api.gql(SIGN_UP, {"input": {"phone": "0812-9000-5678", "password": password, "displayName": "Budi"}})
    assert body["data"]["signUp"]["errors"] == []

    # when: the same number spelled otherwise signs up again, and logs in
    again = await api.gql(SIGN_UP, {"input": {"phone": "+62 812-9000-5678", "password": password, "displayName": "B"}})
    login = await api.gql(LOG_IN, {"login": "62 812 9000 5678", "password": password})
    nonsense = await api.gql(LOG_IN, {"login": "+62 812 9000 5678 ext 1", "password": password})

    # then
    assert [e["code"] for e in again["data"]["signUp"]["errors"]] == ["ACCOUNT_EXISTS"]
    assert login["data"]["logIn"]["errors"] == []
    assert login["data"]["logIn"]["session"]["user"]["id"] == body["data"]["signUp"]["session"]["user"]["id"]
    assert [e["code"] for e in nonsense["data"]["logIn"]["errors"]] == ["INVALID_CREDENTIALS"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"password": "long enough password", "displayName": "X"}, "LOGIN_REQUIRED"),
        ({"email": "not-an-email", "password": "long enough password", "displayName": "X"}, "INVALID_EMAIL"),
        ({"phone": "12ab", "password": "long enough password", "displayName": "X"}, "INVALID_PHONE"),
        ({"phone": "0812-FLOOD-00", "password": "long enough password", "displayName": "X"}, "INVALID_PHONE"),
        (
            {"phone": "+62 812 9000 1234 ext 12", "password": "long enough password", "displayName": "X"},
            "INVALID_PHONE",
        ),
        ({"phone": "+62 812", "password": "long enough password", "displayName": "X"}, "INVALID_PHONE"),
        ({"email": "a@b.id", "password": "short", "displayName": "X"}, "WEAK_PASSWORD"),
        ({"email": "a@b.id", "password": "long enough password", "displayName": "  "}, "INVALID_NAME"),
    ],
)
async def test_sign_up_rejects_bad_input(api: Api, payload: dict[str, str], code: str) -> None:
    body = await api.gql(SIGN_UP, {"input": payload})

    assert body["data"]["signUp"]["session"] is None
    assert [e["code"] for e in body["data"]["signUp"]["errors"]] == [code]


async def test_sign_up_twice_with_the_same_email_is_account_exists(api: Api) -> None:
    citizen = await api.sign_up()

    body = await api.gql(
        SIGN_UP, {"input": {"email": citizen.email, "password": "another password!", "displayName": "Y"}}
    )

    assert [e["code"] for e in body["data"]["signUp"]["errors"]] == ["ACCOUNT_EXISTS"]


async def test_wrong_password_and_unknown_login_give_the_same_error(api: Api) -> None:
    citizen = await api.sign_up()

    wrong = await api.gql(LOG_IN, {"login": citizen.email, "password": "not the password"})
    unknown = await api.gql(LOG_IN, {"login": "nobody@example.id", "password": "not the password"})

    assert wrong["data"]["logIn"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert unknown["data"]["logIn"]["errors"] == wrong["data"]["logIn"]["errors"]


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(api: Api) -> None:
    citizen = await api.sign_up()

    first = await api.gql(REFRESH, {"token": citizen.refresh_token})
    second_token = first["data"]["refreshToken"]["session"]["refreshToken"]
    assert second_token != citizen.refresh_token

    reuse = await api.gql(REFRESH, {"token": citizen.refresh_token})
    assert [e["code"] for e in reuse["data"]["refreshToken"]["errors"]] == ["REFRESH_TOKEN_REUSED"]

    # The stolen chain is dead: the newest token of the family no longer works either.
    after = await api.gql(REFRESH, {"token": second_token})
    assert [e["code"] for e in after["data"]["refreshToken"]["errors"]] == ["INVALID_REFRESH_TOKEN"]


async def test_log_out_ends_the_refresh_chain(api: Api) -> None:
    citizen = await api.sign_up()

    await api.gql("mutation($t: String!) { logOut(refreshToken: $t) { ok } }", {"t": citizen.refresh_token})
    body = await api.gql(REFRESH, {"token": citizen.refresh_token})

    assert [e["code"] for e in body["data"]["refreshToken"]["errors"]] == ["INVALID_REFRESH_TOKEN"]


async def test_tokens_with_wrong_audience_algorithm_or_expiry_are_not_accepted(api: Api, settings: Settings) -> None:
    citizen = await api.sign_up()
    claims = jwt.decode(citizen.token, options={"verify_signature": False})
    secret = settings.jwt_secret.get_secret_value()
    forged = [
        jwt.encode({**claims, "aud": "someone-else"}, secret, algorithm="HS256"),
        jwt.encode({**claims, "iss": "https://evil.example"}, secret, algorithm="HS256"),
        jwt.encode({**claims, "exp": claims["iat"] - 10}, secret, algorithm="HS256"),
        jwt.encode(claims, "a different secret", algorithm="HS256"),
        jwt.encode(claims, None, algorithm="none"),
    ]

    for token in forged:
        body = await api.gql(ME, token=token)
        assert body["data"]["me"] is None

    assert (await api.gql(ME, token=citizen.token))["data"]["me"]["id"] == citizen.user_id


async def test_a_hash_of_the_old_four_lane_kind_is_replaced_at_log_in_by_todays(api: Api, resources: Resources) -> None:
    # given an account whose password was hashed with four lanes (argon2-cffi's default, before 2026-12-06)
    password = "kata sandi panjang"
    citizen = await api.sign_up(name="Lama", password=password)
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=4).hash(password)
    async with resources.unit_of_work() as session:
        await session.execute(update(User).where(User.email == citizen.email).values(password_hash=old))

    # when its holder logs in, twice
    first = await api.gql(LOG_IN, {"login": citizen.email, "password": password})
    async with resources.unit_of_work() as session:
        stored = await session.scalar(select(User.password_hash).where(User.email == citizen.email))
    again = await api.gql(LOG_IN, {"login": citizen.email, "password": password})

    # then both log-ins succeed and the stored hash is today's: one lane at the configured cost
    assert first["data"]["logIn"]["errors"] == []
    assert again["data"]["logIn"]["errors"] == []
    assert first["data"]["logIn"]["session"]["user"]["id"] == citizen.user_id
    assert stored is not None
    memory_kib, passes = get_settings().password_cost
    assert stored.startswith(f"$argon2id$v=19$m={memory_kib},t={passes},p=1$")
    assert verify_password(stored, password)


async def test_an_account_check_that_fails_answers_the_masked_error_not_its_text(
    api: Api, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a logged-in citizen, and a database whose pool is exhausted when the account's state is read
    citizen = await api.sign_up()

    async def exhausted(_user_id: object) -> None:
        raise TimeoutError("QueuePool limit of size 10 overflow 10 reached, connection timed out, timeout 30")

    app.state.resources.account_states.forget_all()
    monkeypatch.setattr(app.state.resources.account_states, "get", exhausted)

    # when the citizen asks anything
    body = await api.gql(ME, token=citizen.token)

    # then the answer is the masked error with its request id, and nothing of the pool's message
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"]["requestId"]
    assert "QueuePool" not in str(body)


async def test_an_officers_unit_is_read_while_the_reference_snapshot_reloads(
    api: Api, resources: Resources, app: Starlette
) -> None:
    # A field of reference data answers at once from a current snapshot; from a stale one it answers an
    # awaitable that loads it first, which graphql-core awaits like any resolver's.
    officer = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    query = "query { me { unit { code kota { name } } } }"
    cache = app.state.resources.reference
    cache.invalidate()
    assert cache.current() is None

    reloaded = await api.gql(query, token=officer.token)
    current = await api.gql(query, token=officer.token)

    assert cache.current() is not None
    expected = {"data": {"me": {"unit": {"code": "kel-31.73.02.1003", "kota": {"name": "Jakarta Barat"}}}}}
    assert reloaded == current == expected
