"""map_tile_versions: a change counter per zoom-14 tile of what the public map shows, so that a report tile's
ETag is known without rendering it, and a revalidation costs one index lookup

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 12:00:00+00:00

A row counts the committed changes whose public point (as `jsc_report_public_view` gives it: sensitive categories
rounded) lies in its zoom-14 tile, before or after the change: a new public report, a status, category, unit,
point or visibility change, a deletion. Rows are never deleted and counters only grow, so the sum of the
counters over a set of tiles changes whenever anything in them did. The row (-1, -1) counts changes that alter
every tile: a category made sensitive or renamed.

The counting runs as a deferred constraint trigger, at commit: a createReport holds the counter's row lock for
the instant of its commit, not for the rest of its transaction, so reports filed at once in one tile do not
queue behind each other.
"""

from collections.abc import Sequence

from migrations.helpers import execute_script

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE TABLE map_tile_versions (
    tx integer NOT NULL,
    ty integer NOT NULL,
    changes bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tx, ty)
);
COMMENT ON TABLE map_tile_versions IS
    'Committed changes per zoom-14 tile of the public map (report tiles'' ETags); (-1, -1) counts city-wide ones';

-- The zoom-14 Web Mercator tile (x, y) of a point given as {"lon": .., "lat": ..}.
CREATE FUNCTION jsc_tile14(point jsonb) RETURNS integer[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[
        least(16383, greatest(0, floor(((point->>'lon')::float8 + 180.0) / 360.0 * 16384)::int)),
        least(16383, greatest(0, floor((1.0 - ln(tan(lat) + 1.0 / cos(lat)) / pi()) / 2.0 * 16384)::int))
    ]
    FROM (SELECT radians(greatest(-85.0511, least(85.0511, (point->>'lat')::float8))) AS lat) AS clamped
$$;

CREATE FUNCTION jsc_count_tile_change(point jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tile integer[];
BEGIN
    IF point IS NULL THEN
        RETURN;
    END IF;
    tile := jsc_tile14(point);
    INSERT INTO map_tile_versions AS v (tx, ty) VALUES (tile[1], tile[2])
    ON CONFLICT (tx, ty) DO UPDATE SET changes = v.changes + 1;
END;
$$;

CREATE FUNCTION jsc_report_tile_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM jsc_count_tile_change(jsc_report_public_view(OLD));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM jsc_count_tile_change(jsc_report_public_view(NEW));
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER reports_tile_versions_insert AFTER INSERT ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jsc_report_tile_versions();
CREATE CONSTRAINT TRIGGER reports_tile_versions_update
    AFTER UPDATE OF status, category_id, location, confidential, unit_id ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category_id IS DISTINCT FROM NEW.category_id
          OR NOT ST_Equals(OLD.location, NEW.location) OR OLD.confidential IS DISTINCT FROM NEW.confidential
          OR OLD.unit_id IS DISTINCT FROM NEW.unit_id)
    EXECUTE FUNCTION jsc_report_tile_versions();
CREATE CONSTRAINT TRIGGER reports_tile_versions_delete AFTER DELETE ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jsc_report_tile_versions();

CREATE FUNCTION jsc_category_tile_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO map_tile_versions AS v (tx, ty) VALUES (-1, -1)
    ON CONFLICT (tx, ty) DO UPDATE SET changes = v.changes + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER categories_tile_versions AFTER UPDATE OF sensitive, code ON categories
    FOR EACH ROW WHEN (OLD.sensitive IS DISTINCT FROM NEW.sensitive OR OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION jsc_category_tile_versions();

-- What is on the map already counts once per tile, so that the first ETags differ from an empty tile's.
INSERT INTO map_tile_versions (tx, ty)
SELECT DISTINCT t[1], t[2]
FROM (SELECT jsc_tile14(v) AS t FROM (SELECT jsc_report_public_view(r) AS v FROM reports r) AS public
      WHERE v IS NOT NULL) AS tiles;
"""

DOWNGRADE = """
DROP TRIGGER categories_tile_versions ON categories;
DROP FUNCTION jsc_category_tile_versions();
DROP TRIGGER reports_tile_versions_delete ON reports;
DROP TRIGGER reports_tile_versions_update ON reports;
DROP TRIGGER reports_tile_versions_insert ON reports;
DROP FUNCTION jsc_report_tile_versions();
DROP FUNCTION jsc_count_tile_change(jsonb);
DROP FUNCTION jsc_tile14(jsonb);
DROP TABLE map_tile_versions;
"""


def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)
