"""Licence plates over the API: only ENFORCEMENT staff read them, and every read leaves an audit row with who,
when, which alert and from where; officers, auditors, admins, citizens and anonymous callers get FORBIDDEN (or
UNAUTHENTICATED) and leave no row; no alert payload carries a plate."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import cctv_zones
from domain.cctv_observation import Observation
from domain.cctv_rules import CameraHealth
from domain.jobs import JobBuffer
from domain.models import AlertKind, AlertPlate, CctvAlert, PlateReadEvent, Role, ZonePurpose
from domain.resources import Resources
from tests.api.test_workflow import staff_member
from tests.factories import Api, Citizen
from tests.integration.test_cctv_zones import BUSWAY, T0, make_camera, zone_and_rule
from tests.integration.test_plate_reading import CAR, snapshot_with_plate
from workers.queue import defer_in_transaction

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


async def test_the_worker_reads_an_alerts_plate_after_the_alert_and_enforcement_sees_it(
    api: Api, resources: Resources, run_jobs: Callable[[], Awaitable[None]]
) -> None:
    # given: a busway lane whose rule reads plates, and an enforcement officer
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1, read_plates=True)
    enforcer = await staff_member(api, resources, Role.ENFORCEMENT)

    # when: a car stands in the lane, judged as a sample is (its jobs inserted in its transaction), and the
    # worker then runs what was queued
    observation = Observation(
        camera_id=camera_id, taken_at=T0, frame_size=(1280, 720), health=CameraHealth.OK, motion=1.0,
        detected=True, objects=(CAR,), snapshot=lambda: snapshot_with_plate("B 1234 XYZ"),
    )  # fmt: skip
    jobs = JobBuffer()
    async with resources.unit_of_work() as session:
        [alert] = await cctv_zones.observe(
            session, observation=observation, now=T0 + timedelta(seconds=2), jobs=jobs, storage=resources.storage,
            settings=resources.settings, reference=await resources.reference.get(),
        )  # fmt: skip
        await defer_in_transaction(session, jobs.drain())
    before = await api.gql(PLATES, {"alert": str(alert.id)}, token=enforcer.token)
    await run_jobs()
    after = await api.gql(PLATES, {"alert": str(alert.id)}, token=enforcer.token)

    # then: no plate before the job ran, the violator's plate after it
    assert before == {"data": {"alertPlates": []}}
    assert [(p["track"], p["text"]) for p in after["data"]["alertPlates"]] == [(1, "B 1234 XYZ")]
