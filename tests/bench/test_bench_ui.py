"""``python -m bench ui`` as a user runs it (a real subprocess: the real server, the system's
Chromium, tiny sizes, one repeat, no MLflow), checked for its table's shape; and the bulk copies
it fills the store with are real runs to the CLI. No figure is asserted: timings belong to the
benchmark, not to tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import ui_store

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"\d+\.\d"

pytestmark = pytest.mark.integration


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-m", "bench", "ui", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_quick_table_has_a_figure_for_every_case() -> None:
    pytest.importorskip("playwright")
    proc = bench("--runs", "30", "--steps", "20", "--repeats", "1", "--no-mlflow")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["case", "dagwright"]
    cases = [line for line in lines[1:] if line.startswith(("GET", "runs", "run ", "live"))]
    assert len(cases) == 6, proc.stdout
    for line in cases:
        assert re.search(rf"\s{NUMBER}\s+(\S+ )?", line), line
        assert re.search(r"(ok|MISSED) <= \d+$", line), line
    assert "30 newest of 30" in proc.stdout
    assert "20-step graph" in proc.stdout


def test_bad_sizes_are_refused_before_anything_runs() -> None:
    proc = bench("--runs", "1")
    assert proc.returncode == 2
    assert "--runs must be 2 or more" in proc.stderr


def test_the_copied_runs_are_runs_to_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ui_store.real_run(root, ui_store.layered(6, width=3, name="small"), "template")
    ids = ui_store.clone_runs(root, "template", 25)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DAGWRIGHT_TRACKING": "off"}
    listed = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "ls", "--root", str(root), "--json",
         "-n", "100", "--status", "failed"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    failed = [run["run_id"] for run in json.loads(listed.stdout)]
    assert failed == [i for n, i in enumerate(ids) if ui_store.STATUSES[n % 5] == "failed"]
    shown = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "show", ids[-1], "--root", str(root),
         "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert len(json.loads(shown.stdout)["steps"]) == 6
