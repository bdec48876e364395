"""The wheel carries what the installed package needs besides its modules: the PEP 561 marker
``py.typed`` (so a user's type checker reads dagwright's hints) and the data files."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_py_typed_is_declared_as_package_data() -> None:
    assert (ROOT / "dagwright" / "py.typed").is_file()
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    declared = setup["options.package_data"].get("dagwright", "").split()
    assert "py.typed" in declared, "setup.cfg [options.package_data] dagwright = py.typed"


def test_the_wheel_ships_py_typed_and_the_schemas(tmp_path: Path) -> None:
    # built from a copy: setuptools writes build/ and *.egg-info beside the sources
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "dagwright", source / "dagwright", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp_path / "wheels"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-q", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = wheels.glob("dagwright-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "dagwright/py.typed" in names
    assert any(
        n.startswith("dagwright/compiler/argo/") and n.endswith(".schema.json.gz") for n in names
    )
    assert sum(n.endswith(".crd.yaml.gz") for n in names) == 2, sorted(names)
    # the UI's page: every file of dagwright/ui/static/ (what index.html loads among them)
    static = ROOT / "dagwright" / "ui" / "static"
    for page_file in static.iterdir():
        assert f"dagwright/ui/static/{page_file.name}" in names, page_file.name
