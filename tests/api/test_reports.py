from __future__ import annotations

import asyncio
import io
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from domain.models import Photo, Report, ReportStatusChange
from domain.resources import Resources
from tests.factories import (
    CREATE_REPORT,
    DEPOK,
    MY_REPORTS,
    REPORT,
    TOMANG,
    Api,
    Citizen,
    jpeg_with_gps,
    png_bytes,
    png_declaring,
    report_input,
)


async def table_counts(resources: Resources) -> tuple[int, int, int]:
    async with resources.unit_of_work() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
        history = await session.scalar(select(func.count()).select_from(ReportStatusChange))
        attached = await session.scalar(select(func.count()).select_from(Photo).where(Photo.report_id.is_not(None)))
    return int(reports or 0), int(history or 0), int(attached or 0)


async def test_report_at_the_qlue_point_routes_to_tomang(api: Api, citizen: Citizen) -> None:
    payload = await api.create_report(citizen, category="damaged-road")

    assert payload["errors"] == []
    report = payload["report"]
    assert report["kelurahan"]["name"] == "Tomang"
    assert report["kelurahan"]["kecamatan"]["name"] == "Grogol Petamburan"
    assert report["kota"]["name"] == "Jakarta Barat"
    assert report["routingDistanceM"] == 0
    assert (report["status"], report["statusLabel"]) == ("WAITING", "Menunggu")
    assert [(h["fromStatus"], h["toStatus"]) for h in report["history"]] == [(None, "WAITING")]
    # Damaged roads go first to the kelurahan (PPSU patches small holes).
    assert report["unit"] == {"code": "kel-31.73.02.1003", "kind": "KELURAHAN", "name": "Kelurahan Tomang"}


PLACES = """
query Places($id: ID!) {
  report(id: $id) {
    category { code }
    kelurahan { name kecamatan { name kota { name } } kota { code } }
    kecamatan { name kota { name } }
    kota { name }
    unit { code kota { name } }
    history { fromUnit { code } toUnit { code } }
  }
}
"""


async def test_a_reports_places_come_from_the_reference_snapshot(api: Api, citizen: Citizen) -> None:
    report = (await api.create_report(citizen, category="damaged-road"))["report"]["id"]

    body = await api.gql(PLACES, {"id": report}, token=citizen.token)

    assert body["data"]["report"] == {
        "category": {"code": "damaged-road"},
        "kelurahan": {
            "name": "Tomang",
            "kecamatan": {"name": "Grogol Petamburan", "kota": {"name": "Jakarta Barat"}},
            "kota": {"code": "31.73"},
        },
        "kecamatan": {"name": "Grogol Petamburan", "kota": {"name": "Jakarta Barat"}},
        "kota": {"name": "Jakarta Barat"},
        "unit": {"code": "kel-31.73.02.1003", "kota": {"name": "Jakarta Barat"}},
        "history": [{"fromUnit": None, "toUnit": {"code": "kel-31.73.02.1003"}}],
    }


async def test_agency_first_categories_go_to_the_agency_office_of_the_kota(api: Api, citizen: Citizen) -> None:
    fire = await api.create_report(citizen, category="fire")
    crime = await api.create_report(citizen, category="crime")

    assert fire["report"]["unit"]["code"] == "gulkarmat-31.73"
    assert crime["report"]["unit"] == {
        "code": "polri",
        "kind": "EXTERNAL",
        "name": "Kepolisian Daerah Metro Jaya (Polri)",
    }


async def test_a_point_in_a_gap_goes_to_the_nearest_kelurahan_within_500_m(api: Api, citizen: Citizen) -> None:
    # On the city's edge in Cipayung, outside every polygon, about 140 m from Pondok Ranggon.
    body = await api.gql("query { kelurahanAt(lat: -6.37098, lon: 106.89754) { distanceM kelurahan { name } } }")
    match = body["data"]["kelurahanAt"]
    assert match["kelurahan"]["name"] == "Pondok Ranggon"
    assert 100 < match["distanceM"] < 200

    payload = await api.create_report(citizen, lat=-6.37098, lon=106.89754)

    assert payload["report"]["kelurahan"]["name"] == match["kelurahan"]["name"]
    assert payload["report"]["routingDistanceM"] == pytest.approx(match["distanceM"])


