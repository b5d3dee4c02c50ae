"""The public map and the command center: reports by place, clusters, GeoJSON, vector tiles, statistics.

Everything here is public, so every query here:
- leaves out confidential reports;
- shows reports of sensitive categories at a position rounded to 0.001 degrees (about 110 m);
- returns no reporter identity at all.
Low-zoom clusters are read from `report_cells` (kept by a trigger, migration 0004) when the filter allows it,
so a whole-city view costs thousands of rows, not one per report. The newest reports of a box come from a
partial index of the public reports in time order (migration 0007), read newest first until the box has
enough; PostgreSQL falls back to the spatial index for a box with few reports.
All of it runs on the read-only public connections (domain/db.py PublicReads), outside any transaction.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.db import PublicReads
from domain.errors import DomainError
from domain.models import ReportStatus
from domain.reference import ReferenceData

CELL_LEVELS = (0.005, 0.02, 0.08)  # report_cells' cell size, in degrees, per level (migration 0006)
CLUSTER_MAX_ZOOM = 14  # clusters up to this zoom, points above it
SENSITIVE_DEG = 0.001
MAX_BBOX_SQ_DEG = 4.0  # Jakarta is about 0.14; a generous window, not the world
MAX_FIRST = 100
MAX_POINTS = 500  # points of one high-zoom mapReports window


@dataclass(frozen=True)
class BBox:
    west: float
    south: float
    east: float
    north: float

    def check(self) -> BBox:
        values = (self.west, self.south, self.east, self.north)
        if not all(math.isfinite(v) for v in values):
            raise DomainError("INVALID_BBOX", "The bounding box needs finite numbers.", field="bbox")
        if not (-180 <= self.west < self.east <= 180 and -90 <= self.south < self.north <= 90):
            raise DomainError(
                "INVALID_BBOX", "Need -180 <= west < east <= 180 and -90 <= south < north <= 90.", field="bbox"
            )
        if (self.east - self.west) * (self.north - self.south) > MAX_BBOX_SQ_DEG:
            raise DomainError(
                "BBOX_TOO_LARGE", f"The bounding box may cover at most {MAX_BBOX_SQ_DEG} square degrees.", field="bbox"
            )
        return self


@dataclass(frozen=True)
class MapFilter:
    categories: tuple[str, ...] | None = None
    statuses: tuple[ReportStatus, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    unit_ids: tuple[int, ...] | None = None

    @property
    def needs_reports(self) -> bool:
        """Whether report_cells cannot answer (they have no time and no unit)."""
        return self.since is not None or self.until is not None or self.unit_ids is not None


@dataclass(frozen=True)
class MapPoint:
    id: uuid.UUID
    lon: float
    lat: float
    category: str
    status: ReportStatus
    created_at: datetime


@dataclass(frozen=True)
class Cluster:
    lon: float
    lat: float
    count: int


@dataclass
class MapView:
    zoom: int
    clusters: list[Cluster] = field(default_factory=list)
    points: list[MapPoint] = field(default_factory=list)
    total: int = 0
    truncated: bool = False
    points_json: str | None = None  # the points as written by points_json, when asked so (map_view's point_keys)


def cluster_grid(zoom: int) -> tuple[int, int]:
    """The report_cells level to read at a zoom and how many of its cells a cluster spans, so that a
    cluster is about a quarter of a 256-pixel tile: the coarsest level whose cells are not larger than that."""
    cluster_deg = 360.0 / 2**zoom / 4
    level = max((i for i, size in enumerate(CELL_LEVELS) if size <= cluster_deg), default=0)
    return level, max(1, round(cluster_deg / CELL_LEVELS[level]))


def _where(reference: ReferenceData, flt: MapFilter, params: dict[str, Any], *, alias: str = "r") -> list[str]:
    """SQL conditions for a filter on reports (alias r) or report_cells (alias rc); fills params."""
    conditions = []
    if flt.categories is not None:
        params["category_ids"] = [c.id for code in flt.categories if (c := reference.category_codes.get(code))]
        conditions.append(f"{alias}.category_id = ANY(:category_ids)")
    if flt.statuses is not None:
        params["statuses"] = [s.value for s in flt.statuses]
        conditions.append(f"{alias}.status = ANY(:statuses)")
    if alias == "r":
        conditions.append("NOT r.confidential")
        if flt.since is not None:
            params["since"] = flt.since
            conditions.append("r.created_at >= :since")
        if flt.until is not None:
            params["until"] = flt.until
            conditions.append("r.created_at < :until")
        if flt.unit_ids is not None:
            params["unit_ids"] = list(flt.unit_ids)
            conditions.append("r.unit_id = ANY(:unit_ids)")
    return conditions


def _public_geom(reference: ReferenceData, params: dict[str, Any], *, alias: str = "r") -> str:
    """The SQL for a report's public point: rounded for sensitive categories."""
    params["sensitive_ids"] = [c.id for c in reference.categories.values() if c.sensitive]
    params["sensitive_deg"] = SENSITIVE_DEG
    return (
        f"CASE WHEN {alias}.category_id = ANY(:sensitive_ids) THEN ST_SnapToGrid({alias}.location, :sensitive_deg) "
        f"ELSE {alias}.location END"
    )


