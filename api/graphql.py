"""The schema: root types merged from the resolver modules, plus the operation boundary."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from api.extensions import OperationBoundary
from api.resolvers.accounts import AccountMutations, AccountQueries
from api.resolvers.photos import PhotoMutations
from api.resolvers.reports import ReportMutations, ReportQueries

Query = merge_types("Query", (AccountQueries, ReportQueries))
Mutation = merge_types("Mutation", (AccountMutations, PhotoMutations, ReportMutations))

schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[OperationBoundary])
