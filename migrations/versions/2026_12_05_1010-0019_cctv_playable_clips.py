"""CCTV evidence: the key of a browser-playable copy of the clip (H.264 in MP4)

NULL for evidence stored before this copy was made, and where making it failed: the MPEG-TS clip stays the
evidence, the copy is a convenience. No backfill.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 10:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cctv_evidence",
        sa.Column(
            "playable_clip_key",
            sa.String(length=500),
            nullable=True,
            comment="H.264 MP4 copy of the clip for browsers; NULL when not made",
        ),
    )


def downgrade() -> None:
    op.drop_column("cctv_evidence", "playable_clip_key")