def _newest(conditions: list[str]) -> str:
    """The newest matching reports, with only the columns ix_reports_public_newest holds: the output (GeoJSON,
    rounded points) is built for the `:limit` rows found, not for every row a sort would see. The order is that
    index's (created_at, id) read backwards, so PostgreSQL answers a busy box by reading the index newest first
    (no heap, no sort) until enough of its entries fall in the box."""
    return (
        f"SELECT r.id, r.created_at, r.location, r.category_id, r.status FROM reports r "
        f"WHERE {' AND '.join(conditions)} ORDER BY r.created_at DESC, r.id DESC LIMIT :limit"
    )


def _bbox_params(bbox: BBox, params: dict[str, Any]) -> str:
    params.update(west=float(bbox.west), south=float(bbox.south), east=float(bbox.east), north=float(bbox.north))
    return "ST_MakeEnvelope(:west, :south, :east, :north, 4326)"


async def points(
    reads: PublicReads, reference: ReferenceData, bbox: BBox, flt: MapFilter, *, limit: int
) -> list[MapPoint]:
    """The newest reports in a box."""
    params: dict[str, Any] = {"limit": limit}
    envelope = _bbox_params(bbox, params)
    geom = _public_geom(reference, params, alias="top")
    conditions = [f"r.location && {envelope}", *_where(reference, flt, params)]
    rows = await reads.rows(
        f"WITH top AS ({_newest(conditions)}) "
        f"SELECT top.id, ST_X(p.g) AS lon, ST_Y(p.g) AS lat, top.category_id, top.status, top.created_at "
        f"FROM top CROSS JOIN LATERAL (SELECT {geom} AS g) p "
        "ORDER BY top.created_at DESC, top.id DESC",
        params,
    )
    return [
        MapPoint(
            row["id"],
            row["lon"],
            row["lat"],
            reference.categories[row["category_id"]].code,
            ReportStatus(row["status"]),
            row["created_at"],
        )
        for row in rows
    ]


