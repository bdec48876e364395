"""The lineage sink for MLflow: nothing MLflow-related on the run's path.

The engine calls the sink on its dispatch thread. ``step_finished`` turns the step into a small
dict (``payload.py``) kept in memory; ``run_ending`` writes a ``<run>.pending`` marker that
says "rebuild from the graph" before the recorder saves the graph, and ``run_finished`` then
completes it: where the run goes and what MLflow should receive (a crash in between leaves
the run to be sent from its graph). The run
is then complete; ``syncer.start`` uploads it in a background process (unless the caller waits
for MLflow itself: ``dagwright run --wait-lineage``, ``syncer.drain``). No mlflow import, no
process waited for.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.lineage import payload
from dagwright.redact import redact_text, redact_uri

if TYPE_CHECKING:
    from dagwright.engine.result import RunResult, StepRecord
    from dagwright.lineage.graph import Lineage

MARKER_LOCK = "marker.lock"
FLUSH_TIMEOUT = 120.0  # seconds MLflow may fail before runs are left pending; env overrides
log = logging.getLogger("dagwright.lineage")


@dataclass
class FlushStats:
    """How one run's lineage reached MLflow (``tracking.stats(run_id)``).

    Attributes:
        calls: MLflow calls made for the run (each retry counts), run level plus steps.
        step_calls: The part of ``calls`` made for step runs.
        steps: Step runs recorded.
        flush_seconds: How long the run waited for MLflow (``--wait-lineage``; else 0).
        engine_seconds: Time the engine's thread spent in this sink.
        slowest_call: The longest single sink call on the engine's thread, in seconds.
        pending: The run awaits the syncer or ``sync`` (see ``error``).
    """

    run_id: str
    tracking_uri: str
    calls: int = 0
    step_calls: int = 0
    steps: int = 0
    flush_seconds: float = 0.0
    engine_seconds: float = 0.0
    slowest_call: float = 0.0
    pending: bool = True
    error: str | None = None
    mlflow_run_id: str | None = None


STATS: dict[str, FlushStats] = {}  # the last runs of this process, by dagwright run id


@dataclass
class _Run:
    start: dict[str, Any]
    stats: FlushStats
    steps: list[dict[str, Any]] = field(default_factory=list)
    lost: bool = False  # a step's payload failed: the marker says "rebuild from the graph"


class MlflowSink:
    """A ``LineageSink`` that leaves each run's MLflow payloads in its ``.pending`` marker.

    Args:
        tracking_uri: Where runs go (resolved already; see ``tracking.resolve_uri``).
        root: The store folder; ``<root>/lineage`` holds the graphs and markers.
        background: Start a background syncer when a run ends (False: the caller uploads).
    """

    def __init__(self, tracking_uri: str, root: Path, background: bool = True) -> None:
        self.tracking_uri = tracking_uri
        self.root = Path(root)
        self.folder = self.root / "lineage"
        self.background = background
        self.runs: dict[str, _Run] = {}

    def run_started(self, run_id: str, pipeline: str, started: float) -> None:
        """Keep the run's start."""
        began = time.perf_counter()
        stats = FlushStats(run_id, redact_uri(self.tracking_uri))
        run = _Run(payload.run_start(run_id, pipeline, started), stats)
        self.runs[run_id] = run
        self._took(run, began)

    def step_finished(self, run_id: str, node: dict[str, Any], record: StepRecord) -> None:
        """Keep the step's nested MLflow run; a failure is logged, never raised."""
        began = time.perf_counter()
        run = self.runs.get(run_id)
        if run is None:
            return
        try:
            run.steps.append(payload.step_payload(run_id, node, record))
        except Exception as exc:  # the graph has the step: the upload rebuilds it from there
            run.lost = True
            log.warning("lineage: step payload of run %s failed: %s", run_id, redact_text(str(exc)))
        self._took(run, began)

    def run_ending(self, run_id: str) -> None:
        """Before the graph is saved, a marker saying "rebuild the payloads from the graph":
        a crash between the graph and ``run_finished``'s marker leaves the run to be sent."""
        if run_id not in self.runs:
            return
        began = time.perf_counter()
        with marker_lock(self.folder):
            write_marker(self.folder / f"{run_id}.pending", self.tracking_uri, None, None, None)
            (self.folder / f"{run_id}.mlflow").unlink(missing_ok=True)  # a resumed run: again
        self._took(self.runs[run_id], began)

    def run_finished(self, run_id: str, lineage: Lineage, result: RunResult) -> None:
        """Write the marker (the graph is saved already) and start the syncer."""
        run = self.runs.pop(run_id, None)
        if run is None:
            return
        marker = self.folder / f"{run_id}.pending"
        with marker_lock(self.folder):  # a syncer uploading this run's last marker keeps this one
            try:
                final = payload.run_end(run.start, result)
                kept = None if run.lost else run.steps
                write_marker(marker, self.tracking_uri, None, None if run.lost else final, kept)
            except Exception as exc:
                error = redact_text(str(exc))
                log.warning("lineage: marker of run %s failed: %s", run_id, error)
                # no payloads: sync rebuilds them from the graph the recorder saved
                write_marker(marker, self.tracking_uri, error, None, None)
            (self.folder / f"{run_id}.mlflow").unlink(missing_ok=True)  # a resumed run: again
        STATS[run_id] = run.stats
        while len(STATS) > 256:
            del STATS[next(iter(STATS))]
        if self.background:
            from dagwright.lineage.syncer import start

            start(self.root, [self.tracking_uri])

    @staticmethod
    def _took(run: _Run, began: float) -> None:
        took = time.perf_counter() - began
        run.stats.engine_seconds += took
        run.stats.slowest_call = max(run.stats.slowest_call, took)


