"""The embedded default store: a folder of runs on the local disk.

Layout under the root (``$DAGWRIGHT_HOME``, else ``./.dagwright``)::

    runs/<run_id>/run.json                   the run record
    runs/<run_id>/<task>/<output>            an artifact of a task outside loops
    runs/<run_id>/<task>/<i>[.<j>]/<output>  an artifact of loop iteration i (nested: i.j)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def default_root() -> Path:
    return Path(os.environ.get("DAGWRIGHT_HOME") or ".dagwright")


class LocalStore:
    """Artifact paths and run records under one root folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def artifact_uri(self, run_id: str, task: str, iteration: tuple[int, ...], output: str) -> str:
        folder = self.run_dir(run_id) / task
        if iteration:
            folder = folder / ".".join(str(i) for i in iteration)
        return str((folder / output).absolute())

    def write_record(self, run_id: str, record: dict[str, Any]) -> Path:
        """Write the run record atomically: readers see the old or the new file, never half."""
        path = self.run_dir(run_id) / "run.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def read_record(self, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir(run_id) / "run.json").read_text())
        return data