async def clusters(
    reads: PublicReads, reference: ReferenceData, bbox: BBox, flt: MapFilter, *, zoom: int
) -> list[Cluster]:
    """Counts per cluster cell with the mean position of their reports."""
    level, k = cluster_grid(zoom)
    cell = CELL_LEVELS[level]
    params: dict[str, Any] = {"k": float(k), "size": cell * k, "level": level}
    if flt.needs_reports:
        envelope = _bbox_params(bbox, params)
        geom = _public_geom(reference, params)
        conditions = [f"r.location && {envelope}", *_where(reference, flt, params)]
        sql = (
            "SELECT count(*) AS n, avg(ST_X(g)) AS lon, avg(ST_Y(g)) AS lat "
            f"FROM reports r CROSS JOIN LATERAL (SELECT {geom} AS g) p WHERE {' AND '.join(conditions)} "
            "GROUP BY floor(ST_X(g) / CAST(:size AS float8)), floor(ST_Y(g) / CAST(:size AS float8))"
        )
    else:
        params.update(
            x0=math.floor(bbox.west / cell),
            x1=math.floor(bbox.east / cell),
            y0=math.floor(bbox.south / cell),
            y1=math.floor(bbox.north / cell),
        )
        conditions = [
            "rc.level = :level",
            "rc.cell_x BETWEEN :x0 AND :x1",
            "rc.cell_y BETWEEN :y0 AND :y1",
            "rc.count > 0",
            *_where(reference, flt, params, alias="rc"),
        ]
        sql = (
            "SELECT sum(rc.count) AS n, sum(rc.sum_lon) / sum(rc.count) AS lon, sum(rc.sum_lat) / sum(rc.count) AS lat "
            f"FROM report_cells rc WHERE {' AND '.join(conditions)} "
            "GROUP BY floor(rc.cell_x / CAST(:k AS float8)), floor(rc.cell_y / CAST(:k AS float8)) "
            "HAVING sum(rc.count) > 0"
        )
    rows = await reads.rows(sql, params)
    return [Cluster(float(row["lon"]), float(row["lat"]), int(row["n"])) for row in rows]


async def map_view(
    reads: PublicReads,
    reference: ReferenceData,
    bbox: BBox,
    flt: MapFilter,
    *,
    zoom: int,
    point_keys: Sequence[tuple[str, str]] | None = None,
) -> MapView:
    """Clusters up to CLUSTER_MAX_ZOOM, else the newest MAX_POINTS reports: as MapPoints, or with `point_keys` as
    the JSON points_json writes for them (`points_json`)."""
    if not 0 <= zoom <= 22:
        raise DomainError("INVALID_ZOOM", "zoom must be 0 to 22.", field="zoom")
    view = MapView(zoom=zoom)
    if zoom <= CLUSTER_MAX_ZOOM:
        view.clusters = await clusters(reads, reference, bbox.check(), flt, zoom=zoom)
        view.total = sum(c.count for c in view.clusters)
        return view
    if point_keys is not None:
        view.points_json, count = await points_json(
            reads, reference, bbox, flt, limit=MAX_POINTS + 1, shown=MAX_POINTS, keys=point_keys
        )
        view.total, view.truncated = min(count, MAX_POINTS), count > MAX_POINTS
        return view
    found = await points(reads, reference, bbox.check(), flt, limit=MAX_POINTS + 1)
    view.points, view.truncated = found[:MAX_POINTS], len(found) > MAX_POINTS
    view.total = len(view.points)
    return view


async def geojson(reads: PublicReads, reference: ReferenceData, bbox: BBox, flt: MapFilter, *, limit: int) -> str:
    """A GeoJSON FeatureCollection of the newest reports in a box, built by PostgreSQL as one JSON text."""
    params: dict[str, Any] = {"limit": limit}
    envelope = _bbox_params(bbox.check(), params)
    geom = _public_geom(reference, params, alias="top")
    conditions = [f"r.location && {envelope}", *_where(reference, flt, params)]
    sql = (
        f"WITH top AS ({_newest(conditions)}) "
        "SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object("
        "'type', 'Feature', 'id', top.id, 'geometry', ST_AsGeoJSON(p.g, 6)::json, "
        "'properties', json_build_object('category', c.code, 'status', top.status, 'createdAt', top.created_at)"
        ") ORDER BY top.created_at DESC, top.id DESC), '[]'))::text "
        "FROM top JOIN categories c ON c.id = top.category_id "
        f"CROSS JOIN LATERAL (SELECT {geom} AS g) p"
    )
    collection: str = await reads.scalar(sql, params)
    return collection


