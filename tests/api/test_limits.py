from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, OperationDefinitionNode, TypeInfo, ValidationContext, parse
from sqlalchemy import func, select

from api.app import STATIC_DIR, create_app
from api.graphql import build_schema
from api.limits import LIST_SIZE, operation_cost
from api.schema.pagination import MAX_FIRST
from domain.models import Report, Role
from domain.resources import Resources
from domain.settings import Settings
from tests.api.test_workflow import staff_member
from tests.factories import CREATE_REPORT, MY_REPORTS, Api, Citizen, report_input
from tests.operations import operation


async def test_a_query_deeper_than_the_limit_is_refused(settings: Settings) -> None:
    schema = build_schema(settings.model_copy(update={"graphql_max_depth": 3}))
    depth_3 = 'query { report(id: "x") { kelurahan { kota { name } } } }'
    depth_4 = 'query { report(id: "x") { kelurahan { kecamatan { kota { name } } } } }'

    allowed = await schema.execute(depth_3)
    refused = await schema.execute(depth_4)

    assert allowed.errors is None
    assert refused.data is None
    assert refused.errors is not None
    assert "exceeds maximum operation depth of 3" in refused.errors[0].message


async def test_too_many_aliases_are_refused(api: Api) -> None:
    query = "query { " + " ".join(f"c{i}: categories {{ code }}" for i in range(25)) + " }"

    body = await api.gql(query)

    assert body.get("data") is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_too_many_tokens_are_refused(api: Api) -> None:
    query = "query { categories { " + " ".join(["code"] * 2100) + " } }"

    body = await api.gql(query)

    assert body.get("data") is None
    assert [(e["extensions"]["code"], e["message"]) for e in body["errors"]] == [
        ("GRAPHQL_VALIDATION_FAILED", "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.")
    ]


async def test_the_token_limit_holds_for_a_text_that_would_run(settings: Settings) -> None:
    # The parse of each text is cached: the cache must parse under the limit too, or the limit would only
    # catch texts that fail anyway.
    schema = build_schema(settings.model_copy(update={"graphql_max_tokens": 50}))
    query = "query { categories { " + " ".join(["code"] * 60) + " } }"

    refused = await schema.execute(query)
    again = await schema.execute(query)

    for result in (refused, again):
        assert result.data is None
        assert [e.message for e in result.errors or []] == [
            "Syntax Error: Document contains more than 50 tokens. Parsing aborted."
        ]


# --- the cost budget ---------------------------------------------------------------------------------------

NESTED_PAGES = """
query Nested($first: Int!) {
  myReports(first: $first) { edges { node { id comments(first: 100) { edges { node { body } } } } } }
}
"""


def cost_of(settings: Settings, query: str) -> int:
    schema = build_schema(settings)._schema
    document = parse(query)
    context = ValidationContext(schema, document, TypeInfo(schema), lambda _: None)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return sum(operation_cost(schema, context, o) for o in operations)


def test_the_cost_counts_lists_at_their_page_size(settings: Settings) -> None:
    # One field, then per report: edges, node, id (3) and two photo fields in a list of LIST_SIZE.
    written = cost_of(settings, "query { myReports(first: 7) { edges { node { id photos { id url } } } } }")
    defaulted = cost_of(settings, "query { myReports { edges { node { id } } } }")
    from_variable = cost_of(settings, "query Q($n: Int!) { myReports(first: $n) { edges { node { id } } } }")

    assert written == 1 + 7 * (1 + 1 + 1 + (1 + LIST_SIZE * 2))
    assert defaulted == 1 + 20 * 3  # the schema's default page
    assert from_variable == 1 + MAX_FIRST * 3  # the variable could be the largest page
    # Fragments count as what they select; __typename and introspection are free.
    assert (
        cost_of(settings, "query { ...F __typename __schema { types { name } } } fragment F on Query { me { id } }")
        == 2
    )


async def test_nested_pages_over_the_budget_are_refused_before_anything_runs(api: Api, citizen: Citizen) -> None:
    refused = await api.gql(NESTED_PAGES, {"first": 1}, token=citizen.token)
    allowed = await api.gql(NESTED_PAGES.replace("comments(first: 100)", "comments(first: 5)"), {"first": 20})

    assert refused.get("data") is None
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "exceeds the budget" in refused["errors"][0]["message"]
    # Whatever the variable says: the estimate is made once per document, for the largest page it allows.
    assert [e["extensions"]["code"] for e in allowed["errors"]] == ["UNAUTHENTICATED"]


