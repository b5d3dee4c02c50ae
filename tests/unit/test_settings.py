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
