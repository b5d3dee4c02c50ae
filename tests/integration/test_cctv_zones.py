"""observe() on real PostgreSQL and S3: sequences of samples of a watched camera give exactly the alerts expected,
each in its own transaction as if a different worker took every sample; alerts keep their snapshot, rule, zone
and objects and reach the unit; a rule files one report at a time and later alerts add to it."""

from __future__ import annotations

import asyncio
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select, text, update

from domain import accounts, cctv, cctv_rules, cctv_zones
from domain.cctv_observation import ObjectSeen, Observation
from domain.cctv_rules import CameraHealth
from domain.jobs import JobBuffer
from domain.models import (
    AlertKind,
    CameraKind,
    CameraSource,
    CctvAlert,
    Notification,
    Photo,
    Report,
    ReportStatus,
    Role,
    Unit,
    User,
    ZonePurpose,
    ZoneState,
)
from domain.resources import Resources

UNIT = "kel-31.71.01.1001"  # a kelurahan office runs the camera (one other tests leave alone)
T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
FRAME = (1280, 720)
BUSWAY = [[640, 360], [1280, 360], [1280, 720], [640, 720]]
KERB = [[0, 360], [640, 360], [640, 720], [0, 720]]
CAR_IN_BUSWAY = ObjectSeen("car", (800, 500, 120, 80), 0.9)
BUS_IN_BUSWAY = ObjectSeen("bus", (900, 400, 300, 200), 0.9)
ANGKOT_AT_KERB = ObjectSeen("car", (200, 500, 120, 80), 0.8)


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), (shade, shade, shade)).save(out, format="JPEG")
    return out.getvalue()


async def make_camera(resources: Resources, *, unit: str | None = UNIT) -> tuple[int, str]:
    code = f"watch-{uuid.uuid4().hex[:8]}"
    reference = await resources.reference.get()
    async with resources.unit_of_work() as session:
        camera, _ = await cctv.save_camera(
            session,
            reference,
            data=cctv.CameraInput(
                code=code,
                name=f"Jl. Sudirman {code}",
                operator="Dishub",
                kind=CameraKind.ROAD,
                lon=106.8500,
                lat=-6.2087,
                heading_deg=90,
                fov_deg=60,
                range_m=150,
                source_kind=CameraSource.STREAM,
                source="https://cctv.example/live.m3u8",
                unit_code=unit,
            ),
        )
        return camera.id, code


async def zone_and_rule(
    resources: Resources, code: str, purpose: ZonePurpose, polygon: list[list[float]], kind: AlertKind, **rule: Any
) -> None:
    reference = await resources.reference.get()
    async with resources.unit_of_work() as session:
        await cctv_zones.save_zone(
            session, camera_code=code, name=purpose.value.lower(), purpose=purpose, polygon=polygon, frame_size=FRAME
        )
        values: dict[str, Any] = {"threshold": 0, "dwell_s": 0, "cooldown_s": 60, "hold_samples": 2, **rule}
        await cctv_zones.save_watch_rule(
            session,
            reference,
            data=cctv_zones.RuleInput(camera_code=code, zone_name=purpose.value.lower(), kind=kind, **values),
        )