async def test_the_budget_is_a_setting(settings: Settings) -> None:
    query = "query { categories { code nameEn } }"
    tight = build_schema(settings.model_copy(update={"graphql_max_cost": cost_of(settings, query) - 1}))

    assert "budget" not in str((await build_schema(settings).execute(query)).errors)  # it runs (with no context)
    result = await tight.execute(query)
    assert result.errors is not None
    assert "exceeds the budget" in result.errors[0].message


def test_the_web_pages_queries_fit_the_budget(settings: Settings) -> None:
    queries = [
        (page.name, query)
        for page in STATIC_DIR.glob("*.js")
        for query in re.findall(r"`\s*((?:query|mutation|subscription)\b.*?)`", page.read_text(), re.S)
    ]
    assert len(queries) >= 5, "the pages' queries were not found"
    for name, query in queries:
        assert cost_of(settings, query) <= settings.graphql_max_cost / 4, (name, query)


# --- page sizes --------------------------------------------------------------------------------------------


def paged_fields(settings: Settings) -> dict[str, set[str]]:
    """Every field of the schema that takes a page size, by the type it is on."""
    schema = build_schema(settings)._schema
    found: dict[str, set[str]] = {}
    for name, kind in schema.type_map.items():
        if isinstance(kind, GraphQLObjectType) and not name.startswith("__"):
            for field_name, field in kind.fields.items():
                if "first" in field.args:
                    found.setdefault(name, set()).add(field_name)
    return found


@pytest.mark.parametrize("first", [0, MAX_FIRST + 1])
async def test_no_page_is_larger_than_the_largest_page(
    api: Api, settings: Settings, resources: Resources, first: int
) -> None:
    schema = build_schema(settings)._schema
    found = paged_fields(settings)
    assert set(found) == {"Query", "Report"}, "a new paged field elsewhere needs a case here"
    lurah = await staff_member(api, resources, Role.OFFICER, "kel-31.73.02.1003")
    for name in sorted(found["Query"]):
        document, variables = operation("query", name, schema.query_type.fields[name], {"first": first})
        body = await api.gql(document, variables, token=lurah.token)
        assert [e["extensions"]["code"] for e in body.get("errors", [])] == ["BAD_USER_INPUT"], (name, body)

    assert found["Report"] == {"comments"}
    report = (await api.create_report(await api.sign_up()))["report"]
    body = await api.gql(
        "query C($id: ID!, $first: Int!) { report(id: $id) { comments(first: $first) { edges { node { body } } } } }",
        {"id": report["id"], "first": first},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body


# --- batching, introspection, GraphiQL, suggestions, the HTTP request itself -------------------------------


@contextlib.asynccontextmanager
async def client_with(settings: Settings, **changes: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=30) as client:
            yield client


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_a_batch_runs_each_operation_in_its_own_transaction_in_order(
    api: Api, citizen: Citizen, resources: Resources
) -> None:
    key = str(uuid.uuid4())
    batch = [
        {"query": CREATE_REPORT, "variables": {"input": report_input(client_request_id=key)}},
        {"query": MY_REPORTS, "variables": {"first": 5}},
        {"query": "query { report { id } }"},  # fails validation; the others stand
    ]
    response = await api.client.post("/graphql", json=batch, headers={"Authorization": f"Bearer {citizen.token}"})

    assert response.status_code == 200, response.text
    created, mine, failed = response.json()
    report_id = created["data"]["createReport"]["report"]["id"]
    assert [edge["node"]["id"] for edge in mine["data"]["myReports"]["edges"]] == [report_id]
    assert codes(failed) == ["GRAPHQL_VALIDATION_FAILED"]
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(func.count()).where(Report.client_request_id == key)) == 1


