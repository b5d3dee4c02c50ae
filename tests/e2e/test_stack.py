"""The real thing: uvicorn and a worker as separate processes, the citizen's whole path over HTTP."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.e2e.processes import running
from tests.factories import REPORT, TOMANG, Api, jpeg_with_gps

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database: None) -> Iterator[str]:
    with running() as urls:
        yield urls[0]


@pytest.fixture
async def http_api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client)


async def test_citizen_files_a_report_with_a_photo_and_the_worker_cleans_it(http_api: Api) -> None:
    citizen = await http_api.sign_up(name="Rina")
    key = await http_api.upload_photo(citizen, jpeg_with_gps(size=(1200, 900)))

    created = await http_api.create_report(citizen, category="flood", photo_keys=[key], lat=TOMANG[0], lon=TOMANG[1])

    assert created["errors"] == []
    report = created["report"]
    assert (report["kelurahan"]["name"], report["kecamatan"]["name"], report["kota"]["name"]) == (
        "Tomang",
        "Grogol Petamburan",
        "Jakarta Barat",
    )
    photo = None
    for _ in range(120):
        body = await http_api.gql(REPORT, {"id": report["id"]}, token=citizen.token)
        photo = body["data"]["report"]["photos"][0]
        if photo["status"] != "ATTACHED":
            break
        await asyncio.sleep(0.5)
    assert photo is not None
    assert photo["status"] == "READY", photo
    async with httpx.AsyncClient() as s3:
        served = await s3.get(photo["url"])
        thumb = await s3.get(photo["thumbnailUrl"])
    assert served.status_code == 200
    assert thumb.status_code == 200
    image = Image.open(io.BytesIO(served.content))
    assert (image.size, len(image.getexif())) == ((1200, 900), 0)
    assert b"Exif" not in served.content
    assert b"Exif" not in thumb.content


async def test_responses_carry_a_request_id_and_errors_hide_internals(http_api: Api) -> None:
    response = await http_api.raw("query { categories { code } }")

    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


async def test_staff_accounts_come_from_the_cli(http_api: Api) -> None:
    email = f"lurah-{time.time_ns()}@jakarta.go.id"
    result = await asyncio.to_thread(
        run_cli,
        *("create-user", "--role", "officer", "--email", email, "--name", "Lurah Tomang"),
        *("--unit", "kel-31.73.02.1003", "--password", "kata sandi lurah 1"),
    )
    assert result.returncode == 0, result.stderr

    login = await http_api.gql(
        "mutation($l: String!, $p: String!) {"
        " logIn(login: $l, password: $p) { session { accessToken } errors { code } } }",
        {"l": email, "p": "kata sandi lurah 1"},
    )
    token = login["data"]["logIn"]["session"]["accessToken"]
    me = await http_api.gql("query { me { role unit { code kind name } } }", token=token)

    assert me["data"]["me"] == {
        "role": "OFFICER",
        "unit": {"code": "kel-31.73.02.1003", "kind": "KELURAHAN", "name": "Kelurahan Tomang"},
    }


def test_officer_without_a_unit_is_refused_by_the_cli(database: None) -> None:
    result = run_cli(
        *("create-user", "--role", "officer", "--email", "x@jakarta.go.id", "--name", "X"),
        *("--password", "kata sandi lurah 1"),
    )

    assert result.returncode == 1
    assert "UNIT_REQUIRED" in result.stderr


async def test_demo_staff_are_made_once_and_can_log_in(http_api: Api) -> None:
    first = await asyncio.to_thread(run_cli, "demo-staff", "--password", "demo sandi 12345")
    again = await asyncio.to_thread(run_cli, "demo-staff", "--password", "another password")

    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    units = {}
    for login in ("lurah.tomang@demo.jakarta.go.id", "camat.grogol@demo.jakarta.go.id", "admin@demo.jakarta.go.id"):
        answer = await http_api.gql(
            "mutation($l: String!, $p: String!) {"
            " logIn(login: $l, password: $p) { session { user { role unit { code } } } errors { code } } }",
            {"l": login, "p": "demo sandi 12345"},
        )
        user = answer["data"]["logIn"]["session"]["user"]
        units[login] = (user["role"], (user["unit"] or {}).get("code"))
    assert units == {
        "lurah.tomang@demo.jakarta.go.id": ("OFFICER", "kel-31.73.02.1003"),
        "camat.grogol@demo.jakarta.go.id": ("OFFICER", "kec-31.73.02"),
        "admin@demo.jakarta.go.id": ("ADMIN", None),
    }


async def test_a_plausible_x_request_id_is_kept_and_any_other_replaced(http_api: Api) -> None:
    kept = await http_api.client.post(
        "/graphql", json={"query": "query { categories { code } }"}, headers={"X-Request-ID": "lb-0123456789abcdef"}
    )
    replaced = await http_api.client.post(
        "/graphql", json={"query": "query { categories { code } }"}, headers={"X-Request-ID": "no good\tid"}
    )

    assert kept.headers.get_list("x-request-id") == ["lb-0123456789abcdef"]
    assert len(replaced.headers["x-request-id"]) == 32
