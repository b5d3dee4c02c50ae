"""The operation boundary: one transaction per GraphQL operation and the client-facing form of errors."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Visitor,
    parse,
    visit,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType as StrawberryOperation

from api.context import Context
from api.errors import ClientError, ErrorCode, deleted_account, present
from api.metrics import OK, OperationLabels, observe_operation, outcome
from api.observability import name_request_span
from api.trusted_documents import TrustedDocuments
from domain.models import Role

log = logging.getLogger("api.operation")


class OperationBoundary(SchemaExtension):
    """Commits or rolls back the operation's transaction, presents its errors, and counts it (api/metrics.py):
    one hook per operation, none per field."""

    def __init__(self, labels: OperationLabels) -> None:
        super().__init__()
        self.labels = labels

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and self.execution_context.operation_type is StrawberryOperation.MUTATION:
            # From here on the request must see what it writes: its public reads (this mutation's payload, the
            # batch's later operations) go to the primary, not to a replica that may not have replayed it yet.
            context.wrote = True
        yield

    async def on_operation(self):  # type: ignore[no-untyped-def,override]
        started = time.perf_counter()
        yield
        try:
            await self._finish()
        finally:
            self._count(time.perf_counter() - started)

    def _count(self, seconds: float) -> None:
        execution = self.execution_context
        label = self.labels.label(execution.query, execution.operation_name, execution.graphql_document)
        result = execution.result
        if _is_subscription(execution.graphql_document, execution.operation_name):
            # Open for as long as its client listens, and left with its last event's result (None before any):
            # counted by how it ended, without a duration.
            observe_operation(label, outcome(result.errors) if result is not None else OK, None)
            return
        failed = ErrorCode.INTERNAL_SERVER_ERROR.value
        observe_operation(label, outcome(result.errors) if result is not None else failed, seconds)

    async def _finish(self) -> None:
        context = self.execution_context.context
        if not isinstance(context, Context):
            return
        if context.response is not None:
            _name_span(context, self.execution_context)
        result = self.execution_context.result
        failed = result is None or bool(result.errors)
        try:
            await context.finish(commit=not failed)
        except Exception as exc:
            if deleted_account(exc) and result is not None:
                result.data = None
                result.errors = [
                    GraphQLError("This account no longer exists.", extensions={"code": ErrorCode.UNAUTHENTICATED.value})
                ]
                return
            log.exception("commit failed (request %s)", context.request_id)
            if result is not None:
                result.data = None
                result.errors = [
                    GraphQLError(
                        "Internal server error",
                        extensions={
                            "code": ErrorCode.INTERNAL_SERVER_ERROR.value,
                            "requestId": context.request_id,
                        },
                    )
                ]
            return
        if result is not None and result.errors:
            result.errors = [present(error, context.request_id) for error in result.errors]


def _name_span(context: Context, execution: Any) -> None:
    """The request's span takes the operation's name, or its root fields' when it has none."""
    document = execution.graphql_document
    if document is None:
        return
    operation = next(
        (
            node
            for node in document.definitions
            if isinstance(node, OperationDefinitionNode)
            and (execution.operation_name is None or (node.name and node.name.value == execution.operation_name))
        ),
        None,
    )
    if operation is None:
        return
    name = operation.name.value if operation.name else None
    if name is None:
        name = ",".join(f.name.value for f in operation.selection_set.selections if isinstance(f, FieldNode)) or None
    name_request_span(context.request.scope, operation.operation.value, name)


class DocumentCache:
    """Each distinct query text parsed (under the token limit) and validated (with the limit rules) once per
    process, for one schema; the latest `maxsize` texts are kept.

    Keyed by the text: strawberry's ValidationCache keys on the parsed document, which costs a hash of the whole
    tree on every request.
    """

    def __init__(self, rules: Sequence[type[ASTValidationRule]], *, max_tokens: int, maxsize: int = 512) -> None:
        self.rules = tuple(rules)
        self.max_tokens = max_tokens
        self.parse = lru_cache(maxsize=maxsize)(self._parse)
        self.validate = lru_cache(maxsize=maxsize)(self._validate)

    def _parse(self, query: str) -> DocumentNode:
        return parse(query, max_tokens=self.max_tokens)

    def _validate(
        self, schema: GraphQLSchema, query: str, base_rules: tuple[type[ASTValidationRule], ...]
    ) -> list[GraphQLError]:
        return validate_document(schema, self.parse(query), (*base_rules, *self.rules))


