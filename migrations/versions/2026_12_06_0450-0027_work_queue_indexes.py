"""Work queues read in deadline order: each jurisdiction's index holds its open reports only, keyed by the queue's
own order; reports indexed by their last change (changedSince)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 04:50:00+00:00

A camat's queue is the open reports of the kecamatan and those its office holds elsewhere, soonest deadline first,
reports without one (waiting for verification) last. The indexes of migration 0003 held every report of an area,
closed ones too, by due_at alone: the queue of a busy kecamatan at a million reports (7,900 open of 47,800) was
a bitmap of all 47,800, each read from the table, then sorted (60-400 ms). These hold the open reports only, in
the queue's order (`api/resolvers/workflow.py` QUEUE_DUE, the same expression), so a page is the next 21 entries.
An app's changedSince (the newest updatedAt it has seen, less a minute) asks for the few reports changed since:
found by their time of change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('WAITING', 'COORDINATION', 'DISPOSITION', 'IN_PROGRESS', 'REOPENED', 'VERIFYING')"
QUEUE_DUE = "coalesce(due_at, '9999-12-31 00:00:00+00'::timestamptz)"
HOLDERS = ("unit", "kelurahan", "kecamatan", "kota")


def upgrade() -> None:
    for holder in HOLDERS:
        op.drop_index(f"ix_reports_{holder}_due", table_name="reports")
        op.create_index(
            f"ix_reports_{holder}_queue",
            "reports",
            [f"{holder}_id", sa.text(QUEUE_DUE), "id"],
            postgresql_where=sa.text(OPEN),
        )
    op.create_index("ix_reports_updated", "reports", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_updated", table_name="reports")
    for holder in HOLDERS:
        op.drop_index(f"ix_reports_{holder}_queue", table_name="reports")
        op.create_index(f"ix_reports_{holder}_due", "reports", [f"{holder}_id", "due_at"])
