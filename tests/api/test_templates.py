"""Response templates through GraphQL: the seeded ones, the admins' create / update / archive, the officers'
filtered list (most specific first), typed errors, and a re-run of the seeding."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from domain import jakarta
from domain.models import ResponseTemplate, Role
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_workflow import TOMANG_OFFICE, act, staff_member
from tests.factories import Api, Citizen

TEMPLATE = "id category { code } status title bodyId bodyEn active specificity updatedBy { displayName }"
LIST = f"""
query Templates($category: String, $status: ReportStatus, $archived: Boolean! = false) {{
  responseTemplates(category: $category, status: $status, includeArchived: $archived) {{ {TEMPLATE} }}
}}
"""
SAVE = f"""
mutation Save($input: ResponseTemplateInput!) {{
  saveResponseTemplate(input: $input) {{ template {{ {TEMPLATE} }} errors {{ code field }} }}
}}
"""
ARCHIVE = f"""
mutation Archive($id: ID!) {{
  archiveResponseTemplate(id: $id) {{ template {{ {TEMPLATE} }} errors {{ code field }} }}
}}
"""


@pytest.fixture
async def admin(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.ADMIN)


@pytest.fixture
async def lurah(api: Api, resources: Resources) -> Citizen:
    return await staff_member(api, resources, Role.OFFICER, TOMANG_OFFICE)


async def listed(api: Api, who: Citizen, **variables: Any) -> list[dict[str, Any]]:
    body = await api.gql(LIST, variables, token=who.token)
    assert "errors" not in body, body
    templates: list[dict[str, Any]] = body["data"]["responseTemplates"]
    return templates


async def template_rows(resources: Resources) -> int:
    async with resources.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(ResponseTemplate)) or 0)


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:6]}"


async def test_the_seeded_templates_fit_a_report_most_specific_first(lurah: Citizen, api: Api) -> None:
    # when an officer moves a garbage report on, then completes one
    moving = await listed(api, lurah, category="garbage", status="IN_PROGRESS")
    completing = await listed(api, lurah, category="garbage", status="COMPLETED")

    # then the garbage template comes before the one for every category
    assert [(t["title"], t["specificity"]) for t in moving] == [
        ("Pengangkutan sampah dijadwalkan", 3),
        ("Petugas menuju lokasi", 1),
    ]
    assert [t["title"] for t in completing] == ["Sampah sudah diangkut"]
    assert completing[0]["bodyId"].startswith("Sampah di lokasi sudah diangkut")
    assert completing[0]["bodyEn"].startswith("The garbage has been collected")
    assert (completing[0]["category"]["code"], completing[0]["status"], completing[0]["updatedBy"]) == (
        "garbage",
        "COMPLETED",
        None,
    )


async def test_admins_create_update_and_archive_templates(admin: Citizen, lurah: Citizen, api: Api) -> None:
    title = unique("Bukan pengemis")

    # when an admin writes one for a category and a status, then changes it
    created = await act(
        api,
        SAVE,
        admin,
        input={"category": "beggars", "status": "REJECTED", "title": title, "bodyId": "Bukan pengemis.", "bodyEn": "x"},
    )
    template_id = created["template"]["id"]
    updated = await act(
        api,
        SAVE,
        admin,
        input={
            "id": template_id,
            "category": "beggars",
            "status": "REJECTED",
            "title": title,
            "bodyId": "Orang tersebut bukan pengemis, melainkan pedagang keliling.",
        },
    )

    # then officers get it first for a rejection of that category, before the rejections for every category
    assert created["errors"] == []
    assert updated["errors"] == []
    assert updated["template"] == {
        "id": template_id,
        "category": {"code": "beggars"},
        "status": "REJECTED",
        "title": title,
        "bodyId": "Orang tersebut bukan pengemis, melainkan pedagang keliling.",
        "bodyEn": None,
        "active": True,
        "specificity": 3,
        "updatedBy": {"displayName": "Petugas None"},
    }
    offered = await listed(api, lurah, category="beggars", status="REJECTED")
    assert [(t["title"], t["specificity"]) for t in offered] == [
        (title, 3),
        ("Bukan kewenangan Pemprov DKI", 1),
        ("Laporan kurang jelas", 1),
    ]
    assert template_id not in {t["id"] for t in await listed(api, lurah, category="garbage", status="REJECTED")}
    assert template_id not in {t["id"] for t in await listed(api, lurah, category="beggars", status="COMPLETED")}
    assert template_id in {t["id"] for t in await listed(api, lurah)}

    # when a second one takes the same title, then the first is archived (twice: nothing changes the second time)
    same = await act(
        api, SAVE, admin, input={"category": "beggars", "status": "REJECTED", "title": title, "bodyId": "b"}
    )
    archived = await act(api, ARCHIVE, admin, id=template_id)
    again = await act(api, ARCHIVE, admin, id=template_id)

    # then the title was taken while it was active, and once archived it is offered no more but kept
    assert same == {"template": None, "errors": [{"code": "DUPLICATE_TITLE", "field": "title"}]}
    assert (archived["errors"], archived["template"]["active"]) == ([], False)
    assert again == archived
    assert template_id not in {t["id"] for t in await listed(api, lurah, category="beggars", status="REJECTED")}
    with_archived = await listed(api, lurah, category="beggars", status="REJECTED", archived=True)
    assert template_id in {t["id"] for t in with_archived}
    # the title is free again
    reused = await act(
        api, SAVE, admin, input={"category": "beggars", "status": "REJECTED", "title": title, "bodyId": "c"}
    )
    assert reused["errors"] == []
    assert (await act(api, ARCHIVE, admin, id=reused["template"]["id"]))["errors"] == []


async def test_a_template_for_every_category_and_any_status(admin: Citizen, lurah: Citizen, api: Api) -> None:
    title = unique("Terima kasih")
    created = await act(api, SAVE, admin, input={"title": title, "bodyId": "Terima kasih atas laporan Anda."})
    template_id = created["template"]["id"]
    try:
        offered_for = {
            (category, status): template_id
            in {t["id"] for t in await listed(api, lurah, category=category, status=status)}
            for category, status in (("garbage", "COMPLETED"), ("flood", "DUPLICATE"), ("beggars", None))
        }
        assert created["template"]["specificity"] == 0
        assert (created["template"]["category"], created["template"]["status"]) == (None, None)
        assert offered_for == {("garbage", "COMPLETED"): True, ("flood", "DUPLICATE"): True, ("beggars", None): True}
        # the least specific comes last
        assert (await listed(api, lurah, category="garbage", status="COMPLETED"))[-1]["id"] == template_id
    finally:
        await act(api, ARCHIVE, admin, id=template_id)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"category": "no-such-category"}, "UNKNOWN_CATEGORY", "category"),
        ({"status": "WAITING"}, "INVALID_STATUS", "status"),
        ({"status": "VERIFYING"}, "INVALID_STATUS", "status"),
        ({"title": "   "}, "TITLE_REQUIRED", "title"),
        ({"bodyId": ""}, "BODY_REQUIRED", "bodyId"),
        ({"title": "t" * 121}, "TOO_LONG", "title"),
        ({"bodyId": "b" * 2001}, "TOO_LONG", "bodyId"),
        ({"bodyEn": "e" * 2001}, "TOO_LONG", "bodyEn"),
        ({"id": "2147483647"}, "NOT_FOUND", "id"),
        ({"id": "not-a-number"}, "NOT_FOUND", "id"),
    ],
)
async def test_a_bad_template_is_a_typed_error_and_stores_nothing(
    admin: Citizen, api: Api, resources: Resources, changes: dict[str, str], code: str, field: str
) -> None:
    before = await template_rows(resources)

    payload = await act(
        api,
        SAVE,
        admin,
        input={"category": "flood", "status": "COMPLETED", "title": unique("Surut"), "bodyId": "b", **changes},
    )

    assert payload == {"template": None, "errors": [{"code": code, "field": field}]}
    assert await template_rows(resources) == before


async def test_only_admins_write_templates_and_only_staff_read_them(
    admin: Citizen, lurah: Citizen, citizen: Citizen, api: Api, resources: Resources
) -> None:
    before = await template_rows(resources)
    some_id = (await listed(api, lurah))[0]["id"]

    written = await act(api, SAVE, lurah, input={"title": unique("x"), "bodyId": "y"})
    archived = await act(api, ARCHIVE, lurah, id=some_id)
    missing = await act(api, ARCHIVE, admin, id="2147483647")
    by_citizen = await api.gql(LIST, {}, token=citizen.token)
    by_nobody = await api.gql(LIST, {})
    unknown = await api.gql(LIST, {"category": "no-such-category"}, token=lurah.token)

    assert written == {"template": None, "errors": [{"code": "FORBIDDEN", "field": None}]}
    assert archived == {"template": None, "errors": [{"code": "FORBIDDEN", "field": None}]}
    assert missing == {"template": None, "errors": [{"code": "NOT_FOUND", "field": "id"}]}
    assert by_citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_nobody["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (unknown["errors"][0]["extensions"]["code"], unknown["errors"][0]["extensions"]["reason"]) == (
        "BAD_USER_INPUT",
        "UNKNOWN_CATEGORY",
    )
    assert await template_rows(resources) == before
    assert [t["active"] for t in await listed(api, lurah) if t["id"] == some_id] == [True]


async def test_seeding_again_adds_nothing_and_keeps_what_admins_did(
    admin: Citizen, lurah: Citizen, api: Api, resources: Resources, settings: Settings
) -> None:
    seeded = {t["title"]: t for t in await listed(api, lurah, category="flood")}
    pumps = seeded["Pompa dan petugas dikerahkan"]
    receded = seeded["Genangan sudah surut"]
    before = await template_rows(resources)
    edited = {
        "id": pumps["id"],
        "category": "flood",
        "status": "IN_PROGRESS",
        "title": "Pompa dikerahkan",
        "bodyId": "Pompa.",
    }
    try:
        assert (await act(api, SAVE, admin, input=edited))["errors"] == []
        assert (await act(api, ARCHIVE, admin, id=receded["id"]))["errors"] == []

        # when the catalogue is loaded again (`jsc load-jakarta` on a loaded database)
        async with resources.unit_of_work() as session:
            await jakarta.load_catalogue(session, data_dir=settings.jakarta_data_dir)

        # then no template is added, the edited one keeps the admin's text and the archived one stays archived
        after = {t["id"]: t for t in await listed(api, lurah, category="flood", archived=True)}
        assert await template_rows(resources) == before
        assert (after[pumps["id"]]["title"], after[pumps["id"]]["bodyId"]) == ("Pompa dikerahkan", "Pompa.")
        assert after[receded["id"]]["active"] is False
    finally:
        restore = [
            {
                "id": pumps["id"],
                "category": "flood",
                "status": "IN_PROGRESS",
                "title": pumps["title"],
                "bodyId": pumps["bodyId"],
                "bodyEn": pumps["bodyEn"],
            },
            {
                "id": receded["id"],
                "category": "flood",
                "status": "COMPLETED",
                "title": receded["title"],
                "bodyId": receded["bodyId"],
                "bodyEn": receded["bodyEn"],
            },
        ]
        for values in restore:
            assert (await act(api, SAVE, admin, input=values))["errors"] == []


async def test_every_seeded_template_is_there_once(resources: Resources, settings: Settings) -> None:
    async with resources.unit_of_work() as session:
        keys = list(
            await session.scalars(select(ResponseTemplate.seed_key).where(ResponseTemplate.seed_key.is_not(None)))
        )
    with (settings.jakarta_data_dir / "response_templates.csv").open(encoding="utf-8") as fh:
        lines = fh.read().splitlines()

    assert sorted(keys) == sorted(line.split(",", 1)[0] for line in lines[1:])
