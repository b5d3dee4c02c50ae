"""domain.accounts: how logins are normalised and which passwords are accepted (no database)."""

from __future__ import annotations

import re

import pytest

from domain.accounts import canonical_login, check_password_strength, counted_login, normalize_email, normalize_phone
from domain.errors import DomainError

E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def phone_or_code(spelling: str) -> str:
    try:
        return normalize_phone(spelling)
    except DomainError as exc:
        return exc.code


# --- phone ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "0812-3456-7890",
        "081234567890",
        "+62 812 3456 7890",
        "+62-812-3456-7890",
        "6281234567890",
        "(0812) 3456.7890",
        "  0812 3456 7890\n",
        "62 812-3456-7890",
        "+62 (0) 812 3456 7890",
        "812 3456 7890",
    ],
)
def test_usual_spellings_of_an_indonesian_number_become_e164(spelling: str) -> None:
    # given the spelling above

    # when
    phone = normalize_phone(spelling)

    # then
    assert phone == "+6281234567890"


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        "   ",
        "+",
        "call me",
        "0812-3456-789O",
        "+62 812 3456 7890 ext 12",
        "62812345678;DROP",
        "++6281234567890",
        "081234",
        "0812345678901234567",
        "0812-FLOOD-00",
        "+62 812 3456 7890 #12",
        "+62 812",
        "+62 0000 0000 000",
    ],
)
def test_garbage_is_an_invalid_phone(spelling: str) -> None:
    # given the spelling above

    # when
    with pytest.raises(DomainError) as raised:
        normalize_phone(spelling)

    # then
    assert (raised.value.code, raised.value.field) == ("INVALID_PHONE", "phone")


@pytest.mark.parametrize(
    "spelling",
    ["+62812345678²", "０８１２３４５６７８９０", "٠٨١٢٣٤٥٦٧٨٩٠"],
    ids=["superscript", "full-width", "arabic-indic"],
)
def test_non_ascii_digits_never_reach_a_stored_phone(spelling: str) -> None:
    # given the spelling above

    # when
    outcome = phone_or_code(spelling)

    # then: either refused, or turned into plain ASCII E.164
    assert outcome == "INVALID_PHONE" or E164.fullmatch(outcome)


# --- e-mail ----------------------------------------------------------------------------------------


def test_an_email_is_trimmed_and_lowercased() -> None:
    # given
    spelling = "  Warga.Baik@Example.CO.ID \n"

    # when
    email = normalize_email(spelling)

    # then
    assert email == "warga.baik@example.co.id"


def test_a_local_part_of_64_characters_is_accepted() -> None:
    # given
    spelling = "a" * 64 + "@example.id"

    # when
    email = normalize_email(spelling)

    # then
    assert email == spelling


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        "   ",
        "warga",
        "warga@",
        "@example.id",
        "warga@example",
        "warga@example.i",
        "wa rga@example.id",
        "warga@@example.id",
        "warga@exa@mple.id",
        "a" * 65 + "@example.id",
        "warga@" + "d" * 250 + ".id",
    ],
    ids=[
        "empty",
        "blank",
        "no-at",
        "no-domain",
        "no-local-part",
        "no-dot",
        "one-letter-tld",
        "inner-space",
        "double-at",
        "two-ats",
        "65-char-local-part",
        "over-254",
    ],
)
def test_a_malformed_email_is_invalid(spelling: str) -> None:
    # given the spelling above

    # when
    with pytest.raises(DomainError) as raised:
        normalize_email(spelling)

    # then
    assert (raised.value.code, raised.value.field) == ("INVALID_EMAIL", "email")


# --- password -------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["p" * 10, "p" * 200, "kata sandi yang panjang"], ids=["10", "200", "phrase"])
def test_a_password_of_10_to_200_characters_is_accepted(password: str) -> None:
    # given the password above

    # when
    result = check_password_strength(password)

    # then
    assert result is None


@pytest.mark.parametrize("password", ["", "p" * 9, "p" * 201], ids=["empty", "9", "201"])
def test_a_password_outside_10_to_200_characters_is_weak(password: str) -> None:
    # given the password above

    # when
    with pytest.raises(DomainError) as raised:
        check_password_strength(password)

    # then
    assert (raised.value.code, raised.value.field) == ("WEAK_PASSWORD", "password")


def test_a_number_of_another_country_keeps_its_own_code() -> None:
    assert normalize_phone("+1 (650) 253-0000") == "+16502530000"


def test_a_jakarta_landline_is_a_valid_login() -> None:
    assert normalize_phone("(021) 345-6789") == "+62213456789"


@pytest.mark.parametrize(
    ("login", "canonical"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("62 812-3456-7890", "+6281234567890"),
        ("  Warga@Example.ID ", "warga@example.id"),
        ("not a login", None),
        ("0812", None),
        ("warga@", None),
    ],
)
def test_every_spelling_of_a_login_has_one_canonical_form(login: str, canonical: str | None) -> None:
    # given the spelling above

    # when
    found = canonical_login(login)

    # then
    assert found == canonical


def test_a_login_that_is_neither_is_counted_as_typed() -> None:
    assert [counted_login(s) for s in ("0812-3456-7890", " Budi Santoso ", "x" * 300)] == [
        "+6281234567890",
        "budi santoso",
        "x" * 100,
    ]


def test_a_mobile_number_typed_without_its_leading_zero_is_indonesian() -> None:
    assert normalize_phone("812-3456-7890") == "+6281234567890"


def test_a_country_code_never_starts_with_zero() -> None:
    with pytest.raises(DomainError) as raised:
        normalize_phone("+0812345678")

    assert raised.value.code == "INVALID_PHONE"
