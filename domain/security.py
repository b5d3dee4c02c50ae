"""Passwords (argon2id), access tokens (JWT, HS256 pinned) and opaque refresh tokens."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.models.enums import Role
from domain.settings import Settings, get_settings

P = ParamSpec("P")
T = TypeVar("T")
JWT_ALGORITHM = "HS256"


# argon2id at 64 MiB and 3 passes (Settings.password_cost), as RFC 9106's second choice, but in one lane: argon2's
# code runs one thread per lane, and the default 4 lanes took both cores of a 2-core API server for every log-in or
# sign-up, stalling every request in flight. One lane is the same memory hardness on one core (OWASP's minimum is
# 19 MiB, 2 passes, 1 lane).
@functools.cache
def _hasher() -> PasswordHasher:
    memory_kib, passes = get_settings().password_cost
    return PasswordHasher(time_cost=passes, memory_cost=memory_kib, parallelism=1)


# How much nicer than its process the password thread runs. Half a second of argon2 on one core still left the
# event loop's thread sharing the other with PostgreSQL, the worker and the rest: in a soak after the garbage
# collector's pauses were gone, 87 % of the seconds with slow requests across operations had password work running,
# against 34 % of all seconds (docs/benchmarks.md). Niced, the kernel gives the loop the core when both want it; a
# log-in takes longer only while the machine is busy.
PASSWORD_THREAD_NICE = 5


def _nicer_thread() -> None:
    """Lowers the calling thread's priority alone (Linux keeps a niceness per thread) by PASSWORD_THREAD_NICE."""
    thread = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):  # no per-thread priority here: hashed at the process's
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + PASSWORD_THREAD_NICE))


# Password work runs here, one at a time per process and niced: a burst of log-ins waits its turn instead of taking
# every core from the requests beside it (and 64 MiB each).
_password_lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2", initializer=_nicer_thread)


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the account does not exist keeps the timing of both answers alike."""
    return _hasher().hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def needs_rehash(password_hash: str) -> bool:
    """A hash made with other parameters than today's (an older account): hashed again at its next log-in."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


async def in_password_lane(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Runs hash_password or verify_password in the process's password thread, after those queued before it."""
    return await asyncio.get_running_loop().run_in_executor(_password_lane, functools.partial(work, *args, **kwargs))


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: Role
    unit_id: int | None
    # The account's token_version when the token was issued; a token of an older version is refused.
    version: int = 0
    # Set on decoded tokens; an issued token's expiry follows from the settings.
    expires_at: datetime | None = None


def issue_access_token(settings: Settings, claims: AccessClaims, now: datetime) -> str:
    payload = {
        "sub": str(claims.user_id),
        "role": claims.role.value,
        "unit": claims.unit_id,
        "ver": claims.version,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.access_token_ttl_s)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm=JWT_ALGORITHM)


def _verifying_keys(settings: Settings) -> list[str]:
    """The current secret first, then those a rotation replaced (JSC_JWT_PREVIOUS_SECRETS), whose tokens still
    count until they expire: rotating the secret then logs nobody out."""
    keys = [settings.jwt_secret.get_secret_value()]
    keys += [key for previous in settings.jwt_previous_secrets if (key := previous.get_secret_value()) not in keys]
    return keys


def _decode(settings: Settings, token: str, *, require: list[str] | None = None) -> dict[str, Any]:
    """The token's claims, verified with whichever of our keys signed it. Only a bad signature moves on to the next
    key, so an expired or foreign-audience token is refused as such by the key that signed it."""

    def decode(key: str) -> dict[str, Any]:
        return jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": require or []},
        )

    *older, last = _verifying_keys(settings)
    for key in older:
        with contextlib.suppress(jwt.InvalidSignatureError):
            return decode(key)
    return decode(last)


def decode_access_token(settings: Settings, token: str) -> AccessClaims | None:
    """None for any token that is not ours, expired, or for another audience."""
    try:
        payload = _decode(settings, token, require=["exp", "iat", "sub", "aud", "iss"])
        return AccessClaims(
            uuid.UUID(payload["sub"]),
            Role(payload["role"]),
            payload.get("unit"),
            int(payload.get("ver", 0)),
            datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
        return None


def access_token_expired(settings: Settings, token: str) -> bool:
    """Whether a token that does not decode is ours but out of date (the client should refresh it)."""
    try:
        _decode(settings, token)
    except jwt.ExpiredSignatureError:
        return True
    except jwt.InvalidTokenError:
        return False
    return False


def new_refresh_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)
    return token, refresh_token_hash(token)


def refresh_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
