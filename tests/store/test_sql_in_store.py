"""The store owns SQL: no module outside ``dagwright/store/`` imports sqlite3, runs a statement
(``.execute``, ``.executemany``, ``.executescript``) or holds SQL text; callers use the store's
methods (``RunDatabase``, ``ScheduleBook``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dagwright"

# SQL on databases that are not the run database, with the reason
ALLOWED = {
    # MLflow's own tracking database (sqlite:///): opened read-only to find the tables that
    # concurrent migrations left half-done; MLflow owns that schema, dagwright's store does not
    "lineage/dblock.py",
}

STATEMENTS = {"execute", "executemany", "executescript"}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN)\b")


def sql_uses(source: str) -> list[str]:
    """Where ``source`` uses SQL: ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        found += [f"{node.lineno}: import {n}" for n in names if n.split(".")[0] == "sqlite3"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # a statement takes its SQL as an argument: kfp's Executor(...).execute() takes none
            if node.func.attr in STATEMENTS and (node.args or node.keywords):
                found.append(f"{node.lineno}: .{node.func.attr}(...)")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.match(node.value):
                found.append(f"{node.lineno}: SQL text {node.value[:40]!r}")
    return found


def test_no_sql_outside_the_store() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("store/") or relative in ALLOWED:
            continue
        uses = sql_uses(path.read_text(encoding="utf-8"))
        if uses:
            offenders[relative] = uses
    assert not offenders, f"SQL outside dagwright/store/ (add a store method): {offenders}"


def test_the_allowed_modules_still_need_it() -> None:
    """An exception that no longer uses SQL goes from the list."""
    for relative in ALLOWED:
        assert sql_uses((PACKAGE / relative).read_text(encoding="utf-8")), relative


def test_each_kind_of_sql_use_is_found() -> None:
    planted = (
        "import sqlite3\n"
        "from sqlite3 import Row\n"
        "def exists(db, run_id):\n"
        "    db.db.execute('SELECT 1 FROM runs WHERE run_id = ?', (run_id,))\n"
        "    db.db.executemany(QUERY, [])\n"
        "    db.executescript(TABLES)\n"
        'QUERY = """\n    UPDATE runs SET status = ?"""\n'
    )
    uses = sql_uses(planted)
    assert sorted(int(u.split(":")[0]) for u in uses if "SQL text" not in u) == [1, 2, 4, 5, 6]
    assert sorted(int(u.split(":")[0]) for u in uses if "SQL text" in u) == [4, 7]