async def test_depok_is_outside_the_service_area_and_nothing_is_stored(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    before = await table_counts(resources)

    payload = await api.create_report(citizen, lat=DEPOK[0], lon=DEPOK[1])

    assert payload["report"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("OUTSIDE_SERVICE_AREA", "location")]
    assert await table_counts(resources) == before


async def test_retry_with_the_same_client_request_id_returns_the_same_report(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    request_id = str(uuid.uuid4())
    first = await api.create_report(citizen, client_request_id=request_id)
    before = await table_counts(resources)

    again = await api.create_report(citizen, client_request_id=request_id)

    assert again["errors"] == []
    assert again["report"]["id"] == first["report"]["id"]
    assert await table_counts(resources) == before


async def test_same_client_request_id_from_another_user_is_a_new_report(api: Api, citizen: Citizen) -> None:
    other = await api.sign_up()
    request_id = str(uuid.uuid4())

    mine = await api.create_report(citizen, client_request_id=request_id)
    theirs = await api.create_report(other, client_request_id=request_id)

    assert theirs["errors"] == []
    assert theirs["report"]["id"] != mine["report"]["id"]


async def test_reused_client_request_id_with_other_content_is_conflict(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    request_id = str(uuid.uuid4())
    await api.create_report(citizen, client_request_id=request_id, description="Sampah menumpuk")
    before = await table_counts(resources)

    payload = await api.create_report(citizen, client_request_id=request_id, description="Something else")

    assert [e["code"] for e in payload["errors"]] == ["CONFLICT"]
    assert await table_counts(resources) == before


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"lat": 91.0}, "INVALID_LOCATION"),
        ({"lon": -181.0}, "INVALID_LOCATION"),
        ({"accuracy_m": -5.0}, "INVALID_LOCATION"),
        ({"category": "unicorns"}, "UNKNOWN_CATEGORY"),
        ({"category": "jockey-3in1"}, "UNKNOWN_CATEGORY"),
        ({"description": "x" * 2001}, "DESCRIPTION_TOO_LONG"),
        ({"description": "   "}, "DESCRIPTION_REQUIRED"),
        ({"client_request_id": "x" * 65}, "INVALID_CLIENT_REQUEST_ID"),
        ({"photo_keys": [f"uploads/x/{i}" for i in range(6)]}, "TOO_MANY_PHOTOS"),
        ({"photo_keys": ["uploads/x/1", "uploads/x/1"]}, "DUPLICATE_PHOTO"),
        ({"photo_keys": ["uploads/nobody/none"]}, "PHOTO_NOT_FOUND"),
    ],
)
async def test_bad_input_is_a_typed_error_and_nothing_is_stored(
    api: Api, citizen: Citizen, resources: Resources, overrides: dict[str, object], code: str
) -> None:
    before = await table_counts(resources)

    payload = await api.create_report(citizen, **overrides)

    assert payload["report"] is None
    assert [e["code"] for e in payload["errors"]] == [code]
    assert await table_counts(resources) == before


@pytest.mark.parametrize("value", [math.nan, math.inf])
async def test_nan_or_infinite_coordinates_are_rejected_before_execution(
    api: Api, citizen: Citizen, resources: Resources, value: float
) -> None:
    before = await table_counts(resources)
    variables = {"input": report_input(lat=value)}

    # Python's json writes NaN/Infinity literals, which a sloppy client may send.
    response = await api.client.post(
        "/graphql",
        content=__import__("json").dumps({"query": CREATE_REPORT, "variables": variables}),
        headers={"Authorization": f"Bearer {citizen.token}", "Content-Type": "application/json"},
    )

    assert response.status_code in (200, 400)
    body = response.json()
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "Traceback" not in response.text
    assert await table_counts(resources) == before


async def test_another_users_photo_key_is_forbidden(api: Api, citizen: Citizen, resources: Resources) -> None:
    other = await api.sign_up()
    their_key = await api.upload_photo(other, jpeg_with_gps())
    before = await table_counts(resources)

    payload = await api.create_report(citizen, photo_keys=[their_key])

    assert [e["code"] for e in payload["errors"]] == ["PHOTO_FORBIDDEN"]
    assert await table_counts(resources) == before


