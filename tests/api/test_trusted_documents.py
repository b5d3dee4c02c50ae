"""Trusted documents over HTTP and graphql-transport-ws: `documentId` (plain or "sha256:"), Apollo's persisted query
form, batches, an unknown id; with JSC_TRUSTED_DOCUMENTS_ONLY, text from the public runs only when the manifest
holds it, staff send what they like; the map's and dashboard's documents are found, valid, and trusted."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, validate
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.types import Message

from api.app import STATIC_DIR, create_app
from api.graphql import build_schema
from api.trusted_documents import ManifestError, document_id
from domain import staff
from domain.models import Report, Role
from domain.resources import Resources
from domain.settings import Settings
from scripts.trusted_documents import extract_documents, manifest_entries
from tests.api.test_workflow import TOMANG_OFFICE, staff_member
from tests.e2e.live import Subscriber
from tests.e2e.test_live_events import report_event
from tests.factories import CREATE_REPORT, TOMANG, Api, Citizen, report_input

CATEGORIES = "query TrustedCategories { categories { code } }"
ME = "query TrustedMe { me { id role } }"
# Never in the manifest: valid, and public.
UNLISTED = "query Unlisted { categories { code nameId } }"
AROUND_TOMANG = {"west": 106.77, "south": -6.19, "east": 106.81, "north": -6.15}

MAP_DOCUMENTS = extract_documents((STATIC_DIR / "map.js").read_text(), name="map.js")
MAP_BY_NAME = {parse(text).definitions[0].name.value: text for text in MAP_DOCUMENTS}  # type: ignore[attr-defined]
MANIFEST = {
    **{document_id(text): text for text in (CATEGORIES, ME, CREATE_REPORT)},
    **manifest_entries([STATIC_DIR / "map.js"]),
}


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@dataclass
class Trusted:
    app: Starlette
    api: Api


@pytest.fixture(scope="module")
def manifest_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trusted") / "trusted-documents.json"
    path.write_text(json.dumps(MANIFEST))
    return path


@pytest.fixture(scope="module")
async def trusted(settings: Settings, database: None, manifest_path: Path) -> AsyncIterator[Trusted]:
    """An API that runs trusted documents only, reading each account's state on every operation."""
    changes = {"trusted_documents_only": True, "trusted_documents_path": manifest_path, "account_state_cache_s": 0}
    app = create_app(settings.model_copy(update=changes))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test", timeout=30) as client,
    ):
        yield Trusted(app, Api(client))


async def post(api: Api, body: object, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.client.post("/graphql", json=body, headers=headers)


# --- naming a document ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "sha256:"])
async def test_a_post_names_its_document_by_id(trusted: Trusted, prefix: str) -> None:
    response = await post(trusted.api, {"documentId": prefix + document_id(CATEGORIES)})

    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    assert {"code": "flood"} in response.json()["data"]["categories"]


@pytest.mark.parametrize("prefix", ["", "sha256:"])
async def test_a_get_names_its_document_by_id(trusted: Trusted, prefix: str) -> None:
    # httpx accepts */*, as curl does: without `query`, strawberry would take the GET for a browser wanting GraphiQL.
    response = await trusted.api.client.get("/graphql", params={"documentId": prefix + document_id(CATEGORIES)})

    assert response.status_code == 200, response.text
    assert {"code": "flood"} in response.json()["data"]["categories"]


async def test_variables_and_a_token_go_with_a_document_id(trusted: Trusted, citizen: Citizen) -> None:
    response = await post(trusted.api, {"documentId": document_id(ME), "variables": {}}, citizen.token)

    assert response.json()["data"]["me"] == {"id": citizen.user_id, "role": "CITIZEN"}


async def test_apollo_persisted_queries_name_their_document(trusted: Trusted) -> None:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_id(CATEGORIES)}}

    posted = await post(trusted.api, {"extensions": extensions})
    got = await trusted.api.client.get("/graphql", params={"extensions": json.dumps(extensions)})

    for response in (posted, got):
        assert response.status_code == 200, response.text
        assert {"code": "flood"} in response.json()["data"]["categories"]


