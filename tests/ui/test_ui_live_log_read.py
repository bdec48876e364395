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


def test_a_named_pipe_planted_as_the_live_log_is_not_waited_on(tmp_path: Path) -> None:
    import os
    import threading

    root = tmp_path / "store"
    root.mkdir()
    _running_step(root)
    path = live_log_path(root, RUN, "talk", (), "stdout")
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    got: list[dict[str, object]] = []
    worker = threading.Thread(
        target=lambda: got.append(log_chunk(UiStore(root), RUN, "talk", None, "stdout", 0)),
        daemon=True,
    )
    worker.start()
    worker.join(10)
    if worker.is_alive():  # let the reader go, so no thread is left behind
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        raise AssertionError("the log tail waited on a planted pipe")
    assert got == [{"text": "", "offset": 0, "done": False}]
