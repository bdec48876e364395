"""The README stays true: its commands are the ones CI runs, and its tour runs as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

pytestmark = pytest.mark.integration


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    first, second = (block.strip() for block in _blocks("bash")[:2])
    assert first == 'pip install -e ".[examples]" && dagwright run examples/iris_training.py'
    java = "(command -v java >/dev/null || (apt-get update && apt-get install -y "
    java += "default-jre-headless))"
    chromium = "(command -v chromium >/dev/null || (apt-get update && apt-get install -y "
    chromium += "chromium))"
    assert second == f'{java} && {chromium} && pip install -e ".[test]" && python -m pytest -q -n 2'
    assert second in (ROOT / ".ci" / "run").read_text()


def test_the_example_command_works_through_the_console_script(tmp_path: Path) -> None:
    command = shutil.which("dagwright")
    assert command is not None, "the dagwright console script is not installed"
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path)}
    proc = subprocess.run(
        [command, "run", "examples/iris_training.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "✓ publish" in proc.stdout
    assert re.search(r"run iris-training-\S+ succeeded", proc.stdout)


def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "tour.py").write_text("\n\n".join(_blocks("python")))
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "tour.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "succeeded {'output': 3.0}" in proc.stdout
    assert "failed RuntimeError: asked to fail succeeded" in proc.stdout
    assert "{'output': 9}" in proc.stdout
