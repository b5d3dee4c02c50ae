"""SLA escalation: a late report is raised to the camat, then to the walikota office, once each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain import accounts, workflow
from domain.jobs import JobBuffer
from domain.models import HistoryKind, Notification, Report, ReportStatus, ReportStatusChange, Role, Unit
from domain.resources import Resources
from tests.factories import TOMANG

NOW = datetime.now(UTC)


async def officer_of(resources: Resources, unit_code: str) -> uuid.UUID:
    async with resources.unit_of_work() as session:
        unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit_code))
        user = await accounts.sign_up(
            session,
            email=f"{uuid.uuid4().hex[:10]}@jakarta.go.id",
            phone=None,
            password="correct horse battery",
            display_name=unit_code,
            role=Role.OFFICER,
            unit_id=unit_id,
        )
    return user.id


async def late_report(
    resources: Resources, *, response_late: bool, completion_late: bool, responded: bool
) -> uuid.UUID:
    reference = await resources.reference.get()
    async with resources.unit_of_work() as session:
        report = Report(
            id=uuid.uuid4(),
            reporter_id=None,
            client_request_id=uuid.uuid4().hex,
            fingerprint="x" * 64,
            category_id=reference.category_codes["garbage"].id,
            description="sampah",
            location=f"SRID=4326;POINT({TOMANG[1]} {TOMANG[0]})",
            kelurahan_id=reference.unit_codes["kel-31.73.02.1003"].kelurahan_id,
            kecamatan_id=reference.unit_codes["kec-31.73.02"].kecamatan_id,
            kota_id=reference.unit_codes["kota-31.73"].kota_id,
            unit_id=reference.unit_codes["kel-31.73.02.1003"].id,
            status=ReportStatus.IN_PROGRESS if responded else ReportStatus.WAITING,
            created_at=NOW - timedelta(days=10),
            updated_at=NOW - timedelta(days=10),
            escalation_level=0,
            response_due_at=NOW - timedelta(hours=1) if response_late else NOW + timedelta(hours=1),
            completion_due_at=NOW - timedelta(minutes=1) if completion_late else NOW + timedelta(days=3),
            first_response_at=NOW - timedelta(days=9) if responded else None,
        )
        report.due_at = report.completion_due_at if responded else report.response_due_at
        session.add(report)
    return report.id


async def escalate(resources: Resources, now: datetime = NOW) -> tuple[int, JobBuffer]:
    jobs = JobBuffer()
    async with resources.unit_of_work() as session:
        raised = await workflow.escalate_overdue(session, await resources.reference.get(), jobs=jobs, now=now)
    return raised, jobs


async def escalations(resources: Resources, report_id: uuid.UUID) -> list[tuple[int | None, str]]:
    async with resources.unit_of_work() as session:
        rows = await session.execute(
            select(ReportStatusChange.escalation_level, Unit.code)
            .join(Unit, Unit.id == ReportStatusChange.to_unit_id)
            .where(ReportStatusChange.report_id == report_id, ReportStatusChange.kind == HistoryKind.ESCALATION)
            .order_by(ReportStatusChange.id)
        )
        return [(level, code) for level, code in rows]


async def told(resources: Resources, user_id: uuid.UUID, report_id: uuid.UUID) -> list[str]:
    async with resources.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.kind).where(Notification.user_id == user_id, Notification.report_id == report_id)
        )
        return list(rows)


async def test_a_late_first_response_goes_to_the_camat_then_a_late_completion_to_the_walikota(
    resources: Resources,
) -> None:
    camat = await officer_of(resources, "kec-31.73.02")
    walikota = await officer_of(resources, "kota-31.73")
    report_id = await late_report(resources, response_late=True, completion_late=False, responded=False)

    first, jobs = await escalate(resources)
    await escalate(resources)  # again: nothing new for this report

    assert first >= 1
    assert await escalations(resources, report_id) == [(1, "kec-31.73.02")]
    assert await told(resources, camat, report_id) == ["ESCALATED"]
    assert await told(resources, walikota, report_id) == []
    assert "notifications.deliver" in [j.task for j in jobs.requests]

    await escalate(resources, NOW + timedelta(days=4))

    assert await escalations(resources, report_id) == [(1, "kec-31.73.02"), (2, "kota-31.73")]
    assert await told(resources, walikota, report_id) == ["ESCALATED"]
    async with resources.unit_of_work() as session:
        report = await session.get(Report, report_id)
    assert report is not None
    assert report.escalation_level == 2
    # new to the walikota office: the officers' "changed since" lists it
    assert report.updated_at == NOW + timedelta(days=4)


async def test_a_report_answered_in_time_is_raised_only_when_completion_is_late(resources: Resources) -> None:
    on_time = await late_report(resources, response_late=False, completion_late=False, responded=True)
    late = await late_report(resources, response_late=False, completion_late=True, responded=True)

    await escalate(resources)

    assert await escalations(resources, on_time) == []
    # Skipping the camat's level still leaves a row (and a notification) for each level.
    assert await escalations(resources, late) == [(1, "kec-31.73.02"), (2, "kota-31.73")]


async def test_closed_reports_are_never_raised(resources: Resources) -> None:
    report_id = await late_report(resources, response_late=True, completion_late=True, responded=True)
    async with resources.unit_of_work() as session:
        report = await session.get(Report, report_id)
        assert report is not None
        report.status, report.due_at, report.closed_at = ReportStatus.COMPLETED, None, NOW

    await escalate(resources)

    assert await escalations(resources, report_id) == []


async def test_the_periodic_task_escalates(resources: Resources) -> None:
    from workers.runtime import app
    from workers.tasks import escalate_reports

    report_id = await late_report(resources, response_late=True, completion_late=False, responded=False)

    async with app.open_async():
        raised = await escalate_reports(timestamp=0)

    assert raised >= 1
    assert await escalations(resources, report_id) == [(1, "kec-31.73.02")]
