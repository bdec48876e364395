"""The lineage sink that records runs in MLflow without ever making a step wait.

The engine calls the sink on its dispatch thread. ``step_finished`` turns the step into a
small dict (``payload.py``) and puts it on a bounded queue with ``put_nowait``; a feeder thread
writes the queue to the writer process (``writer.py``, fed by ``writer_channel.py``), which makes
the MLflow calls. When the
queue is full (or the writer is gone) the step is not waited for: it is kept here and sent with
the run's ``finish`` message instead ("drop to local": it reaches MLflow during the flush).

``run_finished`` is the flush: it sends ``finish`` (the steps kept here and the graph) and waits
for the writer to answer that the whole run is in MLflow, at most ``flush_timeout`` seconds. If
MLflow could not be reached (after the uploader's retries) or the answer is late, the run still
finishes: its graph is already in ``<root>/lineage/<run_id>.json`` (the recorder wrote it) and
``<run_id>.pending`` says it awaits ``dagwright lineage sync`` (``tracking.sync``).

One writer process serves every run of this process; it starts with the first run.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.lineage import payload
from dagwright.lineage.writer_channel import Channel, channel
from dagwright.lineage.writer_channel import close_writer as close_writer  # its former home
from dagwright.redact import redact_text, redact_uri

if TYPE_CHECKING:
    from dagwright.engine.result import RunResult, StepRecord
    from dagwright.lineage.graph import Lineage

FLUSH_TIMEOUT = 120.0  # seconds; $DAGWRIGHT_TRACKING_FLUSH_TIMEOUT overrides it
ABANDON_WAIT = 5.0  # seconds a run waits, after its flush timed out, for what got through
log = logging.getLogger("dagwright.lineage")


@dataclass
class FlushStats:
    """How one run's lineage reached MLflow (``tracking.stats(run_id)``).

    Attributes:
        calls: MLflow calls made for the run (each retry counts), run level plus steps.
        step_calls: The part of ``calls`` made for step runs.
        steps: Step runs recorded.
        dropped: Steps the queue could not take; they were sent with the flush.
        flush_seconds: How long ``run_finished`` waited for the writer.
        engine_seconds: Time the engine's thread spent in this sink before the flush.
        slowest_call: The longest single sink call on the engine's thread, in seconds.
        pending: The run awaits ``sync`` (see ``error``).
    """

    run_id: str
    tracking_uri: str
    calls: int = 0
    step_calls: int = 0
    steps: int = 0
    dropped: int = 0
    flush_seconds: float = 0.0
    engine_seconds: float = 0.0
    slowest_call: float = 0.0
    pending: bool = False
    error: str | None = None
    mlflow_run_id: str | None = None


STATS: dict[str, FlushStats] = {}  # the last runs of this process, by dagwright run id


@dataclass
class _Run:
    token: str
    start: dict[str, Any]
    stats: FlushStats
    channel: Channel | None = None
    live: bool = False  # the writer has the run's start: steps may go one by one
    steps: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)  # not queued: sent at the flush


class MlflowSink:
    """A ``LineageSink`` writing to MLflow through the writer process.

    Args:
        tracking_uri: Where runs go (resolved already; see ``tracking.resolve_uri``).
        root: The store folder; ``<root>/lineage`` holds the graphs and ``.pending`` markers.
        flush_timeout: Seconds a run waits at its end for MLflow.
        connect: Returns the channel to the writer (tests stall it to fill the queue).
    """

    def __init__(
        self,
        tracking_uri: str,
        root: Path,
        flush_timeout: float | None = None,
        connect: Any = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.folder = Path(root) / "lineage"
        env_timeout = os.environ.get("DAGWRIGHT_TRACKING_FLUSH_TIMEOUT")
        self.flush_timeout = flush_timeout or float(env_timeout or FLUSH_TIMEOUT)
        self.connect = connect or channel
        self.runs: dict[str, _Run] = {}

    # The engine calls these on its dispatch thread: they never wait on MLflow, and a failure
    # here is logged and leaves the run to `sync`, never fails it.

    def run_started(self, run_id: str, pipeline: str, started: float) -> None:
        """Queue the run's MLflow run; a failure is logged, never raised."""
        try:
            self._run_started(run_id, pipeline, started)
        except Exception as exc:
            self._broken(run_id, exc)

    def step_finished(self, run_id: str, node: dict[str, Any], record: StepRecord) -> None:
        """Queue the step's nested MLflow run; a failure is logged, never raised."""
        try:
            self._step_finished(run_id, node, record)
        except Exception as exc:
            self._broken(run_id, exc)

    def run_finished(self, run_id: str, lineage: Lineage, result: RunResult) -> None:
        """Hand over the run's end and wait for the flush; a failure is logged and left to
        ``sync``."""
        try:
            self._run_finished(run_id, lineage, result)
        except Exception as exc:
            error = redact_text(str(exc))
            log.warning("recording run %s in MLflow failed: %s", run_id, error)
            # no payloads: sync rebuilds them from the graph the recorder saved
            write_marker(self.folder / f"{run_id}.pending", self.tracking_uri, error, None, None)
            STATS[run_id] = FlushStats(
                run_id, redact_uri(self.tracking_uri), pending=True, error=error
            )

    def _run_started(self, run_id: str, pipeline: str, started: float) -> None:
        began = time.perf_counter()
        token = f"{run_id}/{secrets.token_hex(4)}"
        stats = FlushStats(run_id, redact_uri(self.tracking_uri))
        run = _Run(token, payload.run_start(run_id, pipeline, started), stats)
        self.runs[run_id] = run
        try:
            run.channel = self.connect()
        except OSError as exc:  # no writer: everything goes to the .pending marker
            run.stats.error = f"cannot start the MLflow writer: {exc}"
        else:
            start = {"op": "start", "token": token, "uri": self.tracking_uri, "run": run.start}
            run.live = run.channel.post(start)
        self._took(run, began)

    def _step_finished(self, run_id: str, node: dict[str, Any], record: StepRecord) -> None:
        began = time.perf_counter()
        run = self.runs.get(run_id)
        if run is None:
            return
        step = payload.step_payload(run_id, node, record)
        run.steps.append(step)
        message = {"op": "step", "token": run.token, "step": step}
        if not (run.live and run.channel is not None and run.channel.post(message)):
            run.kept.append(step)  # never block the engine: this one goes with the flush
        self._took(run, began)

    def _broken(self, run_id: str, exc: Exception) -> None:
        error = redact_text(f"{type(exc).__name__}: {exc}")
        log.warning("recording run %s in MLflow failed: %s", run_id, error)
        run = self.runs.get(run_id)
        if run is not None:
            run.channel = None  # the run's end writes the .pending marker
            run.stats.error = run.stats.error or error

    def _run_finished(self, run_id: str, lineage: Lineage, result: RunResult) -> None:
        began = time.perf_counter()
        run = self.runs.pop(run_id, None)
        if run is None:
            return
        stats = run.stats
        final = payload.run_end(run.start, result)
        answer: dict[str, Any] = {"ok": False, "error": stats.error}
        if run.channel is not None:
            reply = run.channel.expect(run.token)
            message = {
                "op": "finish",
                "token": run.token,
                "uri": self.tracking_uri,
                "run": final,
                "steps": run.kept if run.live else run.steps,
                "lineage": json.dumps(lineage.to_json(), sort_keys=True, default=str),
            }
            if not run.channel.post(message, timeout=self.flush_timeout):
                answer["error"] = "the MLflow writer did not take the run's end in time"
            elif reply.event.wait(max(0.0, self.flush_timeout - (time.perf_counter() - began))):
                answer = reply.message
            else:
                late = f"MLflow did not take the lineage in {self.flush_timeout:g}s"
                run.channel.post({"op": "abandon", "token": run.token})
                # the writer stops and says how far it got, which the run reports
                answer = {**reply.message, "ok": False} if reply.event.wait(ABANDON_WAIT) else {}
                answer.setdefault("steps", reply.sent)
                answer["error"] = late
        calls = answer.get("calls") or {}
        stats.calls = calls.get("run", 0) + calls.get("step", 0)
        stats.step_calls = calls.get("step", 0)
        stats.steps = answer.get("steps", 0)
        stats.dropped = len(run.kept)
        stats.mlflow_run_id = answer.get("mlflow_run_id")
        stats.pending = not answer.get("ok")
        stats.error = redact_text(answer["error"]) if answer.get("error") else None
        marker = self.folder / f"{run_id}.pending"
        if stats.pending:
            write_marker(marker, self.tracking_uri, stats.error, final, run.steps)
            # the pipeline's own MLflow run counts: it is complete only once terminated
            total = len(run.steps) + 1
            reason = (stats.error or "").strip().splitlines()[0] if stats.error else "unknown"
            log.warning(
                "lineage: %s of %s MLflow runs of run %s pending (%s); they are kept in %s and "
                "`dagwright lineage sync` finishes them",
                f"{total - min(stats.steps, total - 1):,}",
                f"{total:,}",
                run_id,
                reason,
                self.folder,
            )
        else:
            marker.unlink(missing_ok=True)  # a resumed run that reached MLflow this time
        stats.flush_seconds = time.perf_counter() - began
        STATS[run_id] = stats
        while len(STATS) > 256:
            del STATS[next(iter(STATS))]

    @staticmethod
    def _took(run: _Run, began: float) -> None:
        took = time.perf_counter() - began
        run.stats.engine_seconds += took
        run.stats.slowest_call = max(run.stats.slowest_call, took)


def write_marker(
    path: Path,
    uri: str,
    reason: str | None,
    run: dict[str, Any] | None,
    steps: list[dict[str, Any]] | None,
) -> None:
    """The ``.pending`` marker: where the run was going, why it did not get there, and what
    MLflow should receive (the payloads hold what the graph does not, such as metrics; None
    when they were lost, and ``sync`` rebuilds them from the graph)."""
    from dagwright.writes import write_file

    # never the password: ``sync`` gets it back from --tracking-uri, $MLFLOW_TRACKING_URI or
    # MLflow's own MLFLOW_TRACKING_USERNAME/PASSWORD
    data = {
        "tracking_uri": redact_uri(uri),
        "reason": redact_text(reason) if reason else reason,
        "run": run,
        "steps": steps,
    }
    write_file(path, json.dumps(data, sort_keys=True, default=str), private=True)
