-- What PostGraphile serves in the map benchmark: two functions in a schema of their own, installed in jsc_mapbench
-- only (by generate.py), never by our migrations. PostGraphile exposes every function of `pgl` as a root field.
--
-- Both ask PostgreSQL the question of our mapGeoJSON / reportsInBbox (the newest reports in a box, GeoJSON with
-- 6 decimals):
-- - reports_in_bbox (root field reportsInBbox) as the issue words it: every report in the box, confidential ones
--   included. It cannot use the partial index of the public reports (ix_reports_public_newest, migration 0007),
--   so PostgreSQL goes through the spatial index, fetches every report of the box and sorts them.
-- - public_reports_in_bbox (publicReportsInBbox) leaves out confidential reports as our public map must, and so
--   can use the same partial index as our server: like for like in PostgreSQL, the servers' own costs apart.
-- Neither rounds sensitive categories, which ours does (a CASE per returned row).
CREATE SCHEMA IF NOT EXISTS pgl;

-- LANGUAGE sql, STABLE, not STRICT, a single SELECT: PostgreSQL inlines them into PostGraphile's query, so the
-- planner sees the box. The limit is bounded like ours (at most 100; NULL means 100).
CREATE OR REPLACE FUNCTION pgl.reports_in_bbox(
    west float8, south float8, east float8, north float8, lim integer DEFAULT 100
) RETURNS TABLE (id uuid, category text, status text, created_at timestamptz, geometry json)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.id, c.code::text, r.status::text, r.created_at, ST_AsGeoJSON(r.location, 6)::json
    FROM public.reports r
    JOIN public.categories c ON c.id = r.category_id
    WHERE r.location && ST_MakeEnvelope(west, south, east, north, 4326)
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT least(coalesce(lim, 100), 100)
$$;

CREATE OR REPLACE FUNCTION pgl.public_reports_in_bbox(
    west float8, south float8, east float8, north float8, lim integer DEFAULT 100
) RETURNS TABLE (id uuid, category text, status text, created_at timestamptz, geometry json)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.id, c.code::text, r.status::text, r.created_at, ST_AsGeoJSON(r.location, 6)::json
    FROM public.reports r
    JOIN public.categories c ON c.id = r.category_id
    WHERE r.location && ST_MakeEnvelope(west, south, east, north, 4326) AND NOT r.confidential
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT least(coalesce(lim, 100), 100)
$$;

COMMENT ON FUNCTION pgl.reports_in_bbox(float8, float8, float8, float8, integer) IS
    'The newest reports in a box (at most 100), with the point as GeoJSON.';
COMMENT ON FUNCTION pgl.public_reports_in_bbox(float8, float8, float8, float8, integer) IS
    'The newest non-confidential reports in a box (at most 100), with the point as GeoJSON.';

-- Every connection to this database (PostGraphile's and ours) plans each query for its own box: a generic plan,
-- which PostgreSQL switches a prepared statement to after five runs, estimates every box alike and picks the
-- wrong plan for a busy one (measured: 29 ms instead of 2 ms; PostGraphile's requests were 40 % slower with it).
-- Our server sets the same on its public connections itself (domain/db.py PublicReads).
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database()); END $$;

-- JIT the same for both servers, database-wide: our public connections turn it off (compiling costs more than
-- these queries take), so PostGraphile's connections get the same setting here rather than the server's default.
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET jit = off', current_database()); END $$;
