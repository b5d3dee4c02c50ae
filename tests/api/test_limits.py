from __future__ import annotations

from api.graphql import build_schema
from domain.settings import Settings
from tests.factories import Api


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
    query = "query { categories { " + " ".join(["code"] * 1500) + " } }"

    body = await api.gql(query)

    assert body.get("data") is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
