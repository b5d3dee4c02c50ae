"""A local Firebase Cloud Messaging: the FCM HTTP v1 send API and the OAuth2 token endpoint firebase-admin calls.

firebase-admin signs a JWT with the service account's private key and trades it at the account's ``token_uri`` for
an access token, then posts each message to ``/v1/projects/{project}/messages:send`` with that token. This server
does both on 127.0.0.1 with an ephemeral port, checks what a real FCM would reject (the JWT signature, the bearer
token, the project, the JSON shape) and records every message it accepts. It can be told that tokens are
unregistered or malformed, and can be put down (503 UNAVAILABLE, or another status) for a number of requests.

    with FakeFcm() as fcm:
        credentials_file = fcm.write_service_account(tmp_path)
        sender = create_push_sender(credentials_file, fcm.url)
"""

from __future__ import annotations

import itertools
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# google-auth signs for Google's token endpoint whatever the key file's token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Either scope lets a service account send through FCM; firebase-admin asks for cloud-platform.
SEND_SCOPES = frozenset(
    {"https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"}
)
MESSAGE_FIELDS = frozenset(
    {"name", "data", "notification", "android", "webpush", "apns", "fcm_options", "token", "topic", "condition"}
)
NOTIFICATION_FIELDS = frozenset({"title", "body", "image"})
TARGETS = ("token", "topic", "condition")
# The failure FCM answers with for each status the fake can be put down with: (status, FCM error code).
OUTAGES = {
    429: ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
    500: ("INTERNAL", "INTERNAL"),
    503: ("UNAVAILABLE", "UNAVAILABLE"),
}


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the fake accepted: the name it answered with and the ``message`` object as posted."""

    name: str
    message: dict[str, Any]

    @property
    def token(self) -> str | None:
        return self.message.get("token")

    @property
    def notification(self) -> dict[str, str]:
        return dict(self.message.get("notification") or {})

    @property
    def data(self) -> dict[str, str]:
        return dict(self.message.get("data") or {})


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


class _Rejected(Exception):
    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (a worker killed mid-request) is part of the tests, not a fault of the fake.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeFcm:
    def __init__(self, *, project_id: str = "jsc-test", token_lifetime_s: int = 3600) -> None:
        self.project_id = project_id
        self.token_lifetime_s = token_lifetime_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._public_keys: dict[str, Any] = {}
        self._access_tokens: dict[str, float] = {}
        self._unregistered: set[str] = set()
        self._malformed: set[str] = set()
        self._outage_status = 503
        self._outage_left: int | None = 0  # None: down until `go_up`
        self._outage_retry_after: int | None = None
        self._hang_s = 0.0
        self._received: list[ReceivedMessage] = []
        self._send_requests = 0
        self._token_requests = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle

    def start(self) -> FakeFcm:
        """Serve from a background thread. The stdlib server with HTTP/1.1 keep-alive answers ~8,500 requests/s
        from another process, far more than firebase-admin sends; uvicorn on a second event loop in this process
        was slower here, its loop and the caller's handing the GIL back and forth."""
        server = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        server.daemon_threads = True
        # The default backlog of 5 drops connections when a batch opens a hundred at once.
        server.request_queue_size = 1024
        server.server_bind()
        server.server_activate()
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeFcm:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The origin to use in place of ``https://fcm.googleapis.com``."""
        if self._server is None:
            raise RuntimeError("FakeFcm is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # --- set-up

    def write_service_account(self, directory: Path, *, project_id: str | None = None) -> Path:
        """A service-account key file whose ``token_uri`` is this server; its public key is trusted here.

        Another ``project_id`` than the fake's gives credentials FCM answers 403 PERMISSION_DENIED to.
        """
        project_id = project_id or self.project_id
        email = f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com"
        key = _private_key()
        with self._lock:
            self._public_keys[email] = key.public_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        info = {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": email,
            "client_id": "100000000000000000000",
            "auth_uri": f"{self.url}/auth",
            "token_uri": self.token_uri,
        }
        path = directory / f"service-account-{project_id}.json"
        path.write_text(json.dumps(info))
        return path

    def mark_unregistered(self, *tokens: str) -> None:
        """Answer 404 NOT_FOUND / UNREGISTERED for these tokens, as FCM does once an app is uninstalled."""
        with self._lock:
            self._unregistered.update(tokens)

    def mark_malformed(self, *tokens: str) -> None:
        """Answer 400 INVALID_ARGUMENT with an FcmError detail, as FCM does for a token that is not one."""
        with self._lock:
            self._malformed.update(tokens)

    def go_down(self, *, requests: int | None = None, status: int = 503, retry_after_s: int | None = None) -> None:
        """Fail the next ``requests`` send requests (all of them when None) with 503, 500 or 429."""
        if status not in OUTAGES:
            raise ValueError(f"the fake can only go down with one of {sorted(OUTAGES)}")
        with self._lock:
            self._outage_status = status
            self._outage_left = requests
            self._outage_retry_after = retry_after_s

    def hang(self, seconds: float) -> None:
        """Hold every send request this long before answering it (0: answer at once): a slow FCM, or a worker
        caught in the middle of a delivery."""
        with self._lock:
            self._hang_s = seconds

    def go_up(self) -> None:
        with self._lock:
            self._outage_left = 0

    def reset(self) -> None:
        """Forget messages, counts, marked tokens and outages; keep keys and issued access tokens."""
        with self._lock:
            self._received.clear()
            self._unregistered.clear()
            self._malformed.clear()
            self._outage_left = 0
            self._send_requests = self._token_requests = 0

    # --- what happened

    @property
    def received(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._received)

    @property
    def send_requests(self) -> int:
        """Every request to the send API, answered with a message or an error."""
        with self._lock:
            return self._send_requests

    @property
    def token_requests(self) -> int:
        with self._lock:
            return self._token_requests

    # --- the two endpoints

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        try:
            if method == "POST" and path == "/token":
                return self._issue_token(headers, body)
            if method == "POST" and path.startswith("/v1/projects/") and path.endswith("/messages:send"):
                return self._send(path, headers, body)
            return _error(404, "NOT_FOUND", f"no such endpoint: {method} {path}")
        except _Rejected as rejected:
            return rejected.reply

    def _issue_token(self, headers: dict[str, str], body: bytes) -> _Reply:
        with self._lock:
            self._token_requests += 1
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request", "expected a form-encoded body")
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return _oauth_error("unsupported_grant_type", "only the JWT bearer grant is supported")
        assertion = form.get("assertion", "")
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
            with self._lock:
                public_key = self._public_keys.get(issuer)
            if public_key is None:
                return _oauth_error("invalid_grant", f"unknown service account {issuer!r}")
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=["RS256"],
                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                issuer=issuer,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            return _oauth_error("invalid_grant", f"invalid JWT: {exc}")
        if not SEND_SCOPES & set(str(claims.get("scope", "")).split()):
            return _oauth_error("invalid_scope", "no scope allows sending messages")
        access_token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._access_tokens[access_token] = time.monotonic() + self.token_lifetime_s
        return _Reply(200, {"access_token": access_token, "expires_in": self.token_lifetime_s, "token_type": "Bearer"})

    def _send(self, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        with self._lock:
            self._send_requests += 1
            hang_s = self._hang_s
        if hang_s > 0:
            time.sleep(hang_s)
        self._check_bearer(headers.get("authorization", ""))
        with self._lock:
            outage = self._take_outage()
        if outage is not None:
            return outage
        project = path.removeprefix("/v1/projects/").removesuffix("/messages:send")
        if project != self.project_id:
            return _error(403, "PERMISSION_DENIED", f"the caller may not send for project {project!r}")
        message, validate_only = _parse_send_request(headers, body)
        token = message.get("token")
        with self._lock:
            unregistered = token in self._unregistered
            malformed = token in self._malformed
        if unregistered:
            return _error(404, "NOT_FOUND", "Requested entity was not found.", fcm_code="UNREGISTERED")
        if malformed:
            return _error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                fcm_code="INVALID_ARGUMENT",
            )
        if validate_only:
            return _Reply(200, {"name": f"projects/{self.project_id}/messages/fake_message_id"})
        name = f"projects/{self.project_id}/messages/0:{next(self._ids)}%{secrets.token_hex(8)}"
        with self._lock:
            self._received.append(ReceivedMessage(name=name, message=message))
        return _Reply(200, {"name": name})

    def _take_outage(self) -> _Reply | None:
        """The error the current outage answers with, counting this request against it (lock held)."""
        if self._outage_left == 0:
            return None
        if self._outage_left is not None:
            self._outage_left -= 1
        status, fcm_code = OUTAGES[self._outage_status]
        retry_after = self._outage_retry_after
        reply = _error(self._outage_status, status, "The service is currently unavailable.", fcm_code=fcm_code)
        if retry_after is not None:
            return _Reply(reply.status, reply.body, (("Retry-After", str(retry_after)),))
        return reply

    def _check_bearer(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            expires_at = self._access_tokens.get(token)
        if scheme.lower() != "bearer" or expires_at is None or expires_at < time.monotonic():
            raise _Rejected(
                _error(
                    401,
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                )
            )


def _parse_send_request(headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], bool]:
    """The ``message`` and ``validate_only`` of a send request, or a 400 for what FCM would refuse."""
    if not headers.get("content-type", "").startswith("application/json"):
        raise _Rejected(_bad_request("", "expected an application/json body"))
    try:
        request = json.loads(body)
    except ValueError:
        raise _Rejected(_bad_request("", "Invalid JSON payload received.")) from None
    if not isinstance(request, dict) or not isinstance(request.get("message"), dict):
        raise _Rejected(_bad_request("message", "a `message` object is required"))
    unknown = set(request) - {"message", "validate_only"}
    if unknown:
        raise _Rejected(_bad_request(sorted(unknown)[0], "Invalid JSON payload received. Unknown name."))
    message: dict[str, Any] = request["message"]
    unknown = set(message) - MESSAGE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise _Rejected(_bad_request(f"message.{field}", f"Unknown name \"{field}\" at 'message'."))
    targets = [target for target in TARGETS if message.get(target)]
    if len(targets) != 1:
        raise _Rejected(_bad_request("message", "exactly one of token, topic or condition is required"))
    for target in targets:
        if not isinstance(message[target], str):
            raise _Rejected(_bad_request(f"message.{target}", "must be a string"))
    notification = message.get("notification", {})
    if not isinstance(notification, dict) or set(notification) - NOTIFICATION_FIELDS:
        raise _Rejected(_bad_request("message.notification", "title, body and image only"))
    for field, value in notification.items():
        if not isinstance(value, str):
            raise _Rejected(_bad_request(f"message.notification.{field}", "must be a string"))
    data = message.get("data", {})
    if not isinstance(data, dict):
        raise _Rejected(_bad_request("message.data", "must be a map of strings"))
    for key, value in data.items():
        if not isinstance(value, str):
            raise _Rejected(_bad_request(f"message.data[{key}].value", f"Invalid value at 'message.data[{key}]'"))
        if key in {"from", "notification", "message_type"} or key.startswith(("google", "gcm")):
            raise _Rejected(_bad_request(f"message.data[{key}].key", f"Invalid data key {key!r}"))
    validate_only = request.get("validate_only", False)
    if not isinstance(validate_only, bool):
        raise _Rejected(_bad_request("validate_only", "must be a boolean"))
    return message, validate_only


def _error(code: int, status: str, message: str, *, fcm_code: str | None = None) -> _Reply:
    details = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}] if fcm_code else []
    return _Reply(code, {"error": {"code": code, "message": message, "status": status, "details": details}})


def _bad_request(field: str, description: str) -> _Reply:
    violation = {"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": field, "description": description}]}
    body = {"error": {"code": 400, "message": description, "status": "INVALID_ARGUMENT", "details": [violation]}}
    return _Reply(400, body)


def _oauth_error(error: str, description: str) -> _Reply:
    return _Reply(400, {"error": error, "error_description": description})


@cache
def _private_key() -> rsa.RSAPrivateKey:
    """One RSA key per test process: generating one takes longer than the tests that use it."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: firebase-admin reuses its connections
    disable_nagle_algorithm = True
    timeout = 60  # close idle keep-alive connections
    server_version = "FakeFcm/1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        fake: FakeFcm = self.server.fake  # type: ignore[attr-defined]
        reply = fake.handle("POST", self.path, headers, body)
        self._reply(reply)

    def do_GET(self) -> None:
        fake: FakeFcm = self.server.fake  # type: ignore[attr-defined]
        self._reply(fake.handle("GET", self.path, {}, b""))

    def _reply(self, reply: _Reply) -> None:
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status, HTTPStatus(reply.status).phrase)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark makes tens of thousands of requests."""