@pytest.mark.parametrize("second", [{"query": 5}, {"variables": {}}, {"query": "{ me { id } }", "variables": [1]}])
async def test_a_batch_with_a_malformed_operation_runs_none_of_it(
    api: Api, citizen: Citizen, resources: Resources, second: dict[str, Any]
) -> None:
    key = str(uuid.uuid4())
    batch = [{"query": CREATE_REPORT, "variables": {"input": report_input(client_request_id=key)}}, second]
    response = await api.client.post("/graphql", json=batch, headers={"Authorization": f"Bearer {citizen.token}"})

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    async with resources.unit_of_work() as session:
        assert await session.scalar(select(func.count()).where(Report.client_request_id == key)) == 0


async def test_a_batch_longer_than_the_limit_is_refused_whole(settings: Settings, citizen: Citizen) -> None:
    operation_ = {"query": "query { categories { code } }"}
    async with client_with(settings, graphql_max_batch=3) as client:
        allowed = await client.post("/graphql", json=[operation_] * 3)
        refused = await client.post("/graphql", json=[operation_] * 4)
    async with client_with(settings, graphql_max_batch=1) as client:
        unbatched = await client.post("/graphql", json=[operation_])

    assert allowed.status_code == 200
    assert len(allowed.json()) == 3
    for response in (refused, unbatched):
        assert response.status_code == 400
        assert response.json()["data"] is None
        assert codes(response.json()) == ["BAD_REQUEST"]


INTROSPECTION = "query { __schema { queryType { name } } }"


async def test_introspection_and_graphiql_are_settings(settings: Settings) -> None:
    page = {"Accept": "text/html"}
    async with client_with(settings, graphql_introspection=True, graphiql=True) as client:
        introspected = (await client.post("/graphql", json={"query": INTROSPECTION})).json()
        ide = await client.get("/graphql", headers=page)
    async with client_with(settings, graphql_introspection=False, graphiql=False) as client:
        refused = (await client.post("/graphql", json={"query": INTROSPECTION})).json()
        typename = (await client.post("/graphql", json={"query": "query { __typename }"})).json()
        no_ide = await client.get("/graphql", headers=page)

    assert introspected["data"]["__schema"]["queryType"]["name"] == "Query"
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()
    assert refused.get("data") is None
    assert set(codes(refused)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert typename["data"] == {"__typename": "Query"}  # clients' caches ask for it
    assert no_ide.status_code == 404
    assert codes(no_ide.json()) == ["NOT_FOUND"]


async def test_field_suggestions_are_a_setting(settings: Settings) -> None:
    typo = {"query": "query { categoriez { code } }"}
    async with client_with(settings, graphql_field_suggestions=True) as client:
        suggested = (await client.post("/graphql", json=typo)).json()
    async with client_with(settings, graphql_field_suggestions=False) as client:
        silent = (await client.post("/graphql", json=typo)).json()

    assert "Did you mean" in suggested["errors"][0]["message"]
    assert "Did you mean" not in silent["errors"][0]["message"]
    assert codes(silent) == ["GRAPHQL_VALIDATION_FAILED"]


def test_production_turns_off_what_describes_the_schema() -> None:
    production = Settings(environment="production", jwt_secret="x" * 40)

    assert (production.graphiql, production.graphql_introspection, production.graphql_field_suggestions) == (
        False,
        False,
        False,
    )
    with pytest.raises(ValueError, match="introspection"):
        Settings(environment="production", jwt_secret="x" * 40, graphql_introspection=True)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"variables": {}}', "application/json", 400),
        (b"query { categories { code } }", "text/plain", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"query"', "application/json", 400),
        (b'{"query": 5}', "application/json", 400),
    ],
)
async def test_a_request_that_is_not_graphql_gets_a_coded_json_error(
    api: Api, content: bytes, content_type: str, status: int
) -> None:
    response = await api.client.post("/graphql", content=content, headers={"Content-Type": content_type})

    assert response.status_code == status
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"query": "query { categories { code } }", "variables": "5"},
        {"query": "query { categories { code } }", "variables": "[1]"},
        {"query": "query { categories { code } }", "variables": "{nope"},
        {"query": "mutation { logOut }"},
        {},
    ],
)
async def test_a_get_that_is_not_a_query_gets_a_coded_json_error(api: Api, params: dict[str, str]) -> None:
    response = await api.client.get("/graphql", params=params, headers={"Accept": "application/json"})

    assert response.status_code in (400, 405), response.text
    assert codes(response.json()) in (["BAD_REQUEST"], ["BAD_USER_INPUT"]), response.text
