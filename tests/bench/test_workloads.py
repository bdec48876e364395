"""``python -m bench workloads`` as a user runs it: a real subprocess, small sizes, one repeat.

It checks the table's shape (every dagwright case measured, a number in each column that
applies), that peers this interpreter lacks are named as skipped rather than failing the run,
and that bad options are refused before anything runs. No figure is asserted: timings belong to
the benchmark, not to tests.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"-?\d+\.\d\d"


def bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-m", "bench", "workloads", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.integration
def test_quick_table_measures_dagwright_and_names_missing_peers() -> None:
    out = bench(
        *("--quick", "--repeats", "1", "--sizes", "3,3,4"),
        *("--only", "dagwright,luigi,kedro,dagster", "--peer-python", sys.executable),
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(line for line in lines if line.startswith("case "))
    assert header.split()[1:] == [
        *("1-step", "s", "chain", "ms/step", "fan", "ms/step", "4-step", "s"),
        *("1-step", "x", "dw", "step", "x", "dw", "import", "s"),
    ]
    rows = {line[:34].strip(): line[34:].split() for line in lines[lines.index(header) + 1 :]}
    on, off = rows["dagwright, lineage on (default)"], rows["dagwright, lineage off"]
    process = rows["dagwright, Process(), lineage on"]
    for row in (on, off):  # 1-step, chain, fan measured; the long chain left out by --quick
        assert all(re.fullmatch(NUMBER, cell) for cell in row[:3]), row
        assert row[3] == "-"
        assert float(row[0]) > 0
    assert re.fullmatch(NUMBER, process[0]) and re.fullmatch(NUMBER, process[1]), process
    assert process[2] == "-"  # no fan under Process()
    assert on[4] == "1.00x"  # the reference row is 1x itself
    for peer in ("luigi", "kedro"):
        if importlib.util.find_spec(peer) is None:
            assert f"{peer}: not installed (pip install {peer}), skipped" in lines
        else:
            assert any(line.startswith(peer) for line in lines[lines.index(header) + 1 :])
    assert "dagster: skipped (--quick)" in lines
    mlflow = "installed" if importlib.util.find_spec("mlflow") else "not installed"
    assert any(line.startswith(f"lineage on: mlflow is {mlflow} here") for line in lines)
    # either the run waits for MLflow, or a later 'lineage sync --wait' is timed
    assert any(
        re.match(r"lineage on: (runs return once MLflow|'lineage sync --wait' after a run)", line)
        for line in lines
    )
    targets = lines[lines.index("targets (issue 16):") + 1 :]
    assert re.fullmatch(
        rf"  lineage on, 1-step run <= 0\.3 s: {NUMBER} s (met|MISSED)( \(below noise\))?",
        targets[0],
    )
    assert re.fullmatch(
        rf"  Process\(\), per extra step <= 20 ms: {NUMBER} ms (met|MISSED)( \(below noise\))?",
        targets[-2],
    )
    assert re.fullmatch(
        rf"  \(Process\(\) vs Local\(\), lineage on, 3-step chain: {NUMBER} vs {NUMBER} ms "
        r"per extra step\)",
        targets[-1],
    )
    assert targets[-3] == "  4-step chain, on / off <= 1.5x: not measured (--quick)"
    assert re.fullmatch(rf"  import dagwright <= 0\.08 s: -?{NUMBER} s (met|MISSED).*", targets[-4])
    assert re.fullmatch(r"-?\d+\.\d{3}", on[6]) and off[6] == "-"  # import: lineage-on row only


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--only", "dagwright,airflow"), "--only"),
        (("--sizes", "50,100"), "--sizes"),
        (("--peer-python", "no-such-python"), "--peer-python"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(args: tuple[str, ...], field: str) -> None:
    out = bench(*args, timeout=60)
    assert out.returncode == 2
    assert field in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_a_failing_peer_is_reported_and_left_out_of_the_table(tmp_path: Path) -> None:
    # an interpreter that says it has luigi, then fails every script it is given
    fake = tmp_path / "python"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "-c" ]; then echo luigi; exit 0; fi\n'
        'echo "boom: no luigi here" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    out = bench(
        *("--repeats", "1", "--sizes", "3,3,4", "--only", "luigi,kedro"),
        *("--peer-python", str(fake), "--peer-python", sys.executable),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("case ")))
    assert not any(line.startswith("luigi") for line in lines[header + 1 :] if "failed" not in line)
    assert (
        "luigi (no run records): failed, not in the table: 1-step run failed (exit 1): "
        "boom: no luigi here" in lines
    )
    if importlib.util.find_spec("kedro") is None:
        assert "kedro: not installed (pip install kedro), skipped" in lines
    assert "targets (issue 16):" not in lines  # dagwright was not measured
