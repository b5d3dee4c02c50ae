"""Response templates without the database: what a template may say, and how specific it is."""

from __future__ import annotations

import dataclasses

import pytest

from domain.errors import DomainError
from domain.models import Category, ReportStatus, ResponseTemplate
from domain.reference import ReferenceData
from domain.templates import BODY_MAX, TITLE_MAX, Draft, check_draft, specificity

S = ReportStatus
GARBAGE = Category(id=2, code="garbage", name_id="Sampah", name_en="Garbage")
REFERENCE = ReferenceData(
    categories={GARBAGE.id: GARBAGE},
    category_codes={GARBAGE.code: GARBAGE},
    agencies={},
    kota={},
    kecamatan={},
    kelurahan={},
    units={},
    unit_codes={},
)
DRAFT = Draft(
    category_code="garbage",
    status=S.COMPLETED,
    title="Sampah sudah diangkut",
    body_id="Sampah sudah diangkut petugas PPSU.",
    body_en="The garbage has been collected.",
)


def refusal(draft: Draft) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as raised:
        check_draft(draft, REFERENCE)
    return raised.value.code, raised.value.field


def test_a_draft_is_trimmed_and_names_its_category_by_id() -> None:
    # given
    draft = dataclasses.replace(DRAFT, title="  Sampah sudah diangkut ", body_en="   ")

    # when
    checked = check_draft(draft, REFERENCE)

    # then
    assert (checked.category_id, checked.status, checked.title, checked.body_en) == (
        GARBAGE.id,
        S.COMPLETED,
        "Sampah sudah diangkut",
        None,
    )


def test_a_template_for_every_category_and_any_status() -> None:
    # when
    checked = check_draft(dataclasses.replace(DRAFT, category_code=None, status=None), REFERENCE)

    # then
    assert (checked.category_id, checked.status) == (None, None)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"category_code": "no-such"}, ("UNKNOWN_CATEGORY", "category")),
        ({"status": S.WAITING}, ("INVALID_STATUS", "status")),
        ({"status": S.REOPENED}, ("INVALID_STATUS", "status")),
        ({"status": S.VERIFYING}, ("INVALID_STATUS", "status")),
        ({"title": " \t"}, ("TITLE_REQUIRED", "title")),
        ({"body_id": ""}, ("BODY_REQUIRED", "bodyId")),
        ({"title": "t" * (TITLE_MAX + 1)}, ("TOO_LONG", "title")),
        ({"body_id": "b" * (BODY_MAX + 1)}, ("TOO_LONG", "bodyId")),
        ({"body_en": "e" * (BODY_MAX + 1)}, ("TOO_LONG", "bodyEn")),
    ],
    ids=[
        "unknown-category",
        "waiting-is-the-filing",
        "reopened-is-the-reporters",
        "verifying-is-reached-through-completed",
        "blank-title",
        "empty-body",
        "title-too-long",
        "body-too-long",
        "english-body-too-long",
    ],
)
def test_a_bad_draft_is_a_typed_error(overrides: dict[str, object], expected: tuple[str, str]) -> None:
    # when
    found = refusal(dataclasses.replace(DRAFT, **overrides))  # type: ignore[arg-type]

    # then
    assert found == expected


def test_texts_at_their_limits_pass() -> None:
    # when
    checked = check_draft(
        dataclasses.replace(DRAFT, title="t" * TITLE_MAX, body_id="b" * BODY_MAX, body_en="e" * BODY_MAX), REFERENCE
    )

    # then
    assert (len(checked.title), len(checked.body_id), len(checked.body_en or "")) == (TITLE_MAX, BODY_MAX, BODY_MAX)


@pytest.mark.parametrize(
    ("category_id", "status", "expected"),
    [(2, S.COMPLETED, 3), (2, None, 2), (None, S.COMPLETED, 1), (None, None, 0)],
    ids=["category-and-status", "category", "status", "every-report"],
)
def test_a_template_for_one_category_is_more_specific_than_one_for_a_status(
    category_id: int | None, status: ReportStatus | None, expected: int
) -> None:
    # given
    template = ResponseTemplate(category_id=category_id, status=status, title="t", body_id="b")

    # when / then
    assert specificity(template) == expected
