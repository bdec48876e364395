"""The documents for contributors name only files and modules that exist, so a module that
moves or is renamed cannot leave docs/architecture.md or CONTRIBUTING.md pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["docs/architecture.md", "CONTRIBUTING.md"]

# named by CONTRIBUTING.md ahead of the branches that add them
PENDING: set[str] = set()  # paths named before they land (none now)

# files that exist only where dagwright runs: the KFP pod writes this one
MADE_ELSEWHERE = {"ephemeral_component.py"}

_CODE = re.compile(r"`([^`\n]+)`")
# a.py, store/rundb.py, tests/submit/ (one folder alone, ``lineage/``, may be a store's folder)
_PATH = re.compile(r"^(?:[\w.-]+\.py|[\w.-]+(?:/[\w.-]+)+(?:\.py|/))$")
_MODULE = re.compile(r"^(?:python3? -m )?(dagwright(?:\.[a-z_][a-z0-9_]*)+)$")
_ROW = re.compile(r"^\| `([^`]+)` \|(.*)\|\s*$")


def _files() -> list[str]:
    """Every file and folder of the repository, as paths from its root ending in ``/`` for
    folders (caches left out)."""
    found = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        found.append(relative.as_posix() + ("/" if path.is_dir() else ""))
    return found


def _path_exists(name: str, files: list[str]) -> bool:
    """A path given from the repository's root, or ending a real path (``kfp/dag.py`` for
    ``dagwright/compiler/kfp/dag.py``, as the prose writes it inside a package)."""
    return name in files or any(f.endswith("/" + name) for f in files)


def _module_exists(dotted: str) -> bool:
    """A module or package of the repository, or a name defined in one
    (``dagwright.lineage.upstream``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if source.is_file():
            rest = parts[cut:]
            text = source.read_text(encoding="utf-8")
            return not rest or (len(rest) == 1 and re.search(rf"\b{rest[0]}\b", text) is not None)
    return False


def _table_paths(line: str) -> list[str]:
    """The files a row of the package table names, as paths from the repository's root: a
    row's names sit in its package, after a ``kfp/``-style token in that folder."""
    row = _ROW.match(line)
    if row is None or not row.group(1).endswith("/"):
        return []
    package = "dagwright/" + row.group(1)
    folder, paths = package, []
    for token in _CODE.findall(row.group(2)):
        if re.fullmatch(r"[\w-]+/", token):
            folder = package + token
        elif re.fullmatch(r"[\w-]+\.py", token):
            inside = folder + token
            paths.append(inside if (ROOT / inside).is_file() else package + token)
    return paths


def missing_in(document: str) -> list[str]:
    """What ``document`` names that the repository does not have."""
    files = _files()
    missing = []
    for number, line in enumerate((ROOT / document).read_text().splitlines(), 1):
        table = _table_paths(line)
        for path in table:
            if path not in files and path not in PENDING:
                missing.append(f"{document}:{number}: {path}")
        for token in _CODE.findall(line):
            module = _MODULE.match(token)
            if module and module.group(1) not in PENDING and not _module_exists(module.group(1)):
                missing.append(f"{document}:{number}: module {module.group(1)}")
            elif not table and _PATH.match(token) and token not in PENDING | MADE_ELSEWHERE:
                if not _path_exists(token, files):
                    missing.append(f"{document}:{number}: {token}")
    return missing


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_named_path_exists(document: str) -> None:
    missing = missing_in(document)
    assert not missing, "named but not in the repository:\n" + "\n".join(missing)


def test_the_check_finds_a_moved_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the checker itself: a table row, a path in prose and a module name that are gone
    (tmp_path / "dagwright" / "engine").mkdir(parents=True)
    (tmp_path / "dagwright" / "engine" / "local.py").write_text("def run(): ...\n")
    (tmp_path / "dagwright" / "__init__.py").write_text("")
    (tmp_path / "doc.md").write_text(
        "| `engine/` | `local.py` (`LocalEngine`), `scheduler.py` (the cron daemon) |\n"
        "`engine/local.py` runs; `engine/cron.py` reads crons.\n"
        "`dagwright.engine.local.run`, `python -m dagwright.engine.scheduler`.\n"
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert missing_in("doc.md") == [
        "doc.md:1: dagwright/engine/scheduler.py",
        "doc.md:2: engine/cron.py",
        "doc.md:3: module dagwright.engine.scheduler",
    ]
