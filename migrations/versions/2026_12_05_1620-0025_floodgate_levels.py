"""Floodgates and their water levels: gates with per-gate Siaga levels and alerting state, a staff gauge drawn on
a camera's view for a gate, the level read at each sample as a small time series, and the FLOODGATE_SIAGA alert
kind. No gate is seeded here: the known gate list (petajakarta 2014) is CC BY-NC, for tests and demos only.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# After migration 0023's RIVER_GARBAGE.
OLD_KINDS = (
    "'CROWD', 'CONGESTION', 'NO_STOPPING', "
    "'CAMERA_OFFLINE', 'CAMERA_BLACK', 'CAMERA_FROZEN', 'CAMERA_COVERED', 'CAMERA_MOVED', 'BUSWAY', 'RIVER_GARBAGE'"
)
NEW_KINDS = f"{OLD_KINDS}, 'FLOODGATE_SIAGA'"


def _siaga(name: str) -> sa.Enum:
    return sa.Enum(
        "NORMAL", "SIAGA_3", "SIAGA_2", "SIAGA_1", name=name, native_enum=False, create_constraint=True, length=24
    )


def upgrade() -> None:
    op.create_table(
        "floodgates",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("siaga3_cm", sa.Float(), nullable=False),
        sa.Column("siaga2_cm", sa.Float(), nullable=False),
        sa.Column("siaga1_cm", sa.Float(), nullable=False),
        sa.Column("hold_samples", sa.SmallInteger(), nullable=False),
        sa.Column("cooldown_s", sa.Float(), nullable=False),
        sa.Column("siaga", _siaga("siaga"), server_default="NORMAL", nullable=False),
        sa.Column("candidate", _siaga("siaga_candidate"), server_default="NORMAL", nullable=False),
        sa.Column("streak", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "alerted_at",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
            comment="{siaga: ISO time of its last alert}",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "siaga3_cm < siaga2_cm AND siaga2_cm < siaga1_cm AND hold_samples BETWEEN 1 AND 10 AND cooldown_s >= 0",
            name=op.f("ck_floodgates_levels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floodgates")),
        sa.UniqueConstraint("name", name=op.f("uq_floodgates_name")),
    )
    op.create_table(
        "camera_gauges",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("floodgate_id", sa.Integer(), nullable=False),
        sa.Column(
            "polygon",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="[[x, y], ...] in reference-frame pixels",
        ),
        sa.Column(
            "marks",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="[[x, y, cm], ...] along the gauge's axis",
        ),
        sa.Column("frame_width", sa.Integer(), nullable=False),
        sa.Column("frame_height", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_gauges_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["floodgate_id"],
            ["floodgates.id"],
            name=op.f("fk_camera_gauges_floodgate_id_floodgates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_gauges")),
    )
    op.create_index(op.f("ix_camera_gauges_floodgate_id"), "camera_gauges", ["floodgate_id"], unique=False)
    op.create_table(
        "floodgate_levels",
        sa.Column("floodgate_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("level_cm", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_floodgate_levels_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["floodgate_id"],
            ["floodgates.id"],
            name=op.f("fk_floodgate_levels_floodgate_id_floodgates"),
            ondelete="CASCADE",
        ),
        # (gate, time) first: the latest reading and the last day's series are one index range each.
        sa.PrimaryKeyConstraint("floodgate_id", "at", "camera_id", name=op.f("pk_floodgate_levels")),
    )
    op.drop_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", type_="check")
    op.create_check_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", f"kind IN ({NEW_KINDS})")


def downgrade() -> None:
    op.execute("DELETE FROM cctv_alerts WHERE kind = 'FLOODGATE_SIAGA'")
    op.drop_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", type_="check")
    op.create_check_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", f"kind IN ({OLD_KINDS})")
    op.drop_table("floodgate_levels")
    op.drop_index(op.f("ix_camera_gauges_floodgate_id"), table_name="camera_gauges")
    op.drop_table("camera_gauges")
    op.drop_table("floodgates")
