"""The query cost budget: an estimate, before anything runs, of how many fields an operation may resolve.

Depth, alias and token limits bound the size of a document, not the work it asks for: three nested pages of
100 are a short query and a million rows. The estimate counts every field once, and multiplies what is under a
list by the list's length: a paginated field by its ``first`` (the value written in the query, the largest
allowed when it comes from a variable, the schema's default when it is left out), any other list by
``LIST_SIZE``. A connection's ``edges`` and ``nodes`` are the page already counted. ``__typename`` and
introspection are free (introspection has its own switch, and never touches the database).

The estimate depends on the document alone, so a validation rule computes it and the validation cache keeps
the answer.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

from api.schema.pagination import MAX_FIRST

# What a list without a page size is taken to hold: photos (at most 5), history rows, categories, units.
LIST_SIZE = 10
PAGE_ARGUMENT = "first"


def operation_cost(schema: GraphQLSchema, context: ValidationContext, operation: OperationDefinitionNode) -> int:
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    return _selection_cost(schema, context, operation.selection_set, root, frozenset(), in_connection=False)


def _selection_cost(
    schema: GraphQLSchema,
    context: ValidationContext,
    selections: SelectionSetNode,
    parent: GraphQLNamedType,
    fragments_seen: frozenset[str],
    *,
    in_connection: bool,
) -> int:
    total = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            total += _field_cost(schema, context, node, parent, fragments_seen, in_connection=in_connection)
        elif isinstance(node, InlineFragmentNode):
            on = schema.get_type(node.type_condition.name.value) if node.type_condition else parent
            total += _selection_cost(
                schema, context, node.selection_set, on or parent, fragments_seen, in_connection=in_connection
            )
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in fragments_seen:  # unknown or cyclic: other rules report it
                continue
            on = schema.get_type(fragment.type_condition.name.value) or parent
            total += _selection_cost(
                schema, context, fragment.selection_set, on, fragments_seen | {name}, in_connection=in_connection
            )
    return total


def _field_cost(
    schema: GraphQLSchema,
    context: ValidationContext,
    node: FieldNode,
    parent: GraphQLNamedType,
    fragments_seen: frozenset[str],
    *,
    in_connection: bool,
) -> int:
    name = node.name.value
    if name.startswith("__") or not isinstance(parent, GraphQLObjectType):
        return 0
    field = parent.fields.get(name)
    if field is None:  # other rules report it
        return 0
    cost = 1
    if node.selection_set is not None:
        # A paged field's page is counted here, so the list of edges right under it is not counted again.
        page = PAGE_ARGUMENT in field.args and not isinstance(get_nullable_type(field.type), GraphQLList)
        inner = _selection_cost(
            schema, context, node.selection_set, get_named_type(field.type), fragments_seen, in_connection=page
        )
        cost += _length(field, node, in_connection=in_connection) * inner
    return cost


def _length(field: GraphQLField, node: FieldNode, *, in_connection: bool) -> int:
    """How many times what is under the field is resolved."""
    if PAGE_ARGUMENT in field.args:
        written = next((a.value for a in node.arguments or () if a.name.value == PAGE_ARGUMENT), None)
        if isinstance(written, IntValueNode):
            return max(int(written.value), 0)
        if isinstance(written, VariableNode):
            return MAX_FIRST
        default = field.args[PAGE_ARGUMENT].default_value
        return default if isinstance(default, int) else MAX_FIRST
    if isinstance(get_nullable_type(field.type), GraphQLList):
        return 1 if in_connection else LIST_SIZE
    return 1


def cost_limit_rule(max_cost: int) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = operation_cost(self.context.schema, self.context, node)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The operation's estimated cost {cost} exceeds the budget of {max_cost}: ask for smaller "
                        "pages or fewer nested lists.",
                        node,
                    )
                )

    return QueryCostRule
