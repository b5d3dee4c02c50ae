"""The web apps are typed against the committed schema: a schema change that breaks one of their operations
fails `make lint` (which runs `node build.mjs --check`), not a phone in the street."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make setup")


def check(schema: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "build.mjs", "--check"],
        cwd=WEB,
        env={**os.environ, "JSC_WEB_SCHEMA": str(schema)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_field_the_apps_use_renamed_in_the_schema_fails_the_check(tmp_path: Path) -> None:
    text = (ROOT / "schema.graphql").read_text()
    # Report.escalationLevel: the officer app shows it.
    broken = text.replace("  escalationLevel: Int!\n", "  escalationStep: Int!\n", 1)
    assert broken != text
    schema = tmp_path / "schema.graphql"
    schema.write_text(broken)
    generated = WEB / "src" / "gql" / "persisted-documents.json"
    before = generated.read_bytes()

    result = check(schema)

    assert result.returncode != 0
    assert generated.read_bytes() == before, "a failed check must leave the generated types as they were"
    assert 'Cannot query field "escalationLevel" on type "Report"' in result.stdout + result.stderr
