"""Operations made from the schema itself: every root field called with some valid arguments."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)

NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"
SCALARS: dict[str, Any] = {
    "String": "x",
    "ID": NO_SUCH_ID,
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Date": "2026-11-01",
    "DateTime": "2026-11-01T00:00:00+00:00",
    "JSON": {},
}


def some_value(kind: GraphQLInputType) -> Any:
    """Some value of an input type, enough to get an operation past validation."""
    if isinstance(kind, GraphQLNonNull):
        return some_value(kind.of_type)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {name: some_value(f.type) for name, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)}
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS.get(kind.name, "x")


def operation(
    kind: str, name: str, field: GraphQLField, values: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """A document calling root field `name` with its required arguments and those in `values`, as variables,
    and the variables: `values` where given, some valid value for the rest."""
    given = values or {}
    passed_args = {arg: a for arg, a in field.args.items() if isinstance(a.type, GraphQLNonNull) or arg in given}
    declared = ", ".join(f"${arg}: {a.type}" for arg, a in passed_args.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in passed_args)
    named = get_named_type(field.type)
    selection = " { __typename }" if isinstance(named, GraphQLObjectType | GraphQLUnionType) else ""
    head = f"{kind} Op({declared})" if declared else f"{kind} Op"
    call = f"{name}({passed})" if passed else name
    variables = {arg: given[arg] if arg in given else some_value(a.type) for arg, a in passed_args.items()}
    return f"{head} {{ {call}{selection} }}", variables
