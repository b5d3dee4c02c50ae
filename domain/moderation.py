"""Moderation: anyone logged in flags a report or a comment as abuse; moderators (admins) hide it with a reason.

A hidden report is confidential while hidden, so every public view (map, tiles, statistics, feeds, lookups)
leaves it out by the rule they already keep; its reporter and staff still see it. Hiding and showing again are
history rows (kind MODERATION) with the reason, and resolve the open flags on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.community import visible_to
from domain.errors import DomainError
from domain.models import AbuseFlag, HistoryKind, Report, ReportComment, ReportStatusChange, Role
from domain.workflow import Actor, load_for_update

REASON_MAX = 500


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DomainError("REASON_REQUIRED", "Say what is wrong.", field="reason")
    if len(text) > REASON_MAX:
        raise DomainError("REASON_TOO_LONG", f"A reason takes at most {REASON_MAX} characters.", field="reason")
    return text


def _moderator(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise DomainError("FORBIDDEN", "Only moderators do this.")


async def flag(
    session: AsyncSession,
    *,
    actor: Actor,
    report_id: uuid.UUID | None = None,
    comment_id: uuid.UUID | None = None,
    reason: str,
    now: datetime,
) -> uuid.UUID:
    """Flags a report or a comment; a second flag by the same person changes nothing. Returns the report id."""
    text = _reason(reason)
    if comment_id is not None:
        comment = await session.get(ReportComment, comment_id)
        if comment is None:
            raise DomainError("NOT_FOUND", "No such comment.", field="commentId")
        report_id = comment.report_id
    report = await session.get(Report, report_id) if report_id else None
    if report is None or not visible_to(report, actor):
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    await session.execute(
        pg_insert(AbuseFlag)
        .values(
            id=uuid.uuid4(),
            user_id=actor.user_id,
            report_id=report.id,
            comment_id=comment_id,
            reason=text,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    return report.id


async def open_flags(session: AsyncSession, *, actor: Actor, limit: int) -> list[AbuseFlag]:
    """The flags no moderator has acted on, oldest first (moderators; auditors read them too)."""
    if actor.role not in (Role.ADMIN, Role.AUDITOR):
        raise DomainError("FORBIDDEN", "Only moderators and auditors see the flags.")
    rows = await session.scalars(
        select(AbuseFlag).where(AbuseFlag.resolved_at.is_(None)).order_by(AbuseFlag.created_at).limit(limit)
    )
    return list(rows)


def _history(report: Report, actor: Actor, now: datetime, note: str) -> ReportStatusChange:
    """A MODERATION row in the report's history: who did what, and why (staff see it)."""
    return ReportStatusChange(
        report_id=report.id,
        kind=HistoryKind.MODERATION,
        from_status=report.status,
        to_status=report.status,
        actor_id=actor.user_id,
        at=now,
        internal_note=note,
    )


async def _resolve(session: AsyncSession, actor: Actor, now: datetime, *conditions: object) -> None:
    await session.execute(
        update(AbuseFlag)
        .where(AbuseFlag.resolved_at.is_(None), *conditions)  # type: ignore[arg-type]
        .values(resolved_at=now, resolved_by=actor.user_id)
    )


async def hide_report(
    session: AsyncSession, *, actor: Actor, report_id: uuid.UUID, reason: str, hidden: bool, now: datetime
) -> Report:
    """Hides a report from the public (``hidden``) or shows it again, as it was."""
    _moderator(actor)
    text = _reason(reason)
    report = await load_for_update(session, report_id)
    if hidden and report.hidden_at is None:
        report.hidden_was_confidential, report.confidential = report.confidential, True
        report.hidden_at, report.hidden_reason = now, text
    elif not hidden and report.hidden_at is not None:
        report.confidential = bool(report.hidden_was_confidential)
        report.hidden_at = report.hidden_reason = report.hidden_was_confidential = None
    else:
        raise DomainError("INVALID_TRANSITION", "The report is already so.", field="reportId")
    session.add(_history(report, actor, now, ("Disembunyikan: " if hidden else "Ditampilkan lagi: ") + text))
    report.updated_at = now
    await _resolve(session, actor, now, AbuseFlag.report_id == report.id, AbuseFlag.comment_id.is_(None))
    await session.flush()
    return report


async def hide_comment(
    session: AsyncSession, *, actor: Actor, comment_id: uuid.UUID, reason: str, now: datetime
) -> ReportComment:
    """Hides a comment from the public with the reason (kept on the comment and in its report's history); the
    comment is never deleted, and its flags are resolved."""
    _moderator(actor)
    comment = await session.scalar(select(ReportComment).where(ReportComment.id == comment_id).with_for_update())
    if comment is None:
        raise DomainError("NOT_FOUND", "No such comment.", field="commentId")
    text = _reason(reason)
    if comment.hidden_at is None:
        comment.hidden_at, comment.hidden_by, comment.hidden_reason = now, actor.user_id, text
        report = await session.get(Report, comment.report_id)
        if report is not None:
            session.add(_history(report, actor, now, f"Komentar {comment.id} disembunyikan: {text}"))
            report.updated_at = now
    await _resolve(session, actor, now, AbuseFlag.comment_id == comment.id)
    await session.flush()
    return comment
