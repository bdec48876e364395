"""Fixtures for the lineage tests: a real ``mlflow server`` on 127.0.0.1, once per session.

Runs in these tests record lineage in MLflow only when they ask for it (a tracking URI, or the
``default_tracking`` fixture): ``DAGWRIGHT_TRACKING=off`` otherwise, so the graph tests do not
create an MLflow database per run. A run that sends lineage starts a background syncer: each
test waits for the syncers of its folder to end, and kills (by pid) any still there after a
minute, so none outlives its test.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow_server import MlflowServer, free_port, start_server, stop, wait_until_up
from syncers import syncer_pids, wait_for_syncers


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real ``mlflow server`` on 127.0.0.1 with a SQLite backend, for the whole session."""
    pytest.importorskip("mlflow")
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    proc = start_server(folder, port)
    try:
        wait_until_up(proc, uri, folder)
        yield MlflowServer(uri, folder / "access.log")
    finally:
        stop(proc)


@pytest.fixture(autouse=True)
def _tracking_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWRIGHT_TRACKING", "off")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def default_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracking as a user gets it: on, to the default SQLite file under the store folder."""
    pytest.importorskip("mlflow")
    monkeypatch.delenv("DAGWRIGHT_TRACKING", raising=False)


@pytest.fixture(autouse=True)
def _no_syncer_left(tmp_path: Path) -> Iterator[None]:
    yield
    if not wait_for_syncers(tmp_path):
        for pid in syncer_pids(tmp_path):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
