"""GraphQL fuzzing: schemathesis sends generated queries and mutations to a real uvicorn process.

Every query and mutation field is fuzzed with valid documents (arguments of the right types, any values)
and invalid ones (arguments of the wrong type), anonymously and as a signed-in citizen. Half of the time
an argument that names something (a report, a comment, a category, a unit, a point in Jakarta) gets a real
one, so the fuzzer reaches the use cases and not only the input checks. Derandomized: a fixed seed and a
fixed number of examples per operation, so CI sends the same requests every time and a failure can be
replayed. Subscriptions run over WebSocket, which schemathesis does not drive.

Whatever the input, the API must answer with a typed error: no HTTP 5xx, every GraphQL error with a code
of api/errors.py, no INTERNAL_SERVER_ERROR (an unexpected exception, masked) and no Python exception text
in a message.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.graphql.schemas import GraphQLSchema

from api.errors import ErrorCode
from tests.e2e.processes import free_port, start_api, stop, wait_healthy
from tests.factories import TOMANG, Api, Citizen, jpeg_with_gps

pytestmark = pytest.mark.e2e

SEED = 20260308
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 2}
REAL_VALUE_PROBABILITY = 0.5
CODES = frozenset(code.value for code in ErrorCode)
# What a Python exception looks like when its text leaks: a traceback, "SomeError: detail", a repr.
EXCEPTION_TEXT = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\b\w+(Error|Exception): |<class '|"
    r"object has no attribute|NoneType|\b(sqlalchemy|asyncpg|psycopg|botocore|strawberry)\.\w"
)
ADD_COMMENT = 'mutation($id: ID!) { addComment(reportId: $id, body: "Masih ada") { comment { id } errors { code } } }'
# Arguments (`<Type>.<field>.<argument path>`, `*` for any) and the dictionary of real values they draw from.
BINDINGS = {
    "*.*.id": "report_ids",
    "*.*.reportId": "report_ids",
    "*.*.input.reportId": "report_ids",
    "*.*.input.duplicateOf": "report_ids",
    "*.*.commentId": "comment_ids",
    "*.*.category": "categories",
    "*.*.input.category": "categories",
    "*.*.filter.category": "categories",
    "*.*.filter.categories[*]": "categories",
    "*.*.lat": "lats",
    "*.*.input.lat": "lats",
    "*.*.input.location.lat": "lats",
    "*.*.lon": "lons",
    "*.*.input.lon": "lons",
    "*.*.input.location.lon": "lons",
    "*.*.bbox.west": "wests",
    "*.*.bbox.east": "easts",
    "*.*.bbox.south": "souths",
    "*.*.bbox.north": "norths",
    "*.*.first": "page_sizes",
    "*.*.unit": "unit_codes",
    "*.*.kotaCode": "unit_codes",
    "*.*.input.unitCode": "unit_codes",
    "*.*.input.areaCode": "unit_codes",
    "*.*.input.toUnit": "unit_codes",
    "*.*.input.photoKeys[*]": "photo_keys",
    "*.*.contentType": "content_types",
}


@dataclass
class Findings:
    requests: int = 0
    problems: dict[str, str] = field(default_factory=dict)

    def add(self, operation: str, problem: str, query: str) -> None:
        # One sample per operation and kind of problem is enough to reproduce it.
        self.problems.setdefault(f"{operation}: {problem}", query)


def problems_in(status_code: int, content: bytes) -> list[str]:
    """What is wrong with one answer of the API; empty when it is a proper answer, refusals included."""
    if status_code >= 500:
        return [f"HTTP {status_code}"]
    try:
        body = json.loads(content)
    except ValueError:
        return [f"HTTP {status_code} with a body that is not JSON"]
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return [f"HTTP {status_code} with a body that is not a GraphQL response"]
    found = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        message = str(error.get("message", ""))
        if code not in CODES:
            found.append(f"error without a known code ({code!r}): {message[:200]}")
        elif code == ErrorCode.INTERNAL_SERVER_ERROR:
            found.append(f"INTERNAL_SERVER_ERROR at {error.get('path')}")
        if EXCEPTION_TEXT.search(message):
            found.append(f"exception text in a message: {message[:200]}")
    return found


@pytest.fixture(scope="module")
def api_url(database: None) -> Iterator[str]:
    port = free_port()
    server = start_api(port)
    try:
        # A loaded CI machine (two cores, the rest of the suite) can take a while to import the app.
        wait_healthy(f"http://127.0.0.1:{port}", within_s=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


@pytest.fixture(scope="module")
async def citizen(api_url: str) -> AsyncIterator[tuple[Citizen, dict[str, list[Any]]]]:
    """A signed-in citizen with a report, a comment and an unused photo; the real values to fuzz with."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        api = Api(client)
        citizen = await api.sign_up(email="fuzz-citizen@example.id")
        photo_key = await api.upload_photo(citizen, jpeg_with_gps(size=(64, 48)))
        report = (await api.create_report(citizen))["report"]
        comment = await api.gql(ADD_COMMENT, {"id": report["id"]}, token=citizen.token)
        categories = await api.gql("{ categories { code } }")
        yield (
            citizen,
            {
                "report_ids": [report["id"]],
                "comment_ids": [comment["data"]["addComment"]["comment"]["id"]],
                "categories": [c["code"] for c in categories["data"]["categories"]],
                "lats": [TOMANG[0]],
                "lons": [TOMANG[1]],
                "wests": [TOMANG[1] - 0.05],
                "easts": [TOMANG[1] + 0.05],
                "souths": [TOMANG[0] - 0.05],
                "norths": [TOMANG[0] + 0.05],
                "page_sizes": [1, 100],
                "unit_codes": [report["unit"]["code"], "kel-31.73.02.1003", "31.73.02.1003", "31.73"],
                "photo_keys": [photo_key],
                "content_types": ["image/jpeg", "image/png"],
            },
        )


