"""The public map and the command center (no login needed): see domain/public_map.py for what is public."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.execution import Kept
from api.resolvers.common import INT4_MAX, row_id
from api.schema.reports import ReportStatusEnum
from domain import models, public_map
from domain.db import PublicReads
from domain.errors import DomainError
from domain.reference import ReferenceData

T = TypeVar("T")


@strawberry.input(description="A bounding box in WGS84 degrees; at most 4 square degrees.")
class BBoxInput:
    west: float = strawberry.field(description="Smallest longitude.")
    south: float = strawberry.field(description="Smallest latitude.")
    east: float = strawberry.field(description="Largest longitude.")
    north: float = strawberry.field(description="Largest latitude.")


@strawberry.input(description="Which reports to show; every field optional.")
class MapFilterInput:
    categories: list[str] | None = strawberry.field(default=None, description="Category codes.")
    statuses: list[ReportStatusEnum] | None = strawberry.field(default=None, description="Statuses.")  # type: ignore[valid-type]
    since: datetime | None = strawberry.field(default=None, description="Filed at or after.")
    until: datetime | None = strawberry.field(default=None, description="Filed before.")
    unit_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Handled by these units.")


@strawberry.type(description="A report on the public map (no reporter; sensitive categories rounded to ~100 m).")
class MapPoint:
    id: strawberry.ID = strawberry.field(description="Report id (for `report(id)`).")
    lat: float = strawberry.field(description="Latitude.")
    lon: float = strawberry.field(description="Longitude.")
    category: str = strawberry.field(description="Category code.")
    status: ReportStatusEnum = strawberry.field(description="Status.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When it was filed.")

    @classmethod
    def from_domain(cls, p: public_map.MapPoint) -> MapPoint:
        return cls(
            id=strawberry.ID(str(p.id)),
            lat=p.lat,
            lon=p.lon,
            category=p.category,
            status=p.status,
            created_at=p.created_at,
        )


@strawberry.type(description="Reports near each other at this zoom, counted.")
class MapCluster:
    lat: float = strawberry.field(description="Mean latitude of its reports.")
    lon: float = strawberry.field(description="Mean longitude of its reports.")
    count: int = strawberry.field(description="How many reports.")


@strawberry.type(description="What the map shows in a box: clusters up to zoom 14, reports above it.")
class MapReports:
    zoom: int = strawberry.field(description="The zoom asked for.")
    clusters: list[MapCluster] = strawberry.field(description="At zoom 14 and below.")
    points: list[MapPoint] = strawberry.field(description="Above zoom 14: the newest 500 reports of the box.")
    total: int = strawberry.field(description="Reports in the box (clusters), or points returned.")
    truncated: bool = strawberry.field(description="More reports are in the box than points returned.")


@strawberry.enum(description="How cityStats groups the counts.")
class StatsGroupBy(enum.Enum):
    KOTA = "KOTA"
    KECAMATAN = "KECAMATAN"
    KELURAHAN = "KELURAHAN"
    CATEGORY = "CATEGORY"
    UNIT = "UNIT"


@strawberry.type(description="A count for one status.")
class StatusCount:
    status: ReportStatusEnum = strawberry.field(description="Status.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Reports.")


@strawberry.type(description="The reports of one kota, kecamatan, kelurahan, category or unit, by status.")
class StatGroup:
    key: str = strawberry.field(description="The code of the kota, kecamatan, kelurahan, category or unit.")
    name: str = strawberry.field(description="Its name.")
    total: int = strawberry.field(description="All its reports.")
    by_status: list[StatusCount] = strawberry.field(description="Counts per status (statuses with none left out).")


def _filter(reference: ReferenceData, flt: MapFilterInput | None) -> public_map.MapFilter:
    if flt is None:
        return public_map.MapFilter()
    unit_ids = None
    if flt.unit_ids is not None:
        unit_ids = tuple(n for n in (row_id(u, largest=INT4_MAX) for u in flt.unit_ids) if n is not None)
        if len(unit_ids) != len(flt.unit_ids):
            raise ClientError(ErrorCode.BAD_USER_INPUT, "unitIds are unit ids (numbers).")
    return public_map.MapFilter(
        categories=tuple(flt.categories) if flt.categories is not None else None,
        statuses=tuple(flt.statuses) if flt.statuses is not None else None,
        since=flt.since,
        until=flt.until,
        unit_ids=unit_ids,
    )


def _bad_input(exc: DomainError) -> ClientError:
    """Domain refusals (a bad box, zoom, tile) are the client's mistake: BAD_USER_INPUT with the reason."""
    return ClientError(ErrorCode.BAD_USER_INPUT, exc.message, field=exc.field, reason=exc.code)


