"""public_report_counts: public (not confidential) reports counted per kelurahan, category, unit and status,
kept by a deferred trigger, so that cityStats reads a few thousand counters instead of every report

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 00:00:00+00:00

cityStats without a period grouped every public report by status at every request: a sequential scan of the
table (40 ms of PostgreSQL at 100,000 reports on an idle machine, ten times that at a million, and 7 % of the
public map's requests in the soak). The counters hold the same answer: a report counts +1 under its current
(kota, kecamatan, kelurahan, category, unit, status) while it is not confidential, and the trigger moves it when
one of those changes. As for map_tile_versions (migration 0022), the counting runs as a deferred constraint
trigger, at commit: a createReport holds its counter row for the instant of its commit only. Rows that fall to
zero stay (a later report there reuses them); the readers skip them.
"""

from collections.abc import Sequence

from migrations.helpers import execute_script

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE TABLE public_report_counts (
    kota_id integer NOT NULL,
    kecamatan_id integer NOT NULL,
    kelurahan_id integer NOT NULL,
    category_id integer NOT NULL,
    unit_id integer NOT NULL,
    status text NOT NULL,
    reports bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_public_report_counts
        PRIMARY KEY (kelurahan_id, category_id, unit_id, status, kecamatan_id, kota_id)
);
COMMENT ON TABLE public_report_counts IS
    'Public (not confidential) reports per kelurahan, category, unit and status (cityStats), kept by a trigger';

CREATE FUNCTION jsc_count_public_report(r reports, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF r.confidential THEN
        RETURN;
    END IF;
    INSERT INTO public_report_counts AS c
        (kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status, reports)
    VALUES (r.kota_id, r.kecamatan_id, r.kelurahan_id, r.category_id, r.unit_id, r.status::text, delta)
    ON CONFLICT (kelurahan_id, category_id, unit_id, status, kecamatan_id, kota_id)
        DO UPDATE SET reports = c.reports + excluded.reports;
END;
$$;

CREATE FUNCTION jsc_public_report_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM jsc_count_public_report(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM jsc_count_public_report(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER reports_public_counts_insert AFTER INSERT ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jsc_public_report_counts();
CREATE CONSTRAINT TRIGGER reports_public_counts_update
    AFTER UPDATE OF status, category_id, confidential, unit_id, kelurahan_id, kecamatan_id, kota_id ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
          OR OLD.confidential IS DISTINCT FROM NEW.confidential OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
          OR OLD.kelurahan_id IS DISTINCT FROM NEW.kelurahan_id
          OR OLD.kecamatan_id IS DISTINCT FROM NEW.kecamatan_id OR OLD.kota_id IS DISTINCT FROM NEW.kota_id)
    EXECUTE FUNCTION jsc_public_report_counts();
CREATE CONSTRAINT TRIGGER reports_public_counts_delete AFTER DELETE ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jsc_public_report_counts();

CREATE FUNCTION jsc_public_report_counts_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public_report_counts;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reports_public_counts_truncated AFTER TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION jsc_public_report_counts_truncated();
"""

# What is there already, counted once (tests/integration/test_public_report_counts.py runs it too).
BACKFILL = """
INSERT INTO public_report_counts (kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status, reports)
SELECT kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status::text, count(*)
FROM reports WHERE NOT confidential
GROUP BY kota_id, kecamatan_id, kelurahan_id, category_id, unit_id, status;
"""

DOWNGRADE = """
DROP TRIGGER reports_public_counts_truncated ON reports;
DROP FUNCTION jsc_public_report_counts_truncated();
DROP TRIGGER reports_public_counts_delete ON reports;
DROP TRIGGER reports_public_counts_update ON reports;
DROP TRIGGER reports_public_counts_insert ON reports;
DROP FUNCTION jsc_public_report_counts();
DROP FUNCTION jsc_count_public_report(reports, integer);
DROP TABLE public_report_counts;
"""


def upgrade() -> None:
    execute_script(UPGRADE + BACKFILL)


def downgrade() -> None:
    execute_script(DOWNGRADE)