async def test_a_ticket_without_an_upload_is_not_uploaded(api: Api, citizen: Citizen) -> None:
    body = await api.gql(
        'mutation { requestPhotoUpload(contentType: "image/jpeg", byteSize: 1000) { upload { key } } }',
        token=citizen.token,
    )
    key = body["data"]["requestPhotoUpload"]["upload"]["key"]

    payload = await api.create_report(citizen, photo_keys=[key])

    assert [e["code"] for e in payload["errors"]] == ["PHOTO_NOT_UPLOADED"]


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b"<html><script>alert(1)</script></html>", "image/jpeg", "PHOTO_NOT_AN_IMAGE"),
        (b"%PDF-1.4 not a photo at all", "image/png", "PHOTO_NOT_AN_IMAGE"),
    ],
)
async def test_a_file_that_is_not_an_image_is_rejected(
    api: Api, citizen: Citizen, resources: Resources, content: bytes, content_type: str, code: str
) -> None:
    key = await api.upload_photo(citizen, content, content_type=content_type)
    before = await table_counts(resources)

    payload = await api.create_report(citizen, photo_keys=[key])

    assert [e["code"] for e in payload["errors"]] == [code]
    assert await table_counts(resources) == before


async def test_a_zero_byte_photo_is_rejected(api: Api, citizen: Citizen, resources: Resources) -> None:
    # The presigned POST refuses empty files, so a 0-byte object can only come from elsewhere; check anyway.
    body = await api.gql(
        'mutation { requestPhotoUpload(contentType: "image/jpeg", byteSize: 10) { upload { key } } }',
        token=citizen.token,
    )
    key = body["data"]["requestPhotoUpload"]["upload"]["key"]
    await resources.storage.write(key, b"", content_type="image/jpeg")

    payload = await api.create_report(citizen, photo_keys=[key])

    assert [e["code"] for e in payload["errors"]] == ["PHOTO_EMPTY"]


async def test_a_png_of_over_100_megapixels_is_rejected(api: Api, citizen: Citizen, resources: Resources) -> None:
    key = await api.upload_photo(citizen, png_declaring(12_000, 9_000), content_type="image/png")
    before = await table_counts(resources)

    payload = await api.create_report(citizen, photo_keys=[key])

    assert [e["code"] for e in payload["errors"]] == ["PHOTO_TOO_LARGE"]
    assert await table_counts(resources) == before


async def test_a_photo_cannot_be_used_in_two_reports(api: Api, citizen: Citizen) -> None:
    key = await api.upload_photo(citizen, jpeg_with_gps())
    await api.create_report(citizen, photo_keys=[key])

    payload = await api.create_report(citizen, photo_keys=[key])

    assert [e["code"] for e in payload["errors"]] == ["PHOTO_ALREADY_USED"]


@pytest.mark.parametrize(
    ("content_type", "byte_size", "code"),
    [
        ("image/gif", 1000, "UNSUPPORTED_TYPE"),
        ("image/jpeg", 0, "INVALID_SIZE"),
        ("image/jpeg", 10 * 1024 * 1024 + 1, "INVALID_SIZE"),
    ],
)
async def test_upload_ticket_limits(api: Api, citizen: Citizen, content_type: str, byte_size: int, code: str) -> None:
    body = await api.gql(
        "mutation($t: String!, $n: Int!) {"
        " requestPhotoUpload(contentType: $t, byteSize: $n) { upload { key } errors { code } } }",
        {"t": content_type, "n": byte_size},
        token=citizen.token,
    )

    assert body["data"]["requestPhotoUpload"] == {"upload": None, "errors": [{"code": code}]}


async def test_storage_refuses_an_upload_over_10_mb(api: Api, citizen: Citizen) -> None:
    import httpx

    body = await api.gql(
        'mutation { requestPhotoUpload(contentType: "image/jpeg", byteSize: 1000) { upload { url fields } } }',
        token=citizen.token,
    )
    upload = body["data"]["requestPhotoUpload"]["upload"]
    async with httpx.AsyncClient() as s3:
        too_big = await s3.post(
            upload["url"], data=upload["fields"], files={"file": ("p", b"\xff" * (10 * 1024 * 1024 + 1), "image/jpeg")}
        )
        wrong_type = await s3.post(
            upload["url"],
            data={**upload["fields"], "Content-Type": "text/html"},
            files={"file": ("p", b"<html>", "text/html")},
        )

    assert too_big.status_code == 400
    assert wrong_type.status_code == 403