def _bbox(value: BBoxInput) -> public_map.BBox:
    try:
        return public_map.BBox(value.west, value.south, value.east, value.north).check()
    except DomainError as exc:
        raise _bad_input(exc) from exc


def _first(first: int) -> int:
    if not 1 <= first <= public_map.MAX_FIRST:
        raise ClientError(ErrorCode.BAD_USER_INPUT, f"`first` must be between 1 and {public_map.MAX_FIRST}.")
    return first


async def _run(context: Context, work: Callable[[PublicReads], Awaitable[T]]) -> T:
    """A public read, on the read-only public connections (no transaction: there is nothing to commit)."""
    try:
        return await work(context.public_reads)
    except DomainError as exc:
        raise _bad_input(exc) from exc


async def _cached(
    context: Context, key: Hashable, box: public_map.BBox, work: Callable[[PublicReads], Awaitable[T]]
) -> T:
    """`_run`, through the process's map cache (api/live.py) when there is one: the answer is the same for
    everyone, and it stays valid until a report event falls in the box."""
    if context.map_cache is None:
        return await _run(context, work)
    bounds = (box.west, box.south, box.east, box.north)
    # An answer read on a replica may miss a report whose event has already emptied the box's entry (the replica
    # had not replayed it yet): such an answer is kept no longer than the lag the replica is allowed.
    ttl_s = context.settings.read_replica_max_lag_s if context.public_reads.gate is not None else None
    return await context.map_cache.get_or_compute(key, bounds, lambda: _run(context, work), ttl_s=ttl_s)


# A map point's fields by GraphQL name: the attribute of public_map.POINT_JSON_VALUES that gives its value, or for
# __typename the constant.
MAP_POINT_VALUES = {
    "id": "id",
    "lat": "lat",
    "lon": "lon",
    "category": "category",
    "status": "status",
    "createdAt": "created_at",
    "__typename": "MapPoint",
}


def _only_field(info: Info) -> SelectedField | None:
    """The resolver's field as the operation selects it, when it does so once (no merged repeats)."""
    fields = info.selected_fields
    return fields[0] if len(fields) == 1 and isinstance(fields[0], SelectedField) else None


def _point_keys(field: SelectedField | None) -> tuple[tuple[str, str], ...] | None:
    """(response name, value) for each field a list of map points selects, when PostgreSQL can write the list
    exactly as graphql-core would complete it: the fields of MAP_POINT_VALUES, selected directly (no fragment) and
    with no directive; a response name asked again is the same field (validation says so) and is shown once, where
    it was first asked, as graphql-core does. None otherwise: graphql-core completes it."""
    if field is None or field.directives:
        return None
    keys: dict[str, str] = {}
    for selection in field.selections:
        if not isinstance(selection, SelectedField) or selection.directives or selection.selections:
            return None
        value = MAP_POINT_VALUES.get(selection.name)
        if value is None:
            return None
        keys.setdefault(selection.alias or selection.name, value)
    return tuple(keys.items())


def _asked_points(info: Info) -> tuple[tuple[str, str], ...] | None:
    """_point_keys of mapReports' `points`, when the operation selects them once, directly and plainly."""
    field = _only_field(info)
    if field is None:
        return None
    asked = [s for s in field.selections if not isinstance(s, SelectedField) or s.name == "points"]
    if len(asked) != 1 or not isinstance(asked[0], SelectedField):
        return None
    return _point_keys(asked[0])


# A box holding every report: an answer about the whole city is stale after any event.
EVERYWHERE = public_map.BBox(-180.0, -90.0, 180.0, 90.0)


