"""Licence plates over the API: only ENFORCEMENT staff read them, and every read leaves an audit row with who,
when, which alert and from where; officers, auditors, admins, citizens and anonymous callers get FORBIDDEN (or
UNAUTHENTICATED) and leave no row; no alert payload carries a plate."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from domain.models import AlertPlate, CctvAlert, PlateReadEvent, Role
from domain.resources import Resources
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen
from tests.integration.test_cctv_zones import T0, make_camera

PLATES = "query P($alert: ID!) { alertPlates(alertId: $alert) { track text confidence } }"
ALERT_FIELDS = '{ __type(name: "CctvAlert") { fields { name } } }'


async def alert_with_plate(resources: Resources) -> uuid.UUID:
    camera_id, _ = await make_camera(resources)
    alert_id = uuid.uuid4()
    async with resources.unit_of_work() as session:
        session.add(
            CctvAlert(
                id=alert_id,
                camera_id=camera_id,
                kind="BUSWAY",
                value=1,
                threshold=0,
                objects=[{"track": 3, "label": "car", "box": [1, 2, 3, 4], "confidence": 0.9}],
                created_at=T0,
            )
        )
        await session.flush()
        session.add(AlertPlate(alert_id=alert_id, track=3, text="B 1234 XYZ", confidence=0.97))
    return alert_id


async def reads_of(resources: Resources, alert_id: uuid.UUID) -> list[PlateReadEvent]:
    async with resources.unit_of_work() as session:
        return list(await session.scalars(select(PlateReadEvent).where(PlateReadEvent.alert_id == alert_id)))


async def test_enforcement_reads_the_plates_and_the_read_is_audited(api: Api, resources: Resources) -> None:
    # given: an alert with a plate, and an enforcement officer
    alert_id = await alert_with_plate(resources)
    enforcer = await staff_member(api, resources, Role.ENFORCEMENT)

    # when: they read its plates twice
    first = await api.gql(PLATES, {"alert": str(alert_id)}, token=enforcer.token)
    second = await api.gql(PLATES, {"alert": str(alert_id)}, token=enforcer.token)

    # then: the plate, and one audit row per read naming them, the alert and their address
    assert first == second == {"data": {"alertPlates": [{"track": 3, "text": "B 1234 XYZ", "confidence": 0.97}]}}
    events = await reads_of(resources, alert_id)
    assert [(str(e.reader_id), e.plates) for e in events] == [(enforcer.user_id, 1), (enforcer.user_id, 1)]
    assert all(e.client_address and e.request_id and e.at is not None for e in events)


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUDITOR, Role.ADMIN])
async def test_other_staff_are_forbidden_and_leave_no_read(api: Api, resources: Resources, role: Role) -> None:
    alert_id = await alert_with_plate(resources)
    unit = "kel-31.71.01.1001" if role == Role.OFFICER else None
    member = await staff_member(api, resources, role, unit)

    body = await api.gql(PLATES, {"alert": str(alert_id)}, token=member.token)

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await reads_of(resources, alert_id) == []


async def test_the_public_is_refused(api: Api, resources: Resources, citizen: Citizen) -> None:
    alert_id = await alert_with_plate(resources)

    as_citizen = await api.gql(PLATES, {"alert": str(alert_id)}, token=citizen.token)
    anonymous = await api.gql(PLATES, {"alert": str(alert_id)})

    assert as_citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await reads_of(resources, alert_id) == []


async def test_an_unknown_or_malformed_alert_is_a_typed_error(api: Api, resources: Resources) -> None:
    enforcer = await staff_member(api, resources, Role.ENFORCEMENT)

    unknown = await api.gql(PLATES, {"alert": str(uuid.uuid4())}, token=enforcer.token)
    malformed = await api.gql(PLATES, {"alert": "not-an-id"}, token=enforcer.token)

    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert malformed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_no_alert_payload_carries_a_plate(api: Api, resources: Resources) -> None:
    enforcer = await staff_member(api, resources, Role.ENFORCEMENT)

    fields = (await api.gql(ALERT_FIELDS, token=enforcer.token))["data"]["__type"]["fields"]

    assert not [f["name"] for f in fields if "plate" in f["name"].lower()]


async def test_enforcement_staff_change_nothing(api: Api, resources: Resources) -> None:
    # given: an enforcement officer (staff only to find the alerts whose plates they read)
    enforcer = await staff_member(api, resources, Role.ENFORCEMENT)

    # when: they try to switch a camera's rule to read plates
    body = await api.gql(
        'mutation { saveWatchRule(input: {cameraCode: "x", kind: BUSWAY, readPlates: true}) { errors { code } } }',
        token=enforcer.token,
    )

    # then: refused before any resolver runs, as auditors are
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
