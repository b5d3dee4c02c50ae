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

Printed, for both: the CPU of one operation with 100 nodes and with 1 node, and the CPU per completed field:
the difference of the two over the 594 fields between them, so what an operation costs besides its fields
(parsing, validation, extensions, the root resolver) is not spread over them. Each figure is the median of
--repeats runs of --operations operations each (the two servers interleaved), with its spread.

Target: our CPU per field at most 0.4x graphql-core's own. Why: in bench-map's like-for-like run of 2026-12-01
PostGraphile's (e) cost its process 2.0 ms a request and PostgreSQL 3.2 ms, 5.2 ms of the 2 cores in all.
Our typed list costs PostgreSQL 2.9 ms, and our process about 1.7 ms besides the fields (mapGeoJSON's whole cost:
HTTP, the operation, the resolver, the SQL round trip). For 1.0x PostGraphile's requests/s on 2 cores the 600
fields may then cost 5.2 - 2.9 - 1.7 = 0.6 ms, 1.0 µs a field, on a machine where graphql-core alone took
2-3 µs a field: 0.4x. No schema that has graphql-core complete its fields one by one can meet it; the 14 µs a
field of that run were 5.3 µs here before the change (1.1x graphql-core). Exits 1 when the target is missed.

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

TARGET_RATIO = 0.4
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
    between = (args.nodes - 1) * FIELDS_PER_NODE
    for run in runners.values():
        for _ in range(args.warmup):
            await run(args.nodes)
            await run(1)
    full: dict[str, Figure] = {name: Figure([]) for name in runners}
    one: dict[str, Figure] = {name: Figure([]) for name in runners}
    per_field: dict[str, Figure] = {name: Figure([]) for name in runners}
    # Interleaved, so that a busy moment of this shared machine falls on both alike.
    for _ in range(args.repeats):
        for name, run in runners.items():
            full[name].runs.append(await cpu_per_operation(run, args.nodes, args.operations))
            one[name].runs.append(await cpu_per_operation(run, 1, args.operations))
            per_field[name].runs.append((full[name].runs[-1] - one[name].runs[-1]) / between)

    print(
        f"reportsInBbox, CPU: median of {args.repeats} runs of {args.operations} operations each (min-max); "
        f"per field: ({args.nodes} nodes - 1 node) / {between} fields"
    )
    print(f"{'':14} {'µs per field':>13} {'(min-max)':>13} {f'ms, {args.nodes} nodes':>13} {'ms, 1 node':>11}")
    for name in runners:
        print(
            f"{name:14} {per_field[name].median * 1e6:13.2f} {per_field[name].spread(1e6):>13} "
            f"{full[name].median * 1e3:13.2f} {one[name].median * 1e3:11.3f}"
        )
    ratio = per_field["ours"].median / per_field["graphql-core"].median
    met = ratio <= TARGET_RATIO
    print(f"ours / graphql-core per field: {ratio:.2f}x (target <= {TARGET_RATIO}x): {'met' if met else 'MISSED'}")

    if args.profile:
        profiler = cProfile.Profile()
        run = runners["ours"]
        profiler.enable()
        for _ in range(args.operations):
            await run(args.nodes)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
    return 0 if met else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100, help="nodes asked for (first), 2 to 100")
    parser.add_argument("--operations", type=int, default=100, help="operations per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (the median is printed)")
    parser.add_argument("--warmup", type=int, default=20, help="operations before timing")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of our operation")
    parser.add_argument("--sort", default="tottime", help="the profile's order (tottime, cumulative)")
    parser.add_argument("--lines", type=int, default=40, help="the profile's rows")
    args = parser.parse_args()
    if not 2 <= args.nodes <= 100:
        parser.error("--nodes is 2 to 100")
    sys.exit(asyncio.run(measure(args)))


if __name__ == "__main__":
    main()
