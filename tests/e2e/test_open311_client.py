"""Open311 with the client people already have: the requests of the `open311` package on PyPI (1.1), sent to a
real uvicorn started as deployed.

The package itself cannot run on Python 3 (`from api import API` is an implicit relative import, and it hands
urlopen a str body), so it cannot be a dependency; its POST and GET are rebuilt here line for line with Python 3's
urllib, the successor of the urllib2 it used: the api_key and an empty jurisdiction_id in the query string, the
fields form-encoded in the body, XML by default.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from domain import accounts
from domain.resources import Resources
from tests.e2e.processes import free_port, start_api, stop, wait_healthy
from tests.factories import TOMANG

pytestmark = pytest.mark.e2e
KEY = "pypi-client-key"


def post_service_request(endpoint: str, api_key: str, headers: dict[str, str], **kwargs: str) -> tuple[int, bytes]:
    """Open311.post_service_request: the key in the URL, the fields in the body."""
    params = urlencode({"jurisdiction_id": "", "api_key": api_key})
    url = "".join([endpoint, "/requests", ".", "xml", "?", params])
    request = urllib.request.Request(url, urlencode(kwargs).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_service_request(endpoint: str, request_id: str) -> bytes:
    """Open311.get_service_request: API.call_api with the jurisdiction_id in the query string."""
    url = "".join([endpoint, "/", f"requests/{request_id}.xml", "?", urlencode({"jurisdiction_id": ""})])
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body


async def test_the_pypi_clients_post_files_a_request_it_can_read_back(resources: Resources) -> None:
    # given: an app account with a key, and the API as deployed (uvicorn without its own proxy headers), allowing
    # two POSTs per address
    email = f"aplikasi-{uuid.uuid4().hex[:8]}@example.id"
    async with resources.unit_of_work() as session:
        await accounts.sign_up(session, email=email, phone=None, password="kata sandi panjang", display_name="App")
    port = free_port()
    api = start_api(
        port,
        JSC_OPEN311_API_KEYS=json.dumps({KEY: email}),
        JSC_RATE_LIMITS_ENABLED="true",
        JSC_RATE_LIMITS=json.dumps({"open311Post:ip": [2, 3600]}),
    )
    endpoint = f"http://127.0.0.1:{port}/open311/v2"
    fields = {"service_code": "garbage", "lat": str(TOMANG[0]), "long": str(TOMANG[1])}
    try:
        await asyncio.to_thread(wait_healthy, f"http://127.0.0.1:{port}", 120.0)

        # when: the client files a request and reads it back
        status, body = await asyncio.to_thread(
            post_service_request, endpoint, KEY, {}, **fields, description="Sampah di trotoar"
        )
        request_id = ET.fromstring(body).findtext("request/service_request_id")
        assert request_id is not None, body
        read_back = ET.fromstring(await asyncio.to_thread(get_service_request, endpoint, request_id))

        # and: two more from the same address, each claiming another one in X-Forwarded-For
        claims = [
            (await asyncio.to_thread(post_service_request, endpoint, KEY, {"X-Forwarded-For": f"198.51.100.{n}"},
                                     **fields))[0]
            for n in (1, 2)
        ]  # fmt: skip
    finally:
        await asyncio.to_thread(stop, api)

    # then: filed (201) and found, in XML; the claimed addresses are not believed, so the third POST is refused
    assert status == 201, body
    assert (read_back.tag, read_back.findtext("request/service_request_id")) == ("service_requests", request_id)
    assert read_back.findtext("request/description") == "Sampah di trotoar"
    assert claims == [201, 429]
