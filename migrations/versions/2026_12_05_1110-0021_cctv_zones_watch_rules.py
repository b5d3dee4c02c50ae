"""CCTV zones and continuous watch rules: polygons drawn on a camera's view with a purpose, rules per zone (or
view) with dwell, cooldown and held membership, one state row per camera, alerts that name their rule, zone,
objects and the report they filed or added to, and the BUSWAY alert kind

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.helpers import execute_script

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The command center's live alerts (migration 0008's trigger) learn the zone and the report an alert is about.
ALERT_NOTIFY = """
CREATE OR REPLACE FUNCTION jsc_cctv_alert_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cctv_alerts', json_build_object(
        'id', NEW.id, 'cameraId', NEW.camera_id, 'kind', NEW.kind, 'value', NEW.value,
        'threshold', NEW.threshold, 'evidenceId', NEW.evidence_id, 'createdAt', NEW.created_at,
        'zoneId', NEW.zone_id, 'reportId', NEW.report_id
    )::text);
    RETURN NULL;
END $$;
"""
OLD_ALERT_NOTIFY = """
CREATE OR REPLACE FUNCTION jsc_cctv_alert_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cctv_alerts', json_build_object(
        'id', NEW.id, 'cameraId', NEW.camera_id, 'kind', NEW.kind, 'value', NEW.value,
        'threshold', NEW.threshold, 'evidenceId', NEW.evidence_id, 'createdAt', NEW.created_at
    )::text);
    RETURN NULL;
END $$;
"""
# After migration 0020's camera-health kinds.
OLD_KINDS = (
    "'CROWD', 'CONGESTION', 'NO_STOPPING', "
    "'CAMERA_OFFLINE', 'CAMERA_BLACK', 'CAMERA_FROZEN', 'CAMERA_COVERED', 'CAMERA_MOVED'"
)
NEW_KINDS = f"{OLD_KINDS}, 'BUSWAY'"


def _kinds(*names: str) -> sa.Enum:
    return sa.Enum(*names, name="watch_rule_kind", native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    op.create_table(
        "cctv_zone_state",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_cctv_zone_state_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_cctv_zone_state")),
    )
    op.create_table(
        "cctv_zones",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "BUSWAY",
                "NO_STOPPING",
                "CROWD_AREA",
                name="zone_purpose",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "polygon",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="[[x, y], ...] in reference-frame pixels",
        ),
        sa.Column("frame_width", sa.Integer(), nullable=False),
        sa.Column("frame_height", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_cctv_zones_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_zones")),
        sa.UniqueConstraint("camera_id", "name", name=op.f("uq_cctv_zones_camera_id_name")),
    )
    op.create_table(
        "cctv_watch_rules",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True, comment="NULL: the whole view"),
        sa.Column("kind", _kinds("CROWD", "CONGESTION", "NO_STOPPING", "BUSWAY"), nullable=False),
        sa.Column(
            "threshold",
            sa.Float(),
            nullable=False,
            comment="people, congestion index, vehicles; unused for NO_STOPPING",
        ),
        sa.Column("dwell_s", sa.Float(), nullable=False),
        sa.Column("cooldown_s", sa.Float(), nullable=False),
        sa.Column("hold_samples", sa.SmallInteger(), nullable=False),
        sa.Column(
            "report_category_id",
            sa.Integer(),
            nullable=True,
            comment="file a report of this category with the first alert",
        ),
        sa.Column("open_report_id", sa.Uuid(), nullable=True, comment="the report its alerts add to while it is open"),
        sa.CheckConstraint(
            "threshold >= 0 AND dwell_s >= 0 AND cooldown_s >= 0 AND hold_samples BETWEEN 1 AND 10",
            name=op.f("ck_cctv_watch_rules_values"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_cctv_watch_rules_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["open_report_id"],
            ["reports.id"],
            name=op.f("fk_cctv_watch_rules_open_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_category_id"], ["categories.id"], name=op.f("fk_cctv_watch_rules_report_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["cctv_zones.id"], name=op.f("fk_cctv_watch_rules_zone_id_cctv_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_watch_rules")),
        # A whole-view rule has no zone: NULLs count as equal, one rule of a kind per camera and zone (or view).
        sa.UniqueConstraint(
            "camera_id",
            "zone_id",
            "kind",
            name=op.f("uq_cctv_watch_rules_camera_id_zone_id_kind"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.add_column("cctv_alerts", sa.Column("rule_id", sa.Integer(), nullable=True))
    op.add_column("cctv_alerts", sa.Column("zone_id", sa.Integer(), nullable=True))
    op.add_column(
        "cctv_alerts",
        sa.Column(
            "objects",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="[{track, label, box, confidence}, ...]: what the alert is about",
        ),
    )
    op.add_column(
        "cctv_alerts",
        sa.Column("report_id", sa.Uuid(), nullable=True, comment="the report it filed or added to"),
    )
    op.create_index(op.f("ix_cctv_alerts_report_id"), "cctv_alerts", ["report_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_cctv_alerts_report_id_reports"), "cctv_alerts", "reports", ["report_id"], ["id"], ondelete="SET NULL"
    )
    op.create_foreign_key(
        op.f("fk_cctv_alerts_rule_id_cctv_watch_rules"),
        "cctv_alerts",
        "cctv_watch_rules",
        ["rule_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_cctv_alerts_zone_id_cctv_zones"), "cctv_alerts", "cctv_zones", ["zone_id"], ["id"], ondelete="SET NULL"
    )
    op.drop_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", type_="check")
    op.create_check_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", f"kind IN ({NEW_KINDS})")
    execute_script(ALERT_NOTIFY)


def downgrade() -> None:
    execute_script(OLD_ALERT_NOTIFY)
    op.execute("DELETE FROM cctv_alerts WHERE kind = 'BUSWAY'")
    op.drop_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", type_="check")
    op.create_check_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", f"kind IN ({OLD_KINDS})")
    op.drop_constraint(op.f("fk_cctv_alerts_zone_id_cctv_zones"), "cctv_alerts", type_="foreignkey")
    op.drop_constraint(op.f("fk_cctv_alerts_rule_id_cctv_watch_rules"), "cctv_alerts", type_="foreignkey")
    op.drop_constraint(op.f("fk_cctv_alerts_report_id_reports"), "cctv_alerts", type_="foreignkey")
    op.drop_index(op.f("ix_cctv_alerts_report_id"), table_name="cctv_alerts")
    op.drop_column("cctv_alerts", "report_id")
    op.drop_column("cctv_alerts", "objects")
    op.drop_column("cctv_alerts", "zone_id")
    op.drop_column("cctv_alerts", "rule_id")
    op.drop_table("cctv_watch_rules")
    op.drop_table("cctv_zones")
    op.drop_table("cctv_zone_state")
