"""``python -m bench kfp-import``: the table's arithmetic on given times, and the quick bench
as a user runs it (a real subprocess running dagwright and kfp.local, tiny sizes, one repeat),
checked for its shape. No figure is asserted: timings belong to the benchmark, not to tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.kfp_import import OFF, ON, PEER, Case, Sizes, header, rows, targets

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"-?\d+\.\d\d"


def case(row: str, short: float, long: float, fan: float) -> Case:
    return Case(row, Path("."), {}, best={"short": short, "long": long, "fan": fan})


def test_fixed_and_per_step_costs_come_from_the_two_chains() -> None:
    sizes = Sizes(short=10, long=50, fan=98)
    # kfp.local: 0.5 s a step, 2 s fixed; dagwright: 2 ms a step, 0.3 s fixed
    theirs = case(PEER, 2 + 10 * 0.5, 2 + 50 * 0.5, 2 + 100 * 0.5)
    ours = case(ON, 0.3 + 10 * 0.002, 0.3 + 50 * 0.002, 0.3 + 100 * 0.004)
    table = rows([ours, theirs], sizes)
    assert table[0] == (ON, "0.32", "0.40", "0.70", "0.30", "2.00", "4.00", "250x", "125x")
    assert table[1] == (
        PEER,
        "7.00",
        "27.00",
        "52.00",
        "2.00",
        "500.00",
        "500.00",
        "1.00x",
        "1.00x",
    )
    assert targets([ours, theirs], sizes) == [
        "  chain: per step >= 100x kfp.local: 250x met",
        "  fan: per step >= 100x kfp.local: 125x met",
    ]


def test_noise_and_failures_give_no_ratio() -> None:
    sizes = Sizes(short=2, long=4, fan=3)
    ours = case(ON, 0.5, 0.4, 0.45)  # the longer chain ran faster: below noise
    failed = case(OFF, 1, 2, 3)
    failed.failed = "short run failed"
    theirs = case(PEER, 2.0, 3.0, 4.0)
    table = rows([ours, failed, theirs], sizes)
    assert [r[0] for r in table] == [ON, PEER]  # a failed case is left out of the table
    assert table[0][5].startswith("-") and table[0][7] == "-"
    assert targets([ours, theirs], sizes)[0].endswith("met (dagwright below noise)")
    assert targets([failed, theirs], sizes) == ["  per step >= 100x kfp.local: not measured"]


def bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-m", "bench", "kfp-import", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.integration
def test_quick_table_measures_dagwright_and_kfp_local() -> None:
    pytest.importorskip("kfp.local")
    out = bench("--quick", "--sizes", "1,2,1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    first = next(line for line in lines if line.startswith("case "))
    assert first.split() == " ".join(header(Sizes(1, 2, 1))).split()
    assert lines[0].startswith("1 timed rounds (best; dagwright runs 1 times a round)")
    body = lines[lines.index(first) + 1 : lines.index(first) + 4]
    table = {line[:34].strip(): line[34:].split() for line in body}
    assert set(table) == {ON, OFF, PEER}, out.stdout  # every case ran and gave the right result
    for cells in table.values():
        assert all(re.fullmatch(NUMBER, c) for c in cells[:3]), cells  # seconds, as measured
        assert all(re.fullmatch(NUMBER, c) or c == "-" for c in cells[3:6]), cells
        assert all(re.fullmatch(r"\d+(\.\d\d)?x", c) or c == "-" for c in cells[6:]), cells
    assert not any("failed, not in the table" in line for line in lines)
    verdicts = lines[lines.index("targets (issue 17):") + 1 :]
    assert [v.split(":")[0] for v in verdicts] == ["  chain", "  fan"]
    for verdict in verdicts:
        assert re.fullmatch(
            r"  (chain|fan): per step >= 100x kfp\.local: "
            r"(\d+x (met|MISSED)|met \(dagwright below noise\)|not measured) \(--quick\)",
            verdict,
        ), verdict


@pytest.mark.parametrize("sizes", ["5,3,2", "5,20", "a,b,c", "0,2,2"])
def test_bad_sizes_are_refused_before_anything_runs(sizes: str) -> None:
    out = bench("--sizes", sizes, timeout=60)
    assert out.returncode == 2
    assert "--sizes" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""
