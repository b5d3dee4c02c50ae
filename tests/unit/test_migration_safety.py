"""scripts/migration_safety.py: migrations newer than the released one must leave the running release working and
writes flowing (docs/operations.md, "Upgrades")."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import migration_safety as safety


def findings(body: str) -> list[str]:
    source = 'revision = "0099"\n\n\ndef upgrade() -> None:\n' + textwrap.indent(textwrap.dedent(body), "    ")
    return [f.what for f in safety.check_source(source, Path("0099_example.py"))]


def test_the_migrations_after_the_released_one_are_safe() -> None:
    assert [str(f) for f in safety.check()] == []


def test_it_finds_what_the_released_history_did_in_one_step() -> None:
    # 0027 built the work-queue indexes on reports without CONCURRENTLY (docs/operations.md says so); the
    # foundation's indexes are on tables it creates, which nothing used yet.
    history = safety.check(released=0)
    by_file = {f.path.name: [] for f in history}
    for f in history:
        by_file[f.path.name].append(f.what)
    assert (
        by_file["2026_12_06_0450-0027_work_queue_indexes.py"]
        == ["op.create_index on reports without postgresql_concurrently=True"] * 2
    )
    assert not any(name.endswith("0001_foundation.py") for name in by_file)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'op.create_index("ix", "reports", ["a"])\n',
            ["op.create_index on reports without postgresql_concurrently=True"],
        ),
        (
            'op.drop_column("reports", "a")\n',
            ["op.drop_column: drops a column the previous release may still read or write"],
        ),
        (
            'op.alter_column("reports", "a", nullable=False)\n',
            ["op.alter_column(nullable=False): SET NOT NULL scans the table under an exclusive lock"],
        ),
        (
            'op.alter_column("reports", "a", new_column_name="b")\n',
            ["op.alter_column(new_column_name=...): the previous release uses the old name"],
        ),
        (
            'op.add_column("reports", sa.Column("a", sa.Integer, nullable=False))\n',
            ["op.add_column on reports: NOT NULL without a server default"],
        ),
        (
            'op.create_foreign_key("fk", "reports", "units", ["u"], ["id"])\n',
            ["op.create_foreign_key on reports: validated in one step (NOT VALID, then VALIDATE)"],
        ),
        ('op.execute("CREATE INDEX ix ON reports (a)")\n', ["CREATE INDEX without CONCURRENTLY"]),
        (
            'op.execute("ALTER TABLE reports ALTER COLUMN a SET NOT NULL")\n',
            ["SET NOT NULL scans the table under an exclusive lock"],
        ),
        (
            'op.execute("ALTER TABLE reports ADD CONSTRAINT ck CHECK (a > 0)")\n',
            ["a constraint validated in one step (add it NOT VALID, validate later)"],
        ),
    ],
)
def test_a_step_that_stops_writes_or_the_old_release_is_named(body: str, expected: list[str]) -> None:
    assert findings(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "with op.get_context().autocommit_block():\n"
        '    op.create_index("ix", "reports", ["a"], postgresql_concurrently=True)\n',
        'op.add_column("reports", sa.Column("a", sa.Integer, nullable=True))\n',
        'op.add_column("reports", sa.Column("a", sa.Integer, nullable=False, server_default="0"))\n',
        'op.create_check_constraint("ck", "reports", "a > 0", postgresql_not_valid=True)\n',
        'op.execute("ALTER TABLE reports ADD CONSTRAINT ck CHECK (a > 0) NOT VALID")\n',
        'op.execute("ALTER TABLE reports VALIDATE CONSTRAINT ck")\n',
        'op.execute("CREATE INDEX CONCURRENTLY ix ON reports (a)")\n',
        'op.create_table("fresh", sa.Column("id", sa.Integer))\nop.create_index("ix", "fresh", ["id"])\n'
        'op.create_foreign_key("fk", "fresh", "units", ["id"], ["id"])\n',
        '# contract: release 0031 stopped reading it\nop.drop_column("reports", "a")\n',
        'op.drop_table("old")  # contract: unused since release 2026.12\n',
    ],
)
def test_safe_steps_and_meant_contract_steps_pass(body: str) -> None:
    assert findings(body) == []


def test_the_command_fails_on_an_unsafe_migration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "0100_new.py").write_text(
        'revision = "0100"\n\ndef upgrade():\n    op.create_index("ix", "reports", ["a"])\n'
    )
    (tmp_path / "0020_old.py").write_text('revision = "0020"\n\ndef upgrade():\n    op.drop_table("reports")\n')
    found = safety.check(versions=tmp_path, released=27)
    assert [(f.path.name, f.line) for f in found] == [("0100_new.py", 4)]
