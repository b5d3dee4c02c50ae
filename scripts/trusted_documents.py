"""The GraphQL documents of the hand-written pages (api/static/*.js), as trusted-document manifest entries.

The rule, for the web build to call or to reimplement: a document is a JavaScript template literal right after a
`/* GraphQL */` comment (whitespace between them allowed), e.g.

    const REPORTS = /* GraphQL */ `query MapReports($bbox: BBoxInput!) { ... }`;

Its text is exactly what the browser sends, the characters between the backticks (line breaks as LF, as
JavaScript reads them); a marked literal holding `${` or a backslash is refused, since its text at run time is not
the text written. Its id is the sha256 of the text in UTF-8 (api/trusted_documents.py).

    .venv/bin/python -m scripts.trusted_documents api/static/*.js

prints the entries as one JSON object, id -> text.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.trusted_documents import document_id

MARKED = re.compile(r"/\*\s*GraphQL\s*\*/\s*`([^`]*)`")


class NotADocument(ValueError):
    """A marked template literal whose text at run time is not the text written in the file."""


def extract_documents(source: str, *, name: str = "<source>") -> list[str]:
    """The texts of the marked documents in JavaScript `source`, in order."""
    texts = []
    for match in MARKED.finditer(source):
        raw = match.group(1)
        if "${" in raw or "\\" in raw:
            line = source.count("\n", 0, match.start()) + 1
            raise NotADocument(f"{name}:{line}: a /* GraphQL */ literal holds ${{...}} or a backslash")
        # JavaScript reads CR LF and CR in a template literal as LF.
        texts.append(raw.replace("\r\n", "\n").replace("\r", "\n"))
    return texts


def manifest_entries(paths: list[Path]) -> dict[str, str]:
    """The manifest entries (id -> text) of every marked document in the files at `paths`."""
    return {
        document_id(text): text
        for path in paths
        for text in extract_documents(path.read_text(encoding="utf-8"), name=str(path))
    }


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m scripts.trusted_documents FILE.js...", file=sys.stderr)
        return 2
    try:
        entries = manifest_entries([Path(arg) for arg in argv])
    except NotADocument as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(entries, indent=2, sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