async def test_an_unknown_id_is_refused_in_every_form(trusted: Trusted) -> None:
    unknown = document_id(UNLISTED)
    responses = [
        await post(trusted.api, {"documentId": unknown}),
        await post(trusted.api, {"documentId": f"sha256:{unknown}"}),
        await trusted.api.client.get("/graphql", params={"documentId": unknown}),
        await post(trusted.api, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": unknown}}}),
    ]

    for response in responses:
        assert response.status_code == 400
        assert response.json()["data"] is None
        assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "body",
    [
        {"documentId": 5},
        {"documentId": document_id(CATEGORIES), "query": UNLISTED},
        {
            "documentId": document_id(CATEGORIES),
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(ME)}},
        },
    ],
)
async def test_an_id_that_is_not_text_or_does_not_match_is_a_bad_request(trusted: Trusted, body: object) -> None:
    response = await post(trusted.api, body)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_text_sent_with_its_own_id_runs_as_text(trusted: Trusted) -> None:
    # Apollo's second try after PERSISTED_QUERY_NOT_FOUND: the text and its hash. The text is not registered.
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_id(UNLISTED)}}

    trusted_text = await post(trusted.api, {"query": CATEGORIES, "documentId": document_id(CATEGORIES)})
    untrusted_text = await post(trusted.api, {"query": UNLISTED, "extensions": extensions})
    still_unknown = await post(trusted.api, {"extensions": extensions})

    assert "errors" not in trusted_text.json()
    assert codes(untrusted_text.json()) == ["UNTRUSTED_DOCUMENT"]
    assert codes(still_unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_batch_names_its_documents_by_id(trusted: Trusted, citizen: Citizen, resources: Resources) -> None:
    key = str(uuid.uuid4())
    batch = [
        {"documentId": document_id(CREATE_REPORT), "variables": {"input": report_input(client_request_id=key)}},
        {"documentId": f"sha256:{document_id(ME)}"},
        {"query": CATEGORIES},
    ]

    response = await post(trusted.api, batch, citizen.token)

    assert response.status_code == 200, response.text
    created, me, categories = response.json()
    assert created["data"]["createReport"]["errors"] == []
    assert me["data"]["me"]["id"] == citizen.user_id
    assert {"code": "flood"} in categories["data"]["categories"]
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(func.count()).where(Report.client_request_id == key)) == 1


async def test_a_batch_naming_an_unknown_document_runs_none_of_it(
    trusted: Trusted, citizen: Citizen, resources: Resources
) -> None:
    key = str(uuid.uuid4())
    batch = [
        {"documentId": document_id(CREATE_REPORT), "variables": {"input": report_input(client_request_id=key)}},
        {"documentId": document_id(UNLISTED)},
    ]

    response = await post(trusted.api, batch, citizen.token)

    assert response.status_code == 400
    assert codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(func.count()).where(Report.client_request_id == key)) == 0


# --- trusted documents only ---------------------------------------------------------------------------------


async def test_the_public_cannot_send_text_the_apps_do_not_send(trusted: Trusted, citizen: Citizen) -> None:
    anonymous = await post(trusted.api, {"query": UNLISTED})
    as_citizen = await post(trusted.api, {"query": UNLISTED}, citizen.token)
    with_a_bad_token = await post(trusted.api, {"query": UNLISTED}, "not-a-token")
    # What the text gets wrong is not told either.
    invalid = await post(trusted.api, {"query": "query { noSuchField }"})

    for response in (anonymous, as_citizen, with_a_bad_token, invalid):
        assert response.status_code == 200
        assert response.json()["data"] is None
        assert codes(response.json()) == ["UNTRUSTED_DOCUMENT"]


async def test_a_citizen_sends_the_text_of_a_trusted_document(trusted: Trusted, citizen: Citizen) -> None:
    response = await post(trusted.api, {"query": ME}, citizen.token)

    assert "errors" not in response.json()
    assert response.json()["data"]["me"] == {"id": citizen.user_id, "role": "CITIZEN"}


async def test_a_batch_refuses_only_its_untrusted_text(trusted: Trusted) -> None:
    response = await post(trusted.api, [{"query": CATEGORIES}, {"query": UNLISTED}])

    trusted_one, untrusted_one = response.json()
    assert {"code": "flood"} in trusted_one["data"]["categories"]
    assert codes(untrusted_one) == ["UNTRUSTED_DOCUMENT"]


@pytest.mark.parametrize(("role", "unit"), [(Role.OFFICER, TOMANG_OFFICE), (Role.AUDITOR, None), (Role.ADMIN, None)])
async def test_staff_send_any_text(
    trusted: Trusted, api: Api, resources: Resources, role: Role, unit: str | None
) -> None:
    member = await staff_member(api, resources, role, unit)

    response = await post(trusted.api, {"query": UNLISTED}, member.token)

    assert "errors" not in response.json(), response.json()
    assert {"code": "flood", "nameId": "Bencana banjir"} in response.json()["data"]["categories"]


