"""Migrations that old API processes survive: a check of every migration newer than the last released one.

The database is upgraded before the processes are restarted (docs/operations.md, "Upgrades"), so for a while the
previous release runs against the new schema, and a migration must not hold off writes for long. This reads each
migration's ``upgrade()`` (Alembic ``op.*`` calls and the SQL given to ``op.execute``) and names what breaks
either promise:

- an index built without CONCURRENTLY on a table that exists already (every write to it waits for the build);
- a column or table dropped or renamed, a column's type, name or NOT NULL changed (the old code still uses it);
- a NOT NULL column added without a server default (fails on existing rows; the old code does not fill it);
- a foreign key, unique or check constraint validated on an existing table in one step (add it with
  ``postgresql_not_valid=True`` or ``NOT VALID``, then ``VALIDATE CONSTRAINT`` in a later migration).

A step that is meant (the contract half of expand/contract, once no running release uses what it removes) says
so with a ``# contract: <why>`` comment on its own line right above the call, or at the end of the call's line.

    python scripts/migration_safety.py            # the migrations after RELEASED; exit 1 on a finding
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"
# The newest revision already run on a production database. Older migrations are history: 0027, for one, builds
# its work-queue indexes without CONCURRENTLY (docs/operations.md says so). Raise this with each release.
RELEASED = 27

CONTRACT = re.compile(r"#\s*contract:\s*\S")
UNSAFE_OPS = {
    "drop_column": "drops a column the previous release may still read or write",
    "drop_table": "drops a table the previous release may still use",
    "rename_table": "renames a table the previous release uses by its old name",
}
UNSAFE_SQL = [
    (re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY)", re.I), "CREATE INDEX without CONCURRENTLY"),
    (re.compile(r"\bDROP\s+(COLUMN|TABLE)\b", re.I), "drops what the previous release may still use"),
    (re.compile(r"\bRENAME\b", re.I), "renames what the previous release uses by its old name"),
    (re.compile(r"\bSET\s+NOT\s+NULL\b", re.I), "SET NOT NULL scans the table under an exclusive lock"),
    (re.compile(r"\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b", re.I), "a column's type changed (rewrite)"),
    (
        re.compile(
            r"\bADD\s+(CONSTRAINT\s+\S+\s+)?(FOREIGN\s+KEY|CHECK|UNIQUE)\b(?![^;]*\bNOT\s+VALID\b)", re.I | re.S
        ),
        "a constraint validated in one step (add it NOT VALID, validate later)",
    ),
]


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return (
            f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}: {self.what}"
        )


def revision_number(tree: ast.Module) -> int | None:
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "revision" and isinstance(value, ast.Constant):
            return int(value.value) if str(value.value).isdigit() else None
    return None


def _text(node: ast.expr) -> str:
    """The literal parts of a string argument (an f-string's constant pieces; names count as nothing)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part) if isinstance(part, ast.Constant) else " x " for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    if isinstance(node, ast.Call) and node.args and getattr(node.func, "attr", "") == "text":
        return _text(node.args[0])
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _table_name(call: ast.Call, position: int) -> str | None:
    arg = call.args[position] if len(call.args) > position else _keyword(call, "table_name")
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _op_call(node: ast.AST) -> tuple[ast.Call, str] | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id in ("op", "batch_op"):
            return node, node.func.attr
    return None


def _judge(call: ast.Call, name: str, new_tables: set[str]) -> list[str]:
    found: list[str] = []
    if name in UNSAFE_OPS:
        found.append(f"op.{name}: {UNSAFE_OPS[name]}")
    elif name in ("create_index", "create_geospatial_index"):
        table = _table_name(call, 1)
        if table not in new_tables and not _is_true(_keyword(call, "postgresql_concurrently")):
            found.append(f"op.{name} on {table or 'a table'} without postgresql_concurrently=True")
    elif name == "alter_column":
        if _is_false(_keyword(call, "nullable")):
            found.append("op.alter_column(nullable=False): SET NOT NULL scans the table under an exclusive lock")
        if _keyword(call, "type_") is not None:
            found.append("op.alter_column(type_=...): a column's type changed (rewrite, old code)")
        if _keyword(call, "new_column_name") is not None:
            found.append("op.alter_column(new_column_name=...): the previous release uses the old name")
    elif name == "add_column":
        table = _table_name(call, 0)
        column = call.args[1] if len(call.args) > 1 else None
        if isinstance(column, ast.Call) and table not in new_tables and _not_null_without_default(column):
            found.append(f"op.add_column on {table}: NOT NULL without a server default")
    elif name in ("create_foreign_key", "create_unique_constraint", "create_check_constraint"):
        table = _table_name(call, 1)
        if table not in new_tables and not _is_true(_keyword(call, "postgresql_not_valid")):
            found.append(f"op.{name} on {table or 'a table'}: validated in one step (NOT VALID, then VALIDATE)")
    elif name == "execute" and call.args:
        sql = _text(call.args[0])
        found += [what for pattern, what in UNSAFE_SQL if pattern.search(sql) and not _creates_new(sql, new_tables)]
    return found


def _not_null_without_default(column: ast.Call) -> bool:
    return _is_false(_keyword(column, "nullable")) and _keyword(column, "server_default") is None


def _creates_new(sql: str, new_tables: set[str]) -> bool:
    """SQL about a table this migration created (nothing old uses it yet)."""
    match = re.search(r"\b(?:ON|TABLE)\s+(?:ONLY\s+)?\"?(\w+)\"?", sql, re.I)
    return match is not None and match[1] in new_tables


def check_source(source: str, path: Path) -> list[Finding]:
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines()
    upgrade = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    if upgrade is None:
        return []
    calls = sorted((c for c in map(_op_call, ast.walk(upgrade)) if c is not None), key=lambda c: c[0].lineno)
    new_tables = {
        t for call, name in calls if name in ("create_table", "create_geospatial_table") and (t := _table_name(call, 0))
    }
    findings = []
    for call, name in calls:
        above = lines[call.lineno - 2] if call.lineno >= 2 else ""
        if CONTRACT.search(lines[call.lineno - 1]) or (above.strip().startswith("#") and CONTRACT.search(above)):
            continue
        findings += [Finding(path, call.lineno, what) for what in _judge(call, name, new_tables)]
    return findings


def check(versions: Path = VERSIONS, released: int = RELEASED) -> list[Finding]:
    findings = []
    for path in sorted(versions.glob("*.py")):
        source = path.read_text()
        number = revision_number(ast.parse(source))
        if number is None or number > released:
            findings += check_source(source, path)
    return findings


def main() -> int:
    findings = check()
    for finding in findings:
        print(finding)
    if findings:
        print(
            "migration_safety: these steps hold off writes or break the running release during an upgrade"
            " (docs/operations.md, 'Upgrades'); split them, or mark a meant contract step with '# contract: <why>'",
            file=sys.stderr,
        )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
