"""The repository needs nothing beside it: a fresh clone runs its tests, also from a venv.

Three checks: every vendored upstream file is the verbatim upstream file its provenance row
names (``tests/schemas/README.md``); no source, test or bench file reaches outside the
repository (a static scan); and the tests that read vendored files or start pod commands pass
in a copy of the repository with nothing beside it, run by a venv's interpreter whose packages
the base interpreter does not see.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import os
import re
import shutil
import site
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = ROOT / "tests" / "schemas" / "README.md"
SCANNED = ("dagwright", "tests", "bench", "examples", ".ci")
# text that names a place outside the repository: a parent of the checkout (a relative path
# climbing out, or the root's parent), or a user's home folder
_OUTSIDE = re.compile(r"""(["'`]\.\./|\bROOT\.parent\b|["']/(root|home|Users)/)""")


def _provenance_rows() -> list[tuple[str, str]]:
    rows = []
    for line in PROVENANCE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].endswith(".gz"):
            rows.append((cells[0], cells[4]))
    return rows


def _repository_files() -> list[Path]:
    """What a clone holds: tracked files and new ones git would commit (not ignored ones)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_every_vendored_file_is_listed_and_verbatim() -> None:
    rows = _provenance_rows()
    assert len(rows) == 5
    shipped = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("*/**/*.gz")}
    assert shipped == {name for name, _ in rows}, "a vendored file without a provenance row"
    for name, digest in rows:
        text = gzip.decompress((ROOT / name).read_bytes())
        assert hashlib.sha256(text).hexdigest() == digest, f"{name} differs from upstream"


def _escapes(path: Path, root: Path = ROOT) -> list[str]:
    """Places in one Python file that resolve outside the repository (a line that builds a
    hostile path on purpose says ``# outside: hostile input`` on it or on the line above)."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        # Path(__file__).resolve().parents[N]: the folder it names must lie inside the checkout
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
            and "__file__" in ast.unparse(node.value)
        ):
            parents = path.resolve().parents
            index = node.slice.value
            if index >= len(parents) or root not in (parents[index], *parents[index].parents):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        marked = (
            "# outside: hostile input" in line or "# outside: hostile input" in lines[number - 2]
        )
        if _OUTSIDE.search(line) and not (number > 1 and marked):
            found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_file_refers_outside_the_repository() -> None:
    escapes = []
    for path in _repository_files():
        relative = path.relative_to(ROOT)
        if relative.parts[0] not in SCANNED or path == Path(__file__).resolve():
            continue
        if path.suffix == ".py":
            escapes += _escapes(path)
        elif path.suffix in {".cfg", ".toml", ".yaml", ".yml", ""} and path.stat().st_size < 1e6:
            text = path.read_text(encoding="utf-8", errors="replace")
            escapes += [f"{relative}: {m.group(0)}" for m in _OUTSIDE.finditer(text)]
    assert escapes == []


def test_the_scan_finds_an_escape(tmp_path: Path) -> None:
    planted = tmp_path / "repo" / "tests" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(
        "from pathlib import Path\n"
        "A = Path(__file__).resolve().parents[1] / 'x'\n"  # the repository itself: fine
        "B = Path(__file__).resolve().parents[2] / 'x'\n"
        "C = '../beside/x.json'\n"
        "D = '/home/someone/x.json'\n"
        "E = '../x'  # outside: hostile input\n"
    )
    found = _escapes(planted, root=tmp_path / "repo")
    assert [line.split(":")[1] for line in found] == ["3", "4", "5"]


def _venv_python(folder: Path) -> Path:
    """A venv whose packages reach it through a .pth file the base interpreter never reads."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    here = [p for p in (*site.getsitepackages(), site.getusersitepackages()) if os.path.isdir(p)]
    Path(purelib, "outer.pth").write_text("\n".join(here) + "\n")
    return python


@pytest.mark.integration
def test_a_copy_with_nothing_beside_it_passes_from_a_venv(tmp_path: Path) -> None:
    """Copies what a clone holds into an empty folder and runs, with a venv's interpreter,
    the tests that read the vendored swaggers and schema and the Argo stand-in that starts
    ``python3`` for each pod command (which must be the venv's interpreter)."""
    clone = tmp_path / "clone"
    for path in _repository_files():
        target = clone / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    python = _venv_python(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(clone)  # the copy's dagwright, not an editable install elsewhere
    tests = [
        "tests/submit/test_kfp_submit.py",
        "tests/submit/test_argo_submit.py",
        "tests/compiler/test_argo_spec.py",
        "tests/compiler/test_argo_controller.py::test_arguments_reach_the_workflow_parameters",
        "tests/compiler/test_argo_controller.py::test_a_failing_block_still_runs_its_exit_hook",
    ]
    done = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"\b\d{2,} passed\b", done.stdout), done.stdout[-500:]


def test_the_argo_stand_in_starts_pods_with_the_venv_interpreter(tmp_path: Path) -> None:
    """Pods say ``python3``; the stand-in must start the interpreter running the tests. A
    venv's interpreter started through a symlink outside the venv starts as the base
    interpreter (no pyvenv.cfg beside the link) and misses the venv's packages."""
    python = _venv_python(tmp_path / "venv")
    script = (
        "import subprocess, sys\n"
        "from pathlib import Path\n"
        "from argo_controller import ArgoControllerStandIn\n"
        "manifest = {'spec': {'templates': []}, 'metadata': {}}\n"
        "pod = ArgoControllerStandIn(manifest, Path(sys.argv[1]))\n"
        "out = subprocess.run(['python3', '-c', 'import sys; print(sys.prefix)'], env=pod.env,\n"
        "                     capture_output=True, text=True, check=True).stdout.strip()\n"
        "print(out == sys.prefix, out, sys.prefix)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "compiler")])
    done = subprocess.run(
        [str(python), "-c", script, str(tmp_path / "pod")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True "), done.stdout