def sample(camera_id: int, n: int, *objects: ObjectSeen, **extra: Any) -> Observation:
    return Observation(
        camera_id=camera_id,
        taken_at=T0 + timedelta(seconds=10 * n),
        frame_size=(640, 360),  # half the reference frame: the zones are scaled
        health=CameraHealth.OK,
        motion=0.2,
        detected=True,
        objects=tuple(ObjectSeen(o.label, tuple(v // 2 for v in o.box), o.confidence) for o in objects),  # type: ignore[arg-type]
        snapshot=lambda: jpeg(40 + n),
        **extra,
    )


async def observe_each(resources: Resources, samples: list[Observation]) -> list[tuple[int, list[CctvAlert]]]:
    """Every sample in its own transaction (another worker each time); the alerts per sample index."""
    out = []
    for index, observation in enumerate(samples):
        jobs = JobBuffer()
        reference = await resources.reference.get()
        async with resources.unit_of_work() as session:
            alerts = await cctv_zones.observe(
                session,
                observation=observation,
                now=observation.taken_at + timedelta(seconds=2),
                jobs=jobs,
                storage=resources.storage,
                settings=resources.settings,
                reference=reference,
            )
        if alerts:
            out.append((index, alerts))
    return out


async def officer_of(resources: Resources, unit: str) -> uuid.UUID:
    async with resources.unit_of_work() as session:
        unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit))
        user = await accounts.sign_up(
            session,
            email=f"dishub-{uuid.uuid4().hex[:8]}@jakarta.go.id",
            phone=None,
            password="correct horse battery",
            display_name="Petugas",
            role=Role.OFFICER,
            unit_id=unit_id,
        )
        return user.id


async def test_a_car_in_the_busway_alerts_once_with_snapshot_rule_zone_and_objects(resources: Resources) -> None:
    # given: a road camera with a busway lane and its rule, run by a unit with one officer
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY)
    officer = await officer_of(resources, UNIT)

    # when: six samples, each taken by "another worker": a bus and a car in the lane
    raised = await observe_each(resources, [sample(camera_id, n, CAR_IN_BUSWAY, BUS_IN_BUSWAY) for n in range(6)])

    # then: one alert, at the second sample (membership held for two samples)
    assert [(i, [(a.kind, a.value, a.threshold) for a in alerts]) for i, alerts in raised] == [
        (1, [(AlertKind.BUSWAY, 1.0, 0.0)])
    ]
    [alert] = raised[0][1]
    async with resources.unit_of_work() as session:
        stored = await session.get_one(CctvAlert, alert.id)
        rule_id, zone_id = stored.rule_id, stored.zone_id
        assert stored.objects == [{"track": 1, "label": "car", "box": [400, 250, 60, 40], "confidence": 0.9}]
        assert stored.report_id is None
        assert stored.evidence_id is None
        assert stored.created_at == T0 + timedelta(seconds=12)
        inbox = (await session.scalars(select(Notification.data).where(Notification.user_id == officer))).all()
        state = await session.get_one(ZoneState, camera_id)
    assert rule_id is not None
    assert zone_id is not None
    assert inbox == [{"alertId": str(alert.id), "cameraCode": code, "kind": "CCTV_ALERT"}]
    assert stored.snapshot_key is not None
    assert await resources.storage.read(stored.snapshot_key) == jpeg(41)
    assert state.state["t"] == (T0 + timedelta(seconds=50)).isoformat()


async def test_the_snapshot_is_made_only_for_the_sample_that_alerts(resources: Resources) -> None:
    # given: a busway camera whose samples count the snapshots made (blurring faces costs most of a sample)
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY)
    made: list[int] = []

    def counted(n: int) -> Observation:
        def snapshot() -> bytes:
            made.append(n)
            return jpeg(40 + n)

        return replace(sample(camera_id, n, CAR_IN_BUSWAY), snapshot=snapshot)

    # when: six samples with a car in the lane, which alert once (at the second)
    raised = await observe_each(resources, [counted(n) for n in range(6)])

    # then: one snapshot was made, for that one
    assert [i for i, _ in raised] == [1]
    assert made == [1]


async def test_the_state_carries_over_between_workers_and_a_replayed_sample_alerts_nothing(
    resources: Resources,
) -> None:
    # given: a no-stopping kerb, 60 s dwell; an angkot standing there
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.NO_STOPPING, KERB, AlertKind.NO_STOPPING, dwell_s=60)
    first = [sample(camera_id, n, ANGKOT_AT_KERB) for n in range(4)]
    rest = [sample(camera_id, n, ANGKOT_AT_KERB) for n in range(4, 12)]

    # when: four samples, then the last one again (a retried job), then the rest
    assert await observe_each(resources, first) == []
    assert await observe_each(resources, [first[-1]]) == []
    raised = await observe_each(resources, rest)

    # then: the dwell counted across every transaction: 60 s at sample 6 (index 2 of the rest), once
    assert [(i, [(a.kind, a.value, a.threshold) for a in alerts]) for i, alerts in raised] == [
        (2, [(AlertKind.NO_STOPPING, 60.0, 60.0)])
    ]


