"""The embedded default store: a folder on the local disk.

Layout under the root (``$DAGWRIGHT_HOME``, else ``./.dagwright``)::

    runs.db                                        the run database (SQLite)
    artifacts/<run_id>/<task>/<output>             an artifact of a task outside loops
    artifacts/<run_id>/<task>/<i>[.<j>]/<output>   of loop iteration i (nested loops: i.j)
"""

from __future__ import annotations

import os
from pathlib import Path

from dagwright.store.rundb import RunDatabase


def default_root() -> Path:
    return Path(os.environ.get("DAGWRIGHT_HOME") or ".dagwright")


class LocalStore:
    """Artifact paths and the run database under one root folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def run_dir(self, run_id: str) -> Path:
        """The folder holding one run's artifacts."""
        return self.root / "artifacts" / run_id

    def artifact_uri(self, run_id: str, task: str, iteration: tuple[int, ...], output: str) -> str:
        folder = self.run_dir(run_id) / task
        if iteration:
            folder = folder / ".".join(str(i) for i in iteration)
        return str((folder / output).absolute())

    def database(self) -> RunDatabase:
        return RunDatabase(self.root / "runs.db")
