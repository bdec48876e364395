"""The syncer against what other processes do to a store while it uploads: a marker replaced
mid-upload (a resume, ``lineage sync RUN --tracking-uri``) is neither removed nor overwritten.

A fake writer stands in for MLflow and does the other process's part at a chosen moment of
the upload, so each race happens every time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dagwright.engine.result import RunResult
from dagwright.lineage import syncer, tracking
from dagwright.lineage import writer as writer_module
from dagwright.lineage.graph import Lineage
from dagwright.lineage.mlflow_sink import MlflowSink, write_marker
from dagwright.lineage.recorder import save

RUN = "flow-20261205-000000-abcd"
URI = "http://127.0.0.1:9"


def recorded(root: Path) -> Path:
    """A store holding one run's graph and a marker (its first execution's payloads)."""
    folder = root / "lineage"
    lineage = Lineage()
    lineage.add_run(RUN, "flow", {}, started=1.0, status="running")
    lineage.finish_run(RUN, status="succeeded", ended=2.0)
    save(lineage, folder / f"{RUN}.json")
    write_marker(folder / f"{RUN}.pending", URI, None, payload(1000), [])
    return folder


def payload(start: int) -> dict[str, Any]:
    return {"run_id": RUN, "pipeline": "flow", "start": start, "tags": {}}


def resume(root: Path) -> None:
    """A resume of the run ends: its sink writes the run's markers as it does for any run."""
    sink = MlflowSink(URI, root, background=False)
    sink.run_started(RUN, "flow", 2.0)
    sink.run_ending(RUN)
    sink.run_finished(RUN, Lineage(), RunResult(RUN, "flow", "succeeded"))


class FakeWriter:
    """Answers from a script; at its first upload, a resume writes the run's new marker."""

    script: list[bool] = []
    sent: list[dict[str, Any]] = []
    during: Any = None

    def sync_run(self, uri: str, run: dict[str, Any], steps: Any, text: str) -> dict[str, Any]:
        FakeWriter.sent.append(run)
        if FakeWriter.during is not None:
            during, FakeWriter.during = FakeWriter.during, None
            during()
        ok = FakeWriter.script.pop(0)
        return {"ok": ok, "error": None if ok else "ConnectionError: down", "retry": True}

    def close(self) -> None:
        pass


@pytest.fixture
def fake_writer(monkeypatch: pytest.MonkeyPatch) -> type[FakeWriter]:
    FakeWriter.script, FakeWriter.sent, FakeWriter.during = [], [], None
    monkeypatch.setattr(writer_module, "Writer", FakeWriter)
    monkeypatch.setattr(syncer, "BACKOFF", (0.01,))
    monkeypatch.setattr(syncer, "start", lambda root, uris=None: None)
    return FakeWriter


@pytest.mark.parametrize("first_landed", [True, False], ids=["landed", "failed"])
def test_a_marker_replaced_during_an_upload_survives_and_is_uploaded_again(
    tmp_path: Path, fake_writer: type[FakeWriter], first_landed: bool
) -> None:
    folder = recorded(tmp_path)

    fake_writer.script = [first_landed, False, True]  # the new marker: fails once, then lands
    fake_writer.during = lambda: resume(tmp_path)
    drained = syncer.drain(tmp_path, retry_for=60)
    assert drained is not None
    # the old upload did not settle the new marker: it was sent, failed (and kept its own
    # payloads, not the old ones), then landed
    assert [run["start"] for run in fake_writer.sent] == [1000, 2000, 2000]
    assert list(drained.landed) == [RUN] and not drained.failed
    assert not (folder / f"{RUN}.pending").exists()
    assert tracking.state(tmp_path, RUN)["state"] == "in_mlflow"


def test_a_marker_replaced_during_a_failed_upload_keeps_its_payloads(
    tmp_path: Path, fake_writer: type[FakeWriter]
) -> None:
    folder = recorded(tmp_path)

    fake_writer.script = [False, False]
    fake_writer.during = lambda: resume(tmp_path)
    drained = syncer.drain(tmp_path, retry_for=0.001)  # gives up after the first failure
    assert drained is not None and RUN in drained.failed
    kept = json.loads((folder / f"{RUN}.pending").read_text())
    assert kept["run"]["start"] == 2000  # the resumed run's payloads, not the old ones
    assert [run["start"] for run in fake_writer.sent] == [1000, 2000]
    assert tracking.state(tmp_path, RUN)["state"] == "pending"


def test_a_marker_written_before_its_graph_waits_for_it(
    tmp_path: Path, fake_writer: type[FakeWriter]
) -> None:
    """A run writes a marker, then its graph, then completes the marker: a syncer that comes
    in between (or after a crash before the graph) leaves the marker, reports nothing, and
    sends the run once its graph and marker are there."""
    folder = tmp_path / "lineage"
    write_marker(folder / f"{RUN}.pending", URI, None, None, None)  # MlflowSink.run_ending
    drained = syncer.drain(tmp_path, retry_for=60)
    assert drained is not None and not drained.landed and not drained.failed
    assert fake_writer.sent == [] and (folder / f"{RUN}.pending").exists()
    recorded(tmp_path)  # the graph, then the complete marker
    fake_writer.script = [True]
    drained = syncer.drain(tmp_path, retry_for=60)
    assert drained is not None and list(drained.landed) == [RUN]
    assert tracking.state(tmp_path, RUN)["state"] == "in_mlflow"
