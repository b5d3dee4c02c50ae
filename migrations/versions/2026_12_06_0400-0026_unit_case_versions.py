"""unit_case_versions: a change counter per unit over its report_cases, so that the auditors' figures can be kept
per process and known to be current with one index lookup; ix_report_cases_open for overdueOpen, counted live

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 04:00:00+00:00

A unit's counter moves whenever one of its cases is inserted, updated or deleted (and every counter on a TRUNCATE).
Counters only grow and rows are never deleted while the unit exists, so figures computed after reading the
counters of their units are current for as long as those counters have not moved (domain/performance.py
FiguresCache). As for map_tile_versions (migration 0022), the counting runs as a deferred constraint trigger, at
commit: a createReport holds its unit's counter row for the instant of its commit, not for the rest of its
transaction.
"""

from collections.abc import Sequence

from migrations.helpers import execute_script

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE TABLE unit_case_versions (
    unit_id integer NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    CONSTRAINT pk_unit_case_versions PRIMARY KEY (unit_id),
    CONSTRAINT fk_unit_case_versions_unit_id_units FOREIGN KEY (unit_id) REFERENCES units (id) ON DELETE CASCADE
);
COMMENT ON TABLE unit_case_versions IS 'Committed changes to each unit''s report_cases (the figures cache''s versions)';

CREATE FUNCTION jsc_count_unit_case_change(unit integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO unit_case_versions AS v (unit_id) VALUES (unit)
    ON CONFLICT (unit_id) DO UPDATE SET version = v.version + 1;
$$;

CREATE FUNCTION jsc_unit_case_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM jsc_count_unit_case_change(OLD.unit_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.unit_id <> OLD.unit_id) THEN
        PERFORM jsc_count_unit_case_change(NEW.unit_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER report_cases_versions AFTER INSERT OR UPDATE OR DELETE ON report_cases
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jsc_unit_case_versions();

CREATE FUNCTION jsc_all_unit_case_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE unit_case_versions SET version = version + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER report_cases_truncated AFTER TRUNCATE ON report_cases
    FOR EACH STATEMENT EXECUTE FUNCTION jsc_all_unit_case_versions();

INSERT INTO unit_case_versions (unit_id) SELECT DISTINCT unit_id FROM report_cases;

CREATE INDEX ix_report_cases_open ON report_cases (unit_id, arrived_at)
    INCLUDE (category_id, completion_due_at, verifying_since)
    WHERE ended_at IS NULL AND first_completed_at IS NULL;
"""

DOWNGRADE = """
DROP INDEX ix_report_cases_open;
DROP TRIGGER report_cases_truncated ON report_cases;
DROP FUNCTION jsc_all_unit_case_versions();
DROP TRIGGER report_cases_versions ON report_cases;
DROP FUNCTION jsc_unit_case_versions();
DROP FUNCTION jsc_count_unit_case_change(integer);
DROP TABLE unit_case_versions;
"""


def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)
