"""Open311 GeoReport v2: every response checked against the spec's field lists, in JSON and in XML; errors in
the spec's form with their HTTP codes; public output under the privacy rules."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from domain.models import Report, Role
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_workflow import change, staff_member
from tests.factories import TOMANG, Api, Citizen

DISCOVERY = {"changeset", "contact", "key_service", "endpoints"}
ENDPOINT = {"specification", "url", "changeset", "type", "formats"}
SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
DEFINITION = {"service_code", "attributes"}
ATTRIBUTE = {"variable", "code", "datatype", "required", "datatype_description", "order", "description", "values"}
VALUE = {"key", "name"}
REQUEST = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
POSTED = {"service_request_id", "service_notice", "account_id"}
TOKEN = {"service_request_id", "token"}
ERROR = {"code", "description"}
KEY = "test-app-key"


@pytest.fixture
async def open311(settings: Settings, database: None, api: Api) -> AsyncIterator[tuple[httpx.AsyncClient, Citizen]]:
    """The API with an api_key for an app that files as its own citizen account."""
    app_account = await api.sign_up(name="Aplikasi Warga")
    app = create_app(settings.model_copy(update={"open311_api_keys": {KEY: app_account.email}}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test/open311/v2") as client:
            yield client, app_account


def xml_rows(body: bytes, root: str, item: str) -> list[ET.Element]:
    top = ET.fromstring(body)
    assert top.tag == root
    assert all(child.tag == item for child in top)
    return list(top)


def fields(element: ET.Element) -> set[str]:
    return {child.tag for child in element}


async def both(client: httpx.AsyncClient, path: str, **params: Any) -> tuple[Any, bytes]:
    as_json = await client.get(f"{path}.json", params=params)
    as_xml = await client.get(f"{path}.xml", params=params)
    assert as_json.status_code == as_xml.status_code == 200, (as_json.text, as_xml.text)
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_xml.headers["content-type"].startswith("text/xml")
    return as_json.json(), as_xml.content


async def test_discovery_and_services_have_the_spec_fields(open311: tuple[httpx.AsyncClient, Citizen]) -> None:
    client, _ = open311
    found, xml = await both(client, "/discovery")
    assert set(found) == DISCOVERY
    assert all(set(e) == ENDPOINT for e in found["endpoints"])
    top = ET.fromstring(xml)
    assert (top.tag, fields(top)) == ("discovery", DISCOVERY)
    endpoint = top.find("endpoints/endpoint")
    assert endpoint is not None
    assert fields(endpoint) == ENDPOINT
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]

    services, xml = await both(client, "/services")
    assert len(services) == 20  # the active categories
    assert all(set(s) == SERVICE for s in services)
    rows = xml_rows(xml, "services", "service")
    assert [fields(r) for r in rows] == [SERVICE] * len(services)
    assert [r.findtext("service_code") for r in rows] == [s["service_code"] for s in services]

    definition, xml = await both(client, "/services/flood")
    assert set(definition) == DEFINITION
    assert all(set(a) == ATTRIBUTE for a in definition["attributes"])
    assert all(set(v) == VALUE for a in definition["attributes"] for v in a["values"])
    top = ET.fromstring(xml)
    assert (top.tag, fields(top)) == ("service_definition", DEFINITION)
    assert [fields(a) for a in top.findall("attributes/attribute")] == [ATTRIBUTE] * 4
    assert [a["code"] for a in definition["attributes"]] == [
        "anonymous",
        "confidential",
        "accuracy_m",
        "idempotency_key",
    ]
    assert [fields(v) for v in top.findall("attributes/attribute/values/value")] == [VALUE] * 4


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("GET", "/services/nope", None, 404),
        ("GET", "/requests/not-an-id", None, 404),
        ("GET", "/requests/a5efdc11-f11b-41e8-8127-953fd8f8f049", None, 404),
        ("GET", "/requests?start_date=yesterday", None, 400),
        ("GET", "/requests?status=maybe", None, 400),
        ("GET", "/requests?page_size=1000", None, 400),
        ("POST", "/requests", {"service_code": "garbage", "lat": "-6.17", "long": "106.79"}, 403),
        ("POST", "/requests", {"api_key": "wrong", "service_code": "garbage", "lat": "-6.17", "long": "106.79"}, 403),
        ("POST", "/requests", {"api_key": KEY, "service_code": "nope", "lat": "-6.17", "long": "106.79"}, 404),
        ("POST", "/requests", {"api_key": KEY, "service_code": "garbage"}, 400),
        ("POST", "/requests", {"api_key": KEY, "service_code": "garbage", "lat": "1.0", "long": "100.0"}, 400),
        ("POST", "/requests?api_key=wrong", {"service_code": "garbage", "lat": "-6.17", "long": "106.79"}, 403),
        ("POST", f"/requests?api_key={KEY}", {"service_code": "nope", "lat": "-6.17", "long": "106.79"}, 404),
        (
            "POST",
            "/requests",
            {
                "api_key": KEY,
                "service_code": "garbage",
                "lat": "-6.17",
                "long": "106.79",
                "attribute[idempotency_key]": "k" * 57,
            },
            400,
        ),
    ],
)
async def test_errors_are_the_spec_list_with_http_codes(
    open311: tuple[httpx.AsyncClient, Citizen], method: str, path: str, data: dict[str, str] | None, status: int
) -> None:
    client, _ = open311
    base, _, query = path.partition("?")
    for fmt in ("json", "xml"):
        url = f"{base}.{fmt}" + (f"?{query}" if query else "")
        response = await client.request(method, url, data=data)
        assert response.status_code == status, (url, response.text)
        if fmt == "json":
            assert [set(e) for e in response.json()] == [ERROR]
            assert response.json()[0]["code"] == status
        else:
            rows = xml_rows(response.content, "errors", "error")
            assert [fields(r) for r in rows] == [ERROR]
            assert rows[0].findtext("code") == str(status)
    assert (await client.get("/services.csv")).status_code == 404


async def test_a_posted_request_is_filed_and_read_back_open_then_closed(
    open311: tuple[httpx.AsyncClient, Citizen], api: Api, resources: Resources
) -> None:
    client, app_account = open311
    posted = await client.post(
        "/requests.json",
        data={
            "api_key": KEY, "service_code": "garbage", "lat": str(TOMANG[0]), "long": str(TOMANG[1]),
            "description": "Sampah menumpuk di depan sekolah", "email": "someone@example.id",
            "attribute[accuracy_m]": "12", "attribute[anonymous]": "false",
        },
    )  # fmt: skip
    assert posted.status_code == 201, posted.text
    [row] = posted.json()
    assert set(row) == POSTED
    request_id = row["service_request_id"]

    found, xml = await both(client, f"/requests/{request_id}")
    [one] = found
    assert set(one) == REQUEST
    assert [fields(r) for r in xml_rows(xml, "service_requests", "request")] == [REQUEST]
    assert (one["status"], one["service_code"], one["description"]) == (
        "open", "garbage", "Sampah menumpuk di depan sekolah"
    )  # fmt: skip
    assert one["agency_responsible"] == "Kelurahan Tomang"
    assert one["expected_datetime"] is not None
    # Nobody's identity appears: no field names the reporter or the e-mail given.
    assert "someone@example.id" not in str(found)
    assert app_account.email not in str(found)

    token, xml = await both(client, f"/tokens/{request_id}")
    assert [set(t) for t in token] == [TOKEN]
    assert [fields(r) for r in xml_rows(xml, "service_requests", "request")] == [TOKEN]

    admin = await staff_member(api, resources, Role.ADMIN)
    assert (await change(api, admin, request_id, "REJECTED", reason="Sudah dibersihkan warga"))["errors"] == []
    [closed], _ = await both(client, f"/requests/{request_id}")
    assert (closed["status"], closed["status_notes"]) == ("closed", "Ditolak: Sudah dibersihkan warga")
    assert closed["expected_datetime"] is None


async def test_the_request_list_filters_pages_and_keeps_privacy(
    open311: tuple[httpx.AsyncClient, Citizen], api: Api, citizen: Citizen
) -> None:
    client, _ = open311
    start = (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    public = [(await api.create_report(citizen, category="street-light"))["report"]["id"] for _ in range(3)]
    secret = (await api.create_report(citizen, category="street-light", confidential=True))["report"]["id"]
    crime = (await api.create_report(citizen, category="crime", lat=-6.176543, lon=106.791234))["report"]["id"]

    listed, xml = await both(client, "/requests", service_code="street-light,crime", start_date=start)
    ids = [r["service_request_id"] for r in listed]
    assert set(public) | {crime} == set(ids)
    assert secret not in ids
    assert all(set(r) == REQUEST for r in listed)
    assert [fields(r) for r in xml_rows(xml, "service_requests", "request")] == [REQUEST] * len(listed)
    crime_row = next(r for r in listed if r["service_request_id"] == crime)
    assert (crime_row["lat"], crime_row["long"]) == (-6.177, 106.791)  # sensitive: about 110 m

    pages = [
        (await both(client, "/requests", service_code="street-light", start_date=start, page_size=2, page=p))[0]
        for p in (1, 2)
    ]
    assert [len(p) for p in pages] == [2, 1]
    assert {r["service_request_id"] for p in pages for r in p} == set(public)
    closed, _ = await both(client, "/requests", service_code="street-light", start_date=start, status="closed")
    assert closed == []
    by_id, _ = await both(client, "/requests", service_request_id=f"{public[0]},{secret}")
    assert [r["service_request_id"] for r in by_id] == [public[0]]


def new_request(**extra: str) -> dict[str, str]:
    return {
        "service_code": "garbage", "lat": str(TOMANG[0]), "long": str(TOMANG[1]),
        "description": f"Sampah {uuid.uuid4().hex[:6]}", **extra,
    }  # fmt: skip


async def reports_of(resources: Resources, account: Citizen) -> int:
    async with resources.unit_of_work() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Report).where(Report.reporter_id == uuid.UUID(account.user_id))
            )
            or 0
        )


async def test_the_api_key_may_come_in_the_query_string(
    open311: tuple[httpx.AsyncClient, Citizen], resources: Resources
) -> None:
    # given: a POST as the open311 client on PyPI sends it, the key in the URL beside an empty jurisdiction_id
    client, app_account = open311
    before = await reports_of(resources, app_account)

    # when
    posted = await client.post(f"/requests.xml?jurisdiction_id=&api_key={KEY}", data=new_request())

    # then
    assert posted.status_code == 201, posted.text
    [row] = xml_rows(posted.content, "service_requests", "request")
    assert fields(row) == POSTED
    assert await reports_of(resources, app_account) == before + 1


@pytest.mark.parametrize("where", ["header", "attribute"])
async def test_a_retry_with_the_same_idempotency_key_files_nothing_new(
    open311: tuple[httpx.AsyncClient, Citizen], resources: Resources, where: str
) -> None:
    # given: a request filed with a key of the client's
    client, app_account = open311
    key = str(uuid.uuid4())
    form = new_request(api_key=KEY)
    headers = {"Idempotency-Key": key} if where == "header" else {}
    if where == "attribute":
        form["attribute[idempotency_key]"] = key
    first = await client.post("/requests.json", data=form, headers=headers)
    before = await reports_of(resources, app_account)

    # when: the client retries it (its answer was lost), then reuses the key for something else
    retried = await client.post("/requests.json", data=form, headers=headers)
    other = await client.post(
        "/requests.xml", data={**form, "description": "Pohon tumbang menutup jalan"}, headers=headers
    )

    # then: the retry gets the same request, the other content a 409 in the spec's form
    assert (first.status_code, retried.status_code) == (201, 201), retried.text
    assert retried.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    assert other.status_code == 409
    assert [r.findtext("code") for r in xml_rows(other.content, "errors", "error")] == ["409"]
    assert await reports_of(resources, app_account) == before


async def test_the_header_and_the_attribute_must_agree_and_no_key_files_each_time(
    open311: tuple[httpx.AsyncClient, Citizen], resources: Resources
) -> None:
    # given
    client, app_account = open311
    form = new_request(api_key=KEY)
    before = await reports_of(resources, app_account)

    # when: two keys that differ, then the same form twice without a key
    mixed = await client.post(
        "/requests.json", data={**form, "attribute[idempotency_key]": "a"}, headers={"Idempotency-Key": "b"}
    )
    plain = [(await client.post("/requests.json", data=form)).status_code for _ in range(2)]

    # then: the first is refused, and without a key each POST is a request of its own (as before keys existed)
    assert mixed.status_code == 400
    assert plain == [201, 201]
    assert await reports_of(resources, app_account) == before + 2
