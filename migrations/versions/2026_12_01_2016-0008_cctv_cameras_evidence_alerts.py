"""CCTV: camera registry, evidence per report and camera, alert rules, alerts (with a NOTIFY for the command
center), and reports.cctv_matched_at for the sweep that re-defers lost camera matches

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:16:36.462749+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from migrations.helpers import execute_script

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Every API process LISTENs on cctv_alerts (api/live.py) and passes alerts to the command center's subscribers.
ALERT_NOTIFY = """
CREATE OR REPLACE FUNCTION jsc_cctv_alert_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cctv_alerts', json_build_object(
        'id', NEW.id, 'cameraId', NEW.camera_id, 'kind', NEW.kind, 'value', NEW.value,
        'threshold', NEW.threshold, 'evidenceId', NEW.evidence_id, 'createdAt', NEW.created_at
    )::text);
    RETURN NULL;
END $$;
CREATE TRIGGER cctv_alerts_notify AFTER INSERT ON cctv_alerts FOR EACH ROW EXECUTE FUNCTION jsc_cctv_alert_notify();
"""


# jsc_defer_jobs (migration 0002) learns a job's "scheduled_at": an archive clip is fetched once its last
# segment has been written.
DEFER_JOBS = """
CREATE OR REPLACE FUNCTION jsc_defer_jobs(jobs jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    job jsonb;
    deferred integer := 0;
BEGIN
    FOR job IN SELECT * FROM jsonb_array_elements(jobs) LOOP
        BEGIN
            PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
                job->>'queue', job->>'task', 0, NULL, job->>'queueing_lock', job->'args',
                (job->>'scheduled_at')::timestamptz
            )::procrastinate_job_to_defer_v1]);
            deferred := deferred + 1;
        EXCEPTION WHEN unique_violation THEN
            NULL;
        END;
    END LOOP;
    RETURN deferred;
