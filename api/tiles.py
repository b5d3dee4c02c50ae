"""Vector tiles for the public map: reports (clusters up to zoom 14) and the kelurahan base layer.

Each tile's ETag comes from a change counter of what it shows, read before rendering: a revalidation of an
unchanged tile is answered 304 without rendering, and a first view of a tile rendered at the same version for
someone else is served as kept (api/tile_cache.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.admission import RETRY_AFTER_S, Overloaded, PublicLane, overloaded_error
from api.errors import ErrorCode
from api.tile_cache import TileCache
from domain import public_map
from domain.errors import DomainError
from domain.models import ReportStatus
from domain.resources import Resources

MVT = "application/vnd.mapbox-vector-tile"
REPORTS_MAX_AGE_S = 15  # the map is live: a short cache, then a cheap 304 when nothing changed
BASE_MAX_AGE_S = 86_400
# Part of every tile's ETag: change it when the tiles' layout changes, so that no browser keeps an old one.
REPORT_TILE_FORMAT = 1
BASE_TILE_FORMAT = 1


def _bad(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=400)


def _coordinates(request: Request) -> tuple[int, int, int]:
    params = request.path_params
    return int(params["z"]), int(params["x"]), int(params["y"])


def _filter(request: Request) -> public_map.MapFilter:
    def listed(name: str) -> tuple[str, ...] | None:
        value = request.query_params.get(name)
        return tuple(v for v in value.split(",") if v) if value is not None else None

    statuses = listed("statuses")
    try:
        parsed = tuple(ReportStatus(s) for s in statuses) if statuses is not None else None
    except ValueError as exc:
        raise DomainError("INVALID_FILTER", f"Unknown status in {statuses}.", field="statuses") from exc
    units = listed("units")
    if units is not None and not all(u.isdigit() and len(u) <= 9 for u in units):
        raise DomainError("INVALID_FILTER", "units are unit ids (numbers).", field="units")
    return public_map.MapFilter(
        categories=listed("categories"),
        statuses=parsed,
        unit_ids=tuple(int(u) for u in units) if units is not None else None,
    )


def _not_modified(request: Request, etag: str) -> bool:
    return etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}


def _overloaded() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": ErrorCode.OVERLOADED.value, "message": overloaded_error().message}},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _versioned(request: Request, key: str, max_age_s: int, body: Callable[[], Awaitable[bytes]]) -> Response:
    """A tile whose ETag comes from `key` (what it shows, with the version of it): 304 without rendering when
    the client has it, else its body (kept or rendered)."""
    etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age_s}"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(await body(), media_type=MVT, headers=headers)


def tile_routes(resources: Resources, lane: PublicLane) -> list[Route]:
    report_tiles = TileCache("reports", resources.settings.tile_cache_bytes)
    kelurahan_tiles = TileCache("kelurahan", resources.settings.tile_cache_bytes)

    async def reports(request: Request) -> Response:
        z, x, y = _coordinates(request)
        try:
            flt = _filter(request)
            # The version comes from the change counters around the tile (one index lookup), read before
            # rendering, so that a revalidation of an unchanged tile is answered without rendering it.
            version = await public_map.report_tile_version(resources.public_reads, z, x, y)
        except DomainError as exc:
            return _bad(exc.code, exc.message)

        reference = await resources.reference.get()
        inputs = public_map.report_tile_inputs(reference, flt)

        async def body() -> bytes:
            tile = (REPORT_TILE_FORMAT, z, x, y, flt, inputs)

            async def render() -> bytes:
                async with lane.turn():  # a render takes its turn with the other public reads; a kept tile doesn't
                    return await public_map.report_tile(resources.public_reads, reference, z, x, y, flt)

            return await report_tiles.get_or_render(tile, version, render)

        try:
            return await _versioned(
                # The inputs too: a browser holding a tile drawn just before a category was made sensitive
                # (by a process whose snapshot predated it) must not be told it is still current.
                request,
                f"r{REPORT_TILE_FORMAT}|{z}/{x}/{y}|{flt!r}|{inputs}|{version}",
                REPORTS_MAX_AGE_S,
                body,
            )
        except Overloaded:
            return _overloaded()

    async def kelurahan(request: Request) -> Response:
        z, x, y = _coordinates(request)
        try:
            public_map.check_tile(z, x, y)
            version = await public_map.kelurahan_layer_version(resources.public_reads)
        except DomainError as exc:
            return _bad(exc.code, exc.message)
        return await _versioned(
            request,
            f"k{BASE_TILE_FORMAT}|{z}/{x}/{y}|{version}",
            BASE_MAX_AGE_S,
            lambda: kelurahan_tiles.get_or_render(
                (z, x, y), version, lambda: public_map.kelurahan_tile(resources.public_reads, z, x, y)
            ),
        )

    return [
        Route("/tiles/reports/{z:int}/{x:int}/{y:int}.pbf", reports, methods=["GET"]),
        Route("/tiles/kelurahan/{z:int}/{x:int}/{y:int}.pbf", kelurahan, methods=["GET"]),
    ]