async def test_the_token_of_a_closed_staff_account_counts_as_none(
    trusted: Trusted, api: Api, resources: Resources
) -> None:
    # given an officer whose text runs
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    assert "errors" not in (await post(trusted.api, {"query": UNLISTED}, officer.token)).json()

    # when the account is closed
    async with resources.unit_of_work() as session:
        claims_user = uuid.UUID(officer.user_id)
        await staff.close_staff_account(
            session, actor_id=None, user_id=claims_user, reason="Akun bocor", now=datetime.now(UTC)
        )

    # then its unlisted text is refused as anyone's, and a trusted document still runs for it, as for anyone
    refused = await post(trusted.api, {"query": UNLISTED}, officer.token)
    allowed = await post(trusted.api, {"query": CATEGORIES}, officer.token)
    assert codes(refused.json()) == ["UNTRUSTED_DOCUMENT"]
    assert "errors" not in allowed.json()


async def test_without_the_rule_any_text_runs_and_ids_still_name_documents(
    settings: Settings, database: None, manifest_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"trusted_documents_path": manifest_path}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client,
    ):
        text = await client.post("/graphql", json={"query": UNLISTED})
        named = await client.post("/graphql", json={"documentId": document_id(CATEGORIES)})

    assert settings.trusted_documents_only is False  # the test environment's default
    assert "errors" not in text.json()
    assert "errors" not in named.json()


# --- the manifest -------------------------------------------------------------------------------------------


def test_a_manifest_entry_that_does_not_hash_to_its_id_stops_the_start(settings: Settings, tmp_path: Path) -> None:
    wrong = "0" * 64
    path = tmp_path / "trusted-documents.json"
    path.write_text(json.dumps({document_id(CATEGORIES): CATEGORIES, wrong: UNLISTED}))

    with pytest.raises(ManifestError, match=f"the document '{wrong}' does not hash to its id"):
        create_app(settings.model_copy(update={"trusted_documents_path": path}))


# --- graphql-transport-ws -----------------------------------------------------------------------------------


class AsgiSocket:
    """A WebSocket to the app in this process, speaking text frames: enough of websockets' client for Subscriber."""

    def __init__(self, app: Starlette, token: str | None) -> None:
        headers = [(b"host", b"api.test")]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("api.test", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "headers": headers,
            "subprotocols": ["graphql-transport-ws"],
        }
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsgiSocket:
        self.task = asyncio.create_task(self.app(self.scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        async with asyncio.timeout(10):
            accepted = await self.from_app.get()
        assert accepted["type"] == "websocket.accept", accepted
        await self.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await self.recv())["type"] == "connection_ack"
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def send(self, text: str) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": text})

    async def recv(self) -> str:
        message = await self.from_app.get()
        assert message["type"] == "websocket.send", message
        text: str = message["text"]
        return text

    async def json(self) -> dict[str, Any]:
        async with asyncio.timeout(10):
            message: dict[str, Any] = json.loads(await self.recv())
        return message

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
            async with asyncio.timeout(10):
                await self.task


def subscribe(id_: str, payload: dict[str, Any]) -> str:
    return json.dumps({"id": id_, "type": "subscribe", "payload": payload})


async def registered_map_events(socket: AsgiSocket, resources: Resources, payload: dict[str, Any]) -> None:
    """Subscribes to the map's live events; returns once the server delivers them (a canary event came through)."""
    await socket.send(subscribe("1", {**payload, "variables": {"bbox": AROUND_TOMANG, "categories": None}}))
    subscriber = Subscriber(socket, "reportEvents", id_of=lambda event: str(event["report"]["id"]))  # type: ignore[arg-type]
    await subscriber.registered(
        resources, "report_events", lambda canary_id: report_event(canary_id, lat=TOMANG[0], lon=TOMANG[1])
    )


@pytest.mark.parametrize("prefix", ["", "sha256:"])
async def test_a_subscription_names_its_document_by_id(trusted: Trusted, resources: Resources, prefix: str) -> None:
    events_id = document_id(MAP_BY_NAME["MapReportEvents"])

    async with AsgiSocket(trusted.app, None) as socket:
        await registered_map_events(socket, resources, {"documentId": prefix + events_id})


async def test_a_query_over_the_socket_names_its_document_by_id(trusted: Trusted) -> None:
    async with AsgiSocket(trusted.app, None) as socket:
        await socket.send(subscribe("7", {"documentId": document_id(CATEGORIES)}))
        answer = await socket.json()
        completed = await socket.json()

    assert answer["type"] == "next"
    assert answer["id"] == "7"
    assert {"code": "flood"} in answer["payload"]["data"]["categories"]
    assert completed == {"id": "7", "type": "complete"}


async def test_an_unknown_id_over_the_socket_is_that_operation_s_error(trusted: Trusted) -> None:
    async with AsgiSocket(trusted.app, None) as socket:
        await socket.send(subscribe("1", {"documentId": document_id(UNLISTED)}))
        refused = await socket.json()
        # the connection stays
        await socket.send(json.dumps({"type": "ping"}))
        pong = await socket.json()

    assert refused["type"] == "error"
    assert refused["id"] == "1"
    assert [error["extensions"]["code"] for error in refused["payload"]] == ["PERSISTED_QUERY_NOT_FOUND"]
    assert pong == {"type": "pong"}


async def test_untrusted_subscription_text_is_refused_to_the_public_over_the_socket(
    trusted: Trusted, citizen: Citizen
) -> None:
    unlisted = "subscription Unlisted { reportEvents { kind } }"

    async with AsgiSocket(trusted.app, None) as anonymous:
        await anonymous.send(subscribe("1", {"query": unlisted}))
        refused_anonymous = await anonymous.json()
    async with AsgiSocket(trusted.app, citizen.token) as as_citizen:
        await as_citizen.send(subscribe("1", {"query": unlisted}))
        refused_citizen = await as_citizen.json()

    for refused in (refused_anonymous, refused_citizen):
        assert refused["type"] == "error"
        assert [error["extensions"]["code"] for error in refused["payload"]] == ["UNTRUSTED_DOCUMENT"]


async def test_staff_subscribe_with_any_text(trusted: Trusted, api: Api, resources: Resources) -> None:
    officer = await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)
    unlisted = "subscription Unlisted($bbox: BBoxInput) { reportEvents(bbox: $bbox) { kind report { id } } }"

    async with AsgiSocket(trusted.app, officer.token) as socket:
        await registered_map_events(socket, resources, {"query": unlisted})


