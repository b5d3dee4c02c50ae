"""Push through firebase-admin against a local FCM (tests/fakes/fcm.py): no database, no Google."""

from __future__ import annotations

import inspect
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import firebase_admin
import pytest
from firebase_admin import _http_client, credentials, messaging
from firebase_admin._retry import HttpxRetry

from domain.adapters.push import (
    FCM_BATCH_LIMIT,
    OUTBOX_ID_KEY,
    FcmPushSender,
    LogOnlyPushSender,
    PushMessage,
    PushOutcome,
    PushSender,
    create_push_sender,
)
from tests.fakes.fcm import FakeFcm


@pytest.fixture
def fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture
async def sender(fcm: FakeFcm, tmp_path: Path) -> AsyncIterator[PushSender]:
    sender = create_push_sender(fcm.write_service_account(tmp_path), fcm.url)
    yield sender
    await sender.aclose()


def push(n: int, **data: str) -> PushMessage:
    return PushMessage(
        token=f"device-token-{n:05d}",
        title=f"Laporan #{n} ditindaklanjuti",
        body="Petugas kelurahan sedang menangani laporan Anda",
        data={OUTBOX_ID_KEY: f"outbox-{n}", **data},
    )


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_the_message_arrives_as_sent_with_its_outbox_id(fcm: FakeFcm, sender: PushSender) -> None:
    message = push(1, report_id="7d1c5a0e", kind="status_changed")

    results = await sender.send([message])

    assert isinstance(sender, FcmPushSender)
    [received] = fcm.received
    assert results[0].outcome is PushOutcome.DELIVERED
    assert results[0].message_id == received.name
    assert received.message == {
        "token": "device-token-00001",
        "notification": {
            "title": "Laporan #1 ditindaklanjuti",
            "body": "Petugas kelurahan sedang menangani laporan Anda",
        },
        "data": {"outbox_id": "outbox-1", "report_id": "7d1c5a0e", "kind": "status_changed"},
    }


async def test_the_access_token_is_fetched_once_and_reused(fcm: FakeFcm, sender: PushSender) -> None:
    await sender.send([push(1)])
    await sender.send([push(2), push(3)])

    assert fcm.token_requests == 1
    assert fcm.send_requests == 3


async def test_more_than_one_fcm_batch_is_split_and_answered_in_order(fcm: FakeFcm, tmp_path: Path) -> None:
    # The batch size used against FCM itself (send_each_async refuses more than 500); slow over HTTP/1.1.
    sender = FcmPushSender(fcm.write_service_account(tmp_path), endpoint=fcm.url, max_in_flight=FCM_BATCH_LIMIT)
    messages = [push(n) for n in range(1200)]

    try:
        results = await sender.send(messages)
    finally:
        await sender.aclose()

    token_by_name = {received.name: received.token for received in fcm.received}
    assert [result.outcome for result in results] == [PushOutcome.DELIVERED] * 1200, {
        (r.outcome, r.error) for r in results
    }
    assert [token_by_name[result.message_id or ""] for result in results] == [m.token for m in messages]
    assert fcm.send_requests == 1200


async def test_dead_tokens_are_reported_for_pruning_and_the_rest_delivered(fcm: FakeFcm, sender: PushSender) -> None:
    messages = [push(n) for n in range(10)]
    fcm.mark_unregistered(messages[3].token, messages[7].token)
    fcm.mark_malformed(messages[5].token)

    results = await sender.send(messages)

    assert [(r.outcome, r.error) for r in results] == [
        (PushOutcome.DELIVERED, None),
        (PushOutcome.DELIVERED, None),
        (PushOutcome.DELIVERED, None),
        (PushOutcome.UNREGISTERED, "UNREGISTERED"),
        (PushOutcome.DELIVERED, None),
        (PushOutcome.UNREGISTERED, "INVALID_ARGUMENT"),
        (PushOutcome.DELIVERED, None),
        (PushOutcome.UNREGISTERED, "UNREGISTERED"),
        (PushOutcome.DELIVERED, None),
        (PushOutcome.DELIVERED, None),
    ]
    assert sorted(received.token or "" for received in fcm.received) == [
        messages[n].token for n in (0, 1, 2, 4, 6, 8, 9)
    ]


async def test_a_503_is_transient_at_once_and_a_later_send_delivers(fcm: FakeFcm, sender: PushSender) -> None:
    fcm.go_down(requests=1)
    [failed] = await sender.send([push(1)])  # one request: the outbox's backoff does the waiting, not the SDK
    requests_while_down = fcm.send_requests

    [retried] = await sender.send([push(1)])

    assert (failed.outcome, failed.error) == (PushOutcome.TRANSIENT, "UNAVAILABLE")
    assert requests_while_down == 1
    assert retried.outcome is PushOutcome.DELIVERED
    assert [received.data[OUTBOX_ID_KEY] for received in fcm.received] == ["outbox-1"]


