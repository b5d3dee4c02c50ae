"""Supervisor verification of completions: the VERIFYING status, a setting per category, and report_cases
counting a verified completion at the unit's completion time once the supervisor accepted it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 07:00:00+00:00

Categories that ask for verification (seeded on for street vendors, illegal parking and damaged roads; admins
change it with setCategoryVerification): a completion by a unit that has a supervisor goes to VERIFYING, and the
supervisor accepts it (COMPLETED) or sends it back (IN_PROGRESS). For the figures (domain/performance.py), a case
remembers when its pending completion was made (verifying_since); an accepted one becomes its first completion at
that time, a sent-back one is forgotten. No history before this migration has a VERIFYING row, so the cases
already built are what the new function would build: nothing is replayed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.helpers import execute_script

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = (
    "WAITING",
    "COORDINATION",
    "DISPOSITION",
    "IN_PROGRESS",
    "COMPLETED",
    "REJECTED",
    "DUPLICATE",
    "REOPENED",
)
NEW_STATUSES = (*OLD_STATUSES, "VERIFYING")
# Every CHECK constraint of a column holding a report status: (table, constraint name, column).
STATUS_CHECKS = (
    ("reports", "ck_reports_report_status", "status"),
    ("report_status_changes", "ck_report_status_changes_from_status", "from_status"),
    ("report_status_changes", "ck_report_status_changes_to_status", "to_status"),
    ("report_cells", "ck_report_cells_cell_status", "status"),
)
# The seeded setting: categories whose completions are most often contested on the ground (the vendors and the
# cars come back as soon as the officers leave; a patched road breaks again) - the same list as categories.csv.
VERIFIED_CATEGORIES = ("street-vendors", "illegal-parking", "damaged-road")
FIRST_COMPLETED_COMMENT = (
    "the unit's first completion that counts: for a verified one, when the unit completed it, set once the "
    "supervisor accepted it"
)
COVER_COLUMNS = [
    "category_id",
    "response_due_at",
    "completion_due_at",
    "first_response_at",
    "first_completed_at",
    "ended_at",
    "ending",
    "reopenings",
    "escalations",
    "rating",
    "response_hours",
    "completion_hours",
]

# As migration 0009's function, and: a STATUS row to VERIFYING records when the completion was made; the
# supervisor's acceptance (COMPLETED) makes that time the first completion (else its own time, for a completion
# that needed no verification) and ends the case; any other status change forgets a pending completion (sent back).
APPLY = """
CREATE OR REPLACE FUNCTION jsc_report_case_apply(h report_status_changes) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    new_arrival text := CASE
        WHEN h.from_status IS NULL THEN 'FILED'
        WHEN h.kind = 'STATUS' AND h.to_status = 'DISPOSITION' AND h.to_unit_id IS NOT NULL THEN 'DISPOSED'
        WHEN h.kind = 'REROUTE' AND h.to_unit_id IS NOT NULL THEN 'REROUTED'
    END;
    is_status_change boolean := h.kind = 'STATUS';
    current_case bigint;