async def test_an_auto_report_is_filed_once_later_alerts_add_to_it_and_a_closed_one_lets_a_new_one_be_filed(
    resources: Resources,
) -> None:
    # given: a no-stopping kerb that files an illegal-parking report, 30 s dwell, 30 s cooldown
    camera_id, code = await make_camera(resources)
    await zone_and_rule(
        resources,
        code,
        ZonePurpose.NO_STOPPING,
        KERB,
        AlertKind.NO_STOPPING,
        dwell_s=30,
        cooldown_s=30,
        report_category="illegal-parking",
    )

    def stay(start: int) -> list[Observation]:
        """An angkot stands for 50 s, then the kerb is empty for 30 s (longer than a track is kept)."""
        return [sample(camera_id, n, ANGKOT_AT_KERB) for n in range(start, start + 5)] + [
            sample(camera_id, n) for n in range(start + 5, start + 8)
        ]

    # when: two stays
    raised = await observe_each(resources, stay(0) + stay(8))

    # then: one alert per stay (at 30 s into each); the first filed a report, the second added to it
    assert [i for i, _ in raised] == [3, 11]
    first, second = raised[0][1][0], raised[1][1][0]
    assert first.report_id is not None
    assert second.report_id == first.report_id
    async with resources.unit_of_work() as session:
        report = await session.get_one(Report, first.report_id)
        reporter = await session.get_one(User, report.reporter_id)
        photos = (await session.scalars(select(Photo).where(Photo.report_id == report.id))).all()
        reports_of_camera = (
            await session.scalars(select(Report.id).where(Report.reporter_id == reporter.id, Report.id == report.id))
        ).all()
        assert reporter.email == cctv_zones.SYSTEM_REPORTER_EMAIL
        assert report.status == ReportStatus.WAITING
        assert report.description.startswith(f"Laporan otomatis dari kamera Jl. Sudirman {code}")
        assert len(photos) == 1
        assert await resources.storage.read(photos[0].upload_key) == jpeg(43)
        assert len(reports_of_camera) == 1

    # when: the report is closed, and a third stay comes
    async with resources.unit_of_work() as session:
        await session.execute(
            update(Report)
            .where(Report.id == first.report_id)
            .values(status=ReportStatus.COMPLETED, closed_at=T0 + timedelta(seconds=200), due_at=None)
        )
    third = await observe_each(resources, stay(16))

    # then: a new report
    [(index, [alert])] = third
    assert index == 3
    assert alert.report_id is not None
    assert alert.report_id != first.report_id
    async with resources.unit_of_work() as session:
        filed = (
            await session.scalars(
                select(CctvAlert.report_id).where(CctvAlert.camera_id == camera_id).order_by(CctvAlert.created_at)
            )
        ).all()
    assert filed == [first.report_id, first.report_id, alert.report_id]


async def test_the_cameras_older_thresholds_are_judged_continuously(resources: Resources) -> None:
    # given: a camera with only a setAlertRule crowd threshold of 2
    camera_id, code = await make_camera(resources)
    async with resources.unit_of_work() as session:
        await cctv.set_alert_rule(
            session, camera_code=code, kind=None, rules=cctv_rules.AlertRules(crowd_above_persons=2)
        )
    crowd = [ObjectSeen("person", (100 + 60 * i, 100, 30, 80), 0.8) for i in range(3)]

    # when
    raised = await observe_each(resources, [sample(camera_id, n, *crowd) for n in range(6)])

    # then: one crowd alert once held for two samples, no rule row behind it
    assert [(i, [(a.kind, a.value, a.rule_id) for a in alerts]) for i, alerts in raised] == [
        (1, [(AlertKind.CROWD, 3.0, None)])
    ]


async def test_a_switched_off_or_unknown_camera_is_not_judged(resources: Resources) -> None:
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1)
    async with resources.unit_of_work() as session:
        await cctv.set_camera_active(session, code=code, active=False)
    assert await observe_each(resources, [sample(camera_id, 0, CAR_IN_BUSWAY)]) == []
    assert await observe_each(resources, [sample(-1, 0, CAR_IN_BUSWAY)]) == []


async def test_a_camera_without_rules_is_judged_without_a_write(resources: Resources) -> None:
    camera_id, _ = await make_camera(resources)
    assert await observe_each(resources, [sample(camera_id, n, CAR_IN_BUSWAY) for n in range(3)]) == []
    async with resources.unit_of_work() as session:
        assert await session.get(ZoneState, camera_id) is None


async def test_two_workers_given_the_same_sample_at_once_alert_once(resources: Resources) -> None:
    # given: a busway rule that alerts at the first sample
    camera_id, code = await make_camera(resources)
    await zone_and_rule(resources, code, ZonePurpose.BUSWAY, BUSWAY, AlertKind.BUSWAY, hold_samples=1)
    observation = sample(camera_id, 0, CAR_IN_BUSWAY)

    # when: one worker judges it and, before it commits, another worker gets the same sample
    async with resources.sessions() as first, first.begin():
        raised = await cctv_zones.observe(
            first,
            observation=observation,
            now=T0,
            jobs=JobBuffer(),
            storage=resources.storage,
            settings=resources.settings,
            reference=await resources.reference.get(),
        )
        second = asyncio.create_task(observe_each(resources, [observation]))
        # the signal: the second worker's session waits for the camera's state row
        async with resources.sessions() as probe:
            for _ in range(1000):
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
                # pg_stat_activity is read once per transaction and kept: each look must be a new transaction,
                # or a first look taken before the second worker reached the lock is all the loop ever sees.
                await probe.rollback()
                if waiting or second.done():
                    break
                await asyncio.sleep(0.01)
        assert waiting == 1

    # then: the first alerts, the second waited, then found the sample already judged
    assert [a.kind for a in raised] == [AlertKind.BUSWAY]
    assert await second == []
