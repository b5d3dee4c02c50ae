"""What our GraphQL layer costs per field: the typed map list through our schema against graphql-core alone.

The question is bench-map's (c) `reportsInBbox(bbox, first: 100) { id category status createdAt lat lon }`,
100 nodes and 600 fields, executed in this process through the schema the API serves (`build_schema`, every
extension on, as `make run` configures it) with a context like an anonymous request's. The database is left
out: the public reads answer 100 rows from memory, so what is timed is what our process does for the query
besides the SQL (the real resolver, the domain's mapping of rows, strawberry, graphql-core and our extensions).
The HTTP layer is left out on both sides.

The comparator, in the same run: graphql-core on a plain schema of the same shape (the same root field and
arguments, an object type of the same six fields: ID, Float, Float, String, an enum, a DateTime scalar
serialized by isoformat), its async root resolver returning 100 plain objects, executed from a document parsed
and validated once. That is graphql-core's own cost per field, which no schema on it can go under.

Printed: CPU µs per completed field (the operation's CPU over its 600 fields) for both, their ratio, and the
cost of the same operation with one node, which is what an operation costs besides its fields. Each figure is
the median of --repeats runs of --operations operations each, with its spread.

Target: our cost per field at most 2x graphql-core's. Why 2x: bench-map's PostGraphile (e) costs its process
about 2.0 ms a request and PostgreSQL 3.2 ms; ours has the same PostgreSQL cost, and 1.7 ms of our process go to
HTTP, the resolver and the SQL round trip (mapGeoJSON's whole cost). Graphql-core alone completes the 600 fields
in about 1.5 ms here (2.5 µs each), so 1.0x PostGraphile's requests/s is out of reach for any schema on
graphql-core that completes them one by one; at 2x graphql-core (3 ms for the fields) the typed list costs
about 4.7 + 3.2 ms a request against PostGraphile's 5.2 ms, where before it cost 8.7 + 2.9 ms. Beyond 2x is
overhead of ours, not graphql-core's. Exits 1 when the target is missed.

    make bench-fields                                  # no stack needed
    make bench-fields BENCH_ARGS="--profile"           # and our operation's cProfile, by cumulative time
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import datetime as dt
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
    validate,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.context import Context  # noqa: E402
from api.graphql import build_schema  # noqa: E402
from domain.models import ReportStatus  # noqa: E402
from domain.reference import ReferenceData  # noqa: E402
from domain.resources import Resources  # noqa: E402
from domain.settings import Settings  # noqa: E402

TARGET_RATIO = 2.0
FIELDS_PER_NODE = 6

QUERY = """
query Map($bbox: BBoxInput!, $first: Int!) {
  reportsInBbox(bbox: $bbox, first: $first) { id category status createdAt lat lon }
}
"""
BBOX = {"west": 106.818, "south": -6.184, "east": 106.836, "north": -6.166}
CREATED = dt.datetime(2026, 11, 30, 8, 15, tzinfo=dt.UTC)


def rows(n: int) -> list[dict[str, Any]]:
    """What PostgreSQL answers for the newest n reports of the box (domain/public_map.py points)."""
    statuses = list(ReportStatus)
    return [
        {
            "id": uuid.UUID(int=i + 1),
            "lon": 106.818 + i * 1e-4,
            "lat": -6.184 + i * 1e-4,
            "category_id": 1 + i % 2,
            "status": statuses[i % len(statuses)].value,
            "created_at": CREATED - dt.timedelta(minutes=i),
        }
        for i in range(n)
    ]


@dataclasses.dataclass
class _Category:
    id: int
    code: str
    sensitive: bool


class _Reference:
    def __init__(self) -> None:
        categories: dict[int, Any] = {1: _Category(1, "garbage", False), 2: _Category(2, "flood", False)}
        self.data = ReferenceData(
            categories=categories,
            category_codes={c.code: c for c in categories.values()},
            agencies={},
            kota={},
            kecamatan={},
            kelurahan={},
            units={},
            unit_codes={},
        )

    async def get(self) -> ReferenceData:
        return self.data


class _PublicReads:
    def __init__(self) -> None:
        self.answers: dict[int, list[dict[str, Any]]] = {}

    async def rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        limit = params["limit"]
        if limit not in self.answers:
            self.answers[limit] = rows(limit)
        return self.answers[limit]


def ours(settings: Settings) -> Callable[[int], Awaitable[None]]:
    """One operation through our schema, as the API runs it for an anonymous request, map cache off."""
    schema = build_schema(settings)
    resources = dataclasses.replace(
        Resources.create(settings),
        reference=_Reference(),  # type: ignore[arg-type]
        public_reads=_PublicReads(),  # type: ignore[arg-type]
    )

    async def run(first: int) -> None:
        context = Context(request=None, response=None, resources=resources, viewer=None)  # type: ignore[arg-type]
        result = await schema.execute(
            QUERY, variable_values={"bbox": BBOX, "first": first}, context_value=context, operation_name="Map"
        )
        if result.errors or result.data is None or len(result.data["reportsInBbox"]) != first:
            raise SystemExit(f"our schema answered {result}")

    return run


@dataclasses.dataclass(frozen=True)
class _Node:
    id: uuid.UUID
    lat: float
    lon: float
    category: str
    status: str
    createdAt: dt.datetime


def plain() -> Callable[[int], Awaitable[None]]:
    """The same shape on graphql-core alone: default field resolvers, the document parsed and validated once."""
    status = GraphQLEnumType("ReportStatus", {s.name: s.value for s in ReportStatus})
    datetime_scalar = GraphQLScalarType("DateTime", serialize=lambda value: value.isoformat())
    point = GraphQLObjectType(
        "MapPoint",
        {
            "id": GraphQLField(GraphQLNonNull(GraphQLID)),
            "lat": GraphQLField(GraphQLNonNull(GraphQLFloat)),
            "lon": GraphQLField(GraphQLNonNull(GraphQLFloat)),
            "category": GraphQLField(GraphQLNonNull(GraphQLString)),
            "status": GraphQLField(GraphQLNonNull(status)),
            "createdAt": GraphQLField(GraphQLNonNull(datetime_scalar)),
        },
    )
    bbox = GraphQLInputObjectType(
        "BBoxInput",
        {name: GraphQLInputField(GraphQLNonNull(GraphQLFloat)) for name in ("west", "south", "east", "north")},
    )
    answers: dict[int, list[_Node]] = {}

    async def reports_in_bbox(_root: None, _info: Any, bbox: dict[str, float], first: int) -> list[_Node]:
        if first not in answers:
            answers[first] = [
                _Node(r["id"], r["lat"], r["lon"], "garbage", r["status"], r["created_at"]) for r in rows(first)
            ]
        return answers[first]

    query = GraphQLObjectType(
        "Query",
        {
            "reportsInBbox": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(point))),
                args={
                    "bbox": GraphQLArgument(GraphQLNonNull(bbox)),
                    "first": GraphQLArgument(GraphQLNonNull(GraphQLInt)),
                },
                resolve=reports_in_bbox,
            )
        },
    )
    schema = GraphQLSchema(query)
    document = parse(QUERY)
    if errors := validate(schema, document):
        raise SystemExit(f"the plain schema refuses the document: {errors}")

    async def run(first: int) -> None:
        result = execute(schema, document, variable_values={"bbox": BBOX, "first": first}, operation_name="Map")
        result = await result if isinstance(result, Awaitable) else result
        if result.errors or result.data is None or len(result.data["reportsInBbox"]) != first:
            raise SystemExit(f"graphql-core answered {result}")

    return run


async def cpu_per_operation(run: Callable[[int], Awaitable[None]], first: int, operations: int) -> float:
    """CPU seconds per operation over `operations` operations, one after the other."""
    started = time.process_time()
    for _ in range(operations):
        await run(first)
    return (time.process_time() - started) / operations


@dataclasses.dataclass
class Figure:
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def spread(self, scale: float) -> str:
        return f"{min(self.runs) * scale:.2f}-{max(self.runs) * scale:.2f}"


async def measure(args: argparse.Namespace) -> int:
    settings = Settings(environment="development")
    runners = {"ours": ours(settings), "graphql-core": plain()}
    fields = args.nodes * FIELDS_PER_NODE
    for run in runners.values():
        for _ in range(args.warmup):
            await run(args.nodes)
            await run(1)
    full: dict[str, Figure] = {name: Figure([]) for name in runners}
    one: dict[str, Figure] = {name: Figure([]) for name in runners}
    # Interleaved, so that a busy moment of this shared machine falls on both alike.
    for _ in range(args.repeats):
        for name, run in runners.items():
            full[name].runs.append(await cpu_per_operation(run, args.nodes, args.operations))
            one[name].runs.append(await cpu_per_operation(run, 1, args.operations))

    us = 1e6
    print(
        f"reportsInBbox, {args.nodes} nodes, {fields} fields; CPU, median of {args.repeats} runs of "
        f"{args.operations} operations (min-max)"
    )
    print(f"{'':14} {'µs/field':>9} {'(min-max)':>13} {'ms/operation':>13} {'1 node: ms/operation':>21}")
    for name in runners:
        print(
            f"{name:14} {full[name].median * us / fields:9.2f} {full[name].spread(us / fields):>13} "
            f"{full[name].median * 1e3:13.2f} {one[name].median * 1e3:21.3f}"
        )
    ratio = full["ours"].median / full["graphql-core"].median
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"ours / graphql-core per field: {ratio:.2f}x (target <= {TARGET_RATIO:.1f}x): {verdict}")

    if args.profile:
        profiler = cProfile.Profile()
        run = runners["ours"]
        profiler.enable()
        for _ in range(args.operations):
            await run(args.nodes)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
    return 0 if ratio <= TARGET_RATIO else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100, help="nodes asked for (first), 1 to 100")
    parser.add_argument("--operations", type=int, default=100, help="operations per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (the median is printed)")
    parser.add_argument("--warmup", type=int, default=20, help="operations before timing")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of our operation")
    parser.add_argument("--sort", default="tottime", help="the profile's order (tottime, cumulative)")
    parser.add_argument("--lines", type=int, default=40, help="the profile's rows")
    args = parser.parse_args()
    sys.exit(asyncio.run(measure(args)))


if __name__ == "__main__":
    main()