# --- the pages' own documents -------------------------------------------------------------------------------

PAGE_OPERATIONS = {
    "map.js": {"MapCategories", "MapReport", "MapReportEvents"},
    "dashboard.js": {
        "DashboardLogIn",
        "DashboardRefresh",
        "DashboardLogOut",
        "DashboardCategories",
        "DashboardLeaderboard",
        "DashboardTimeSeries",
        "DashboardOverdue",
        "DashboardKelurahanOverdue",
    },
    "live.js": set(),
}
# Anything in a page's source that reads like the start of a GraphQL operation.
OPERATION_START = re.compile(r"\b(?:query|mutation|subscription)\s+([A-Za-z_]\w*)\s*[({]")


@pytest.mark.parametrize("page", sorted(PAGE_OPERATIONS))
def test_every_document_of_a_page_is_marked_and_valid(settings: Settings, page: str) -> None:
    source = (STATIC_DIR / page).read_text()
    schema = build_schema(settings)._schema

    documents = [parse(text) for text in extract_documents(source, name=page)]

    names = {
        d.name.value for doc in documents for d in doc.definitions if isinstance(d, OperationDefinitionNode) and d.name
    }
    assert names == PAGE_OPERATIONS[page]
    assert set(OPERATION_START.findall(source)) == names  # none is left unmarked
    for document in documents:
        assert validate(schema, document) == []


async def test_the_map_s_documents_run_as_the_page_sends_them(
    trusted: Trusted, api: Api, citizen: Citizen, resources: Resources
) -> None:
    # given a report to show, and the API running trusted documents only
    report = (await api.create_report(citizen))["report"]

    # when the anonymous map sends its texts, as map.js and live.js do: {query, variables}
    categories = await post(trusted.api, {"query": MAP_BY_NAME["MapCategories"], "variables": {}})
    detail = await post(trusted.api, {"query": MAP_BY_NAME["MapReport"], "variables": {"id": report["id"]}})

    # then they run, and so does the live subscription
    assert "errors" not in categories.json()
    assert {"code": "flood", "nameId": "Bencana banjir", "nameEn": "Flood"} in categories.json()["data"]["categories"]
    assert detail.json()["data"]["report"]["id"] == report["id"]
    async with AsgiSocket(trusted.app, None) as socket:
        await registered_map_events(socket, resources, {"query": MAP_BY_NAME["MapReportEvents"]})