END;
$$
"""


def upgrade() -> None:
    op.execute(DEFER_JOBS)
    op.create_geospatial_table(
        "cameras",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "operator", sa.String(length=200), nullable=False, comment="who runs it: Dinas SDA, Dishub, Bina Marga, ..."
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "FLOODGATE",
                "RIVER",
                "ROAD",
                "INTERSECTION",
                "PUBLIC_SPACE",
                name="camera_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "heading_deg", sa.Float(), nullable=False, comment="compass direction it looks, clockwise from north"
        ),
        sa.Column("fov_deg", sa.Float(), nullable=False, comment="horizontal field of view; 360 for a dome"),
        sa.Column("range_m", sa.Float(), nullable=False, comment="how far it shows something useful"),
        sa.Column(
            "source_kind",
            sa.Enum("ARCHIVE", "STREAM", name="camera_source", native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=1000), nullable=False, comment="archive key prefix, or the stream URL"),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "public_snapshots",
            sa.Boolean(),
            server_default="false",
            nullable=False,
            comment="its face-blurred snapshots may be shown publicly",
        ),
        sa.Column("unit_id", sa.Integer(), nullable=True, comment="the unit told of its alerts"),
        sa.Column("no_stopping_zone", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("fov_deg > 0 AND fov_deg <= 360", name=op.f("ck_cameras_fov")),
        sa.CheckConstraint("heading_deg >= 0 AND heading_deg < 360", name=op.f("ck_cameras_heading")),
        sa.CheckConstraint("range_m > 0 AND range_m <= 2000", name=op.f("ck_cameras_range")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_cameras_unit_id_units"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
        sa.UniqueConstraint("code", name=op.f("uq_cameras_code")),
    )
    op.create_geospatial_index(
        "idx_cameras_location", "cameras", ["location"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_table(
        "cctv_alert_rules",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "FLOODGATE",
                "RIVER",
                "ROAD",
                "INTERSECTION",
                "PUBLIC_SPACE",
                name="alert_rule_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("crowd_above_persons", sa.Integer(), nullable=True),
        sa.Column("congestion_above", sa.Float(), nullable=True),
        sa.Column("no_stopping_above_s", sa.Float(), nullable=True),
        sa.CheckConstraint("(camera_id IS NULL) <> (kind IS NULL)", name=op.f("ck_cctv_alert_rules_camera_or_kind")),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_cctv_alert_rules_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_alert_rules")),
        sa.UniqueConstraint("camera_id", name=op.f("uq_cctv_alert_rules_camera_id")),
        sa.UniqueConstraint("kind", name=op.f("uq_cctv_alert_rules_kind")),
    )
    op.create_table(
        "cctv_evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False, comment="1 = the best placed camera for this report"),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "READY",
                "UNAVAILABLE",
                name="evidence_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "reason",
            sa.String(length=64),
            nullable=True,
            comment="why UNAVAILABLE; 'partial' when READY with parts of the window missing (see summary)",
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clip_key", sa.String(length=500), nullable=True),
        sa.Column("snapshot_key", sa.String(length=500), nullable=True, comment="JPEG, boxes drawn, faces blurred"),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_cctv_evidence_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_cctv_evidence_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_evidence")),
        sa.UniqueConstraint("report_id", "camera_id", name=op.f("uq_cctv_evidence_report_id_camera_id")),
    )
    op.create_index(op.f("ix_cctv_evidence_camera_id"), "cctv_evidence", ["camera_id"], unique=False)
    op.create_index(
        "ix_cctv_evidence_pending", "cctv_evidence", ["updated_at"], unique=False, postgresql_where="status = 'PENDING'"
    )
    op.create_table(
        "cctv_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "CROWD",
                "CONGESTION",
                "NO_STOPPING",
                name="alert_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("snapshot_key", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_cctv_alerts_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["cctv_evidence.id"],
            name=op.f("fk_cctv_alerts_evidence_id_cctv_evidence"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cctv_alerts")),
        sa.UniqueConstraint("evidence_id", "kind", name=op.f("uq_cctv_alerts_evidence_id_kind")),
    )
    op.create_index("ix_cctv_alerts_camera_created", "cctv_alerts", ["camera_id", "created_at"], unique=False)
    # Reports filed before this migration count as matched (their clips are long gone from any NVR): the column
    # is added with a default, which PostgreSQL stores once instead of rewriting the table, then the default is
    # dropped so that new reports start unmatched.
    op.add_column(
        "reports",
        sa.Column(
            "cctv_matched_at",
            sa.DateTime(timezone=True),
            nullable=True,
            server_default=sa.text("'2000-01-01 00:00:00+00'"),
            comment="when cameras were looked for (NULL: the cctv.match job is still due)",
        ),
    )
    op.alter_column("reports", "cctv_matched_at", server_default=None)
    op.create_index(
        "ix_reports_cctv_unmatched", "reports", ["created_at"], unique=False, postgresql_where="cctv_matched_at IS NULL"
    )
    execute_script(ALERT_NOTIFY)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS cctv_alerts_notify ON cctv_alerts")
    op.execute("DROP FUNCTION IF EXISTS jsc_cctv_alert_notify()")
    op.drop_index("ix_reports_cctv_unmatched", table_name="reports", postgresql_where="cctv_matched_at IS NULL")
    op.drop_column("reports", "cctv_matched_at")
    op.drop_index("ix_cctv_alerts_camera_created", table_name="cctv_alerts")
    op.drop_table("cctv_alerts")
    op.drop_index("ix_cctv_evidence_pending", table_name="cctv_evidence", postgresql_where="status = 'PENDING'")
    op.drop_index(op.f("ix_cctv_evidence_camera_id"), table_name="cctv_evidence")
    op.drop_table("cctv_evidence")
    op.drop_table("cctv_alert_rules")
    op.drop_geospatial_index(
        "idx_cameras_location", table_name="cameras", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("cameras")