def load_schema(api_url: str, values: dict[str, list[Any]]) -> GraphQLSchema:
    config = SchemathesisConfig.from_dict(
        {
            "dictionaries": {name: {"values": entries} for name, entries in values.items()},
            "parameters": {
                argument: {"dictionary": name, "probability": REAL_VALUE_PROBABILITY}
                for argument, name in BINDINGS.items()
            },
        }
    )
    return schemathesis.graphql.from_url(f"{api_url}/graphql", config=config, timeout=30)


def fuzz(schema: GraphQLSchema, api_url: str, headers: dict[str, str]) -> Findings:
    findings = Findings()
    with requests.Session() as session:
        for result in schema.get_all_operations():
            for mode, examples in EXAMPLES.items():
                fuzz_operation(
                    result.ok(), mode, examples, lambda case: send(case, session, api_url, headers, findings)
                )
    return findings


def fuzz_operation(operation: Any, mode: GenerationMode, examples: int, call: Any) -> None:
    @seed(SEED)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        call(case)

    run()


def send(case: Any, session: requests.Session, api_url: str, headers: dict[str, str], findings: Findings) -> None:
    response = case.call(base_url=f"{api_url}/graphql", session=session, headers=headers, timeout=30)
    findings.requests += 1
    for problem in problems_in(response.status_code, response.content):
        findings.add(case.operation.label, problem, str(case.body))


@pytest.mark.parametrize("viewer", ["anonymous", "citizen"])
def test_fuzzed_queries_and_mutations_get_typed_answers(
    api_url: str, citizen: tuple[Citizen, dict[str, list[Any]]], viewer: str
) -> None:
    account, values = citizen
    schema = load_schema(api_url, values)
    headers = {"Authorization": f"Bearer {account.token}"} if viewer == "citizen" else {}
    operations = sum(1 for _ in schema.get_all_operations())
    started = time.monotonic()

    findings = fuzz(schema, api_url, headers)

    print(
        f"\n{viewer}: {findings.requests} fuzzed requests, {operations} operations, {time.monotonic() - started:.0f} s"
    )
    assert operations >= 50
    assert findings.requests >= operations * len(EXAMPLES)
    assert not findings.problems, "\n\n".join(f"{problem}\n{query}" for problem, query in findings.problems.items())
