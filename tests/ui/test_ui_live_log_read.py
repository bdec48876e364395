"""The UI's tail of a running step's live log (``data.log_chunk``) reads only the log file
the engine wrote: a symlink planted in the logs folder is not followed out of the store."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dagwright.store import live_log_path
from dagwright.store.rundb import RunDatabase
from dagwright.ui.data import UiStore, log_chunk

RUN = "r-live-1"


def _running_step(root: Path) -> None:
    ir = {"name": "p", "tasks": [{"name": "talk", "component": "c"}], "components": {}}
    db = RunDatabase(root / "runs.db")
    try:
        db.start_run(RUN, "p", {}, json.dumps(ir), str(root / "artifacts" / RUN))
        row = {"task": "talk", "iteration": (), "status": "running", "attempts": 1, "cached": 0}
        db.save_steps(RUN, [{**row, "started": time.time()}])
    finally:
        db.close()


def test_a_running_steps_live_log_is_tailed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    _running_step(root)
    path = live_log_path(root, RUN, "talk", (), "stdout")
    path.parent.mkdir(parents=True)
    path.write_text("step 1\nstep 2 (half a li")
    chunk = log_chunk(UiStore(root), RUN, "talk", None, "stdout", 0)
    assert chunk == {"text": "step 1\n", "offset": 7, "done": False}


def test_a_symlinked_live_log_is_not_followed_out_of_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    _running_step(root)
    secret = tmp_path / "private.txt"
    secret.write_text("the private key\n")
    path = live_log_path(root, RUN, "talk", (), "stdout")
    path.parent.mkdir(parents=True)
    path.symlink_to(secret)
    chunk = log_chunk(UiStore(root), RUN, "talk", None, "stdout", 0)
    assert "private key" not in chunk["text"] and chunk["done"] is False
    # nor through the run's log folder made a symlink
    path.unlink()
    path.parent.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / path.name).write_text("the private key\n")
    path.parent.symlink_to(elsewhere)
    chunk = log_chunk(UiStore(root), RUN, "talk", None, "stdout", 0)
    assert "private key" not in chunk["text"]
