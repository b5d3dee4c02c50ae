"""domain.security: access tokens are only ours, only HS256, only unexpired; passwords verify with argon2id."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr

from domain.models.enums import Role
from domain.security import (
    PASSWORD_THREAD_NICE,
    AccessClaims,
    access_token_expired,
    decode_access_token,
    hash_password,
    in_password_lane,
    issue_access_token,
    needs_rehash,
    verify_password,
)
from domain.settings import Settings, get_settings

SETTINGS = Settings()
CLAIMS = AccessClaims(user_id=uuid.UUID("0b7e4c1a-5f7d-4a8e-9c3b-2d6f1e0a9b84"), role=Role.OFFICER, unit_id=42)
PASSWORD = "correct horse battery"
# verify_password reads the cost from the stored hash, so a cheap argon2id hash keeps these tests fast.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)


NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """NOW as each test starts: tokens are decoded against the real clock, and a suite on a busy machine can run
    longer than a token lives after this module was imported."""
    monkeypatch.setitem(globals(), "NOW", datetime.now(UTC).replace(microsecond=0))


def signed(*, key: str | None = None, algorithm: str = "HS256", **overrides: Any) -> str:
    """A token signed like ours unless told otherwise (issued at NOW); a claim overridden with None is left out."""
    now = NOW
    payload: dict[str, Any] = {
        "sub": str(CLAIMS.user_id),
        "role": CLAIMS.role.value,
        "unit": CLAIMS.unit_id,
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
    } | overrides
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key if key is not None else SETTINGS.jwt_secret.get_secret_value(), algorithm=algorithm)


# --- access tokens --------------------------------------------------------------------------------


def expiring(claims: AccessClaims, issued_at: datetime) -> AccessClaims:
    """The claims as a token issued at `issued_at` decodes to: with its expiry."""
    return replace(claims, expires_at=issued_at + timedelta(seconds=SETTINGS.access_token_ttl_s))


def test_an_issued_token_decodes_to_the_same_claims() -> None:
    # given
    token = issue_access_token(SETTINGS, CLAIMS, NOW)

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded == expiring(CLAIMS, NOW)


def test_a_citizen_token_decodes_without_a_unit() -> None:
    # given
    claims = AccessClaims(user_id=uuid.uuid4(), role=Role.CITIZEN, unit_id=None)
    token = issue_access_token(SETTINGS, claims, NOW)

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded == expiring(claims, NOW)


def test_a_token_carries_its_accounts_token_version() -> None:
    # given an account whose powers changed three times
    token = issue_access_token(SETTINGS, replace(CLAIMS, version=3), NOW)

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded is not None
    assert decoded.version == 3


def test_a_token_from_before_token_versions_is_version_0() -> None:
    # given a token issued before tokens carried "ver" (accounts then were all at version 0)
    token = signed()

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded is not None
    assert decoded.version == 0


def test_an_issued_token_lives_access_token_ttl_seconds() -> None:
    # given
    now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    # when
    token = issue_access_token(SETTINGS, CLAIMS, now)

    # then
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == SETTINGS.access_token_ttl_s
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_a_hand_signed_token_with_our_claims_decodes() -> None:
    # given the builder the rejection tests below start from, unchanged
    token = signed()

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded == replace(CLAIMS, expires_at=NOW + timedelta(minutes=15))


def test_a_token_issued_one_ttl_ago_is_expired() -> None:
    # given
    issued_at = datetime.now(UTC) - timedelta(seconds=SETTINGS.access_token_ttl_s + 5)
    token = issue_access_token(SETTINGS, CLAIMS, issued_at)

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded is None


def test_a_token_signed_with_another_secret_is_refused() -> None:
    # given another deployment's settings
    other = Settings(jwt_secret=SecretStr("another-deployment-secret-0123456789abcdef"))
    token = issue_access_token(other, CLAIMS, datetime.now(UTC))

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded is None


def _past() -> int:
    return int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())


@pytest.mark.parametrize(
    "token_factory",
    [
        lambda: signed(exp=_past()),
        lambda: signed(aud="another-api"),
        lambda: signed(iss="https://evil.example/auth"),
        lambda: signed(key="", algorithm="none"),
        lambda: signed(key="a-key-that-is-not-ours-0123456789abcdef"),
        pytest.param(
            lambda: signed(algorithm="HS512"),
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
        ),
        lambda: signed(exp=None),
        lambda: signed(iat=None),
        lambda: signed(sub=None),
        lambda: signed(sub="not-a-uuid"),
        lambda: signed(role="SUPERUSER"),
        lambda: signed()[:-4] + "AAAA",
        lambda: "not.a.token",
        lambda: "",
    ],
    ids=[
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "alg-none",
        "wrong-key",
        "hs512-with-our-key",
        "no-exp",
        "no-iat",
        "no-sub",
        "sub-not-uuid",
        "unknown-role",
        "tampered-signature",
        "garbage",
        "empty",
    ],
)
def test_a_token_that_is_not_ours_decodes_to_none(token_factory: Any) -> None:
    # given
    token = token_factory()

    # when
    decoded = decode_access_token(SETTINGS, token)

    # then
    assert decoded is None


def test_only_an_expired_token_of_ours_is_called_expired() -> None:
    # given
    expired, forged = signed(exp=_past()), signed(exp=_past(), key="a-key-that-is-not-ours-0123456789abcdef")

    # when
    verdicts = (
        access_token_expired(SETTINGS, expired),
        access_token_expired(SETTINGS, forged),
        access_token_expired(SETTINGS, signed()),
    )

    # then
    assert verdicts == (True, False, False)


# --- passwords ------------------------------------------------------------------------------------


def test_a_hashed_password_verifies() -> None:
    # given
    stored = hash_password(PASSWORD)

    # when
    ok = verify_password(stored, PASSWORD)

    # then
    assert stored.startswith("$argon2id$")
    assert ok is True


def test_the_right_password_verifies_against_a_stored_hash() -> None:
    # given CHEAP_HASH made from PASSWORD

    # when
    ok = verify_password(CHEAP_HASH, PASSWORD)

    # then
    assert ok is True


@pytest.mark.parametrize("attempt", ["Correct horse battery", "correct horse battery ", ""])
def test_a_wrong_password_does_not_verify(attempt: str) -> None:
    # given CHEAP_HASH made from PASSWORD

    # when
    ok = verify_password(CHEAP_HASH, attempt)

    # then
    assert ok is False


def test_no_hash_never_verifies_even_with_the_dummy_hash_password() -> None:
    # given an account that does not exist (its hash is None), and the password behind the timing dummy

    # when
    ok = verify_password(None, "not-a-real-password")

    # then
    assert ok is False


def test_no_hash_does_not_verify_a_real_password() -> None:
    # given an account that does not exist

    # when
    ok = verify_password(None, PASSWORD)

    # then
    assert ok is False


def test_a_malformed_hash_does_not_verify() -> None:
    # given
    stored = "not-an-argon2-hash"

    # when
    ok = verify_password(stored, PASSWORD)

    # then
    assert ok is False


def test_the_password_cost_is_64_mib_and_three_passes_and_only_the_test_environment_may_lower_it() -> None:
    assert Settings(environment="development", test_cheap_passwords=False).password_cost == (64 * 1024, 3)
    assert Settings(environment="production", jwt_secret="x" * 40, test_cheap_passwords=True).password_cost == (
        64 * 1024,
        3,
    )
    assert Settings(environment="test", test_cheap_passwords=True).password_cost == (1024, 1)


def test_todays_password_hash_is_one_lane_at_the_configured_cost() -> None:
    memory_kib, passes = get_settings().password_cost
    stored = hash_password(PASSWORD)

    assert stored.startswith(f"$argon2id$v=19$m={memory_kib},t={passes},p=1$")
    assert not needs_rehash(stored)
    assert needs_rehash(CHEAP_HASH)
    assert needs_rehash(PasswordHasher(parallelism=4).hash(PASSWORD))
    assert needs_rehash("not a hash")


async def test_password_work_runs_one_at_a_time_in_its_lane() -> None:
    # given work that notes how many of it run at once
    running, most = 0, 0
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return n

    # when eight are asked for at once
    results = await asyncio.gather(*(in_password_lane(work, n) for n in range(8)))

    # then each ran, one after the other
    assert results == list(range(8))
    assert most == 1


async def test_password_work_runs_in_a_thread_nicer_than_the_event_loop_s() -> None:
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    loop_thread = niceness()
    hashing_thread = await in_password_lane(niceness)

    assert hashing_thread == min(19, loop_thread + PASSWORD_THREAD_NICE)
    assert niceness() == loop_thread  # the process and its loop keep theirs


# --- rotating the secret --------------------------------------------------------------------------------

OLD_SECRET = "the-secret-before-the-rotation-0123456789abcdef"
NEW_SECRET = "the-secret-after-the-rotation-0123456789abcdefgh"


def test_after_a_rotation_tokens_of_the_previous_secret_still_verify_and_new_ones_use_the_current() -> None:
    # given a token issued before the rotation, and the settings after it
    before = Settings(jwt_secret=SecretStr(OLD_SECRET))
    old_token = issue_access_token(before, CLAIMS, NOW)
    after = Settings(jwt_secret=SecretStr(NEW_SECRET), jwt_previous_secrets=[SecretStr(OLD_SECRET)])

    # when
    decoded = decode_access_token(after, old_token)
    new_token = issue_access_token(after, CLAIMS, NOW)

    # then the old token counts, and the new one is signed with the new secret only
    assert decoded == expiring(CLAIMS, NOW)
    assert jwt.decode(new_token, NEW_SECRET, algorithms=["HS256"], audience=after.jwt_audience)["sub"] == str(
        CLAIMS.user_id
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(new_token, OLD_SECRET, algorithms=["HS256"], audience=after.jwt_audience)


def test_once_the_previous_secret_is_dropped_its_tokens_are_refused() -> None:
    # given a token of the old secret, and settings that no longer list it
    old_token = issue_access_token(Settings(jwt_secret=SecretStr(OLD_SECRET)), CLAIMS, NOW)
    after = Settings(jwt_secret=SecretStr(NEW_SECRET))

    # when
    decoded = decode_access_token(after, old_token)

    # then
    assert decoded is None
    assert not access_token_expired(after, old_token)


def test_an_expired_token_of_the_previous_secret_is_reported_expired() -> None:
    # given a token of the old secret that has expired
    before = Settings(jwt_secret=SecretStr(OLD_SECRET))
    expired = issue_access_token(before, CLAIMS, NOW - timedelta(seconds=before.access_token_ttl_s + 60))
    after = Settings(jwt_secret=SecretStr(NEW_SECRET), jwt_previous_secrets=[SecretStr(OLD_SECRET)])

    # when
    decoded = decode_access_token(after, expired)

    # then the client is told to refresh, not that the token is foreign
    assert decoded is None
    assert access_token_expired(after, expired)


def test_a_token_of_a_secret_never_listed_is_refused_after_a_rotation() -> None:
    # given
    after = Settings(jwt_secret=SecretStr(NEW_SECRET), jwt_previous_secrets=[SecretStr(OLD_SECRET)])
    foreign = signed(key="a-secret-nobody-here-ever-used-0123456789abcdef")

    # when
    decoded = decode_access_token(after, foreign)

    # then
    assert decoded is None
    assert not access_token_expired(after, foreign)


def test_production_refuses_a_short_previous_secret() -> None:
    with pytest.raises(ValueError, match="JSC_JWT_PREVIOUS_SECRETS"):
        Settings(environment="production", jwt_secret="x" * 40, jwt_previous_secrets=[SecretStr("short")])
