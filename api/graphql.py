"""The schema: root types merged from the resolver modules, plus the operation boundary."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.tools import merge_types

from api.extensions import OperationBoundary
from api.resolvers.accounts import AccountMutations, AccountQueries
from api.resolvers.photos import PhotoMutations
from api.resolvers.reports import ReportMutations, ReportQueries

Query = merge_types("Query", (AccountQueries, ReportQueries))
Mutation = merge_types("Mutation", (AccountMutations, PhotoMutations, ReportMutations))


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """OperationBoundary logs what is unexpected; client mistakes are not worth a traceback in the log."""


schema = Schema(query=Query, mutation=Mutation, extensions=[OperationBoundary])
