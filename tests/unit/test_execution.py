"""api/execution.py: plain fields read in one loop answer exactly what graphql-core answers, errors included."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar, cast

import pytest
import strawberry
from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.execution import Kept, PlainFieldsExecution

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


# A kept answer: the same objects answered to every request (api/execution.py Kept).
HELD = Kept([item(n) for n in range(4)])
HELD_BROKEN = Kept([item(1), item(2, name=None)])
HELD_OTHER = Kept([item(n) for n in range(10, 13)])


# Items kept one by one, answered in a new list each time (a leaderboard after one unit's figures changed).
LINES = [Kept(item(n)) for n in range(20, 24)]
SHOUTED: list[str] = []


@strawberry.type
class Line:
    id: strawberry.ID
    name: str

    @strawberry.field
    def shout(self) -> str:
        SHOUTED.append(self.name)
        return self.name.upper()


def line(n: int) -> Line:
    return Line(id=strawberry.ID(f"l{n}"), name=f"line {n}")


KEPT_LINES = [Kept(line(n)) for n in range(3)]


@strawberry.type
class KeptQuery:
    @strawberry.field
    def held(self) -> list[Item]:
        return HELD  # type: ignore[return-value]

    @strawberry.field
    def lines(self, fresh: int = 0) -> list[Line]:
        return [*KEPT_LINES, *(Kept(line(10 + n)) for n in range(fresh))]  # type: ignore[list-item]

    @strawberry.field
    def held_broken(self) -> list[Item | None]:
        return HELD_BROKEN  # type: ignore[return-value]

    @strawberry.field
    def held_by(self, which: int) -> list[Item]:
        return HELD_OTHER if which else HELD  # type: ignore[return-value]


@strawberry.type(name="KeptQuery")
class HeldQuery:
    """The same answers as plain lists, for graphql-core's own execution."""

    @strawberry.field
    def lines(self, fresh: int = 0) -> list[Line]:
        return [*(cast(Line, k.value) for k in KEPT_LINES), *(line(10 + n) for n in range(fresh))]

    @strawberry.field
    def held(self) -> list[Item]:
        return cast(list[Item], HELD.value)

    @strawberry.field
    def held_broken(self) -> list[Item | None]:
        return cast(list[Item | None], HELD_BROKEN.value)

    @strawberry.field
    def held_by(self, which: int) -> list[Item]:
        return cast(list[Item], (HELD_OTHER if which else HELD).value)


class CountingItems(PlainFieldsExecution):
    """Counts the list items completed."""

    completed = 0

    def complete_list_item_value(self, *args: Any, **kwargs: Any) -> bool:
        CountingItems.completed += 1
        return super().complete_list_item_value(*args, **kwargs)


KEPT_SCHEMA = strawberry.Schema(query=KeptQuery, execution_context_class=CountingItems)
PLAIN_SCHEMA = strawberry.Schema(query=HeldQuery, execution_context_class=StrawberryGraphQLCoreExecutionContext)


async def run_kept(document: str, variables: dict[str, Any] | None = None) -> tuple[Any, list[dict[str, Any]], int]:
    """The answer, and how many items were completed for it; checked against graphql-core's own."""
    CountingItems.completed = 0
    got = answer(await KEPT_SCHEMA.execute(document, variable_values=variables))
    completed = CountingItems.completed
    assert got == answer(await PLAIN_SCHEMA.execute(document, variable_values=variables))
    return (*got, completed)


@pytest.fixture(autouse=True)
def _nothing_kept_yet() -> None:
    for kept in (HELD, HELD_BROKEN, HELD_OTHER, *KEPT_LINES):
        kept.completed.clear()
    SHOUTED.clear()


async def test_a_new_list_of_kept_items_completes_only_the_items_not_completed_before() -> None:
    first = await run_kept("{ lines { id shout } }")
    SHOUTED.clear()  # (and once more for graphql-core's own answer, which run_kept compares)

    with_new = await run_kept("{ lines(fresh: 2) { id shout } }")

    assert [row[0][1] for row in with_new[0][0][1]] == ["l0", "l1", "l2", "l10", "l11"]
    assert with_new[0][0][1][:3] == first[0][0][1]
    # the kept lines' resolvers ran no more: only the two new lines' (and graphql-core's own, for every line)
    kept_names = {"line 0", "line 1", "line 2"}
    assert sorted(name for name in SHOUTED if name not in kept_names) == ["line 10", "line 10", "line 11", "line 11"]
    assert sorted(name for name in SHOUTED if name in kept_names) == sorted(kept_names)


