"""domain.reports: the checks a new report passes before any database work, and its idempotency fingerprint."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pytest

from domain.errors import DomainError
from domain.reports import NewReport, fingerprint, validate_new_report
from domain.settings import Settings

SETTINGS = Settings()


def new_report(**overrides: Any) -> NewReport:
    defaults: dict[str, Any] = {
        "client_request_id": "3f1c2a9e-7d4b-4c1e-9a51-0c2f5b8e6d10",
        "category": "garbage",
        "description": "Tumpukan sampah di pinggir jalan",
        "lat": -6.169348,
        "lon": 106.789581,
        "accuracy_m": 8.0,
        "photo_keys": ["uploads/u/p1", "uploads/u/p2"],
        "anonymous": False,
    }
    return NewReport(**(defaults | overrides))


def rejection(data: NewReport) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as raised:
        validate_new_report(data, SETTINGS)
    return raised.value.code, raised.value.field


# --- valid reports --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"lat": 90.0, "lon": 180.0},
        {"lat": -90.0, "lon": -180.0},
        {"accuracy_m": None},
        {"accuracy_m": 0.0},
        {"accuracy_m": 100_000.0},
        {"client_request_id": "x"},
        {"client_request_id": "x" * 64},
        {"description": "d" * SETTINGS.description_max_chars},
        {"description": "   " + "d" * SETTINGS.description_max_chars + "\n\t "},
        {"photo_keys": []},
        {"photo_keys": [f"uploads/u/p{i}" for i in range(SETTINGS.max_photos_per_report)]},
    ],
    ids=[
        "typical",
        "north-east-corner",
        "south-west-corner",
        "no-accuracy",
        "zero-accuracy",
        "accuracy-at-limit",
        "one-char-request-id",
        "64-char-request-id",
        "description-at-limit",
        "padding-not-counted",
        "no-photos",
        "photos-at-limit",
    ],
)
def test_a_valid_report_passes(overrides: dict[str, Any]) -> None:
    # given
    data = new_report(**overrides)

    # when
    result = validate_new_report(data, SETTINGS)

    # then
    assert result is None


# --- rejected reports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (math.nan, 106.8),
        (-6.2, math.nan),
        (math.inf, 106.8),
        (-6.2, -math.inf),
        (90.000001, 106.8),
        (-90.5, 106.8),
        (-6.2, 180.000001),
        (-6.2, -181.0),
    ],
)
def test_a_location_that_is_no_place_on_earth_is_invalid(lat: float, lon: float) -> None:
    # given
    data = new_report(lat=lat, lon=lon)

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("INVALID_LOCATION", "location")


@pytest.mark.parametrize("accuracy_m", [-0.1, -math.inf, math.nan, math.inf, 100_000.5])
def test_an_impossible_accuracy_is_an_invalid_location(accuracy_m: float) -> None:
    # given
    data = new_report(accuracy_m=accuracy_m)

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("INVALID_LOCATION", "location")


@pytest.mark.parametrize("description", ["", " ", "\n\t  \r\n"])
def test_an_empty_description_is_required(description: str) -> None:
    # given
    data = new_report(description=description)

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("DESCRIPTION_REQUIRED", "description")


def test_a_description_one_character_over_the_limit_is_too_long() -> None:
    # given
    data = new_report(description="d" * (SETTINGS.description_max_chars + 1))

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("DESCRIPTION_TOO_LONG", "description")


def test_one_photo_over_the_limit_is_too_many() -> None:
    # given one key more than allowed (six under the default limit of five)
    keys = [f"uploads/u/p{i}" for i in range(SETTINGS.max_photos_per_report + 1)]
    data = new_report(photo_keys=keys)

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("TOO_MANY_PHOTOS", "photoKeys")


@pytest.mark.parametrize("client_request_id", ["", "x" * 65], ids=["empty", "65-chars"])
def test_a_client_request_id_outside_1_to_64_characters_is_invalid(client_request_id: str) -> None:
    # given
    data = new_report(client_request_id=client_request_id)

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("INVALID_CLIENT_REQUEST_ID", "clientRequestId")


def test_the_client_request_id_is_checked_first() -> None:
    # given a report wrong in every way
    data = new_report(client_request_id="", lat=math.nan, description="", photo_keys=["k"] * 9)

    # when
    outcome = rejection(data)

    # then
    assert outcome == ("INVALID_CLIENT_REQUEST_ID", "clientRequestId")


# --- fingerprint ----------------------------------------------------------------------------------


def test_the_fingerprint_is_a_sha256_hex_digest() -> None:
    # given
    data = new_report()

    # when
    digest = fingerprint(data)

    # then
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_identical_content_has_the_same_fingerprint() -> None:
    # given two reports built separately from the same values
    first, second = new_report(), new_report()

    # when
    digests = fingerprint(first), fingerprint(second)

    # then
    assert digests[0] == digests[1]


def test_whitespace_around_the_description_does_not_change_the_fingerprint() -> None:
    # given
    plain = new_report(description="Lampu jalan mati")
    padded = new_report(description="  \n Lampu jalan mati \t\n")

    # when
    digests = fingerprint(plain), fingerprint(padded)

    # then
    assert digests[0] == digests[1]


def test_the_client_request_id_is_not_part_of_the_fingerprint() -> None:
    # given the same content sent under two request ids
    first = new_report(client_request_id="a")
    second = new_report(client_request_id="b")

    # when
    digests = fingerprint(first), fingerprint(second)

    # then
    assert digests[0] == digests[1]


@pytest.mark.parametrize(
    "change",
    [
        {"category": "flood"},
        {"description": "Tumpukan sampah di pinggir jalan!"},
        {"description": "Tumpukan  sampah di pinggir jalan"},
        {"lat": -6.169349},
        {"lon": 106.789582},
        {"accuracy_m": None},
        {"accuracy_m": 9.0},
        {"photo_keys": ["uploads/u/p1"]},
        {"photo_keys": ["uploads/u/p2", "uploads/u/p1"]},
        {"photo_keys": ["uploads/u/p1", "uploads/u/p2", "uploads/u/p3"]},
        {"anonymous": True},
    ],
    ids=[
        "category",
        "description",
        "inner-whitespace",
        "lat",
        "lon",
        "accuracy-dropped",
        "accuracy",
        "photo-removed",
        "photos-reordered",
        "photo-added",
        "anonymous",
    ],
)
def test_any_change_of_content_changes_the_fingerprint(change: dict[str, Any]) -> None:
    # given
    original = new_report()
    changed = dataclasses.replace(original, **change)

    # when
    digests = fingerprint(original), fingerprint(changed)

    # then
    assert digests[0] != digests[1]