BEGIN
    SELECT id INTO current_case FROM report_cases WHERE report_id = h.report_id ORDER BY id DESC LIMIT 1 FOR UPDATE;
    IF current_case IS NOT NULL THEN
        UPDATE report_cases c SET
            first_response_at = CASE WHEN is_status_change THEN coalesce(c.first_response_at, h.at)
                                     ELSE c.first_response_at END,
            first_completed_at = CASE WHEN is_status_change AND h.to_status = 'COMPLETED'
                                      THEN coalesce(c.first_completed_at, c.verifying_since, h.at)
                                      ELSE c.first_completed_at END,
            verifying_since = CASE WHEN NOT is_status_change THEN c.verifying_since
                                   WHEN h.to_status = 'VERIFYING' THEN h.at END,
            ending = CASE
                WHEN new_arrival IS NOT NULL THEN
                    CASE WHEN c.ended_at IS NOT NULL THEN c.ending
                         WHEN new_arrival = 'REROUTED' THEN 'REROUTED' ELSE 'PASSED_ON' END
                WHEN is_status_change AND h.to_status IN ('COMPLETED', 'REJECTED', 'DUPLICATE') THEN h.to_status
                WHEN is_status_change AND h.to_status = 'REOPENED' THEN NULL
                ELSE c.ending END,
            ended_at = CASE
                WHEN new_arrival IS NOT NULL THEN coalesce(c.ended_at, h.at)
                WHEN is_status_change AND h.to_status IN ('COMPLETED', 'REJECTED', 'DUPLICATE') THEN h.at
                WHEN is_status_change AND h.to_status = 'REOPENED' THEN NULL
                ELSE c.ended_at END,
            reopenings = c.reopenings + (is_status_change AND h.to_status = 'REOPENED')::int,
            escalations = c.escalations + (h.kind = 'ESCALATION')::int,
            rating = CASE WHEN h.kind = 'RATING' THEN h.rating ELSE c.rating END,
            rated_at = CASE WHEN h.kind = 'RATING' THEN h.at ELSE c.rated_at END
        WHERE c.id = current_case;
    END IF;
    IF new_arrival IS NOT NULL THEN
        INSERT INTO report_cases (report_id, unit_id, category_id, arrival, arrival_event_id, arrived_at,
                                  response_due_at, completion_due_at)
        SELECT h.report_id, coalesce(h.to_unit_id, r.unit_id), r.category_id, new_arrival, h.id, h.at,
               h.response_due_at, h.completion_due_at
        FROM reports r WHERE r.id = h.report_id
        ON CONFLICT (arrival_event_id) DO NOTHING;
    END IF;
END $$;
"""

# Migration 0009's function, for the downgrade.
APPLY_0009 = """
CREATE OR REPLACE FUNCTION jsc_report_case_apply(h report_status_changes) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    new_arrival text := CASE
        WHEN h.from_status IS NULL THEN 'FILED'
        WHEN h.kind = 'STATUS' AND h.to_status = 'DISPOSITION' AND h.to_unit_id IS NOT NULL THEN 'DISPOSED'
        WHEN h.kind = 'REROUTE' AND h.to_unit_id IS NOT NULL THEN 'REROUTED'
    END;
    is_status_change boolean := h.kind = 'STATUS';
    current_case bigint;
BEGIN
    SELECT id INTO current_case FROM report_cases WHERE report_id = h.report_id ORDER BY id DESC LIMIT 1 FOR UPDATE;
    IF current_case IS NOT NULL THEN
        UPDATE report_cases c SET
            first_response_at = CASE WHEN is_status_change THEN coalesce(c.first_response_at, h.at)
                                     ELSE c.first_response_at END,
            first_completed_at = CASE WHEN is_status_change AND h.to_status = 'COMPLETED'
                                      THEN coalesce(c.first_completed_at, h.at) ELSE c.first_completed_at END,
            ending = CASE
                WHEN new_arrival IS NOT NULL THEN
                    CASE WHEN c.ended_at IS NOT NULL THEN c.ending
                         WHEN new_arrival = 'REROUTED' THEN 'REROUTED' ELSE 'PASSED_ON' END
                WHEN is_status_change AND h.to_status IN ('COMPLETED', 'REJECTED', 'DUPLICATE') THEN h.to_status
                WHEN is_status_change AND h.to_status = 'REOPENED' THEN NULL
                ELSE c.ending END,
            ended_at = CASE
                WHEN new_arrival IS NOT NULL THEN coalesce(c.ended_at, h.at)
                WHEN is_status_change AND h.to_status IN ('COMPLETED', 'REJECTED', 'DUPLICATE') THEN h.at
                WHEN is_status_change AND h.to_status = 'REOPENED' THEN NULL
                ELSE c.ended_at END,
            reopenings = c.reopenings + (is_status_change AND h.to_status = 'REOPENED')::int,
            escalations = c.escalations + (h.kind = 'ESCALATION')::int,
            rating = CASE WHEN h.kind = 'RATING' THEN h.rating ELSE c.rating END,
            rated_at = CASE WHEN h.kind = 'RATING' THEN h.at ELSE c.rated_at END
        WHERE c.id = current_case;
    END IF;
    IF new_arrival IS NOT NULL THEN
        INSERT INTO report_cases (report_id, unit_id, category_id, arrival, arrival_event_id, arrived_at,
                                  response_due_at, completion_due_at)
        SELECT h.report_id, coalesce(h.to_unit_id, r.unit_id), r.category_id, new_arrival, h.id, h.at,
               h.response_due_at, h.completion_due_at
        FROM reports r WHERE r.id = h.report_id
        ON CONFLICT (arrival_event_id) DO NOTHING;
    END IF;
