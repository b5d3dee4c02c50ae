"""Photos remember when their original upload was deleted from object storage; the sweep finds those not yet gone

Existing finished photos start with original_deleted_at null, so the first sweeps delete the originals they kept.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT = "status IN ('READY', 'FAILED') AND original_deleted_at IS NULL"


def upgrade() -> None:
    op.add_column(
        "photos",
        sa.Column(
            "original_deleted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the upload (which may carry GPS) was deleted from object storage",
        ),
    )
    op.create_index("ix_photos_original_kept", "photos", ["processed_at"], unique=False, postgresql_where=KEPT)


def downgrade() -> None:
    op.drop_index("ix_photos_original_kept", table_name="photos", postgresql_where=KEPT)
    op.drop_column("photos", "original_deleted_at")
