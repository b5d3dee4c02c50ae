"""Citizens around a report: supports ("me too") and public comments (hidden by moderators, never deleted);
rate_counters (UNLOGGED) for the rate limits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:55:23.858942+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_counters")),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "report_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True, comment="NULL once the account is deleted"),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.Uuid(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_report_comments_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by"], ["users.id"], name=op.f("fk_report_comments_hidden_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_comments_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_comments")),
    )
    op.create_index(op.f("ix_report_comments_author_id"), "report_comments", ["author_id"], unique=False)
    op.create_index("ix_report_comments_recent", "report_comments", ["created_at"], unique=False)
    op.create_index("ix_report_comments_report", "report_comments", ["report_id", "created_at", "id"], unique=False)
    op.create_table(
        "report_supports",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_supports_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_report_supports_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("report_id", "user_id", name=op.f("pk_report_supports")),
    )
    op.create_index("ix_report_supports_recent", "report_supports", ["created_at"], unique=False)
    op.create_index(op.f("ix_report_supports_user_id"), "report_supports", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("rate_counters")
    op.drop_index(op.f("ix_report_supports_user_id"), table_name="report_supports")
    op.drop_index("ix_report_supports_recent", table_name="report_supports")
    op.drop_table("report_supports")
    op.drop_index("ix_report_comments_report", table_name="report_comments")
    op.drop_index("ix_report_comments_recent", table_name="report_comments")
    op.drop_index(op.f("ix_report_comments_author_id"), table_name="report_comments")
    op.drop_table("report_comments")