END $$;
"""

# Down: the history is rewritten so that 0009's function, replaying it, counts what this one counted. A
# completion the supervisor accepted becomes a completion at the unit's time (the acceptance a second completion,
# which only moves the end of the case to its time); one sent back or still waiting becomes work in progress.
UNDO_VERIFYING = """
UPDATE report_status_changes h SET to_status = CASE
    WHEN (SELECT n.to_status FROM report_status_changes n
          WHERE n.report_id = h.report_id AND n.kind = 'STATUS' AND n.id > h.id ORDER BY n.id LIMIT 1) = 'COMPLETED'
    THEN 'COMPLETED' ELSE 'IN_PROGRESS' END
WHERE h.kind = 'STATUS' AND h.to_status = 'VERIFYING';
UPDATE report_status_changes SET to_status = 'IN_PROGRESS' WHERE to_status = 'VERIFYING';
UPDATE report_status_changes
SET from_status = CASE WHEN kind = 'STATUS' AND to_status = 'COMPLETED' THEN 'COMPLETED' ELSE 'IN_PROGRESS' END
WHERE from_status = 'VERIFYING';
UPDATE reports SET status = 'IN_PROGRESS', due_at = completion_due_at WHERE status = 'VERIFYING';
-- The cells' trigger moved the counts with the reports; it leaves emptied rows behind.
DELETE FROM report_cells WHERE status = 'VERIFYING' AND count = 0;
"""


def _status_checks(statuses: Sequence[str]) -> None:
    for table, name, column in STATUS_CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, sa.column(column).in_(statuses))


def upgrade() -> None:
    _status_checks(NEW_STATUSES)
    op.add_column(
        "categories",
        sa.Column(
            "verification_required",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="a completion waits for the supervisor's acceptance (VERIFYING) before it is COMPLETED",
        ),
    )
    op.execute(
        sa.text("UPDATE categories SET verification_required = true WHERE code = ANY(:codes)").bindparams(
            codes=list(VERIFIED_CATEGORIES)
        )
    )
    op.add_column(
        "report_cases",
        sa.Column(
            "verifying_since",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="a completion waiting for the supervisor's verification: when it was made",
        ),
    )
    op.alter_column(
        "report_cases",
        "first_completed_at",
        existing_type=postgresql.TIMESTAMP(timezone=True),
        comment=FIRST_COMPLETED_COMMENT,
        existing_nullable=True,
    )
    # The figures read a pending completion's time too (overdueOpen), from the covering index alone.
    op.drop_index("ix_report_cases_unit_cover", table_name="report_cases")
    op.create_index(
        "ix_report_cases_unit_cover",
        "report_cases",
        ["unit_id", "arrived_at"],
        postgresql_include=[*COVER_COLUMNS[:5], "verifying_since", *COVER_COLUMNS[5:]],
    )
    execute_script(APPLY)


def downgrade() -> None:
    execute_script(UNDO_VERIFYING)
    execute_script(APPLY_0009)
    op.drop_index("ix_report_cases_unit_cover", table_name="report_cases")
    op.create_index(
        "ix_report_cases_unit_cover", "report_cases", ["unit_id", "arrived_at"], postgresql_include=COVER_COLUMNS
    )
    op.alter_column(
        "report_cases",
        "first_completed_at",
        existing_type=postgresql.TIMESTAMP(timezone=True),
        comment=None,
        existing_comment=FIRST_COMPLETED_COMMENT,
        existing_nullable=True,
    )
    op.drop_column("report_cases", "verifying_since")
    op.drop_column("categories", "verification_required")
    _status_checks(OLD_STATUSES)
