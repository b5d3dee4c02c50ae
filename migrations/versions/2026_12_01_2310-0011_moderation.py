"""Moderation: abuse flags on reports and comments; reports hidden by moderators (confidential meanwhile); the
MODERATION history kind

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:10:31.353719+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


HISTORY_KINDS = ("STATUS", "ASSIGNMENT", "ESCALATION", "REROUTE", "RATING")


def _kinds(kinds: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_report_status_changes_history_kind"), "report_status_changes", type_="check")
    op.create_check_constraint(
        op.f("ck_report_status_changes_history_kind"), "report_status_changes", sa.column("kind").in_(kinds)
    )


def upgrade() -> None:
    _kinds((*HISTORY_KINDS, "MODERATION"))
    op.create_table(
        "abuse_flags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("comment_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "resolved_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when a moderator hid the thing flagged (or decided to keep it)",
        ),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["report_comments.id"],
            name=op.f("fk_abuse_flags_comment_id_report_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_abuse_flags_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_abuse_flags_resolved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_abuse_flags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abuse_flags")),
    )
    op.create_index(
        "ix_abuse_flags_open", "abuse_flags", ["created_at"], unique=False, postgresql_where="resolved_at IS NULL"
    )
    op.create_index(op.f("ix_abuse_flags_report_id"), "abuse_flags", ["report_id"], unique=False)
    op.create_index(
        "uq_abuse_flags_comment",
        "abuse_flags",
        ["user_id", "comment_id"],
        unique=True,
        postgresql_where="comment_id IS NOT NULL",
    )
    op.create_index(
        "uq_abuse_flags_report",
        "abuse_flags",
        ["user_id", "report_id"],
        unique=True,
        postgresql_where="comment_id IS NULL",
    )
    op.add_column(
        "reports",
        sa.Column(
            "hidden_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="hidden by a moderator: confidential meanwhile (migration 0011)",
        ),
    )
    op.add_column("reports", sa.Column("hidden_reason", sa.String(length=500), nullable=True))
    op.add_column(
        "reports",
        sa.Column("hidden_was_confidential", sa.Boolean(), nullable=True, comment="confidential before it was hidden"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM report_status_changes WHERE kind = 'MODERATION'")
    _kinds(HISTORY_KINDS)
    op.drop_column("reports", "hidden_was_confidential")
    op.drop_column("reports", "hidden_reason")
    op.drop_column("reports", "hidden_at")
    op.drop_index("uq_abuse_flags_report", table_name="abuse_flags", postgresql_where="comment_id IS NULL")
    op.drop_index("uq_abuse_flags_comment", table_name="abuse_flags", postgresql_where="comment_id IS NOT NULL")
    op.drop_index(op.f("ix_abuse_flags_report_id"), table_name="abuse_flags")
    op.drop_index("ix_abuse_flags_open", table_name="abuse_flags", postgresql_where="resolved_at IS NULL")
    op.drop_table("abuse_flags")
