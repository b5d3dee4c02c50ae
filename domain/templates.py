"""Response templates: ready public notes for officers, per category (or all) and target status (or any).

Admins write and archive them; officers ask for the ones that fit the report in hand and the status they are
moving it to, the most specific first, and edit the text before they send it (a template is a starting point:
the note a report carries is whatever the officer sent, so editing a template changes no history).
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.models import Category, ReportStatus, ResponseTemplate
from domain.reference import ReferenceData
from domain.workflow import NOTE_MAX

S = ReportStatus
TITLE_MAX = 120
BODY_MAX = NOTE_MAX  # a template becomes a public note, which takes at most this much
# The statuses an officer moves a report to and writes a public note for (WAITING is the filing, REOPENED the
# reporter's, VERIFYING is reached by asking for COMPLETED).
TEMPLATE_STATUSES = frozenset({S.COORDINATION, S.DISPOSITION, S.IN_PROGRESS, S.COMPLETED, S.REJECTED, S.DUPLICATE})
SEED_FILE = "response_templates.csv"


@dataclass(frozen=True)
class Draft:
    category_code: str | None  # None: every category
    status: ReportStatus | None  # None: any status
    title: str
    body_id: str
    body_en: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Checked:
    category_id: int | None
    status: ReportStatus | None
    title: str
    body_id: str
    body_en: str | None
    active: bool


# --- rules without the database ---------------------------------------------------------------------


def check_draft(draft: Draft, reference: ReferenceData) -> Checked:
    category = None
    if draft.category_code is not None:
        category = reference.category_codes.get(draft.category_code)
        if category is None:
            raise DomainError("UNKNOWN_CATEGORY", f"No category {draft.category_code!r}.", field="category")
    if draft.status is not None and draft.status not in TEMPLATE_STATUSES:
        allowed = ", ".join(sorted(TEMPLATE_STATUSES))
        raise DomainError("INVALID_STATUS", f"A template is for one of {allowed}, or any status.", field="status")
    title, body_id = draft.title.strip(), draft.body_id.strip()
    body_en = draft.body_en.strip() or None if draft.body_en is not None else None
    if not title:
        raise DomainError("TITLE_REQUIRED", "Give the template a title.", field="title")
    if not body_id:
        raise DomainError("BODY_REQUIRED", "Write the note in Indonesian.", field="bodyId")
    for value, limit, name in (
        (title, TITLE_MAX, "title"),
        (body_id, BODY_MAX, "bodyId"),
        (body_en, BODY_MAX, "bodyEn"),
    ):
        if value is not None and len(value) > limit:
            raise DomainError("TOO_LONG", f"{name} takes at most {limit} characters.", field=name)
    return Checked(category.id if category else None, draft.status, title, body_id, body_en, draft.active)


def specificity(template: ResponseTemplate) -> int:
    """3 for one category and one status, 2 for one category, 1 for one status, 0 for every report."""
    return 2 * (template.category_id is not None) + (template.status is not None)


# --- queries and use cases --------------------------------------------------------------------------


def templates_query(
    *, category_id: int | None, status: ReportStatus | None, include_archived: bool
) -> Select[ResponseTemplate]:
    """Templates that fit a category and a status (each: itself or any); without one, every template. The most
    specific first, then by title."""
    query = select(ResponseTemplate)
    if category_id is not None:
        query = query.where((ResponseTemplate.category_id == category_id) | ResponseTemplate.category_id.is_(None))
    if status is not None:
        query = query.where((ResponseTemplate.status == status) | ResponseTemplate.status.is_(None))
    if not include_archived:
        query = query.where(ResponseTemplate.active)
    return query.order_by(
        ResponseTemplate.category_id.is_(None),
        ResponseTemplate.status.is_(None),
        ResponseTemplate.title,
        ResponseTemplate.id,
    )


async def save_template(
    session: AsyncSession,
    reference: ReferenceData,
    *,
    actor_id: uuid.UUID,
    template_id: int | None,
    draft: Draft,
    now: datetime,
) -> ResponseTemplate:
    """Creates a template (``template_id`` None) or replaces one's content."""
    checked = check_draft(draft, reference)
    if template_id is None:
        template = ResponseTemplate(created_by_id=actor_id, created_at=now)
        session.add(template)
    else:
        found = await session.get(ResponseTemplate, template_id, with_for_update=True)
        if found is None:
            raise DomainError("NOT_FOUND", "No such template.", field="id")
        template = found
    template.category_id, template.status, template.title = checked.category_id, checked.status, checked.title
    template.body_id, template.body_en, template.active = checked.body_id, checked.body_en, checked.active
    template.updated_by_id, template.updated_at = actor_id, now
    await _flush_unique(session)
    return template


async def archive_template(
    session: AsyncSession, *, actor_id: uuid.UUID, template_id: int, now: datetime
) -> ResponseTemplate:
    """Takes a template out of use; it is kept (who wrote what, and when) and can be saved active again."""
    template = await session.get(ResponseTemplate, template_id, with_for_update=True)
    if template is None:
        raise DomainError("NOT_FOUND", "No such template.", field="id")
    if template.active:
        template.active, template.updated_by_id, template.updated_at = False, actor_id, now
        await session.flush()
    return template


async def _flush_unique(session: AsyncSession) -> None:
    # The unique index decides, so two admins saving the same title at once cannot both win.
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "uq_response_templates_active_title" not in str(exc.orig):
            raise
        raise DomainError(
            "DUPLICATE_TITLE", "An active template of this category and status has that title.", field="title"
        ) from exc


async def seed_templates(session: AsyncSession, *, data_dir: Path) -> int:
    """Adds the templates of the data file that were never added (by their key): a re-run adds nothing, and a
    seeded template an admin changed or archived stays as the admin left it. Returns how many were added."""
    path = data_dir / SEED_FILE
    if not path.exists():
        return 0
    categories = {row.code: row.id for row in await session.execute(select(Category.code, Category.id))}
    added = 0
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        result = await session.execute(
            pg_insert(ResponseTemplate)
            .values(
                seed_key=row["key"],
                category_id=categories[row["category"]] if row["category"] else None,
                status=ReportStatus(row["status"]) if row["status"] else None,
                title=row["title"],
                body_id=row["body_id"],
                body_en=row["body_en"] or None,
            )
            .on_conflict_do_nothing()
            .returning(ResponseTemplate.id)
        )
        added += len(result.all())
    return added
