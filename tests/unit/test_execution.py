"""api/execution.py: plain fields read in one loop answer exactly what graphql-core answers, errors included."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.execution import PlainFieldsExecution

AT = dt.datetime(2026, 12, 6, 4, 0, tzinfo=dt.UTC)


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    score: float
    colour: Colour
    at: dt.datetime
    note: str | None
    secret: strawberry.Private[str]

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> int:
        return len(self.name)

    @strawberry.field
    def twice(self, times: int = 2) -> str:
        return self.name * times


def item(n: int, **changes: Any) -> Item:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"i{n}"),
        "name": f"item {n}",
        "score": n / 2,
        "colour": Colour.GREEN if n % 2 else Colour.RED,
        "at": AT + dt.timedelta(minutes=n),
        "note": None if n % 3 else f"note {n}",
        "secret": "never shown",
    }
    values.update(changes)
    return Item(**values)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [item(n) for n in range(5)]

    @strawberry.field
    def one(self) -> Item:
        return item(7)

    @strawberry.field
    def maybe(self) -> list[Item | None]:
        return [item(1), None, item(2)]

    @strawberry.field
    def broken(self) -> list[Item | None]:
        # What a plain field can hold that graphql-core refuses: null for a non-null field, a value its scalar
        # does not take, an exception as the value.
        return [
            item(1),
            item(2, name=None),
            item(3, score="high"),
            item(4, colour="purple"),
            item(5, score=ValueError("no score")),
            item(6),
        ]

    @strawberry.field
    def strict(self) -> list[Item]:
        return [item(1), item(2, name=None)]


DOCUMENTS = [
    ("every plain field", "{ items { id name score colour at note } }", None),
    ("aliases and a field twice", "{ items { a: name name b: score id c: id } }", None),
    ("plain and resolved fields mixed", "{ items { later name shout __typename colour twice(times: 3) } }", None),
    ("an object, not a list", "{ one { name score at } }", None),
    ("null items", "{ maybe { name colour } }", None),
    (
        "fragments and directives",
        "query Q($yes: Boolean!) { items { ...F name @include(if: $yes) score @skip(if: $yes) } } "
        "fragment F on Item { id ... on Item { at } }",
        {"yes": True},
    ),
    ("errors of plain fields", "{ broken { id name score colour } }", None),
    ("errors beside resolved fields", "{ broken { later name shout score } }", None),
    ("an error that nulls the list", "{ strict { id name } }", None),
]


class Counting(PlainFieldsExecution):
    """Counts the fields graphql-core executes one by one."""

    executed = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        Counting.executed += 1
        return super().execute_field(*args, **kwargs)


def schema(execution: type[StrawberryGraphQLCoreExecutionContext], *extensions: Any) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=execution, extensions=list(extensions))


def answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    # The order of the keys is part of the answer (a client sees the fields in the order it asked for them).
    errors = sorted((e.formatted for e in result.errors or []), key=lambda e: str(e.get("path")))
    return (_ordered(result.data), errors)


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        return [(key, _ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


@pytest.mark.parametrize(("document", "variables"), [(d, v) for _, d, v in DOCUMENTS], ids=[n for n, _, _ in DOCUMENTS])
async def test_plain_fields_answer_what_graphql_core_answers(document: str, variables: dict[str, Any] | None) -> None:
    expected = await schema(StrawberryGraphQLCoreExecutionContext).execute(document, variable_values=variables)

    got = await schema(PlainFieldsExecution).execute(document, variable_values=variables)

    assert answer(got) == answer(expected)


async def test_the_errors_are_graphql_cores_with_their_paths() -> None:
    result = await schema(PlainFieldsExecution).execute("{ broken { id name score colour } }")

    assert result.data is not None
    assert [row and row["id"] for row in result.data["broken"]] == ["i1", None, None, None, None, "i6"]
    assert sorted((e.path, e.message) for e in result.errors or []) == [
        (["broken", 1, "name"], "Cannot return null for non-nullable field Item.name."),
        (["broken", 2, "score"], "Float cannot represent non numeric value: 'high'"),
        (["broken", 3, "colour"], "Enum 'Colour' cannot represent value: 'purple'"),
        (["broken", 4, "score"], "no score"),
    ]


async def test_plain_fields_are_not_executed_one_by_one() -> None:
    Counting.executed = 0

    result = await schema(Counting).execute("{ items { id name score colour at note shout } }")

    assert result.errors is None
    # The root field, and the one resolved field of each of the 5 items.
    assert Counting.executed == 1 + 5


class Seen(SchemaExtension):
    fields: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        Seen.fields.append(info.field_name)
        return _next(root, info, *args, **kwargs)


def test_an_extension_that_resolves_still_sees_every_field() -> None:
    Seen.fields = []

    result = schema(PlainFieldsExecution, Seen).execute_sync("{ one { name score } }")

    assert result.errors is None
    assert Seen.fields == ["one", "name", "score"]