@strawberry.type
class PublicMapQueries:
    @strawberry.field(description="Clusters (zoom <= 14) or reports (zoom > 14) in a box, for the public map.")
    async def map_reports(
        self,
        info: Info,
        bbox: BBoxInput,
        zoom: Annotated[int, strawberry.argument(description="Map zoom, 0 to 22.")],
        filter: MapFilterInput | None = None,
    ) -> MapReports:
        context: Context = info.context
        reference = await context.resources.reference.get()
        flt, box = _filter(reference, filter), _bbox(bbox)

        # The points, when asked plainly, as graphql-core would complete them, written by PostgreSQL.
        keys = _asked_points(info)

        async def work(reads: PublicReads) -> public_map.MapView:
            return await public_map.map_view(reads, reference, box, flt, zoom=zoom, point_keys=keys)

        view = await _cached(context, ("mapReports", box, flt, zoom, keys), box, work)
        points: Any = (
            orjson.Fragment(view.points_json)
            if view.points_json is not None
            else [MapPoint.from_domain(p) for p in view.points]
        )
        return MapReports(
            zoom=view.zoom,
            clusters=[MapCluster(lat=c.lat, lon=c.lon, count=c.count) for c in view.clusters],
            points=points,
            total=view.total,
            truncated=view.truncated,
        )

    @strawberry.field(description="The newest reports in a box as a typed list (at most 100).")
    async def reports_in_bbox(
        self,
        info: Info,
        bbox: BBoxInput,
        first: Annotated[int, strawberry.argument(description="1 to 100.")] = 100,
        filter: MapFilterInput | None = None,
    ) -> list[MapPoint]:
        context: Context = info.context
        reference = await context.resources.reference.get()
        flt, box, limit = _filter(reference, filter), _bbox(bbox), _first(first)

        keys = _point_keys(_only_field(info))
        if keys is not None:
            # The list as graphql-core would complete it, written by PostgreSQL (api/execution.py embeds it).
            async def written(reads: PublicReads) -> orjson.Fragment:
                text, _ = await public_map.points_json(reads, reference, box, flt, limit=limit, keys=keys)
                return orjson.Fragment(text)

            completed = await _cached(context, ("reportsInBbox", box, flt, limit, keys), box, written)
            return completed  # type: ignore[return-value]

        async def work(reads: PublicReads) -> list[public_map.MapPoint]:
            return await public_map.points(reads, reference, box.check(), flt, limit=limit)

        found = await _cached(context, ("reportsInBbox", box, flt, limit), box, work)
        return [MapPoint.from_domain(p) for p in found]

    @strawberry.field(
        name="mapGeoJSON",
        description="The newest reports in a box as a GeoJSON FeatureCollection built by the database (at most 100).",
    )
    async def map_geojson(
        self,
        info: Info,
        bbox: BBoxInput,
        filter: MapFilterInput | None = None,
        first: Annotated[int, strawberry.argument(description="1 to 100.")] = 100,
    ) -> JSON:
        context: Context = info.context
        reference = await context.resources.reference.get()
        flt, box, limit = _filter(reference, filter), _bbox(bbox), _first(first)

        async def fragment(reads: PublicReads) -> orjson.Fragment:
            # The JSON text as PostgreSQL wrote it, embedded as it is in the response (api/app.py encode_json).
            return orjson.Fragment(await public_map.geojson(reads, reference, box, flt, limit=limit))

        collection: orjson.Fragment = await _cached(context, ("mapGeoJSON", box, flt, limit), box, fragment)
        return collection  # type: ignore[return-value]

    @strawberry.field(description="Public reports by status, per kota, kecamatan, kelurahan, category or unit.")
    async def city_stats(
        self,
        info: Info,
        group_by: StatsGroupBy,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[StatGroup]:
        context: Context = info.context
        reference = await context.resources.reference.get()

        async def work(reads: PublicReads) -> list[StatGroup]:
            groups = await public_map.city_stats(reads, since=since, until=until, group_by=group_by.value)
            return _stat_groups(reference, group_by, groups)

        if since is not None or until is not None:
            return await _run(context, work)
        # Over all time the answer is the same for everyone and changes only with a report event (filed, its
        # status, category, unit or place changed, gone from the public views): kept as presented, in the map
        # cache, until any event anywhere. The reference snapshot names the groups: an answer named by another
        # one (a reload) is not served.

        # The groups are kept as `Kept` (api/execution.py): their completion for a selection is kept with them.
        async def named(reads: PublicReads) -> tuple[ReferenceData, Kept]:
            return reference, Kept(await work(reads))

        kept = await _cached(context, ("cityStats", group_by, id(reference)), EVERYWHERE, named)
        if kept[0] is reference:
            return kept[1]  # type: ignore[return-value]
        return await _run(context, work)


def _stat_groups(
    reference: ReferenceData, group_by: StatsGroupBy, groups: list[public_map.StatGroup]
) -> list[StatGroup]:
    named = _namer(reference, group_by)
    return sorted(
        (
            StatGroup(
                key=key,
                name=name,
                total=g.total,
                by_status=[StatusCount(status=s, count=n) for s, n in sorted(g.counts.items())],
            )
            for g in groups
            for key, name in [named(g.key)]
        ),
        key=lambda group: group.key,
    )


def _namer(reference: ReferenceData, group_by: StatsGroupBy):  # type: ignore[no-untyped-def]
    def name(key: int) -> tuple[str, str]:
        row: models.Kota | models.Kecamatan | models.Kelurahan | models.Unit | None
        if group_by == StatsGroupBy.CATEGORY:
            category = reference.categories[key]
            return category.code, category.name_id
        if group_by == StatsGroupBy.KOTA:
            row = reference.kota.get(key)
        elif group_by == StatsGroupBy.KECAMATAN:
            row = reference.kecamatan.get(key)
        elif group_by == StatsGroupBy.KELURAHAN:
            row = reference.kelurahan.get(key)
        else:
            row = reference.units.get(key)
        return (row.code, row.name) if row else (str(key), str(key))

    return name


@strawberry.enum(description="What happened to a report, as the public sees it.")
class ReportEventKind(enum.Enum):
    CREATED = strawberry.enum_value("CREATED", description="Filed.")
    STATUS_CHANGED = strawberry.enum_value("STATUS_CHANGED", description="Its status changed, nothing else.")
    UPDATED = strawberry.enum_value(
        "UPDATED",
        description="Its point, category or unit changed, or it is public again: show it as it is now, and "
        "remove it from where `previous` was.",
    )
    REMOVED = strawberry.enum_value(
        "REMOVED",
        description="It left the public views (hidden by a moderator, made confidential): remove it. `report` is "
        "as the public last saw it.",
    )


@strawberry.type(
    description="A public report was filed, changed or left the public views (confidential ones never appear)."
)
class ReportEvent:
    kind: ReportEventKind = strawberry.field(description="What happened.")
    report: MapPoint = strawberry.field(description="The report as the public map shows it (REMOVED: showed it).")
    previous: MapPoint | None = strawberry.field(
        description="UPDATED: the report as the public map showed it before, if it was public then."
    )


def _point(raw: dict[str, Any]) -> MapPoint:
    return MapPoint(
        id=strawberry.ID(str(raw["id"])),
        lat=float(raw["lat"]),
        lon=float(raw["lon"]),
        category=str(raw["category"]),
        status=models.ReportStatus(raw["status"]),
        created_at=datetime.fromisoformat(raw["createdAt"]),
    )


def _event(raw: dict[str, Any]) -> ReportEvent:
    previous = raw.get("previous")
    return ReportEvent(
        kind=ReportEventKind(raw["kind"]),
        report=_point(raw),
        previous=_point(previous) if previous is not None else None,
    )


def _shown(raw: dict[str, Any], box: public_map.BBox | None, categories: set[str] | None) -> bool:
    if categories is not None and raw.get("category") not in categories:
        return False
    if box is None:
        return True
    return box.west <= float(raw["lon"]) <= box.east and box.south <= float(raw["lat"]) <= box.north


def _matches(raw: dict[str, Any], box: public_map.BBox | None, categories: set[str] | None) -> bool:
    """Whether the subscriber shows the report now, or showed it before the event (and must take it away)."""
    previous = raw.get("previous")
    return _shown(raw, box, categories) or (previous is not None and _shown(previous, box, categories))


@strawberry.type
class PublicMapSubscriptions:
    @strawberry.subscription(
        description="Reports filed, changing or leaving the public views, live, in a box and of some categories "
        "(both optional). Ends with the error code RESYNC_REQUIRED when events could not be delivered: load "
        "the map again and subscribe again."
    )
    async def report_events(
        self,
        info: Info,
        bbox: BBoxInput | None = None,
        categories: list[str] | None = None,
    ) -> AsyncGenerator[ReportEvent, None]:
        context: Context = info.context
        if context.live is None:
            raise ClientError(ErrorCode.BAD_USER_INPUT, "Live updates are not available here.")
        box = _bbox(bbox) if bbox is not None else None
        wanted = set(categories) if categories is not None else None
        async with context.live.subscribe() as events:
            while True:
                raw = await events.get()
                if _matches(raw, box, wanted):
                    yield _event(raw)
