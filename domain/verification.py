"""Supervisor verification of completions (Jakarta added it to CROP in 2021: follow-ups did not match reality).

In a category that asks for it (``categories.verification_required``, set by admins), a unit's completion does not
close the report: it waits in VERIFYING (``workflow.completion_status``) until the unit's supervisor
(``workflow.supervising_unit``: a kelurahan's camat, a kecamatan's or a Suku Dinas's walikota office) accepts it,
which closes it as COMPLETED, or sends it back with a reason, which puts it IN_PROGRESS again for the unit.

The unit's clock stops when it completes: while the report waits it has no deadline, and an accepted completion
counts in the unit's figures at the time the unit made it (report_cases, migration 0016); a sent-back one never
counts. After a send-back the report is due by its completion deadline as before, late if that has passed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import notifications
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import (
    STATUS_LABELS_ID,
    Category,
    HistoryKind,
    Report,
    ReportStatus,
    ReportStatusChange,
    Role,
)
from domain.reference import ReferenceData
from domain.workflow import Actor, audience, check_note, clean, load_for_update, supervising_unit

S = ReportStatus


@dataclass(frozen=True)
class Verdict:
    accept: bool
    reason: str | None = None  # required to send the work back: what is wrong with it
    public_note: str | None = None
    internal_note: str | None = None


# --- rules without the database ---------------------------------------------------------------------


def may_verify(actor: Actor, report: Report, reference: ReferenceData) -> bool:
    """Only an officer of the supervising office of the unit holding the report verifies its completion: not the
    unit itself, not another camat, not an admin (the check is of the work on the ground)."""
    if actor.role != Role.OFFICER or actor.unit_id is None:
        return False
    holder = reference.units.get(report.unit_id)
    supervisor = supervising_unit(holder, reference) if holder is not None else None
    return supervisor is not None and supervisor.id == actor.unit_id


def verdict_status(current: ReportStatus, verdict: Verdict) -> ReportStatus:
    """Where a verdict moves a report: COMPLETED when accepted, IN_PROGRESS when sent back (with a reason)."""
    if current != S.VERIFYING:
        raise DomainError(
            "INVALID_TRANSITION", f"A report in {current.value} has no completion to verify.", field="reportId"
        )
    if not verdict.accept and not (verdict.reason and verdict.reason.strip()):
        raise DomainError("REASON_REQUIRED", "Say what is wrong with the work to send it back.", field="reason")
    for note, name in (
        (verdict.reason, "reason"),
        (verdict.public_note, "publicNote"),
        (verdict.internal_note, "internalNote"),
    ):
        check_note(note, name)
    return S.COMPLETED if verdict.accept else S.IN_PROGRESS


def staff_note(verdict: Verdict) -> str | None:
    """The history row's internal note: the reason first, then the supervisor's own note."""
    parts = [part for part in (clean(verdict.reason), clean(verdict.internal_note)) if part]
    return "\n\n".join(parts) or None


def apply_verdict(report: Report, to: ReportStatus, now: datetime) -> None:
    """Accepted: closed now. Sent back: due again by its completion deadline (late if it has passed, so the
    escalation sweep raises it to the walikota office as for any late completion)."""
    report.status, report.updated_at = to, now
    if to == S.COMPLETED:
        report.closed_at, report.due_at = now, None
    else:
        report.due_at = report.completion_due_at


# --- use cases --------------------------------------------------------------------------------------


async def completed_by(session: AsyncSession, report_id: uuid.UUID) -> uuid.UUID | None:
    """Who recorded the completion now waiting for verification."""
    return await session.scalar(
        select(ReportStatusChange.actor_id)
        .where(
            ReportStatusChange.report_id == report_id,
            ReportStatusChange.kind == HistoryKind.STATUS,
            ReportStatusChange.to_status == S.VERIFYING,
        )
        .order_by(ReportStatusChange.id.desc())
        .limit(1)
    )


async def verify_completion(
    session: AsyncSession,
    reference: ReferenceData,
    *,
    actor: Actor,
    report_id: uuid.UUID,
    verdict: Verdict,
    jobs: JobBuffer,
    now: datetime,
) -> Report:
    """The supervisor's verdict on the completion waiting for it: a history row, the report closed (accepted) or
    in progress again (sent back), and the people it concerns told."""
    report = await load_for_update(session, report_id)
    if not may_verify(actor, report, reference):
        raise DomainError("FORBIDDEN", "Only the unit's supervisor verifies its completions.", field="reportId")
    to = verdict_status(report.status, verdict)
    if await completed_by(session, report.id) == actor.user_id:
        raise DomainError("FORBIDDEN", "You recorded this completion: another officer verifies it.", field="reportId")
    session.add(
        ReportStatusChange(
            report_id=report.id,
            actor_id=actor.user_id,
            at=now,
            from_status=report.status,
            to_status=to,
            public_note=clean(verdict.public_note),
            internal_note=staff_note(verdict),
        )
    )
    apply_verdict(report, to, now)
    await _announce(session, reference, report, verdict, actor=actor, jobs=jobs, now=now)
    await session.flush()
    return report


async def _announce(
    session: AsyncSession,
    reference: ReferenceData,
    report: Report,
    verdict: Verdict,
    *,
    actor: Actor,
    jobs: JobBuffer,
    now: datetime,
) -> None:
    """Work sent back: the unit's officers hear why. Either way the reporter and followers hear the status, as for
    any status change (the reason is not theirs to read: it is a note between offices)."""
    category = reference.categories[report.category_id]
    label = STATUS_LABELS_ID[report.status]
    if report.status == S.IN_PROGRESS:
        reason = clean(verdict.reason) or ""
        await notifications.notify_unit(
            session,
            report.unit_id,
            notifications.Message("COMPLETION_RETURNED", f"Dikembalikan: {category.name_id}", reason[:200], report.id),
            jobs=jobs,
            now=now,
            skip=actor.user_id,
        )
    default = (
        f"Status laporan {category.name_id} sekarang {label}."
        if report.status == S.COMPLETED
        else "Hasil penanganan belum diterima pengawas; laporan Anda ditindaklanjuti kembali."
    )
    await notifications.notify_users(
        session,
        await audience(session, report),
        notifications.Message(
            "STATUS_CHANGED",
            f"Laporan Anda: {label}",
            clean(verdict.public_note) or default,
            report.id,
            {"status": report.status.value},
        ),
        jobs=jobs,
        now=now,
        skip=actor.user_id,
    )


async def set_category_verification(session: AsyncSession, *, category_code: str, required: bool) -> Category:
    """Whether the category's completions wait for the supervisor. It counts for completions made from now on;
    reports already waiting still need their verdict."""
    category = await session.scalar(select(Category).where(Category.code == category_code).with_for_update())
    if category is None:
        raise DomainError("UNKNOWN_CATEGORY", f"No category {category_code!r}.", field="category")
    category.verification_required = required
    await session.flush()
    return category
