"""Continuous camera watching: a sample interval per camera, a watch row per camera (due time, last small grey
picture, reference view, health state), the camera health alert kinds, and jsc_defer_jobs learning "lock"

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("CROWD", "CONGESTION", "NO_STOPPING")
NEW_KINDS = (
    *OLD_KINDS,
    "CAMERA_OFFLINE",
    "CAMERA_BLACK",
    "CAMERA_FROZEN",
    "CAMERA_COVERED",
    "CAMERA_MOVED",
)

# As migration 0008's, plus the job's "lock": procrastinate runs at most one job of a lock at a time, which is
# what keeps a camera from being sampled twice at once.
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
                job->>'queue', job->>'task', 0, job->>'lock', job->>'queueing_lock', job->'args',
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

DEFER_JOBS_0008 = DEFER_JOBS.replace("job->>'lock'", "NULL")


def _alert_kinds(kinds: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", type_="check")
    op.create_check_constraint(op.f("ck_cctv_alerts_alert_kind"), "cctv_alerts", sa.column("kind").in_(kinds))


def upgrade() -> None:
    op.execute(DEFER_JOBS)
    _alert_kinds(NEW_KINDS)
    op.add_column(
        "cameras",
        sa.Column(
            "watch_interval_s",
            sa.Float(),
            server_default="10",
            nullable=False,
            comment="an active camera is sampled this often (seconds)",
        ),
    )
    op.create_check_constraint(
        op.f("ck_cameras_watch_interval"), "cameras", "watch_interval_s >= 1 AND watch_interval_s <= 3600"
    )
    op.create_table(
        "camera_watch",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_sample_at", sa.DateTime(timezone=True), nullable=True, comment="when it ended"),
        sa.Column("last_media_at", sa.DateTime(timezone=True), nullable=True, comment="the media's own time"),
        sa.Column("last_media", sa.String(length=1000), nullable=True, comment="the segment read last (key or URI)"),
        sa.Column("grey", sa.LargeBinary(), nullable=True, comment="the last sample, small and grey (PGM-like)"),
        sa.Column("reference", sa.LargeBinary(), nullable=True, comment="the view it should show, small and grey"),
        sa.Column("reference_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "health", sa.String(length=16), server_default="OK", nullable=False, comment="the health alerted last"
        ),
        sa.Column("health_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "candidate",
            sa.String(length=16),
            server_default="OK",
            nullable=False,
            comment="what the last samples showed",
        ),
        sa.Column(
            "streak", sa.Integer(), server_default="0", nullable=False, comment="samples in a row showing candidate"
        ),
        sa.Column("samples", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "detections", sa.Integer(), server_default="0", nullable=False, comment="samples the detector ran on"
        ),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False, comment="samples without media"),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_watch_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_watch")),
    )
    op.create_index("ix_camera_watch_next_due_at", "camera_watch", ["next_due_at"], unique=False)
    # Every camera gets its row; new ones get it from saveCamera (domain/cctv.py).
    op.execute("INSERT INTO camera_watch (camera_id) SELECT id FROM cameras")


def downgrade() -> None:
    op.drop_index("ix_camera_watch_next_due_at", table_name="camera_watch")
    op.drop_table("camera_watch")
    op.drop_constraint(op.f("ck_cameras_watch_interval"), "cameras", type_="check")
    op.drop_column("cameras", "watch_interval_s")
    op.execute(f"DELETE FROM cctv_alerts WHERE kind NOT IN {OLD_KINDS!r}")
    _alert_kinds(OLD_KINDS)
    op.execute(DEFER_JOBS_0008)
