"""What /metrics counts and who may read it, decided without a server; the alerting rules through promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import GraphQLError, parse
from pydantic import SecretStr, ValidationError

from api.errors import ErrorCode
from api.extensions import _is_subscription
from api.metrics import OperationLabels, outcome, trusted_operation_names
from domain.metrics import authorized
from domain.settings import Settings

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
TOKEN = "t" * 40


def label(labels: OperationLabels, query: str, operation_name: str | None = None) -> str:
    return labels.label(query, operation_name, parse(query))


def test_a_trusted_documents_name_is_its_label_and_anything_else_is_named_by_its_one_root_field() -> None:
    labels = OperationLabels(trusted_operation_names(["mutation CreateReport { createReport { id } }"]))

    assert label(labels, "mutation CreateReport($i: Int) { createReport { id } }") == "CreateReport"
    assert label(labels, "mutation Whatever { createReport { id } }") == "mutation:createReport"
    assert label(labels, "{ categories { code } __typename }") == "query:categories"


def test_names_nobody_built_collapse_into_one_label() -> None:
    labels = OperationLabels(frozenset())

    assert label(labels, "query A { me { id } categories { code } }") == "other"
    assert label(labels, "query A { me { id } } query B { categories { code } }") == "other"
    assert label(labels, "query A { me { id } } query B { categories { code } }", "B") == "query:categories"
    assert label(labels, "{ ...F } fragment F on Query { me { id } }") == "other"
    assert labels.label(None, None, None) == "other"


def test_a_subscription_is_told_from_the_operation_chosen() -> None:
    document = parse("query Q { me { id } } subscription S { reportEvents { kind } }")

    assert _is_subscription(document, "S") is True
    assert _is_subscription(document, "Q") is False
    assert _is_subscription(parse("subscription { reportEvents { kind } }"), None) is True
    assert _is_subscription(None, None) is False


def test_the_outcome_is_ok_or_a_known_error_code() -> None:
    assert outcome([]) == "ok"
    assert outcome([GraphQLError("x", extensions={"code": "RATE_LIMITED"})]) == ErrorCode.RATE_LIMITED.value
    assert outcome([GraphQLError("x", extensions={"code": "made up by a resolver"})]) == "error"
    assert outcome([GraphQLError("x")]) == "error"


def test_metrics_are_off_without_a_token_and_need_the_exact_bearer_token_with_one() -> None:
    assert authorized(Settings(), "Bearer anything") is None
    settings = Settings(metrics_token=SecretStr(TOKEN))

    assert authorized(settings, None) is False
    assert authorized(settings, "") is False
    assert authorized(settings, TOKEN) is False
    assert authorized(settings, f"Bearer {TOKEN}x") is False
    assert authorized(settings, f"Basic {TOKEN}") is False
    assert authorized(settings, f"Bearer {TOKEN}") is True
    assert authorized(settings, f"bearer  {TOKEN} ") is True


def production(**overrides: object) -> Settings:
    return Settings(environment="production", jwt_secret="j" * 40, **overrides)  # type: ignore[arg-type]


def test_production_refuses_a_short_metrics_token_or_the_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JSC_METRICS_TOKEN"):
        production(metrics_token="short-token")
    with pytest.raises(ValidationError, match="JSC_METRICS_TOKEN"):
        production(metrics_token="j" * 40)

    assert production(metrics_token=TOKEN).metrics_token == SecretStr(TOKEN)
    assert production().metrics_token is None


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary is not None, "promtool comes with Debian's prometheus package (scripts/bootstrap.sh)"
    return subprocess.run([binary, *args], cwd=RULES_DIR, capture_output=True, text=True, check=False)


def test_the_alerting_rules_are_valid() -> None:
    checked = promtool("check", "rules", "rules.yml")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 17 rules found" in checked.stdout


def test_every_alert_fires_in_its_promtool_unit_test() -> None:
    tested = promtool("test", "rules", "rules_test.yml")

    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = (RULES_DIR / "rules.yml").read_text()
    tests = (RULES_DIR / "rules_test.yml").read_text()
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if line.strip().startswith("- alert:")]
    assert len(alerts) == 17
    untested = [name for name in alerts if f"alertname: {name}\n" not in tests]
    assert untested == []
