"""The code stays ruff- and mypy-clean (the project's own settings in pyproject.toml), and the
pre-commit hooks run the same commands, so a commit is checked as the suite checks it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# each run as ``python -m <command>`` from the repository root
COMMANDS = {
    "ruff-check": ["ruff", "check", "."],
    "ruff-format": ["ruff", "format", "--check", "."],
    "mypy": ["mypy"],
}


@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_clean(command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pre_commit_runs_what_the_suite_runs() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert all(repo["repo"] == "local" for repo in config["repos"]), "hooks use the installed tools"
    assert set(hooks) == set(COMMANDS), "one hook per command of test_clean, named by its id"
    for name, command in COMMANDS.items():
        hook = hooks[name]
        assert shlex.split(hook["entry"]) == ["python", "-m", *command], name
        assert hook["language"] == "system", name  # the installed versions, as the suite runs
        # the whole repository, as test_clean checks it, not only the staged files
        assert hook.get("pass_filenames") is False, name


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("dagwright/probe.py", {"D100", "D103"}),  # a public module and function of the package
        ("dagwright/_probe.py", set()),  # private: no docstring asked for
        ("tests/probe.py", set()),  # tests are exempt
    ],
)
def test_docstring_rules_cover_the_public_api(path: str, expected: set[str]) -> None:
    # the file is read from stdin under that name, so the project's settings and per-file
    # ignores apply to it as to a file of the repository
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json"]
        + ["--stdin-filename", path, "-"],
        cwd=ROOT,
        input="def f() -> None:\n    pass\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = {problem["code"] for problem in json.loads(proc.stdout)}
    assert found == expected, proc.stdout + proc.stderr