# A map point's attributes as SQL over the newest rows (`top`), their public point (`p.g`) and category (`c`),
# each giving the JSON value the API's typed list shows for it: the id as text, the coordinates as float8 (the
# shortest text that reads back as the same double, as Python's), the category's code, the status's name, and the
# time as Python's isoformat() of the UTC datetime asyncpg returns (fractional seconds only when there are some).
POINT_JSON_VALUES = {
    "id": "top.id::text",
    "lat": "ST_Y(p.g)",
    "lon": "ST_X(p.g)",
    "category": "c.code",
    "status": "top.status",
    "created_at": (
        "to_char(top.created_at AT TIME ZONE 'UTC', CAST(:iso_seconds AS text)) || "
        "CASE WHEN date_part('microseconds', top.created_at)::bigint % 1000000 = 0 THEN '' "
        "ELSE to_char(top.created_at AT TIME ZONE 'UTC', '.US') END || CAST(:utc_offset AS text)"
    ),
}
# Bound, not written in the SQL: a colon in its text would read as a parameter's name (domain/db.py).
POINT_JSON_PARAMS = {"iso_seconds": 'YYYY-MM-DD"T"HH24:MI:SS', "utc_offset": "+00:00"}


async def points_json(
    reads: PublicReads,
    reference: ReferenceData,
    bbox: BBox,
    flt: MapFilter,
    *,
    limit: int,
    keys: Sequence[tuple[str, str]],
    shown: int | None = None,
) -> tuple[str, int]:
    """The newest `limit` reports in a box (as `points`) as one JSON array built by PostgreSQL, of the first
    `shown` of them (all by default), and how many were found. An object per report with the given (key, value)
    pairs in their order, a value being an attribute of POINT_JSON_VALUES or, for any other name, that text itself
    (a constant such as a type's name)."""
    params: dict[str, Any] = {"limit": limit, **POINT_JSON_PARAMS}
    envelope = _bbox_params(bbox.check(), params)
    geom = _public_geom(reference, params, alias="top")
    conditions = [f"r.location && {envelope}", *_where(reference, flt, params)]
    pairs = []
    for n, (key, value) in enumerate(keys):
        params[f"key{n}"] = key
        if value in POINT_JSON_VALUES:
            pairs.append(f"CAST(:key{n} AS text), {POINT_JSON_VALUES[value]}")
        else:
            params[f"constant{n}"] = value
            pairs.append(f"CAST(:key{n} AS text), CAST(:constant{n} AS text)")
    params["shown"] = limit if shown is None else shown
    sql = (
        f"WITH found AS ({_newest(conditions)}), "
        "top AS (SELECT found.*, row_number() OVER (ORDER BY found.created_at DESC, found.id DESC) AS n FROM found) "
        f"SELECT coalesce(json_agg(json_build_object({', '.join(pairs)}) "
        "ORDER BY top.created_at DESC, top.id DESC) FILTER (WHERE top.n <= :shown), '[]')::text AS points, "
        "count(*) AS found "
        "FROM top JOIN categories c ON c.id = top.category_id "
        f"CROSS JOIN LATERAL (SELECT {geom} AS g) p"
    )
    [row] = await reads.rows(sql, params)
    return row["points"], int(row["found"])


# --- vector tiles -----------------------------------------------------------------------------------

TILE_POINTS_MAX = 20_000


def check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise DomainError("INVALID_TILE", "No such tile.", field="tile")


def report_tile_inputs(reference: ReferenceData, flt: MapFilter) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """What a report tile takes from the process's reference data (_public_geom, _where): the sensitive categories,
    whose points are rounded, and the filter's categories by id. A tile kept for reuse is keyed by them too: a
    category made sensitive counts as a change of every tile, but the snapshot a process renders with may predate
    it for an instant (until its RESET arrives), and a tile drawn from it must not be served to the next viewer."""
    sensitive = tuple(sorted(c.id for c in reference.categories.values() if c.sensitive))
    if flt.categories is None:
        return sensitive, None
    return sensitive, tuple(c.id for code in flt.categories if (c := reference.category_codes.get(code)))