class PreparedDocuments(SchemaExtension):
    """Parsing and validation through a `DocumentCache`.

    A text that does not parse is left to strawberry, with the same token limit, which reports the syntax error
    through the normal path (and so through OperationBoundary).
    """

    def __init__(self, documents: DocumentCache) -> None:
        super().__init__()
        self.documents = documents
        self.parsed: DocumentNode | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.documents.max_tokens
        if context.query and context.graphql_document is None:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self.parsed = self.documents.parse(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        base_rules = tuple(context.validation_rules)
        if context.query and self.parsed is not None and context.graphql_document is self.parsed:
            context.pre_execution_errors = self.documents.validate(context.schema._schema, context.query, base_rules)
        elif context.graphql_document is not None:
            # A document that did not come from the cache is validated as it is, under the same rules.
            context.pre_execution_errors = validate_document(
                context.schema._schema, context.graphql_document, (*base_rules, *self.documents.rules)
            )
        yield


# What an auditor may run: their own session and inbox, and asking for an export of the figures.
AUDITOR_MUTATIONS = frozenset(
    {
        "logIn",
        "refreshToken",
        "logOut",
        "registerDevice",
        "unregisterDevice",
        "markNotificationsRead",
        "requestPerformanceExport",
    }
)


# Staff who read and never change: auditors, and enforcement staff (who are staff only to find the alerts whose
# plates they read; domain/plate_reading.py).
READ_ONLY_ROLES = frozenset({Role.AUDITOR, Role.ENFORCEMENT})


class ReadOnlyAuditors(SchemaExtension):
    """Auditors (and enforcement staff) read everything and change nothing: one of their mutations runs only when
    every root field is on AUDITOR_MUTATIONS, so a mutation added later is refused to them until someone decides
    otherwise."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        viewer = context.viewer if isinstance(context, Context) else None
        document = execution.graphql_document
        if viewer is not None and viewer.role in READ_ONLY_ROLES and document is not None:
            refused = sorted(_mutation_fields(document, execution.operation_name) - AUDITOR_MUTATIONS)
            if refused:
                execution.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            "Auditors and enforcement staff can read but change nothing.",
                            extensions={"code": ErrorCode.FORBIDDEN.value, "fields": refused},
                        )
                    ],
                )
        yield


def _is_subscription(document: DocumentNode | None, operation_name: str | None) -> bool:
    if document is None:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition.operation == OperationType.SUBSCRIPTION
    return False


def _mutation_fields(document: DocumentNode, operation_name: str | None) -> set[str]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation != OperationType.MUTATION:
        return set()
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()

    def walk(selections: SelectionSetNode, seen: frozenset[str]) -> None:
        for node in selections.selections:
            if isinstance(node, FieldNode):
                names.add(node.name.value)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments and node.name.value not in seen:
                walk(fragments[node.name.value].selection_set, seen | {node.name.value})

    walk(chosen[0].selection_set, frozenset())
    return names


class TrustedDocumentsOnly(SchemaExtension):
    """With JSC_TRUSTED_DOCUMENTS_ONLY: an operation's text runs only when the trusted documents hold it, or for
    staff (their token checked against their account first by CurrentAccount: a closed account's is no token).

    Refused in place of validation's answer, before anything runs, whatever the transport (a batch's operations
    and a WebSocket's each on their own): what the text gets wrong is not told to whoever may not send it. Text
    that does not even parse gets its syntax error, which says nothing about the schema.
    """

    def __init__(self, documents: TrustedDocuments) -> None:
        super().__init__()
        self.documents = documents

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        viewer = context.viewer if isinstance(context, Context) else None
        if not self.documents.may_run(execution.query, viewer.role if viewer else None):
            # Set before strawberry looks at the errors, after ValidationCache (listed before) set its own.
            execution.pre_execution_errors = [
                ClientError(
                    ErrorCode.UNTRUSTED_DOCUMENT,
                    "This server runs the documents its apps were built with: send one of them, or its documentId.",
                )
            ]
        yield


class RefuseNulCharacters(SchemaExtension):
    """PostgreSQL text cannot hold U+0000: a string argument carrying it is refused before anything runs, as
    the client's mistake, where the database would fail the statement and the client would see a server error."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if (document is not None and _literal_holds_nul(execution.query, document)) or _holds_nul(execution.variables):
            execution.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "Text cannot contain the NUL character (U+0000).",
                        extensions={"code": ErrorCode.BAD_USER_INPUT.value, "reason": "NUL_CHARACTER"},
                    )
                ],
            )
        yield


def _literal_holds_nul(query: str | None, document: DocumentNode) -> bool:
    # A literal holds U+0000 as the character itself or through an escape (\u0000, \u{0}), the only escape that
    # can make one: a text holding neither needs no walk through its document.
    if query is not None and "\x00" not in query and "\\u" not in query:
        return False
    collector = _StringLiterals()
    visit(document, collector)
    return any("\x00" in text for text in collector.values)


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[str] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.values.append(node.value)


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False