async def test_a_lasting_outage_answers_a_whole_batch_at_once(fcm: FakeFcm, sender: PushSender) -> None:
    fcm.go_down(status=500)

    results = await sender.send([push(n) for n in range(50)])

    assert {(r.outcome, r.error) for r in results} == {(PushOutcome.TRANSIENT, "INTERNAL")}
    assert fcm.send_requests == 50
    assert fcm.received == []


async def test_quota_exceeded_is_transient_with_fcm_retry_after(fcm: FakeFcm, sender: PushSender) -> None:
    fcm.go_down(status=429, retry_after_s=30)

    [result] = await sender.send([push(1)])

    assert (result.outcome, result.error, result.retry_after_s) == (PushOutcome.TRANSIENT, "QUOTA_EXCEEDED", 30.0)
    assert fcm.send_requests == 1


async def test_credentials_of_another_project_fail_without_pruning(fcm: FakeFcm, tmp_path: Path) -> None:
    sender = create_push_sender(fcm.write_service_account(tmp_path, project_id="someone-else"), fcm.url)

    try:
        [result] = await sender.send([push(1)])
    finally:
        await sender.aclose()

    assert (result.outcome, result.error) == (PushOutcome.FAILED, "PERMISSION_DENIED")
    assert fcm.received == []


async def test_fcm_refusing_connections_is_transient(fcm: FakeFcm, tmp_path: Path) -> None:
    sender = create_push_sender(fcm.write_service_account(tmp_path), closed_port_url())

    try:
        results = await sender.send([push(1), push(2)])
    finally:
        await sender.aclose()

    assert [(r.outcome, r.error) for r in results] == [(PushOutcome.TRANSIENT, "UNAVAILABLE")] * 2
    assert fcm.token_requests == 1


async def test_no_access_token_when_the_token_endpoint_is_unreachable_is_transient(tmp_path: Path) -> None:
    with FakeFcm() as fcm:
        credentials_file = fcm.write_service_account(tmp_path)
        endpoint = fcm.url
    sender = create_push_sender(credentials_file, endpoint)

    try:
        results = await sender.send([push(1), push(2)])
    finally:
        await sender.aclose()

    assert [(r.outcome, r.error) for r in results] == [(PushOutcome.TRANSIENT, "ACCESS_TOKEN")] * 2


async def test_without_credentials_pushes_only_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    sender = create_push_sender(None, None)
    caplog.set_level(logging.INFO, logger="domain.adapters.push")

    results = await sender.send([push(1), push(2)])

    assert isinstance(sender, LogOnlyPushSender)
    assert [r.outcome for r in results] == [PushOutcome.SKIPPED, PushOutcome.SKIPPED]
    logged = [record.getMessage() for record in caplog.records]
    assert len(logged) == 2
    assert "outbox-1" in logged[0]
    assert "outbox-2" in logged[1]
    assert "device-token-00001" not in logged[0]


def test_the_private_hooks_into_firebase_admin_are_still_there(fcm: FakeFcm, tmp_path: Path) -> None:
    """domain/adapters/push.py changes firebase-admin's messaging service where it has no setting (its docstring
    says why); pyproject.toml pins the tested versions. A release that moves any of this fails here, by name."""
    # the accessor send_each_async sends through, and what it sends with
    assert "_get_messaging_service(app).send_each_async(" in inspect.getsource(messaging.send_each_async)
    sending = inspect.getsource(messaging._MessagingService.send_each_async)
    assert "self._async_client.request(" in sending
    assert "url=self._fcm_url" in sending
    # the client made in its place, and the retry policy that turns its retries off
    assert {"credential", "timeout", "retry_config"} <= set(inspect.signature(_http_client.HttpxAsyncClient).parameters)
    assert "max_retries" in inspect.signature(HttpxRetry).parameters

    app = firebase_admin.initialize_app(
        credentials.Certificate(str(fcm.write_service_account(tmp_path))), name=f"hooks-{uuid.uuid4().hex}"
    )
    try:
        service = messaging._get_messaging_service(app)
        assert isinstance(service._async_client, _http_client.HttpxAsyncClient)
        assert service._fcm_url == f"https://fcm.googleapis.com/v1/projects/{fcm.project_id}/messages:send"
        assert service._credential is app.credential.get_credential()
    finally:
        firebase_admin.delete_app(app)


def test_a_message_without_its_outbox_id_is_refused() -> None:
    with pytest.raises(ValueError, match=OUTBOX_ID_KEY):
        PushMessage(token="device-token", title="t", body="b", data={"report_id": "7d1c5a0e"})
