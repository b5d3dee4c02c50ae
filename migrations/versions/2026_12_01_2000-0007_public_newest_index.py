"""Public reports in time order, with their point: the newest reports of a busy box without a sort

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:00:00+00:00

The public map asks for the newest reports in a box (mapGeoJSON, reportsInBbox, points at high zoom). Through
the spatial index PostgreSQL must fetch every report in the box and sort them: at 1,000,000 reports the
2 x 2 km box at Monas holds 21,700 of them. Read backwards, this index gives the public reports newest first,
with the point (and the filter columns) in the index itself, so PostgreSQL reads entries until enough fall in
the box (about 5,000 there, no heap, no sort). For a box with few reports the planner keeps the spatial index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_reports_public_newest",
        "reports",
        ["created_at", "id"],
        postgresql_include=["location", "category_id", "status"],
        postgresql_where="NOT confidential",
    )


def downgrade() -> None:
    op.drop_index("ix_reports_public_newest", table_name="reports")
