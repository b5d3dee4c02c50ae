"""jsc_defer_jobs: defer procrastinate jobs inside the transaction that makes them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Takes a JSON array of {"queue", "task", "queueing_lock", "args"} and defers each job through
# procrastinate's own function. A job whose queueing lock is already held by a waiting job is skipped
# instead of failing the caller's transaction (each call runs in its own subtransaction). Returns how many
# jobs were deferred.
DEFER_JOBS = """
CREATE FUNCTION jsc_defer_jobs(jobs jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    job jsonb;
    deferred integer := 0;
BEGIN
    FOR job IN SELECT * FROM jsonb_array_elements(jobs) LOOP
        BEGIN
            PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
                job->>'queue', job->>'task', 0, NULL, job->>'queueing_lock', job->'args', NULL
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


def downgrade() -> None:
    op.execute("DROP FUNCTION jsc_defer_jobs(jsonb)")
