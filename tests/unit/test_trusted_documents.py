"""The pure parts of trusted documents: the manifest's check, which document a request names, who may send text,
the setting's defaults, and the rule that finds the documents of a page's JavaScript."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from api.errors import ErrorCode
from api.trusted_documents import (
    NO_DOCUMENTS,
    DocumentRefused,
    ManifestError,
    TrustedDocuments,
    document_id,
    load_trusted_documents,
    requested_id,
)
from domain.models import Role
from domain.settings import Settings
from scripts.trusted_documents import NotADocument, extract_documents, main

KNOWN = "query Known { categories { code } }"
OTHER = "query Other { categories { nameId } }"
DOCUMENTS = TrustedDocuments.of({document_id(KNOWN): KNOWN})


def test_a_document_id_is_the_sha256_of_the_utf8_text() -> None:
    text = "query Jalan { categories { nameId } } # ṣ"

    assert document_id(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert len(document_id(text)) == 64


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"0" * 64: KNOWN}, f"the document '{'0' * 64}' does not hash to its id \\(the sha256 of its text is "),
        ({document_id(KNOWN): KNOWN, document_id(KNOWN).upper(): KNOWN}, "does not hash to its id"),
        ({document_id(KNOWN): 5}, "is not text"),
        ([KNOWN], "expected a JSON object"),
    ],
)
def test_a_manifest_is_refused_unless_every_entry_hashes_to_its_id(entries: object, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        TrustedDocuments.of(entries)


def test_a_missing_manifest_file_is_none_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({document_id(KNOWN): KNOWN}))

    assert TrustedDocuments.load(tmp_path / "absent.json") is None
    assert TrustedDocuments.load(good) == DOCUMENTS
    with pytest.raises(ManifestError, match=r"broken\.json: not JSON"):
        TrustedDocuments.load(broken)


def test_production_warns_when_there_is_no_manifest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    absent = tmp_path / "absent.json"
    production = Settings(environment="production", jwt_secret="x" * 40, trusted_documents_path=absent)
    development = Settings(environment="development", trusted_documents_path=absent)

    with caplog.at_level(logging.INFO, logger="api.trusted_documents"):
        assert load_trusted_documents(development) is NO_DOCUMENTS
        assert caplog.records == []
        assert load_trusted_documents(production) is NO_DOCUMENTS

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"no trusted documents at {absent} (the web build writes them): only staff can send GraphQL")
    ]


@pytest.mark.parametrize(("environment", "only"), [("production", True), ("development", False), ("test", False)])
def test_only_trusted_documents_run_by_default_in_production(environment: str, only: bool) -> None:
    settings = Settings(environment=environment, jwt_secret="x" * 40)

    overridden = Settings(environment=environment, jwt_secret="x" * 40, trusted_documents_only=not only)

    assert settings.trusted_documents_only is only
    assert overridden.trusted_documents_only is not only


@pytest.mark.parametrize(
    ("request_", "wanted"),
    [
        ({"query": KNOWN}, None),
        ({"documentId": "abc"}, "abc"),
        ({"documentId": "sha256:abc"}, "abc"),
        ({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}, "abc"),
        ({"documentId": "sha256:abc", "extensions": {"persistedQuery": {"sha256Hash": "abc"}}}, "abc"),
        ({"extensions": {"persistedQuery": "abc"}}, None),
        ({"extensions": "abc"}, None),
    ],
)
def test_a_request_names_a_document_by_documentid_or_apollo_s_hash(
    request_: dict[str, Any], wanted: str | None
) -> None:
    assert requested_id(request_) == wanted


@pytest.mark.parametrize(
    "request_",
    [
        {"documentId": 5},
        {"extensions": {"persistedQuery": {"sha256Hash": ["abc"]}}},
        {"documentId": "abc", "extensions": {"persistedQuery": {"sha256Hash": "abd"}}},
    ],
)
def test_a_request_naming_a_document_badly_is_refused(request_: dict[str, Any]) -> None:
    with pytest.raises(DocumentRefused) as refused:
        requested_id(request_)

    assert refused.value.code == ErrorCode.BAD_REQUEST


def test_a_named_document_becomes_the_request_s_query() -> None:
    request_ = {"documentId": f"sha256:{document_id(KNOWN)}", "variables": {"a": 1}, "operationName": "Known"}

    assert DOCUMENTS.resolve(request_) == {**request_, "query": KNOWN}
    assert DOCUMENTS.resolve({"query": OTHER}) == {"query": OTHER}


def test_an_unknown_document_is_not_found() -> None:
    with pytest.raises(DocumentRefused) as refused:
        DOCUMENTS.resolve({"documentId": document_id(OTHER)})

    assert refused.value.code == ErrorCode.PERSISTED_QUERY_NOT_FOUND
    assert refused.value.error().extensions == {"code": "PERSISTED_QUERY_NOT_FOUND"}


def test_text_sent_with_an_id_must_be_that_document() -> None:
    matching = {"query": OTHER, "documentId": document_id(OTHER)}

    assert DOCUMENTS.resolve(matching) == matching
    with pytest.raises(DocumentRefused) as refused:
        DOCUMENTS.resolve({"query": OTHER, "documentId": document_id(KNOWN)})
    assert refused.value.code == ErrorCode.BAD_REQUEST


@pytest.mark.parametrize(
    ("role", "known", "unknown"),
    [
        (None, True, False),
        (Role.CITIZEN, True, False),
        (Role.OFFICER, True, True),
        (Role.AUDITOR, True, True),
        (Role.ADMIN, True, True),
    ],
)
def test_staff_may_run_any_text_the_others_trusted_text_only(role: Role | None, known: bool, unknown: bool) -> None:
    assert DOCUMENTS.may_run(KNOWN, role) is known
    assert DOCUMENTS.may_run(OTHER, role) is unknown


# --- the rule that finds a page's documents -------------------------------------------------------------------


def test_a_document_is_a_template_literal_right_after_a_graphql_comment() -> None:
    source = (
        "const A = /* GraphQL */ `query A { me { id } }`;\n"
        "const B = /*GraphQL*/\n  `query B {\n  categories { code }\n}`;\n"
        "const C = `query C { me { id } }`;\n"  # not marked
        "const D = /* GraphQL */ 'query D { me { id } }';\n"  # not a template literal
        "const E = /* GraphQL */ `query E {\r\n  me { id }\r\n}`;\n"
    )

    assert extract_documents(source) == [
        "query A { me { id } }",
        "query B {\n  categories { code }\n}",
        "query E {\n  me { id }\n}",
    ]


@pytest.mark.parametrize("literal", ["`query A($id: ID!) { report(id: ${id}) { id } }`", '`query A { s(t: "\\n") }`'])
def test_a_marked_literal_whose_text_is_made_at_run_time_is_refused(literal: str) -> None:
    with pytest.raises(NotADocument, match=r"page\.js:2: "):
        extract_documents(f"// documents\nconst A = /* GraphQL */ {literal};", name="page.js")


def test_the_command_prints_the_manifest_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.js"
    page.write_text(f"const A = /* GraphQL */ `{KNOWN}`;\nconst B = /* GraphQL */ `{OTHER}`;\n")

    status = main([str(page)])

    assert status == 0
    assert json.loads(capsys.readouterr().out) == {document_id(KNOWN): KNOWN, document_id(OTHER): OTHER}