@contextlib.contextmanager
def marker_lock(folder: Path) -> Iterator[None]:
    """Held while a ``.pending`` marker is written (with its ``.mlflow`` record removed), and
    while the syncer checks that the marker it uploaded is still the one it read and settles
    it: never across an upload, so a run's path waits for a stat and a rename at most."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the syncer's identity check alone is left
        yield
        return
    from dagwright.writes import make_dir

    make_dir(folder, private=True)
    fd = os.open(folder / MARKER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing it releases the lock


def write_marker(
    path: Path,
    uri: str,
    reason: str | None,
    run: dict[str, Any] | None,
    steps: list[dict[str, Any]] | None,
) -> None:
    """The ``.pending`` marker: where the run was going, why it did not get there yet (None:
    not tried yet), and what MLflow should receive (the payloads hold what the graph does
    not, such as metrics; None when they were lost, and ``sync`` rebuilds them)."""
    from dagwright.writes import write_file

    # never the password: the syncer gets it back from its environment, --tracking-uri,
    # $MLFLOW_TRACKING_URI or MLflow's own MLFLOW_TRACKING_USERNAME/PASSWORD
    data = {
        "tracking_uri": redact_uri(uri),
        "reason": redact_text(reason) if reason else reason,
        "tried": time.time() if reason else None,
        "run": run,
        "steps": steps,
    }
    write_file(path, json.dumps(data, sort_keys=True, default=str), private=True)


def write_landed(path: Path, uri: str, mlflow_run_id: str | None) -> None:
    """The ``<run>.mlflow`` record of a run whose lineage MLflow has (``runs show``)."""
    from dagwright.writes import write_file

    data = {"tracking_uri": redact_uri(uri), "mlflow_run_id": mlflow_run_id, "at": time.time()}
    write_file(path, json.dumps(data, sort_keys=True), private=True)


def identity(path: Path) -> tuple[int, int] | None:
    """A file's inode and mtime (ns), None when there is none: a replaced file has others."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_mtime_ns


def read_identified(path: Path) -> tuple[str, tuple[int, int]]:
    """A file's text and the identity of what was read (from the open file: no race)."""
    with open(path, encoding="utf-8") as f:
        found = os.fstat(f.fileno())
        return f.read(), (found.st_ino, found.st_mtime_ns)