async def report_tile(reads: PublicReads, reference: ReferenceData, z: int, x: int, y: int, flt: MapFilter) -> bytes:
    """A Mapbox vector tile, layer `reports`: clusters (`count`) up to CLUSTER_MAX_ZOOM, then the reports."""
    check_tile(z, x, y)
    params: dict[str, Any] = {"z": z, "x": x, "y": y}
    if z <= CLUSTER_MAX_ZOOM:
        # The tile's box in degrees, for the cells; the clusters, then into tile coordinates.
        west, south, east, north = _tile_bounds(z, x, y)
        found = await clusters(reads, reference, BBox(west, south, east, north), flt, zoom=z)
        if not found:
            return b""
        params.update(lons=[c.lon for c in found], lats=[c.lat for c in found], counts=[c.count for c in found])
        sql = (
            "SELECT ST_AsMVT(t, 'reports', 4096, 'geom') FROM ("
            "SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326), 3857), "
            "ST_TileEnvelope(:z, :x, :y)) AS geom, c.n AS count, true AS cluster "
            "FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]), CAST(:counts AS int[])) AS c(lon, lat, n)"
            ") t WHERE t.geom IS NOT NULL"
        )
    else:
        geom = _public_geom(reference, params)
        params["max_points"] = TILE_POINTS_MAX
        conditions = ["r.location && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)", *_where(reference, flt, params)]
        sql = (
            "SELECT ST_AsMVT(t, 'reports', 4096, 'geom') FROM ("
            "SELECT ST_AsMVTGeom(ST_Transform(p.g, 3857), ST_TileEnvelope(:z, :x, :y)) AS geom, "
            "r.id::text AS id, c.code AS category, r.status AS status, 1 AS count, false AS cluster "
            f"FROM reports r JOIN categories c ON c.id = r.category_id CROSS JOIN LATERAL (SELECT {geom} AS g) p "
            f"WHERE {' AND '.join(conditions)} ORDER BY r.created_at DESC LIMIT :max_points"
            ") t WHERE t.geom IS NOT NULL"
        )
    tile: bytes | None = await reads.scalar(sql, params)
    return bytes(tile or b"")


VERSION_ZOOM = 14  # map_tile_versions counts changes per tile of this zoom (migration 0022)


def _version_tile(lon: float, lat: float) -> tuple[int, int]:
    """The VERSION_ZOOM tile of a point, as jsc_tile14 computes it in SQL."""
    n = 2**VERSION_ZOOM
    lat_r = math.radians(max(-85.0511, min(85.0511, lat)))
    x = math.floor((lon + 180.0) / 360.0 * n)
    y = math.floor((1.0 - math.log(math.tan(lat_r) + 1.0 / math.cos(lat_r)) / math.pi) / 2.0 * n)
    return min(n - 1, max(0, x)), min(n - 1, max(0, y))


def report_tile_version_range(z: int, x: int, y: int) -> tuple[int, int, int, int]:
    """The VERSION_ZOOM tiles (x0, y0, x1, y1) whose changes can alter report tile z/x/y: its own area, widened
    by what may reach in from outside it: a cluster's cells overlap the tile's edge (one cell), and a report of a
    sensitive category is shown at a rounded point up to SENSITIVE_DEG from where it is."""
    check_tile(z, x, y)
    west, south, east, north = _tile_bounds(z, x, y)
    margin = SENSITIVE_DEG
    if z <= CLUSTER_MAX_ZOOM:
        margin += CELL_LEVELS[cluster_grid(z)[0]]
    x0, y0 = _version_tile(west - margin, north + margin)
    x1, y1 = _version_tile(east + margin, south - margin)
    return x0, y0, x1, y1


