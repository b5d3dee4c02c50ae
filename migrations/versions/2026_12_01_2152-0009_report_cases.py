"""Performance figures: report_cases (one unit's spell with one report), kept by a trigger on the history;
each arrival row records the receiving unit's own deadlines; RATING history rows; exports (CSV files made by
a job)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:52:06.531399+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.helpers import execute_script

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_KINDS = ("STATUS", "ASSIGNMENT", "ESCALATION", "REROUTE")

# Applies one history row to the report's cases. A row that gives a unit the report (the filing row, a
# disposition, an admin's re-routing) ends the current case, unless it already ended, and opens one for the
# receiving unit. Every other row updates the current case: a status change is a response; COMPLETED,
# REJECTED and DUPLICATE end it; REOPENED opens it again; escalations and ratings are counted on it.
# Rows are applied in id order: the trigger as they are written, the replay below for older history.
APPLY = """
CREATE FUNCTION jsc_report_case_apply(h report_status_changes) RETURNS void LANGUAGE plpgsql AS $$
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

CREATE FUNCTION jsc_report_case_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM jsc_report_case_apply(NEW);
    RETURN NULL;
END $$;
CREATE TRIGGER report_cases_apply AFTER INSERT ON report_status_changes
    FOR EACH ROW EXECUTE FUNCTION jsc_report_case_trigger();
"""

# History written before this migration: the filing row learns the unit that first held the report (the
# first disposition's sender, else the current unit), and every arrival row the report's own deadlines, the
# best that can be known without the working calendar. Then the history is replayed in order.
BACKFILL = """
UPDATE report_status_changes h SET to_unit_id = coalesce(
    (SELECT d.from_unit_id FROM report_status_changes d
     WHERE d.report_id = h.report_id AND d.from_unit_id IS NOT NULL ORDER BY d.id LIMIT 1),
    (SELECT r.unit_id FROM reports r WHERE r.id = h.report_id))
WHERE h.from_status IS NULL AND h.to_unit_id IS NULL;
UPDATE report_status_changes h SET response_due_at = r.response_due_at, completion_due_at = r.completion_due_at
FROM reports r
WHERE r.id = h.report_id AND h.completion_due_at IS NULL
  AND (h.from_status IS NULL OR (h.kind = 'STATUS' AND h.to_status = 'DISPOSITION' AND h.to_unit_id IS NOT NULL)
       OR (h.kind = 'REROUTE' AND h.to_unit_id IS NOT NULL));
SELECT jsc_report_case_apply(h) FROM (SELECT * FROM report_status_changes ORDER BY id) h;
"""


def _kinds(*extra: str) -> sa.Enum:
    return sa.Enum(*HISTORY_KINDS, *extra, name="history_kind", native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    op.add_column("report_status_changes", sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("report_status_changes", sa.Column("completion_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "report_status_changes", sa.Column("rating", sa.SmallInteger(), nullable=True, comment="RATING rows: 1 to 5")
    )
    op.create_check_constraint(
        op.f("ck_report_status_changes_rating"), "report_status_changes", "rating BETWEEN 1 AND 5"
    )
    op.drop_constraint(op.f("ck_report_status_changes_history_kind"), "report_status_changes", type_="check")
    op.create_check_constraint(
        op.f("ck_report_status_changes_history_kind"),
        "report_status_changes",
        sa.column("kind").in_([*HISTORY_KINDS, "RATING"]),
    )
    op.create_table(
        "report_cases",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "arrival",
            sa.Enum(
                "FILED",
                "DISPOSED",
                "REROUTED",
                name="case_arrival",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("arrival_event_id", sa.BigInteger(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completion_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "first_response_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="the first status change (or disposition) while the unit held it",
        ),
        sa.Column("first_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "ending",
            sa.Enum(
                "COMPLETED",
                "REJECTED",
                "DUPLICATE",
                "PASSED_ON",
                "REROUTED",
                name="case_ending",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("reopenings", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("escalations", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True, comment="the reporter's last rating in this case"),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "response_hours",
            sa.Float(),
            sa.Computed("date_part('epoch', first_response_at - arrived_at) / 3600.0", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "completion_hours",
            sa.Float(),
            sa.Computed("date_part('epoch', first_completed_at - arrived_at) / 3600.0", persisted=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["arrival_event_id"],
            ["report_status_changes.id"],
            name=op.f("fk_report_cases_arrival_event_id_report_status_changes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_report_cases_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_cases_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_report_cases_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_cases")),
        sa.UniqueConstraint("arrival_event_id", name=op.f("uq_report_cases_arrival_event_id")),
    )
    op.create_index("ix_report_cases_report", "report_cases", ["report_id", "id"])
    op.create_index(
        "ix_report_cases_unit_cover",
        "report_cases",
        ["unit_id", "arrived_at"],
        postgresql_include=[
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
        ],
    )
    execute_script(APPLY)
    execute_script(BACKFILL)
    op.create_table(
        "exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment="level, since, until, category"
        ),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING", "READY", "FAILED", name="export_status", native_enum=False, create_constraint=True, length=24
            ),
            nullable=False,
        ),
        sa.Column("object_key", sa.String(length=200), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_exports_requested_by_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_pending", "exports", ["created_at"], postgresql_where="status = 'PENDING'")
    op.create_index(op.f("ix_exports_requested_by"), "exports", ["requested_by"])


def downgrade() -> None:
    op.drop_table("exports")
    execute_script(
        "DROP TRIGGER report_cases_apply ON report_status_changes; DROP FUNCTION jsc_report_case_trigger();"
        " DROP FUNCTION jsc_report_case_apply(report_status_changes);"
    )
    op.drop_table("report_cases")
    op.execute("DELETE FROM report_status_changes WHERE kind = 'RATING'")
    op.drop_constraint(op.f("ck_report_status_changes_history_kind"), "report_status_changes", type_="check")
    op.create_check_constraint(
        op.f("ck_report_status_changes_history_kind"), "report_status_changes", sa.column("kind").in_(HISTORY_KINDS)
    )
    op.drop_constraint(op.f("ck_report_status_changes_rating"), "report_status_changes", type_="check")
    op.drop_column("report_status_changes", "rating")
    op.drop_column("report_status_changes", "completion_due_at")
    op.drop_column("report_status_changes", "response_due_at")
