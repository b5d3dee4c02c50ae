"""No secret, token or password reaches a log line, whatever the log level.

Every logger is captured at DEBUG (the root and the SDKs' own: SQLAlchemy, botocore, httpx, procrastinate,
firebase-admin and google-auth) while the flows that handle secrets run, and each record is formatted with its
traceback and its extra fields, as a JSON log shipper would send them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
import websockets
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from domain import notifications, push_delivery
from domain.adapters.push import create_push_sender
from domain.jobs import JobBuffer
from domain.models import Role
from domain.resources import Resources
from domain.security import AccessClaims, issue_access_token
from domain.settings import Settings
from tests.factories import LOG_IN, REFRESH, REPORT, REQUEST_UPLOAD, Api, jpeg_with_gps, report_input
from tests.fakes.fcm import FakeFcm

# Loggers that would stay quiet or keep their records to themselves unless told otherwise.
SDK_LOGGERS = (
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "asyncpg",
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "httpx",
    "httpcore",
    "procrastinate",
    "psycopg",
    "firebase_admin",
    "google",
    "google.auth",
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "strawberry",
    "api",
    "domain",
    "workers",
)

TEST_CLIENT = logging.getLogger("tests.client")
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")
ME = "query { me { id } }"
LOG_OUT = "mutation Out($token: String!) { logOut(refreshToken: $token) { ok } }"
REGISTER_DEVICE = """
mutation Register($token: String!) { registerDevice(token: $token, platform: ANDROID) { registered errors { code } } }
"""
CREATE_REPORT = """
mutation Create($input: CreateReportInput!) { createReport(input: $input) { report { id } errors { code } } }
"""
# Refuses the devices this test names, as a broken database would: an error raised while a secret is a parameter.
REFUSE_DEVICES = (
    """CREATE FUNCTION test_refuse_device() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'device store unavailable'; END $$""",
    """CREATE TRIGGER test_refuse_device BEFORE INSERT ON devices
    FOR EACH ROW WHEN (NEW.token LIKE 'refused-%') EXECUTE FUNCTION test_refuse_device()""",
)
ACCEPT_DEVICES = ("DROP TRIGGER test_refuse_device ON devices", "DROP FUNCTION test_refuse_device()")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        """Each record as a shipper would send it: the message, the traceback and every extra field."""
        standard = set(vars(logging.makeLogRecord({})))
        out = []
        for record in self.records:
            extra = {k: v for k, v in vars(record).items() if k not in standard and k not in {"message", "asctime"}}
            out.append(self.format(record) + (f" {extra!r}" if extra else ""))
        return out


@pytest.fixture
def logs() -> Iterator[Capture]:
    capture = Capture()
    touched = [logging.getLogger(), *(logging.getLogger(name) for name in SDK_LOGGERS)]
    saved = [(logger, logger.level, logger.propagate) for logger in touched]
    for logger in touched:
        logger.setLevel(logging.DEBUG)
    # google-auth stops its records at "google" unless someone configured that logger; a handler there catches them.
    quiet = [logging.getLogger(), *(logger for logger in touched if not logger.propagate)]
    for logger in quiet:
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger in quiet:
            logger.removeHandler(capture)
        for logger, level, propagate in saved:
            logger.setLevel(level)
            logger.propagate = propagate


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


async def test_no_secret_reaches_a_log_line(
    api: Api,
    resources: Resources,
    settings: Settings,
    run_jobs: Callable[[], Awaitable[None]],
    fcm: FakeFcm,
    tmp_path: Path,
    logs: Capture,
) -> None:
    # given: the secrets of a session, a device, an upload and the services
    password, wrong_password = f"sandi-{secrets.token_hex(12)}", f"salah-{secrets.token_hex(12)}"
    device, refused_device = f"device-{secrets.token_hex(16)}", f"refused-{secrets.token_hex(16)}"
    credentials_file = fcm.write_service_account(tmp_path)
    private_key = json.loads(credentials_file.read_text())["private_key"]
    sender = create_push_sender(credentials_file, fcm.url)
    email = f"rahasia-{uuid.uuid4().hex[:12]}@example.id"

    # when: every flow that handles them runs
    citizen = await api.sign_up(email=email, password=password)
    logged_in = (await api.gql(LOG_IN, {"login": email, "password": password}))["data"]["logIn"]
    refused = (await api.gql(LOG_IN, {"login": email, "password": wrong_password}))["data"]["logIn"]
    refreshed = (await api.gql(REFRESH, {"token": logged_in["session"]["refreshToken"]}))["data"]["refreshToken"]
    logged_out = await api.gql(LOG_OUT, {"token": refreshed["session"]["refreshToken"]})
    expired = issue_access_token(
        settings, AccessClaims(uuid.UUID(citizen.user_id), Role.CITIZEN, None), datetime.now(UTC) - timedelta(hours=1)
    )
    forged = issue_access_token(
        settings.model_copy(update={"jwt_secret": SecretStr(secrets.token_hex(32))}),
        AccessClaims(uuid.UUID(citizen.user_id), Role.ADMIN, None),
        datetime.now(UTC),
    )
    strangers = [await api.gql(ME, token=token) for token in (expired, forged, "not-a-jwt")]

    photo = jpeg_with_gps()
    asked = await api.gql(REQUEST_UPLOAD, {"contentType": "image/jpeg", "byteSize": len(photo)}, token=citizen.token)
    ticket = asked["data"]["requestPhotoUpload"]["upload"]
    async with httpx.AsyncClient() as s3:
        uploaded = await s3.post(ticket["url"], data=ticket["fields"], files={"file": ("p.jpg", photo, "image/jpeg")})
    created = (await api.gql(CREATE_REPORT, {"input": report_input(photo_keys=[ticket["key"]])}, token=citizen.token))[
        "data"
    ]["createReport"]
    registered = await api.gql(REGISTER_DEVICE, {"token": device}, token=citizen.token)
    await run_jobs()
    photos = (await api.gql(REPORT, {"id": created["report"]["id"]}, token=citizen.token))["data"]["report"]["photos"]

    async with resources.unit_of_work() as session:
        await notifications.notify_users(
            session,
            [uuid.UUID(citizen.user_id)],
            notifications.Message("STATUS_CHANGED", "Laporan Anda: Proses", "Petugas sedang menangani"),
            jobs=JobBuffer(),
            now=datetime.now(UTC) - timedelta(seconds=1),
        )
    try:
        while (await push_delivery.deliver_batch(resources.sessions, sender, settings, now=datetime.now(UTC))).claimed:
            pass
    finally:
        await sender.aclose()

    async with resources.unit_of_work() as session:
        for statement in REFUSE_DEVICES:
            await session.execute(text(statement))
    try:
        failed = await api.gql(REGISTER_DEVICE, {"token": refused_device}, token=citizen.token)
    finally:
        async with resources.unit_of_work() as session:
            for statement in ACCEPT_DEVICES:
                await session.execute(text(statement))

    # then: the secrets were really used ...
    assert refused["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert refreshed["errors"] == []
    assert logged_out["data"]["logOut"]["ok"] is True
    assert [s["data"]["me"] for s in strangers] == [None, None, None]
    assert uploaded.status_code == 204
    assert created["errors"] == []
    assert registered["data"]["registerDevice"] == {"registered": True, "errors": []}
    assert [p["status"] for p in photos] == ["READY"]
    assert device in [m.token for m in fcm.received]
    assert [e["extensions"]["code"] for e in failed["errors"]] == ["INTERNAL_SERVER_ERROR"]
    request_id = failed["errors"][0]["extensions"]["requestId"]

    secrets_used = {
        "password": password,
        "wrong password": wrong_password,
        "access token": citizen.token,
        "access token (login)": logged_in["session"]["accessToken"],
        "access token (refreshed)": refreshed["session"]["accessToken"],
        "refresh token": citizen.refresh_token,
        "refresh token (login)": logged_in["session"]["refreshToken"],
        "refresh token (refreshed)": refreshed["session"]["refreshToken"],
        "expired access token": expired,
        "forged access token": forged,
        "JWT secret": settings.jwt_secret.get_secret_value(),
        "S3 secret key": settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else "",
        "S3 access key": settings.s3_access_key_id or "",
        "PostgreSQL password": make_url(settings.database_url).password or "",
        "device token": device,
        "refused device token": refused_device,
        "upload policy": ticket["fields"]["policy"],
        "upload signature": ticket["fields"]["x-amz-signature"],
    }
    for line_number, line in enumerate(private_key.splitlines()):
        if "PRIVATE KEY" not in line:
            secrets_used[f"FCM private key, line {line_number}"] = line
    for kind in ("url", "thumbnailUrl"):
        secrets_used[f"photo {kind} signature"] = parse_qs(urlsplit(photos[0][kind]).query)["X-Amz-Signature"][0]
    # What the fake issued to firebase-admin for the OAuth2 grant (it keeps no public list of them).
    fcm_access_tokens = list(fcm._access_tokens)
    assert fcm_access_tokens
    for n, token in enumerate(fcm_access_tokens):
        secrets_used[f"FCM access token {n}"] = token
    assert all(len(value) >= 16 for value in secrets_used.values()), secrets_used

    # ... the flows logged ...
    lines = logs.lines()
    assert any(
        "unexpected error" in line and request_id in line and "device store unavailable" in line for line in lines
    )
    assert any(re.search(r"procrastinate.*photos\.process", line) for line in lines)
    assert any(line.startswith("INFO httpx HTTP Request: POST") and "messages:send" in line for line in lines)

    # ... and no line holds any of them
    assert_no_leak(lines, secrets_used)


def assert_no_leak(lines: list[str], secrets_used: dict[str, str]) -> None:
    """Neither any of ``secrets_used`` nor anything shaped like a JWT (ours, or the assertion google-auth signs
    with the service account's key) in any line."""
    found = {
        (name, line.split(" ", 2)[1], line[max(0, line.index(value) - 120) : line.index(value) + 40])
        for line in lines
        for name, value in secrets_used.items()
        if value in line
    }
    found |= {("a JWT", line.split(" ", 2)[1], match.group()) for line in lines for match in JWT.finditer(line)}
    assert sorted(found) == [], "\n".join(map(str, sorted(found)))


# auto is websockets' sans-I/O protocol; the legacy one also logs every handshake header at DEBUG.
@pytest.mark.parametrize("ws", ["auto", "websockets"])
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:The `websockets` implementation is deprecated")
async def test_uvicorn_logs_no_query_string_and_no_websocket_handshake(
    app: Starlette, api: Api, logs: Capture, ws: str
) -> None:
    # given: uvicorn serving the app at DEBUG, with its access log, as `--log-level debug` would
    citizen = await api.sign_up()
    password = f"sandi-{secrets.token_hex(12)}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="debug", ws=ws, lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started

    # when: a GET carries a query and its variables in the query string, and a WebSocket a bearer token in its
    # handshake, its URL and its connection_init
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            got = await http.get(
                "/graphql",
                params={"query": ME, "variables": json.dumps({"password": password})},
                headers={"Authorization": f"Bearer {citizen.token}"},
            )
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/graphql?access_token={citizen.refresh_token}",
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            additional_headers={"Authorization": f"Bearer {citizen.token}"},
            logger=TEST_CLIENT,
        ) as socket_:
            await socket_.send(json.dumps({"type": "connection_init", "payload": {"Authorization": citizen.token}}))
            acked = json.loads(await socket_.recv())
    finally:
        server.should_exit = True
        await serving

    # then: both were served and logged, without the query strings, headers or frames
    assert got.status_code == 200
    assert got.json()["data"]["me"]["id"] == citizen.user_id
    assert acked == {"type": "connection_ack"}
    # The test's own clients log what they send; only the server's lines are checked.
    lines = [line for line in logs.lines() if not line.split(" ", 2)[1].startswith(("httpx", "httpcore", "tests"))]
    assert any(re.search(r'uvicorn\.access .*"GET /graphql\?\[redacted\] HTTP/1\.1" 200', line) for line in lines)
    assert any(re.search(r'uvicorn\.error .*"WebSocket /graphql\?\[redacted\]" \[accepted\]', line) for line in lines)
    assert_no_leak(
        lines,
        {"password": password, "access token": citizen.token, "refresh token": citizen.refresh_token},
    )
