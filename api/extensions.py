"""The operation boundary: one transaction per GraphQL operation and the client-facing form of errors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

from api.context import Context
from api.errors import ErrorCode, present

log = logging.getLogger("api.operation")


class OperationBoundary(SchemaExtension):
    async def on_operation(self):  # type: ignore[no-untyped-def,override]
        yield
        context = self.execution_context.context
        if not isinstance(context, Context):
            return
        result = self.execution_context.result
        failed = result is None or bool(result.errors)
        try:
            await context.finish(commit=not failed)
        except Exception:
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


@lru_cache(maxsize=512)
def _parse(query: str) -> DocumentNode:
    return parse(query)


class CachedParse(SchemaExtension):
    """Parses each distinct query text once per process.

    Unlike strawberry's ParserCache, a query that does not parse is left to strawberry, which reports the
    syntax error through the normal path (and so through OperationBoundary).
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(context.query)
        yield
