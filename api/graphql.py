"""The schema: root types merged from the resolver modules, the operation boundary and the query limits."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import BatchingConfig, StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from api.access import CurrentAccount
from api.execution import PlainFieldsExecution
from api.extensions import (
    DocumentCache,
    OperationBoundary,
    PreparedDocuments,
    ReadOnlyAuditors,
    RefuseNulCharacters,
    TrustedDocumentsOnly,
)
from api.limits import cost_limit_rule
from api.metrics import OperationLabels, trusted_operation_names
from api.resolvers.accounts import AccountMutations, AccountQueries
from api.resolvers.cctv import CctvMutations, CctvQueries, CctvSubscriptions
from api.resolvers.command_center import CommandCenterQueries
from api.resolvers.community import CommunityMutations, CommunityQueries
from api.resolvers.notifications import NotificationMutations, NotificationQueries
from api.resolvers.performance import PerformanceMutations, PerformanceQueries
from api.resolvers.photos import PhotoMutations
from api.resolvers.public_map import PublicMapQueries, PublicMapSubscriptions
from api.resolvers.reports import ReportMutations, ReportQueries
from api.resolvers.routing import RoutingMutations, RoutingQueries
from api.resolvers.templates import TemplateMutations, TemplateQueries
from api.resolvers.verification import VerificationMutations
from api.resolvers.workflow import WorkflowMutations, WorkflowQueries
from api.trusted_documents import NO_DOCUMENTS, TrustedDocuments
from domain.settings import Settings

Query = merge_types(
    "Query",
    (
        AccountQueries,
        ReportQueries,
        WorkflowQueries,
        NotificationQueries,
        RoutingQueries,
        PublicMapQueries,
        CctvQueries,
        CommandCenterQueries,
        PerformanceQueries,
        CommunityQueries,
        TemplateQueries,
    ),
)
Subscription = merge_types("Subscription", (PublicMapSubscriptions, CctvSubscriptions))
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        PhotoMutations,
        ReportMutations,
        WorkflowMutations,
        NotificationMutations,
        RoutingMutations,
        CctvMutations,
        PerformanceMutations,
        CommunityMutations,
        VerificationMutations,
        TemplateMutations,
    ),
)


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """OperationBoundary logs what is unexpected; client mistakes are not worth a traceback in the log."""


def build_schema(settings: Settings, documents: TrustedDocuments = NO_DOCUMENTS) -> Schema:
    # The limit rules are made once, with the cache of parsed and validated texts: cached results keep the
    # limiters' errors, so the limits still hold.
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
        cost_limit_rule(settings.graphql_max_cost),
    ]
    if not settings.graphql_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    labels = OperationLabels(trusted_operation_names(documents.texts.values()))
    document_cache = DocumentCache(rules, max_tokens=settings.graphql_max_tokens)
    # Each extension costs every operation about 14 µs in strawberry's hooks (bench/fields.py), used or not:
    # parsing, its token limit, validation, its rules and their caches are one.
    extensions: list[Any] = [
        lambda: PreparedDocuments(document_cache),
        lambda: OperationBoundary(labels),
        CurrentAccount,
        ReadOnlyAuditors,
        RefuseNulCharacters,
    ]
    if settings.trusted_documents_only:
        # After PreparedDocuments (its answer is replaced) and CurrentAccount (the viewer is checked).
        extensions.append(lambda: TrustedDocumentsOnly(documents))
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=PlainFieldsExecution,
        config=StrawberryConfig(
            disable_field_suggestions=not settings.graphql_field_suggestions,
            # api/app.py runs a batch's operations one after another, each in its own transaction.
            batching_config=BatchingConfig(max_operations=settings.graphql_max_batch)
            if settings.graphql_max_batch > 1
            else None,
        ),
    )
