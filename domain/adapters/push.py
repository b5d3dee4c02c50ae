"""Push notifications through Firebase Cloud Messaging (HTTP v1) with firebase-admin, or to the log only.

A sender takes a batch of messages and answers one result per message, in the same order. It never raises for
what FCM says about a message: the caller turns each outcome into an action.

- DELIVERED: FCM accepted the message (its id is in the result).
- UNREGISTERED: the token is dead; remove it and do not retry. FCM says so with the FcmError code UNREGISTERED
  (HTTP 404), or INVALID_ARGUMENT when the token is not a token at all (HTTP 400 with an FcmError detail and no
  field violation other than ``message.token``). A bare 404 or 400 is not enough: a wrong endpoint or a bad payload
  would otherwise wipe every token. SENDER_ID_MISMATCH is not pruned either: it is what every token answers when
  the credentials belong to another Firebase project.
- TRANSIENT: send it again later, unchanged: UNAVAILABLE (503), INTERNAL (500), QUOTA_EXCEEDED (429), a timeout,
  a failure with no HTTP response at all (connection refused or reset), or an access token FCM could not be asked
  for. ``retry_after_s`` carries FCM's Retry-After when it sent one.
- FAILED: FCM refused it for good (bad payload, credentials rejected, sender mismatch): retrying will not help.
- SKIPPED: no FCM configured (the local default); the in-app inbox row is the only delivery.

Delivery is at least once: a TRANSIENT message (a timeout, a reset connection) may have reached the device already.
The outbox id travels in the data payload (``OUTBOX_ID_KEY``) so the app can drop a duplicate.

Only this module imports firebase_admin. It uses firebase-admin's public API (``credentials.Certificate``, whose
``token_uri`` names the OAuth2 endpoint; the ``httpTimeout`` option; ``messaging.send_each_async``) but for two
things firebase-admin has no setting for, done on its per-app messaging service (``_messaging_service``): its FCM URL
(``_point_at``, for a local stand-in; Messaging has no emulator variable or endpoint option) and its retries
(``_without_retries``; firebase/firebase-admin-python#554 asks for a retry option). pyproject.toml pins the
firebase-admin versions these were checked with, and tests/integration/test_push.py fails, naming the hook, when an
upgrade moves one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import firebase_admin
from firebase_admin import _http_client, credentials, exceptions, messaging
from firebase_admin._retry import HttpxRetry
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import TokenState
from google.auth.transport import requests as auth_requests

from domain import log_redaction

logger = logging.getLogger(__name__)
# google-auth logs each request it makes at DEBUG with its headers and body: the access token FCM is called with,
# and the assertion signed with the service account's key that buys one.
GOOGLE_REQUESTS = log_redaction.Redact(extras=("httpRequest",))
# hpack (HTTP/2, FCM's transport) logs each header block it encodes, the bearer token in it merely Huffman-coded.
HPACK = log_redaction.Redact(drop=lambda record: True)
GOOGLE_TRANSPORT_LOGGERS = (
    "google.auth.transport.requests",
    "google.auth.transport._http_client",
    "google.auth.transport.urllib3",
    "google.auth.transport._aiohttp_requests",
    "google.auth.aio.transport.aiohttp",
)

OUTBOX_ID_KEY = "outbox_id"
FCM_BATCH_LIMIT = 500  # messaging.send_each_async refuses more
# httpx speaks HTTP/2 only over TLS: against a plain-http endpoint (the local stand-in) each request in flight
# needs its own HTTP/1.1 connection, and httpcore's pool work grows with the connections it holds. Measured on
# 2 shared cores, 10,000 messages to tests/fakes/fcm.py in the same process: ~1,000 msg/s with 1-2 in flight,
# ~750 with 4, ~600 with 16, ~120-400 with 500. Against FCM (TLS) every request of a batch shares one HTTP/2
# connection, whose cost per request stays flat up to 500 streams, so a whole batch goes at once.
PLAIN_HTTP_IN_FLIGHT = 2
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "DEADLINE_EXCEEDED"})
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})


class PushOutcome(StrEnum):
    DELIVERED = "delivered"
    UNREGISTERED = "unregistered"
    TRANSIENT = "transient"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PushMessage:
    """One notification to one device token; ``data`` carries the outbox id under ``OUTBOX_ID_KEY``."""

    token: str
    title: str
    body: str
    data: dict[str, str]

    def __post_init__(self) -> None:
        if not isinstance(self.token, str) or not self.token:
            raise ValueError("a push message needs a device token")
        if not isinstance(self.title, str) or not isinstance(self.body, str):
            raise ValueError("title and body must be strings")
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in self.data.items()):
            raise ValueError("FCM data keys and values must be strings")
        if OUTBOX_ID_KEY not in self.data:
            raise ValueError(f"data must carry {OUTBOX_ID_KEY!r} so the app can drop a duplicate")
        reserved = [key for key in self.data if key in RESERVED_DATA_KEYS or key.startswith(("google", "gcm"))]
        if reserved:
            raise ValueError(f"FCM reserves these data keys: {reserved}")

    @property
    def outbox_id(self) -> str:
        return self.data[OUTBOX_ID_KEY]


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    message_id: str | None = None  # "projects/<project>/messages/<id>" when delivered
    error: str | None = None  # FCM's error code (UNREGISTERED, UNAVAILABLE, ...) or what went wrong
    retry_after_s: float | None = None


class PushSender(Protocol):
    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """One result per message, in order. Any number of messages; senders batch them."""
        ...

    async def aclose(self) -> None: ...


def create_push_sender(credentials_file: Path | None, fcm_endpoint: str | None = None) -> PushSender:
    """FCM when a service-account file is configured, else the log. ``fcm_endpoint`` replaces
    ``https://fcm.googleapis.com`` (tests and benchmarks point it at a local stand-in)."""
    if credentials_file is None:
        return LogOnlyPushSender()
    return FcmPushSender(credentials_file, endpoint=fcm_endpoint)