async def test_a_kept_answer_is_completed_once_per_selection() -> None:
    first = await run_kept("{ held { id name colour shout } }")
    again = await run_kept("{ held { id name colour shout } }")
    other = await run_kept("{ held { at a: id twice } }")
    other_again = await run_kept("{ held { at a: id twice } }")

    assert first[2] == 4
    assert again[2] == 0
    assert again[:2] == first[:2]
    # Another selection is completed for itself (its resolved fields too), then kept as well.
    assert other[2] == 4
    assert other_again[2] == 0
    assert other_again[:2] == other[:2]
    assert [row[0] for row in other[0][0][1][0]] == ["at", "a", "twice"]
    assert len(HELD.completed) == 2


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query Q($t: Int!) { held { twice(times: $t) } }", {"t": 3}),
        ("{ held { ...F } } fragment F on Item { id name }", None),
        ("query Q($yes: Boolean!) { held { id name @include(if: $yes) } }", {"yes": True}),
        ("{ held { id name @include(if: true) } }", None),
        ("{ held { id later } }", None),
    ],
    ids=["a variable", "a fragment spread", "a directive by a variable", "a directive", "a field that waits"],
)
async def test_a_selection_not_named_by_its_text_or_that_waits_is_completed_every_time(
    document: str, variables: dict[str, Any] | None
) -> None:
    first = await run_kept(document, variables)
    again = await run_kept(document, variables)

    assert first[2] == again[2] == 4
    assert not HELD.completed


async def test_a_completion_with_errors_is_not_kept() -> None:
    first = await run_kept("{ heldBroken { id name } }")
    again = await run_kept("{ heldBroken { id name } }")

    assert first[1] == again[1]
    assert [e["path"] for e in again[1]] == [["heldBroken", 1, "name"]]
    assert again[2] == 2
    assert not HELD_BROKEN.completed


async def test_a_kept_answer_keeps_a_bounded_number_of_selections() -> None:
    for n in range(Kept.MAX_SELECTIONS + 3):
        await run_kept(f"{{ held {{ a{n}: id }} }}")

    assert len(HELD.completed) == Kept.MAX_SELECTIONS
    assert (await run_kept(f"{{ held {{ a{Kept.MAX_SELECTIONS + 1}: id }} }}"))[2] == 4


async def test_a_selection_by_variables_answers_each_requests_values() -> None:
    document = "query Q($t: Int!) { held { twice(times: $t) } }"

    thrice = await run_kept(document, {"t": 3})
    once = await run_kept(document, {"t": 1})

    assert thrice[0] != once[0]


async def test_the_fields_own_arguments_alias_and_directives_do_not_name_its_completion() -> None:
    # The arguments chose the value (here, by a variable), the alias and directives where and whether it goes.
    document = "query Q($w: Int!, $yes: Boolean!) { x: heldBy(which: $w) @include(if: $yes) { id name } }"

    first = await run_kept(document, {"w": 0, "yes": True})
    other = await run_kept(document, {"w": 1, "yes": True})
    again = await run_kept("{ heldBy(which: 0) { id name } }")
    other_again = await run_kept("query Q($w: Int!) { y: heldBy(which: $w) { id name } }", {"w": 1})

    assert (first[2], other[2], again[2], other_again[2]) == (4, 3, 0, 0)
    assert first[0] != other[0]


def test_an_extension_that_resolves_sees_every_field_of_a_kept_answer() -> None:
    watched = strawberry.Schema(query=KeptQuery, execution_context_class=PlainFieldsExecution, extensions=[Seen])

    for _ in range(2):
        Seen.fields = []
        result = watched.execute_sync("{ held { id } }")

        assert result.errors is None
        assert Seen.fields == ["held"] + ["id"] * 4
    assert not HELD.completed
