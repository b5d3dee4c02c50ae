"""Writes the GraphQL schema to schema.graphql; with --check, fails when the committed file is stale."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.graphql import build_schema
from domain.settings import Settings

TARGET = Path(__file__).resolve().parent.parent / "schema.graphql"


def main() -> int:
    text = build_schema(Settings()).as_str() + "\n"
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("schema.graphql is out of date: run `make schema` and commit it", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
