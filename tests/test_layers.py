"""The import rules between dagwright's layers hold: import-linter checks the contracts in
``.importlinter`` (docs/architecture.md, "Layers and the one direction data flows")."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"

# import-linter's console script, found by its entry point: the script's folder need not be
# on PATH (a virtualenv that is not activated)
LINT = (
    "from importlib.metadata import entry_points\n"
    "(script,) = entry_points(group='console_scripts', name='lint-imports')\n"
    "script.load()()\n"
)

# the rules the issue names: (source, forbidden) for every layer
REQUIRED = {
    "dagwright.pipelines": {"engine", "compiler", "remote", "store"},
    "dagwright.components": {"engine", "compiler", "remote", "store"},
    "dagwright.engine": {"compiler", "remote"},
    "dagwright.compiler": {"engine", "store", "remote"},
    "dagwright.store": {"engine"},
    "dagwright.remote": {"engine"},
    "dagwright.schedules": {"engine", "compiler", "remote"},
    "dagwright.lineage": {"compiler", "remote"},
    # issue 17: a source (the KFP importer) turns something into the IR, knowing nothing after it
    "dagwright.sources": {"engine", "compiler", "remote", "store", "lineage", "api", "cli"},
}


def _contracts() -> dict[str, dict[str, list[str]]]:
    """Each contract's name, sources and forbidden modules, by id."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    found = {}
    for section in parser.sections():
        if section.startswith("importlinter:contract:"):
            fields = parser[section]
            found[section.rsplit(":", 1)[1]] = {
                "name": [fields["name"]],
                "sources": fields["source_modules"].split(),
                "forbidden": fields["forbidden_modules"].split(),
            }
    return found


def _lint(root: Path) -> tuple[dict[str, str], str]:
    """Run lint-imports with the repository's contracts on the ``dagwright`` under ``root``:
    each contract's verdict (KEPT or BROKEN) by name, and the whole report."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]), "COLUMNS": "400"}
    proc = subprocess.run(
        [sys.executable, "-c", LINT, "--config", str(CONFIG), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = proc.stdout + proc.stderr
    verdicts = dict(re.findall(r"^(.+?) ?(KEPT|BROKEN)\b", report, re.M))
    assert verdicts, report
    assert (proc.returncode == 0) == all(v == "KEPT" for v in verdicts.values()), report
    return verdicts, report


def test_the_import_contracts_hold() -> None:
    verdicts, report = _lint(ROOT)
    names = {c["name"][0] for c in _contracts().values()}
    assert set(verdicts) == names, report
    broken = [name for name, verdict in verdicts.items() if verdict == "BROKEN"]
    assert not broken, f"broken import contracts: {broken}\n{report}"


def test_the_contracts_cover_every_layer_the_architecture_names() -> None:
    forbids: dict[str, set[str]] = {}
    for contract in _contracts().values():
        for source in contract["sources"]:
            forbids.setdefault(source, set()).update(
                m.removeprefix("dagwright.") for m in contract["forbidden"]
            )
    missing = {
        source: sorted(layers - forbids.get(source, set()))
        for source, layers in REQUIRED.items()
        if layers - forbids.get(source, set())
    }
    assert not missing, f"layers without their rule: {missing}"


def test_a_forbidden_import_breaks_each_contract(tmp_path: Path) -> None:
    """A copy of the package with one forbidden import planted per contract, each in a module
    of that contract's sources that nothing imports: every contract reports it."""
    shutil.copytree(ROOT / "dagwright", tmp_path / "dagwright", ignore=_no_caches)
    contracts = _contracts()
    for key, contract in contracts.items():
        source = next(
            (s for s in contract["sources"] if _path(tmp_path, s).is_dir()),
            contract["sources"][0],
        )
        line = f"import {contract['forbidden'][0]}  # planted\n"
        path = _path(tmp_path, source)
        if path.is_dir():
            (path / f"_planted_{key.replace('-', '_')}.py").write_text(line)
        else:
            path.with_suffix(".py").write_text(
                path.with_suffix(".py").read_text(encoding="utf-8") + line
            )
    verdicts, report = _lint(tmp_path)
    kept = [c["name"][0] for c in contracts.values() if verdicts.get(c["name"][0]) != "BROKEN"]
    assert not kept, f"not broken by a planted import: {kept}\n{report}"
    assert "# planted" not in (ROOT / "dagwright" / "api.py").read_text(encoding="utf-8")


def _path(root: Path, module: str) -> Path:
    return root.joinpath(*module.split("."))


def _no_caches(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


def _private_imports(package: Path) -> list[str]:
    """Every ``from dagwright.x import _name``: a module reaching into another's private name."""
    import ast

    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dagwright"):
                found += [
                    f"{path.relative_to(package.parent)}:{node.lineno}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    """What two modules share is public in one of them (issue 15: the CLI modules took
    seven private names from each other); a private module (``_schema.py``) is imported whole
    or by its public names."""
    assert _private_imports(ROOT / "dagwright") == []


def test_a_private_name_taken_from_another_module_is_found(tmp_path: Path) -> None:
    """The check above sees the import it forbids."""
    package = tmp_path / "dagwright"
    package.mkdir()
    (package / "a.py").write_text("from dagwright.b import _hidden\n")
    (package / "c.py").write_text("from dagwright.b import shown, __version__\n")
    assert _private_imports(package) == ["dagwright/a.py:1: dagwright.b._hidden"]
