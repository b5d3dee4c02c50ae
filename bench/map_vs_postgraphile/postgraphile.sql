-- What PostGraphile serves in the map benchmark: one function in a schema of its own, installed in jsc_mapbench
-- only (by generate.py), never by our migrations. PostGraphile exposes every function of `pgl` as a root field.
--
-- It asks PostgreSQL the same question as our mapGeoJSON / reportsInBbox (the newest reports in a box, found
-- through the GiST index on reports.location, GeoJSON with 6 decimals), with one difference: it does not leave
-- out confidential reports nor round sensitive ones, which our public map does.
CREATE SCHEMA IF NOT EXISTS pgl;

-- LANGUAGE sql, STABLE, not STRICT, a single SELECT: PostgreSQL inlines it into PostGraphile's query, so the
-- planner sees the box and uses the index. The limit is bounded like ours (at most 100; NULL means 100).
CREATE OR REPLACE FUNCTION pgl.reports_in_bbox(
    west float8, south float8, east float8, north float8, lim integer DEFAULT 100
) RETURNS TABLE (id uuid, category text, status text, created_at timestamptz, geometry json)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.id, c.code::text, r.status::text, r.created_at, ST_AsGeoJSON(r.location, 6)::json
    FROM public.reports r
    JOIN public.categories c ON c.id = r.category_id
    WHERE r.location && ST_MakeEnvelope(west, south, east, north, 4326)
    ORDER BY r.created_at DESC, r.id
    LIMIT least(coalesce(lim, 100), 100)
$$;

COMMENT ON FUNCTION pgl.reports_in_bbox(float8, float8, float8, float8, integer) IS
    'The newest reports in a box (at most 100), with the point as GeoJSON.';
