"""Removing one recorded run for ``dagwright runs rm`` and ``runs gc``: its rows, the cache
entries that point at its artifacts, its artifact folder, its lineage files and live logs.

Artifacts are removed only where the run wrote them: the folder ``<location>/<run id>`` that
the run database records, when it is a real folder inside that location (a symlink planted in
its place, or one that leads out of it, is left alone, and ``shutil.rmtree`` never follows the
links inside). Runs that are still running are refused.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError


def remove_run(store: Any, db: Any, run: dict[str, Any], dry_run: bool) -> str:
    """Remove one run (rows first, then files: a failure leaves orphan files, never a listed
    run whose artifacts are gone); the line that says what was removed."""
    run_id, artifacts = run["run_id"], run["artifacts"]
    if run["status"] == "running":
        raise ValidationError(
            f"run '{run_id}' is running",
            field="RUN",
            fix="wait for it to end (or stop it) before removing it",
        )
    folder = _artifact_folder(artifacts, run_id)
    where = f", artifacts {artifacts}" if folder or not _local(artifacts) else ""
    if dry_run:
        return f"would remove {run_id} ({run['status']}{where})"
    steps = db.remove_run(run_id, artifacts)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    elif not _local(artifacts) and artifacts.rstrip("/").endswith("/" + run_id):
        from dagwright.store import remote

        fs, path = remote.filesystem(artifacts)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    for suffix in (".json", ".pending", ".mlflow"):  # its graph, and whether MLflow has it
        lineage = store.root / "lineage" / f"{run_id}{suffix}"
        if lineage.is_file() and not lineage.is_symlink():
            lineage.unlink()
    from dagwright.store.live_logs import remove_live_logs

    remove_live_logs(store.root, run_id)  # what its steps printed while they ran
    return f"removed {run_id} ({run['status']}, {steps} step(s){where})"


def _local(uri: str) -> bool:
    from dagwright.store.remote import is_local

    return is_local(uri)


def _artifact_folder(artifacts: str, run_id: str) -> Path | None:
    """The run's local artifact folder when it is safe to delete: named after the run, a real
    folder (not a symlink), resolving inside the location that holds it."""
    from dagwright.store.remote import local_path

    if not _local(artifacts):
        return None
    folder = Path(local_path(artifacts))
    if folder.name != run_id or folder.is_symlink() or not folder.is_dir():
        return None
    location = os.path.realpath(folder.parent)
    if os.path.dirname(os.path.realpath(folder)) != location:
        return None
    return folder
