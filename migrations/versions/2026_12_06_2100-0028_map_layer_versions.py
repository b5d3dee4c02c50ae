"""map_layer_versions: a change counter for the kelurahan base layer, so that its tiles' ETag is known without
rendering them, and a revalidation costs one index lookup

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 21:00:00+00:00

The base layer's tiles show the kelurahan's outlines, codes and names, which change only when `jsc load-jakarta`
loads the boundaries. Until now a tile's ETag was the hash of its body, so every request, a revalidation too, ran
PostGIS's simplification and ST_AsMVT. The counter grows with every statement that writes the table (a statement
that changes nothing counts too: a needless new ETag is harmless, a missed one is not).
"""

from collections.abc import Sequence

from migrations.helpers import execute_script

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE TABLE map_layer_versions (
    layer text PRIMARY KEY,
    changes bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE map_layer_versions IS 'Committed changes per base layer of the public map (its tiles'' ETags)';
INSERT INTO map_layer_versions (layer) VALUES ('kelurahan');

CREATE FUNCTION jsc_count_layer_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE map_layer_versions SET changes = changes + 1 WHERE layer = TG_ARGV[0];
    RETURN NULL;
END;
$$;

CREATE TRIGGER kelurahan_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kelurahan
    FOR EACH STATEMENT EXECUTE FUNCTION jsc_count_layer_change('kelurahan');
"""

DOWNGRADE = """
DROP TRIGGER kelurahan_layer_version ON kelurahan;
DROP FUNCTION jsc_count_layer_change();
DROP TABLE map_layer_versions;
"""


def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)