async def report_tile_version(reads: PublicReads, z: int, x: int, y: int) -> int:
    """A number that grows whenever anything report tile z/x/y shows may have changed: the committed changes
    counted in the tiles around it and city-wide (map_tile_versions). Read it before rendering: the tile is then
    at least as new as its version, so an ETag made from it can never describe an older tile."""
    x0, y0, x1, y1 = report_tile_version_range(z, x, y)
    version = await reads.scalar(
        "SELECT coalesce(sum(changes), 0) FROM map_tile_versions "
        "WHERE (tx BETWEEN :x0 AND :x1 AND ty BETWEEN :y0 AND :y1) OR (tx = -1 AND ty = -1)",
        {"x0": x0, "x1": x1, "y0": y0, "y1": y1},
    )
    return int(version or 0)


async def kelurahan_layer_version(reads: PublicReads) -> int:
    """A number that grows whenever the kelurahan base layer may have changed (migration 0028): read before
    rendering, like report_tile_version, so that an ETag made from it never describes an older tile."""
    version = await reads.scalar("SELECT changes FROM map_layer_versions WHERE layer = 'kelurahan'", {})
    return int(version or 0)


async def kelurahan_tile(reads: PublicReads, z: int, x: int, y: int) -> bytes:
    """The base layer: kelurahan outlines with their names (layer `kelurahan`), simplified for the zoom."""
    check_tile(z, x, y)
    tolerance = 360.0 / 2**z / 4096  # about one tile pixel, in degrees
    sql = (
        "SELECT ST_AsMVT(t, 'kelurahan', 4096, 'geom') FROM ("
        "SELECT ST_AsMVTGeom(ST_Transform(ST_SimplifyPreserveTopology(k.geom, :tolerance), 3857), "
        "ST_TileEnvelope(:z, :x, :y)) AS geom, k.code, k.name "
        "FROM kelurahan k WHERE k.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)"
        ") t WHERE t.geom IS NOT NULL"
    )
    tile: bytes | None = await reads.scalar(sql, {"z": z, "x": x, "y": y, "tolerance": tolerance})
    return bytes(tile or b"")


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


# --- statistics -------------------------------------------------------------------------------------

GROUPINGS = {
    "KOTA": "r.kota_id",
    "KECAMATAN": "r.kecamatan_id",
    "KELURAHAN": "r.kelurahan_id",
    "CATEGORY": "r.category_id",
    "UNIT": "r.unit_id",
}


@dataclass
class StatGroup:
    key: int
    counts: dict[ReportStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def city_stats(
    reads: PublicReads, *, since: datetime | None, until: datetime | None, group_by: str
) -> list[StatGroup]:
    """Public reports counted by status, per kota, kecamatan, kelurahan, category or unit.

    Over all time the counters kept by the reports' trigger answer (migration 0029: a few thousand rows, where
    grouping the reports themselves reads every one); a period needs the reports' own dates."""
    column = GROUPINGS[group_by]
    params: dict[str, Any] = {}
    if since is None and until is None:
        rows = await reads.rows(
            f"SELECT {column} AS key, r.status, sum(r.reports) AS n FROM public_report_counts r "
            "WHERE r.reports <> 0 GROUP BY 1, 2 ORDER BY 1",
            params,
        )
        return _stat_groups(rows)
    conditions = ["NOT r.confidential"]
    if since is not None:
        params["since"] = since
        conditions.append("r.created_at >= :since")
    if until is not None:
        params["until"] = until
        conditions.append("r.created_at < :until")
    rows = await reads.rows(
        f"SELECT {column} AS key, r.status, count(*) AS n FROM reports r "
        f"WHERE {' AND '.join(conditions)} GROUP BY 1, 2 ORDER BY 1",
        params,
    )
    return _stat_groups(rows)


def _stat_groups(rows: Sequence[Mapping[str, Any]]) -> list[StatGroup]:
    groups: dict[int, StatGroup] = {}
    for row in rows:
        groups.setdefault(row["key"], StatGroup(row["key"])).counts[ReportStatus(row["status"])] = int(row["n"])
    return list(groups.values())
