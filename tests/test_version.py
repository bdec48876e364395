"""The version is written once, in ``dagwright/_version.py``; setup.cfg and the package read it."""

from __future__ import annotations

import re
from pathlib import Path

from setuptools.config.setupcfg import read_configuration

import dagwright
from dagwright import _version

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_reads_the_version_from_the_one_module() -> None:
    config = read_configuration(ROOT / "setup.cfg")
    assert config["metadata"]["version"] == _version.__version__ == dagwright.__version__
    text = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert re.search(r"^version = attr: dagwright\._version\.__version__$", text, re.M)


def test_no_other_file_of_the_package_writes_the_version() -> None:
    version = re.escape(_version.__version__)
    in_code = re.compile(rf"""["']{version}["']""")  # a string literal in Python
    in_config = re.compile(rf"^\s*version\s*=\s*[\"']?{version}", re.M)  # setup.cfg, pyproject
    writers = [
        str(path.relative_to(ROOT))
        for path in [
            *(ROOT / "dagwright").rglob("*.py"),
            ROOT / "setup.cfg",
            ROOT / "pyproject.toml",
        ]
        if (in_code if path.suffix == ".py" else in_config).search(path.read_text(encoding="utf-8"))
    ]
    assert writers == ["dagwright/_version.py"]
