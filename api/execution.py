"""Execution: a plain field is read from its object, not resolved.

Most of what a query returns are plain fields: an attribute of the object a resolver returned (a report's
status, a map point's latitude), a scalar or an enum, with no resolver, no permission class, no field extension
and no argument (strawberry's "basic" fields). graphql-core executes each of them like any field: it builds a
path and a resolve info, calls strawberry's default resolver, checks whether the answer is awaitable, and
completes it as a leaf: 4-5 µs a field on this machine, most of what a list of 100 objects of 6 fields costs.

This execution context reads a selection set's plain fields in one loop: the attribute, then the leaf type's
`coerce_output_value` (what graphql-core's leaf completion calls). Whatever is not plain goes the normal way,
and so does the whole object whenever one of its plain fields is not simply a value: an error reading it, null
for a non-null field, a value that does not coerce, an awaitable, an exception as value. Then graphql-core
executes the object again from the start, and the error, its path and its locations are exactly graphql-core's.
Reading an attribute twice is harmless: the objects our resolvers return hold their fields as data. Where an
object has both, its plain fields are read before its resolvers run, which no resolver of ours can tell: none
changes the object it belongs to. A list of objects of plain fields only is completed item by item here too, without
graphql-core's completion of each item (its type, the object, its selection set).

bench/fields.py measures it: the typed map list (100 objects, 600 fields) from 3.55 to about 1.0 ms an operation.

A schema extension that resolves (graphql-core middleware sees every field) turns the shortcut off for the
operation, so that it still sees every field.

A resolver may also answer with an `orjson.Fragment`: JSON text it has already completed for its field and the
field's selection (the typed map list built by PostgreSQL, api/resolvers/public_map.py). It is not completed again
but embedded in the response as it is (api/app.py encode_json); the resolver answers for its being what
graphql-core's completion would have made of the selection.

A resolver that answers the same objects to everyone for a while (cityStats' answer, kept in the map cache until
a report event; the auditors' figures while no unit's changed) wraps them in `Kept`: their completion is kept with
them, by the text of the selection it was made for, and a request that asks the same selection again gets it
without completing anything. The items of a list may be `Kept` each, so that a new list of mostly the same items
(a leaderboard after one unit's figures changed) completes only the new ones. Only a selection whose
text says everything about its completion is kept: none with a variable, a fragment spread (its fragment lives
elsewhere in the document) or a directive (@defer among them) under the field; and only a completion that raised
no error and did not wait for anything.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast
from weakref import WeakKeyDictionary

import orjson
from graphql import (
    DirectiveNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    Node,
    Undefined,
    VariableNode,
    get_nullable_type,
    print_ast,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# Values that are never awaitable nor an exception: the check graphql-core makes on every value is skipped for them.
_PLAIN_VALUES = frozenset({str, int, float, bool, uuid.UUID, dt.datetime, dt.date, dt.time, Decimal})


@dataclass(frozen=True)
class _Leaf:
    """How a plain field is read: the attribute, and how its value is completed."""

    attribute: str
    coerce: Callable[[Any], Any]
    non_null: bool


# Per schema, by (object type, field): the plain field's _Leaf, or None for a field that is not plain.
_LEAVES: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Leaf | None]] = WeakKeyDictionary()


@dataclass(frozen=True)
class _Plan:
    """A selection set split into its plain fields and the rest, for one object type."""

    plain: tuple[tuple[str, _Leaf], ...]
    rest: GroupedFieldSet
    order: tuple[str, ...]


class Kept:
    """Objects answered to everyone until they are replaced, with their completions by selection (see above)."""

    # A field's selections are few (the apps' queries); a document that varies its aliases cannot grow it further.
    MAX_SELECTIONS = 8

    __slots__ = ("completed", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.completed: dict[str, Any] = {}


def _selection_text(return_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> str | None:
    """What names a completion of the field: its type and the text of its nodes' selection sets; None when the text
    is not enough. The field's own arguments, alias and directives are left out: the arguments chose the value
    (the resolver's business: the value is the same only for the same arguments), the directives whether the
    field is executed, and the alias where the completion goes."""
    texts = [str(return_type)]
    for detail in field_details_list:
        if detail.defer_usage is not None or detail.fragment_variable_values is not None:
            return None
        selections = detail.node.selection_set
        if selections is not None:
            if not _self_contained(selections):
                return None
            texts.append(print_ast(selections))
    return "\n".join(texts)


def _self_contained(node: Node) -> bool:
    if isinstance(node, VariableNode | FragmentSpreadNode | DirectiveNode):
        return False
    for key in node.keys:
        if key == "loc":
            continue
        value = getattr(node, key, None)
        children = value if isinstance(value, tuple | list) else (value,)
        for child in children:
            if isinstance(child, Node) and not _self_contained(child):
                return False
    return True


class PlainFieldsExecution(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._shortcut = middleware is None or not middleware.middlewares
        self._leaves = _LEAVES.setdefault(self.schema, {})
        # Per operation, by the selection set's identity: graphql-core collects an object type's selection set
        # once per operation and hands the same one for every object of a list. The set is kept alive with its
        # plan, so that its id is not reused while the operation runs.
        self._plans: dict[int, tuple[GroupedFieldSet, _Plan | None]] = {}
        # The same for the items of a list, by its item type and field: the plan when every field is plain.
        self._item_plans: dict[tuple[int, int], tuple[GraphQLOutputType, FieldDetailsList, _Plan | None]] = {}
        # The same for the text that names a kept completion (a list of kept items asks it for each).
        self._kept_texts: dict[tuple[int, int], tuple[GraphQLOutputType, FieldDetailsList, str | None]] = {}

    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        # The operation is over: drop what ties this context to itself (graphql-core's helpers for resolvers are
        # bound methods of it), so that it and all it holds (plans, field details, variables, the context) are
        # freed as the request ends, by reference counting, rather than left for the cyclic collector.
        self.async_helpers = None  # type: ignore[assignment]
        return response

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is orjson.Fragment:  # completed by the resolver (see the module's docstring)
            return result
        if type(result) is Kept:
            if self._shortcut:
                return self._complete_kept(return_type, field_details_list, info, path, result, position_context)
            result = result.value  # an extension that resolves sees every field (see the module's docstring)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _complete_kept(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        kept: Kept,
        position_context: Any,
    ) -> Any:
        text = self._kept_text(return_type, field_details_list)
        if text is not None and text in kept.completed:
            return kept.completed[text]
        errors = len(self.collected_errors.errors)
        completed = super().complete_value(return_type, field_details_list, info, path, kept.value, position_context)
        if (
            text is not None
            and len(self.collected_errors.errors) == errors
            and not self.is_awaitable(completed)
            and len(kept.completed) < Kept.MAX_SELECTIONS
        ):
            kept.completed[text] = completed
        return completed

    def _kept_text(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> str | None:
        """`_selection_text`, worked out once per operation for a field: the items of a list of `Kept` share it."""
        key = (id(return_type), id(field_details_list))
        found = self._kept_texts.get(key)
        if found is None:
            found = (return_type, field_details_list, _selection_text(return_type, field_details_list))
            self._kept_texts[key] = found
        return found[2]

    def complete_list_item_value(
        self,
        item: Any,
        complete_results: list[Any],
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        item_path: Path,
        position_context: Any,
    ) -> bool:
        # An object of only plain fields, straight from the list: what graphql-core's completion of the item
        # (its type, the object, its selection set, its fields) comes to. Awaitable items never come here.
        plan = self._item_plan(item_type, field_details_list) if self._shortcut else None
        if plan is not None and item is not None and not isinstance(item, Exception):
            values = _read(plan, item, self.is_awaitable)
            if values is not None:
                complete_results.append(values)
                return False
        return super().complete_list_item_value(
            item, complete_results, item_type, field_details_list, info, item_path, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set) if self._shortcut else None
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        values = _read(plan, source_value, self.is_awaitable)
        if values is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        if not plan.rest:
            return values
        rest = super().execute_fields(parent_type, source_value, path, plan.rest, position_context)
        if self.is_awaitable(rest):
            pending = cast(Awaitable[dict[str, Any]], rest)

            async def merged() -> dict[str, Any]:
                return _in_order(plan, values, await pending)

            return merged()
        return _in_order(plan, values, cast(dict[str, Any], rest))

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> _Plan | None:
        found = self._plans.get(id(grouped_field_set))
        if found is not None:
            return found[1]
        plain: list[tuple[str, _Leaf]] = []
        rest: GroupedFieldSet = {}
        for response_name, details in grouped_field_set.items():
            leaf = self._leaf(parent_type, details)
            if leaf is None:
                rest[response_name] = details
            else:
                plain.append((response_name, leaf))
        plan = _Plan(tuple(plain), rest, tuple(grouped_field_set)) if plain else None
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _item_plan(self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> _Plan | None:
        key = (id(item_type), id(field_details_list))
        found = self._item_plans.get(key)
        if found is not None:
            return found[2]
        plan = None
        object_type = get_nullable_type(item_type)
        # is_type_of is a check of each object that graphql-core makes and this does not.
        if isinstance(object_type, GraphQLObjectType) and object_type.is_type_of is None:
            grouped_field_set, defer_usages, *_ = self.collect_subfields(object_type, field_details_list)
            candidate = None if defer_usages else self._plan(object_type, grouped_field_set)
            plan = candidate if candidate is not None and not candidate.rest else None
        self._item_plans[key] = (item_type, field_details_list, plan)
        return plan

    def _leaf(self, parent_type: GraphQLObjectType, details: FieldDetailsList) -> _Leaf | None:
        if any(detail.node.arguments for detail in details):
            return None
        key = (parent_type.name, details[0].node.name.value)
        if key not in self._leaves:
            self._leaves[key] = _classify(self.schema, parent_type, key[1])
        return self._leaves[key]


def _classify(schema: GraphQLSchema, parent_type: GraphQLObjectType, field_name: str) -> _Leaf | None:
    """The field's _Leaf if it is plain: strawberry reads it with getattr and it is a scalar or an enum."""
    field_def = schema.get_field(parent_type, field_name)
    if field_def is None or field_def.args:
        return None
    # strawberry marks the resolver it gives a field that only reads an attribute (schema_converter.py).
    if not getattr(field_def.resolve, "_is_default", False):
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if definition.default_resolver is not getattr or not definition.python_name:
        return None
    non_null = isinstance(field_def.type, GraphQLNonNull)
    leaf = get_nullable_type(field_def.type)
    if isinstance(leaf, CustomGraphQLEnumType):
        return _Leaf(definition.python_name, _enum_names(leaf), non_null)
    if isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        return _Leaf(definition.python_name, leaf.coerce_output_value, non_null)
    return None


def _enum_names(enum_type: CustomGraphQLEnumType) -> Callable[[Any], Any]:
    """strawberry's enum completion (the name of the first value equal to the member's), with the names found
    once: strawberry looks through the enum's values for every field."""
    names: dict[Any, str] = {}
    member: enum.Enum
    for member in enum_type.wrapped_cls:
        for name, value in enum_type.values.items():
            if member.value == value.value:
                names[member] = name
                break
    complete = enum_type.coerce_output_value
    wrapped = enum_type.wrapped_cls

    def coerce(value: Any) -> Any:
        name = names.get(value) if type(value) is wrapped else None
        return complete(value) if name is None else name

    return coerce


def _read(plan: _Plan, source: Any, is_awaitable: Callable[[Any], bool]) -> dict[str, Any] | None:
    """The plain fields' values as graphql-core would complete them; None when one needs graphql-core."""
    values: dict[str, Any] = {}
    try:
        for response_name, leaf in plan.plain:
            value = getattr(source, leaf.attribute)
            if value is None or value is Undefined:
                if leaf.non_null:
                    return None
                values[response_name] = None
                continue
            if type(value) not in _PLAIN_VALUES and (isinstance(value, Exception) or is_awaitable(value)):
                return None
            coerced = leaf.coerce(value)
            if coerced is None or coerced is Undefined:
                return None
            values[response_name] = coerced
    except Exception:  # noqa: BLE001 - graphql-core reads the object again, and reports the error as it would
        return None
    return values


def _in_order(plan: _Plan, values: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Both parts in the selection's order (a field graphql-core left out stays out)."""
    return {
        name: values[name] if name in values else rest[name] for name in plan.order if name in values or name in rest
    }
