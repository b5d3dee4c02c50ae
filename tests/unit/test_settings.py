from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.settings import DEV_JWT_SECRET, Settings


def test_production_refuses_the_development_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JSC_JWT_SECRET"):
        Settings(environment="production", jwt_secret=DEV_JWT_SECRET, graphiql=False, graphql_field_suggestions=False)


def test_production_refuses_graphiql() -> None:
    with pytest.raises(ValidationError, match="GraphiQL"):
        Settings(environment="production", jwt_secret="x" * 40, graphiql=True)


def test_production_with_a_real_secret_and_no_graphiql_is_fine() -> None:
    settings = Settings(environment="production", jwt_secret="x" * 40, graphiql=False, graphql_field_suggestions=False)

    assert settings.environment == "production"


def test_database_url_also_reads_the_conventional_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JSC_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@db.example:5432/jsc")

    assert Settings().database_url == "postgresql+asyncpg://u:p@db.example:5432/jsc"


def production(**overrides: object) -> Settings:
    return Settings(environment="production", jwt_secret="x" * 40, **overrides)  # type: ignore[arg-type]


def test_cors_origins_come_from_a_json_list_and_default_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert production().cors_allowed_origins == []

    monkeypatch.setenv("JSC_CORS_ALLOWED_ORIGINS", '["https://peta.jakarta.go.id", "http://localhost:5173"]')

    assert Settings().cors_allowed_origins == ["https://peta.jakarta.go.id", "http://localhost:5173"]


def test_production_refuses_every_origin_as_a_wildcard() -> None:
    assert Settings(environment="development", cors_allowed_origins=["*"]).cors_allowed_origins == ["*"]
    with pytest.raises(ValidationError, match="not \\*"):
        production(cors_allowed_origins=["*"])


@pytest.mark.parametrize(
    "origin", ["peta.jakarta.go.id", "https://peta.jakarta.go.id/", "https://a.id/map", "ftp://a.id"]
)
def test_an_origin_is_a_scheme_a_host_and_a_port_only(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_allowed_origins=[origin])


@pytest.mark.parametrize("name", ["upload_url_ttl_s", "download_url_ttl_s", "export_url_ttl_s"])
def test_presigned_urls_live_an_hour_at_most_in_production(name: str) -> None:
    assert getattr(production(**{name: 3600}), name) == 3600
    assert getattr(Settings(**{name: 24 * 3600}), name) == 24 * 3600  # type: ignore[arg-type]
    for absurd in (0, -1, 3601, 30 * 24 * 3600):
        with pytest.raises(ValidationError, match=f"JSC_{name.upper()} must be between 1 and 3600 seconds"):
            production(**{name: absurd})
    with pytest.raises(ValidationError, match="between 1 and 604800 seconds"):
        Settings(**{name: 8 * 24 * 3600})  # type: ignore[arg-type]


def test_trusted_proxies_come_from_a_json_list_and_default_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert production().trusted_proxies == []

    monkeypatch.setenv("JSC_TRUSTED_PROXIES", '["10.0.0.0/8", "2001:db8::1"]')

    assert Settings().trusted_proxies == ["10.0.0.0/8", "2001:db8::1"]


@pytest.mark.parametrize("proxy", ["lb.internal", "10.0.0.1/8", "10.0.0.0/33"])
def test_a_trusted_proxy_is_an_address_or_a_network(proxy: str) -> None:
    with pytest.raises(ValidationError, match="JSC_TRUSTED_PROXIES"):
        Settings(trusted_proxies=[proxy])


@pytest.mark.parametrize("limit", [(0, 60), (10, 0)])
def test_a_rate_limit_lets_at_least_one_request_through(limit: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="JSC_RATE_LIMITS"):
        Settings(rate_limits={"logIn:ip": limit})


def test_the_public_lane_leaves_public_read_connections_to_what_skips_it() -> None:
    assert Settings(public_lane_size=9, public_reads_pool_size=10).public_lane_size == 9
    with pytest.raises(ValidationError, match="JSC_PUBLIC_LANE_SIZE"):
        Settings(public_lane_size=10, public_reads_pool_size=10)


def test_the_public_lane_s_cpu_turns_are_among_its_admitted() -> None:
    assert Settings(public_lane_size=4, public_lane_cpu=4).public_lane_cpu == 4
    with pytest.raises(ValidationError, match="JSC_PUBLIC_LANE_CPU"):
        Settings(public_lane_size=3, public_lane_cpu=4)