async def test_anonymous_and_logged_out_callers_cannot_file_reports(api: Api) -> None:
    body = await api.gql(CREATE_REPORT, {"input": report_input()})

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_photo_is_processed_and_the_stored_copy_has_no_exif(
    api: Api, citizen: Citizen, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    original = jpeg_with_gps(size=(3000, 2000), orientation=6)
    key = await api.upload_photo(citizen, original)
    created = await api.create_report(citizen, photo_keys=[key])
    assert created["report"]["photos"][0]["status"] == "ATTACHED"
    assert created["report"]["photos"][0]["url"] is None

    await run_jobs()

    body = await api.gql(REPORT, {"id": created["report"]["id"]}, token=citizen.token)
    photo = body["data"]["report"]["photos"][0]
    assert photo["status"] == "READY"
    # Orientation 6 turns the 3000x2000 landscape into portrait; the long side is cut to 2048.
    assert (photo["width"], photo["height"]) == (1365, 2048)
    async with resources.unit_of_work() as session:
        row = await session.get(Photo, uuid.UUID(photo["id"]))
    assert row is not None
    assert row.image_key
    assert row.thumb_key
    for stored_key in (row.image_key, row.thumb_key):
        stored = await resources.storage.read(stored_key)
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert "exif" not in image.info
        assert "comment" not in image.info
        assert b"Exif" not in stored
        assert b"Jakarta Phone X" not in stored
    thumb = Image.open(io.BytesIO(await resources.storage.read(row.thumb_key)))
    assert max(thumb.size) == 400
    # The presigned URL serves the processed copy.
    import httpx

    async with httpx.AsyncClient() as http:
        served = await http.get(photo["url"])
    assert served.status_code == 200
    assert served.content == await resources.storage.read(row.image_key)


async def test_a_photo_that_fails_processing_is_marked_failed_and_the_report_stays(
    api: Api, citizen: Citizen, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    whole = jpeg_with_gps(size=(800, 600))
    truncated = whole[: len(whole) // 2]
    key = await api.upload_photo(citizen, truncated)
    created = await api.create_report(citizen, photo_keys=[key])
    assert created["errors"] == []

    await run_jobs()

    mine = await api.gql(REPORT, {"id": created["report"]["id"]}, token=citizen.token)
    public = await api.gql(REPORT, {"id": created["report"]["id"]})
    assert [(p["status"], p["errorCode"]) for p in mine["data"]["report"]["photos"]] == [("FAILED", "PHOTO_CORRUPT")]
    assert public["data"]["report"]["photos"] == []


async def test_png_with_transparency_is_processed(
    api: Api, citizen: Citizen, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    key = await api.upload_photo(citizen, png_bytes((300, 200)), content_type="image/png")
    created = await api.create_report(citizen, photo_keys=[key])

    await run_jobs()

    body = await api.gql(REPORT, {"id": created["report"]["id"]}, token=citizen.token)
    assert [(p["status"], p["width"], p["height"]) for p in body["data"]["report"]["photos"]] == [("READY", 300, 200)]


async def test_anonymous_reporter_is_hidden_from_the_public_but_not_from_the_reporter(api: Api) -> None:
    citizen = await api.sign_up(name="Dewi")
    created = await api.create_report(citizen, anonymous=True)
    report_id = created["report"]["id"]

    public = await api.gql(REPORT, {"id": report_id})
    other = await api.gql(REPORT, {"id": report_id}, token=(await api.sign_up()).token)
    own = await api.gql(REPORT, {"id": report_id}, token=citizen.token)

    assert public["data"]["report"]["reporter"] is None
    assert other["data"]["report"]["reporter"] is None
    assert own["data"]["report"]["reporter"] == {"displayName": "Dewi"}


async def test_sensitive_categories_are_coarsened_in_public(api: Api, citizen: Citizen) -> None:
    created = await api.create_report(citizen, category="crime", lat=-6.1693481, lon=106.7895812)

    public = await api.gql(REPORT, {"id": created["report"]["id"]})
    own = await api.gql(REPORT, {"id": created["report"]["id"]}, token=citizen.token)

    assert public["data"]["report"]["location"] == {"lat": -6.169, "lon": 106.79, "accuracyM": None}
    assert own["data"]["report"]["location"]["lat"] == pytest.approx(-6.1693481)


async def test_my_reports_pages_newest_first(api: Api) -> None:
    citizen = await api.sign_up()
    created = [(await api.create_report(citizen, description=f"laporan {i}"))["report"]["id"] for i in range(5)]

    first = await api.gql(MY_REPORTS, {"first": 2}, token=citizen.token)
    page = first["data"]["myReports"]
    second = await api.gql(MY_REPORTS, {"first": 10, "after": page["pageInfo"]["endCursor"]}, token=citizen.token)

    assert [e["node"]["id"] for e in page["edges"]] == created[::-1][:2]
    assert page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in second["data"]["myReports"]["edges"]] == created[::-1][2:]
    assert second["data"]["myReports"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("first", [0, 101])
async def test_my_reports_page_size_is_bounded(api: Api, citizen: Citizen, first: int) -> None:
    body = await api.gql(MY_REPORTS, {"first": first}, token=citizen.token)

    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_a_forged_cursor_is_bad_input(api: Api, citizen: Citizen) -> None:
    body = await api.gql(MY_REPORTS, {"first": 5, "after": "bm90IGEgY3Vyc29y"}, token=citizen.token)

    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_categories_list_every_active_category_with_both_names(api: Api) -> None:
    body = await api.gql("query { categories { code nameId nameEn firstHandler agencyCode } }")

    categories = {c["code"]: c for c in body["data"]["categories"]}
    assert len(categories) == 20
    assert categories["flood"] == {
        "code": "flood",
        "nameId": "Bencana banjir",
        "nameEn": "Flood",
        "firstHandler": "KELURAHAN",
        "agencyCode": "sudin-sda",
    }
    assert "jockey-3in1" not in categories


async def test_kelurahan_at_tomang_and_outside(api: Api) -> None:
    body = await api.gql(
        "query($lat: Float!, $lon: Float!) {"
        " kelurahanAt(lat: $lat, lon: $lon) { distanceM kelurahan { name kota { name } } } }",
        {"lat": TOMANG[0], "lon": TOMANG[1]},
    )
    outside = await api.gql("query { kelurahanAt(lat: -6.40, lon: 106.82) { distanceM } }")

    assert body["data"]["kelurahanAt"] == {
        "distanceM": 0.0,
        "kelurahan": {"name": "Tomang", "kota": {"name": "Jakarta Barat"}},
    }
    assert outside["data"]["kelurahanAt"] is None


async def test_unknown_or_malformed_report_id_is_null(api: Api) -> None:
    unknown = await api.gql(REPORT, {"id": str(uuid.uuid4())})
    malformed = await api.gql(REPORT, {"id": "not-a-uuid"})

    assert unknown["data"]["report"] is None
    assert malformed["data"]["report"] is None


async def test_malformed_requests_get_a_client_error_never_a_500(api: Api) -> None:
    broken_json = await api.client.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    bad_query = await api.client.post("/graphql", json={"query": "query { nope }"})
    syntax = await api.client.post("/graphql", json={"query": "query {"})

    assert broken_json.status_code == 400
    assert [e["extensions"]["code"] for e in bad_query.json()["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert [e["extensions"]["code"] for e in syntax.json()["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_an_object_over_the_size_limit_is_rejected(api: Api, citizen: Citizen, resources: Resources) -> None:
    # Only someone with storage credentials could put it there; the check must hold anyway.
    body = await api.gql(
        'mutation { requestPhotoUpload(contentType: "image/jpeg", byteSize: 10) { upload { key } } }',
        token=citizen.token,
    )
    key = body["data"]["requestPhotoUpload"]["upload"]["key"]
    await resources.storage.write(key, jpeg_with_gps() + b"\0" * (10 * 1024 * 1024), content_type="image/jpeg")

    payload = await api.create_report(citizen, photo_keys=[key])

    assert [e["code"] for e in payload["errors"]] == ["INVALID_SIZE"]


async def test_one_bad_photo_among_good_ones_stores_nothing(api: Api, citizen: Citizen, resources: Resources) -> None:
    good = await api.upload_photo(citizen, jpeg_with_gps())
    body = await api.gql(
        'mutation { requestPhotoUpload(contentType: "image/jpeg", byteSize: 10) { upload { key } } }',
        token=citizen.token,
    )
    never_uploaded = body["data"]["requestPhotoUpload"]["upload"]["key"]
    before = await table_counts(resources)

    failed = await api.create_report(citizen, photo_keys=[good, never_uploaded])
    retried = await api.create_report(citizen, photo_keys=[good])

    assert [e["code"] for e in failed["errors"]] == ["PHOTO_NOT_UPLOADED"]
    # The good photo was not half-claimed by the failed attempt: it can still be used.
    assert retried["errors"] == []
    assert await table_counts(resources) == (before[0] + 1, before[1] + 1, before[2] + 1)


async def test_a_retry_after_the_photos_were_claimed_returns_the_same_report(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    key = await api.upload_photo(citizen, jpeg_with_gps())
    request_id = str(uuid.uuid4())
    first = await api.create_report(citizen, client_request_id=request_id, photo_keys=[key])
    before = await table_counts(resources)

    again = await api.create_report(citizen, client_request_id=request_id, photo_keys=[key])

    assert again["errors"] == []
    assert again["report"]["id"] == first["report"]["id"]
    assert [p["id"] for p in again["report"]["photos"]] == [p["id"] for p in first["report"]["photos"]]
    assert await table_counts(resources) == before


async def test_concurrent_submissions_of_one_report_store_it_once(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    keys = [await api.upload_photo(citizen, jpeg_with_gps()) for _ in range(2)]
    variables = {"input": report_input(photo_keys=keys)}
    before = await table_counts(resources)

    bodies = await asyncio.gather(*(api.gql(CREATE_REPORT, variables, token=citizen.token) for _ in range(4)))

    payloads = [b["data"]["createReport"] for b in bodies]
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["report"]["id"] for p in payloads}) == 1
    reports, history, attached = await table_counts(resources)
    assert (reports, history, attached) == (before[0] + 1, before[1] + 1, before[2] + 2)
    assert await queued_jobs_for(resources, payloads[0]["report"]["photos"]) == 2


async def queued_jobs_for(resources: Resources, photos: list[dict[str, Any]]) -> int:
    async with resources.unit_of_work() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'photos.process' "
                "AND args->>'photo_id' = ANY(:ids)"
            ),
            {"ids": [p["id"] for p in photos]},
        )
    return int(found or 0)


async def test_the_photo_jobs_are_queued_with_the_report_and_only_with_it(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    good_key = await api.upload_photo(citizen, jpeg_with_gps())
    bad_key = await api.upload_photo(citizen, jpeg_with_gps())
    await resources.storage.write(bad_key, b"", content_type="image/jpeg")

    refused = await api.create_report(citizen, photo_keys=[good_key, bad_key])
    filed = await api.create_report(citizen, photo_keys=[good_key])

    assert [e["code"] for e in refused["errors"]] == ["PHOTO_EMPTY"]
    photos = filed["report"]["photos"]
    assert len(photos) == 1
    async with resources.unit_of_work() as session:
        rows = (
            await session.execute(
                text("SELECT queue_name, status, args FROM procrastinate_jobs WHERE args->>'photo_id' = :id"),
                {"id": photos[0]["id"]},
            )
        ).all()
    assert [(r.queue_name, r.status, r.args) for r in rows] == [("photos", "todo", {"photo_id": photos[0]["id"]})]


async def test_the_public_sees_a_name_only_when_the_reporter_allowed_it(api: Api) -> None:
    citizen = await api.sign_up(name="Budi")
    unsaid = report_input()
    del unsaid["anonymous"]
    silent = await api.gql(CREATE_REPORT, {"input": unsaid}, token=citizen.token)
    named = await api.create_report(citizen, anonymous=False)

    silent_view = await api.gql(REPORT, {"id": silent["data"]["createReport"]["report"]["id"]})
    named_view = await api.gql(REPORT, {"id": named["report"]["id"]})

    assert silent["data"]["createReport"]["report"]["anonymous"] is True
    assert silent_view["data"]["report"]["reporter"] is None
    assert named_view["data"]["report"]["reporter"] == {"displayName": "Budi"}
