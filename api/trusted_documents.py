"""Trusted documents: the GraphQL operations the web apps were built with, known by the sha256 of their text.

The web build writes a manifest, a JSON object of document id (64 lowercase hex digits: the sha256 of the text in
UTF-8) -> the exact text, to `JSC_TRUSTED_DOCUMENTS_PATH`. The API loads it once at startup and refuses to start
when an entry's text does not hash to its id. A request may then name a document instead of sending its text:
`documentId` (with or without "sha256:") in a JSON body, a GET query string or a graphql-transport-ws subscribe
payload, or Apollo's `extensions.persistedQuery.sha256Hash`. Nothing a client sends is ever added to the manifest.

With `JSC_TRUSTED_DOCUMENTS_ONLY` (on by default in production), text runs only when the manifest holds it or the
caller is staff (`TrustedDocumentsOnly` in api/extensions.py): the public runs what the apps run, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from api.errors import ClientError, ErrorCode
from domain.models import Role
from domain.settings import Settings
from domain.staff import STAFF_ROLES

log = logging.getLogger("api.trusted_documents")

ID_PREFIX = "sha256:"


def document_id(text: str) -> str:
    """The id of a document: the sha256 of its exact text, as the web build computes it."""
    return hashlib.sha256(text.encode()).hexdigest()


class ManifestError(ValueError):
    """The manifest cannot be trusted: the API does not start with it."""


class DocumentRefused(Exception):
    """A request names a document in a way the API refuses before any operation runs (HTTP 400)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def error(self) -> ClientError:
        return ClientError(self.code, self.message)


@dataclass(frozen=True)
class TrustedDocuments:
    texts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, entries: object, *, source: str = "the trusted documents") -> TrustedDocuments:
        """The manifest, once every entry is text that hashes to its id."""
        if not isinstance(entries, dict):
            raise ManifestError(f"{source}: expected a JSON object of document id -> document text")
        for key, text in entries.items():
            if not isinstance(text, str):
                raise ManifestError(f"{source}: the document {key!r} is not text")
            if key != document_id(text):
                raise ManifestError(
                    f"{source}: the document {key!r} does not hash to its id (the sha256 of its text is "
                    f"{document_id(text)}); rebuild the web apps"
                )
        return cls(MappingProxyType(dict(entries)))

    @classmethod
    def load(cls, path: Path) -> TrustedDocuments | None:
        """The manifest at `path`; None when there is no file."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            entries = json.loads(raw)
        except ValueError as exc:
            raise ManifestError(f"{path}: not JSON ({exc})") from exc
        return cls.of(entries, source=str(path))

    def __len__(self) -> int:
        return len(self.texts)

    def holds(self, text: str) -> bool:
        return document_id(text) in self.texts

    def may_run(self, text: str | None, role: Role | None) -> bool:
        """Whether a caller of `role` (None: anonymous) may run `text` when only trusted documents run."""
        return role in STAFF_ROLES or (text is not None and self.holds(text))

    def resolve(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request with the text of the document it names as its query; as it is when it names none."""
        wanted = requested_id(request)
        if wanted is None:
            return request
        query = request.get("query")
        if query is not None:
            # Text sent with its id (Apollo's second try after PERSISTED_QUERY_NOT_FOUND): the text runs, under
            # the rule for text. It is not remembered.
            if isinstance(query, str) and document_id(query) != wanted:
                raise DocumentRefused(ErrorCode.BAD_REQUEST, "The query is not the document its id names.")
            return request
        text = self.texts.get(wanted)
        if text is None:
            raise DocumentRefused(
                ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                "No trusted document has this id: this server runs the documents its apps were built with.",
            )
        return {**request, "query": text}


NO_DOCUMENTS = TrustedDocuments()


def requested_id(request: Mapping[str, Any]) -> str | None:
    """The id of the document a request names: `documentId`, or Apollo's `extensions.persistedQuery.sha256Hash`."""
    extensions = request.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    named = [
        value
        for value in (request.get("documentId"), persisted.get("sha256Hash") if isinstance(persisted, dict) else None)
        if value is not None
    ]
    if not all(isinstance(value, str) for value in named):
        raise DocumentRefused(ErrorCode.BAD_REQUEST, "A document id is text: sha256:<64 hex digits>.")
    ids = {value.removeprefix(ID_PREFIX) for value in named}
    if len(ids) > 1:
        raise DocumentRefused(
            ErrorCode.BAD_REQUEST, "documentId and extensions.persistedQuery.sha256Hash name different documents."
        )
    return next(iter(ids), None)


def load_trusted_documents(settings: Settings) -> TrustedDocuments:
    """The manifest the settings name, checked; raises ManifestError, so that the API does not start, when an
    entry is not what its id says."""
    path = settings.trusted_documents_path
    documents = TrustedDocuments.load(path)
    if documents is None:
        if settings.environment == "production":
            log.warning(
                "no trusted documents at %s (the web build writes them): %s",
                path,
                "only staff can send GraphQL" if settings.trusted_documents_only else "documentId finds nothing",
            )
        return NO_DOCUMENTS
    log.info("%d trusted documents from %s", len(documents), path)
    return documents
