"""``schedule add`` refuses a local policy given with a target's own option for the same thing
(``--concurrency`` with KFP's ``--max-concurrency`` or Argo's ``--concurrency-policy``,
``--catchup`` with Argo's ``--starting-deadline-seconds``), before the pipeline is even read:
each target names its own pair (``CliOptions.check_schedule``), and every target's pairs are
checked whichever target is chosen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "args, field, said",
    [
        (
            ("--target", "kfp", "--concurrency", "forbid", "--max-concurrency", "3"),
            "--max-concurrency",
            "--concurrency and --max-concurrency both say it",
        ),
        (
            ("--target", "argo", "--concurrency", "forbid", "--concurrency-policy", "Allow"),
            "--concurrency-policy",
            "--concurrency and --concurrency-policy both say it",
        ),
        (
            ("--target", "argo", "--catchup", "all", "--starting-deadline-seconds", "5"),
            "--starting-deadline-seconds",
            "--catchup and --starting-deadline-seconds both say it",
        ),
        (  # Argo's spelling, given for KFP: still said twice
            ("--target", "kfp", "--concurrency", "forbid", "--concurrency-policy", "Allow"),
            "--concurrency-policy",
            "--concurrency and --concurrency-policy both say it",
        ),
    ],
)
def test_a_policy_and_the_targets_own_option_for_it_are_refused_before_loading(
    tmp_path: Path, args: tuple[str, ...], field: str, said: str
) -> None:
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "schedule", "add", "missing.py:p", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    # the pipeline file does not exist: the pair was refused before it was looked for
    assert f"error: field '{field}': {said}. Fix: give one of them" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
