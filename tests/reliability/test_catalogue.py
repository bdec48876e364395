"""The reliability catalogue's size: at least 60 bad inputs and 20 faults.

Each case in ``tests/reliability`` is a bad input (a test, or a test class, named
``test_bad_*`` / ``TestBad*``) or a fault (``test_fault_*`` / ``TestFault*``); each
parametrized case counts once. The count is what pytest collects, so a case that is skipped
here still counts only if it is collected.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def kinds(node_ids: list[str]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for node_id in node_ids:
        parts = [p.split("[")[0] for p in node_id.split("::")[1:]]
        names = {p.lower().removeprefix("test").lstrip("_") for p in parts}
        for kind in ("bad", "fault"):
            if any(name.startswith(kind) for name in names):
                counted[kind] += 1
    return counted


def test_the_counting_reads_functions_classes_and_parameters() -> None:
    ids = [
        "a.py::test_bad_root[/proc/nope]",
        "a.py::test_bad_root[ro]",
        "a.py::TestFaults::test_sigkill",
        "a.py::TestBadParams::test_nested",
        "a.py::test_fault_sigterm",
        "a.py::test_other",
    ]
    assert kinds(ids) == Counter({"bad": 3, "fault": 2})


def test_the_catalogue_holds_60_bad_inputs_and_20_faults() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", HERE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    ids = [line for line in listed.stdout.splitlines() if "::" in line]
    counted = kinds(ids)
    assert counted["bad"] >= 60, counted
    assert counted["fault"] >= 20, counted