class LogOnlyPushSender:
    """Without Firebase credentials: the inbox row is the delivery, the log line its trace."""

    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        for message in messages:
            logger.info(
                "push not sent (no FCM credentials): outbox %s to token %s: %s",
                message.outbox_id,
                _token_hint(message.token),
                message.title,
            )
        return [PushResult(PushOutcome.SKIPPED) for _ in messages]

    async def aclose(self) -> None:
        return None


class FcmPushSender:
    """FCM through one firebase-admin App, built once per process: its HTTP client and access token are reused.

    ``endpoint`` replaces ``https://fcm.googleapis.com``; the OAuth2 token endpoint is the ``token_uri`` of the
    service-account file, so a local stand-in needs a key file naming it. ``max_in_flight`` bounds the requests
    sent at once (FCM v1 has one request per message; ``send_each_async`` sends a batch concurrently).
    """

    def __init__(
        self,
        credentials_file: Path,
        *,
        endpoint: str | None = None,
        max_in_flight: int | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        log_redaction.install(GOOGLE_REQUESTS, *GOOGLE_TRANSPORT_LOGGERS)
        log_redaction.install(HPACK, "hpack.hpack", "hpack.table")
        certificate = credentials.Certificate(str(credentials_file))
        self._app = firebase_admin.initialize_app(
            certificate, {"httpTimeout": timeout_s}, name=f"jsc-push-{uuid.uuid4().hex}"
        )
        self._google_credential = certificate.get_credential()
        self._token_lock = asyncio.Lock()
        service = _messaging_service(self._app)
        self._client = _without_retries(service, timeout_s)
        if endpoint is not None:
            _point_at(service, self._app, endpoint)
        if max_in_flight is None:
            plain_http = endpoint is not None and endpoint.startswith("http://")
            max_in_flight = PLAIN_HTTP_IN_FLIGHT if plain_http else FCM_BATCH_LIMIT
        self._chunk = max(1, min(max_in_flight, FCM_BATCH_LIMIT))

    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        if not messages:
            return []
        failure = await self._ensure_access_token()
        if failure is not None:
            return [failure] * len(messages)
        results: list[PushResult] = []
        for start in range(0, len(messages), self._chunk):
            chunk = messages[start : start + self._chunk]
            try:
                response = await messaging.send_each_async(_fcm_messages(chunk), dry_run=False, app=self._app)
            except exceptions.FirebaseError as exc:
                # Something the SDK did not expect ended the whole batch; some of it may have been sent.
                logger.warning("FCM batch of %d failed: %s", len(chunk), exc)
                results.extend([_batch_failure(exc)] * len(chunk))
                continue
            results.extend(_result(sent) for sent in response.responses)
        return results

    async def aclose(self) -> None:
        """Close the HTTP client on this loop, then delete the app from a thread.

        ``delete_app`` closes the messaging client with ``asyncio.run``, which cannot run inside an event loop; once
        the client is closed here, its second close in the thread is a no-op.
        """
        await self._client.aclose()
        await asyncio.to_thread(firebase_admin.delete_app, self._app)

    async def _ensure_access_token(self) -> PushResult | None:
        """Fetch or renew the OAuth2 access token in a thread.

        Left to firebase-admin, the renewal is a blocking ``requests`` call inside the event loop, once an hour.
        """
        if self._google_credential.token_state is TokenState.FRESH:
            return None
        async with self._token_lock:
            if self._google_credential.token_state is TokenState.FRESH:
                return None
            try:
                await asyncio.to_thread(self._google_credential.refresh, auth_requests.Request())
            except auth_exceptions.GoogleAuthError as exc:
                logger.warning("FCM access token not obtained: %s", exc)
                return _auth_failure(exc)
        return None


def _messaging_service(app: firebase_admin.App) -> Any:
    """firebase-admin's messaging service of ``app``, the one ``messaging.send_each_async`` sends through (made by
    this same accessor on first use), after checking it still has the two attributes changed here."""
    service = messaging._get_messaging_service(app)
    for name, kind in (("_async_client", _http_client.HttpxAsyncClient), ("_fcm_url", str)):
        if not isinstance(getattr(service, name, None), kind):
            raise RuntimeError(
                f"firebase-admin {firebase_admin.__version__}: the messaging service has no {name} "
                f"({kind.__name__}) any more; see domain/adapters/push.py"
            )
    return service


def _without_retries(service: Any, timeout_s: float) -> _http_client.HttpxAsyncClient:
    """Send each message once: a 503 or 500 comes back at once as TRANSIENT, and the outbox waits and retries.

    firebase-admin's own client tries a message 5 times over ~7 s on 500 and 503. In an outage that holds a
    claimed batch many times longer than its lease (another run retakes it, and FCM gets the messages again once
    it is back), and the waits are spent inside one job instead of on the outbox's backoff, which grows and
    follows FCM's Retry-After. The service's async client is replaced by one without status retries.
    """
    client = _http_client.HttpxAsyncClient(
        credential=service._credential, timeout=math.ceil(timeout_s), retry_config=HttpxRetry(max_retries=0)
    )
    service._async_client = client
    return client


def _point_at(service: Any, app: firebase_admin.App, endpoint: str) -> None:
    """Send this app's messages to ``endpoint`` instead of https://fcm.googleapis.com: the service formats its URL
    once, when it is made, and ``send_each_async`` posts to it."""
    service._fcm_url = f"{endpoint.rstrip('/')}/v1/projects/{app.project_id}/messages:send"


def _fcm_messages(chunk: Sequence[PushMessage]) -> list[messaging.Message]:
    with warnings.catch_warnings():
        # firebase-admin 7 deprecates `token` for Firebase installation ids; the apps register FCM registration
        # tokens, which the FCM v1 API still takes.
        warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
        return [
            messaging.Message(
                token=message.token,
                notification=messaging.Notification(title=message.title, body=message.body),
                data=dict(message.data),
            )
            for message in chunk
        ]


def _result(sent: messaging.SendResponse) -> PushResult:
    if sent.success:
        return PushResult(PushOutcome.DELIVERED, message_id=sent.message_id)
    exc: exceptions.FirebaseError = sent.exception
    response = exc.http_response
    status = response.status_code if response is not None else None
    fcm_code, bad_fields = _error_details(response)
    outcome = classify(platform_code=exc.code, fcm_code=fcm_code, http_status=status, bad_fields=bad_fields)
    if outcome is PushOutcome.FAILED:
        logger.warning("FCM refused a message for good: %s %s", fcm_code or exc.code, exc)
    return PushResult(outcome, error=fcm_code or exc.code, retry_after_s=_retry_after(response))


def classify(
    *, platform_code: str, fcm_code: str | None, http_status: int | None, bad_fields: frozenset[str]
) -> PushOutcome:
    """What to do about a message FCM did not accept (see the module's docstring)."""
    if fcm_code == "UNREGISTERED":
        return PushOutcome.UNREGISTERED
    if fcm_code == "INVALID_ARGUMENT" and bad_fields <= {"message.token"}:
        return PushOutcome.UNREGISTERED
    if platform_code in TRANSIENT_CODES or fcm_code in TRANSIENT_CODES:
        return PushOutcome.TRANSIENT
    if http_status is None or http_status >= 500 or http_status in (408, 429):
        return PushOutcome.TRANSIENT
    return PushOutcome.FAILED


def _error_details(response: Any) -> tuple[str | None, frozenset[str]]:
    """The FcmError code and the fields a google.rpc.BadRequest names, from an FCM v1 error body."""
    if response is None:
        return None, frozenset()
    try:
        error = response.json().get("error") or {}
        details = error.get("details") or []
    except (ValueError, AttributeError):
        return None, frozenset()
    fcm_code = None
    fields: set[str] = set()
    for detail in details:
        if not isinstance(detail, dict):
            continue
        if detail.get("@type") == FCM_ERROR_TYPE:
            fcm_code = detail.get("errorCode")
        elif detail.get("@type") == BAD_REQUEST_TYPE:
            fields.update(str(violation.get("field", "")) for violation in detail.get("fieldViolations") or [])
    return fcm_code, frozenset(fields)


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    return float(value) if value and value.strip().isdigit() else None


def _batch_failure(exc: exceptions.FirebaseError) -> PushResult:
    cause = exc.cause
    if isinstance(cause, auth_exceptions.GoogleAuthError):
        return _auth_failure(cause)
    return PushResult(PushOutcome.TRANSIENT, error=exc.code)


def _auth_failure(exc: auth_exceptions.GoogleAuthError) -> PushResult:
    """No access token: transient when the token endpoint could not be reached or said to try again; a refused key
    (``invalid_grant``) stays refused until someone fixes the credentials."""
    transient = isinstance(exc, auth_exceptions.TransportError) or exc.retryable
    return PushResult(PushOutcome.TRANSIENT if transient else PushOutcome.FAILED, error="ACCESS_TOKEN")


def _token_hint(token: str) -> str:
    """Enough of a device token to tell two apart in a log, not enough to send to it."""
    return f"…{token[-6:]}"
