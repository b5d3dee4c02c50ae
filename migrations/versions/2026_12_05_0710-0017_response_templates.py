"""Response templates: ready public notes per category and target status, written by admins

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 07:10:00+00:00

`jsc load-jakarta` seeds a handful from data/jakarta/response_templates.csv (each once, by its seed_key).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "WAITING",
    "COORDINATION",
    "DISPOSITION",
    "IN_PROGRESS",
    "COMPLETED",
    "REJECTED",
    "DUPLICATE",
    "REOPENED",
    "VERIFYING",
)


def upgrade() -> None:
    op.create_table(
        "response_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True, comment="NULL: every category"),
        sa.Column(
            "status",
            sa.Enum(*STATUSES, name="template_status", native_enum=False, create_constraint=True, length=24),
            nullable=True,
            comment="the status the officer moves the report to; NULL: any",
        ),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body_id", sa.Text(), nullable=False, comment="the note in Indonesian"),
        sa.Column("body_en", sa.Text(), nullable=True, comment="the note in English, when there is one"),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("seed_key", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_response_templates_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_response_templates_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_response_templates_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_templates")),
        sa.UniqueConstraint("seed_key", name=op.f("uq_response_templates_seed_key")),
    )
    op.create_index(
        "uq_response_templates_active_title",
        "response_templates",
        ["category_id", "status", "title"],
        unique=True,
        postgresql_where=sa.text("active"),
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_index("uq_response_templates_active_title", table_name="response_templates")
    op.drop_table("response_templates")
