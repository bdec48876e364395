"""The background syncers of the stores under a test's folder (see conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path


def syncer_pids(folder: Path) -> list[int]:
    """The ``python -m dagwright.lineage.syncer`` processes working on a store under folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "dagwright.lineage.syncer" in argv and any(a.startswith(str(folder)) for a in argv):
            found.append(int(entry.name))
    return found


def wait_for_syncers(folder: Path, timeout: float = 60.0) -> bool:
    """Wait for the syncers of the stores under folder to end; False if some did not."""
    deadline = time.monotonic() + timeout
    while syncer_pids(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def started_syncers(folder: Path, timeout: float = 30.0) -> list[int]:
    """The syncers under folder once one shows (a spawned process's command line is empty
    until it has exec'd); [] if none did in time."""
    deadline = time.monotonic() + timeout
    while not syncer_pids(folder) and time.monotonic() < deadline:
        time.sleep(0.02)
    return syncer_pids(folder)
