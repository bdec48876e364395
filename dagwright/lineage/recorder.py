"""The engine's lineage observer: builds a run's provenance graph as its steps finish.

It runs on the engine's dispatch thread, so it only adds to an in-memory graph and hands
events to an optional sink (MLflow, through a background writer); the graph is written to
``<root>/lineage/<run_id>.json`` when the run ends, whatever the sink did.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dagwright.lineage.graph import Lineage, run_node

if TYPE_CHECKING:
    from dagwright.engine.result import RunResult, StepRecord
    from dagwright.pipelines.ir import PipelineIR


class LineageSink(Protocol):
    """Where lineage goes besides the local file (an MLflow tracking server)."""

    def run_started(self, run_id: str, pipeline: str, started: float) -> None:
        """A run began."""

    def step_finished(self, run_id: str, node: dict[str, Any], record: StepRecord) -> None:
        """A step finished; ``node`` is its node in the graph."""

    def run_ending(self, run_id: str) -> None:
        """The run ended; its graph is saved next (then ``run_finished``)."""

    def run_finished(self, run_id: str, lineage: Lineage, result: RunResult) -> None:
        """The run ended; ``lineage`` is its whole graph, saved."""


class LineageRecorder:
    """An engine Observer that records provenance.

    Args:
        ir: The pipeline being run.
        folder: Where ``<run_id>.json`` is written (``<root>/lineage``).
        sink: Also send the lineage there (optional).
    """

    def __init__(self, ir: PipelineIR, folder: Path, sink: LineageSink | None = None) -> None:
        self.ir = ir
        self.folder = folder
        self.sink = sink
        self.lineage = Lineage()
        self.run_id = ""
        self.tasks = {task.name for task in ir.tasks}

    def run_started(self, pipeline: str, run_id: str) -> None:
        """Add the run to the graph and tell the sink."""
        self.run_id = run_id
        started = time.time()
        self.lineage.add_run(run_id, pipeline, {}, started=started, status="running")
        if self.sink is not None:
            self.sink.run_started(run_id, pipeline, started)

    def step_started(self, record: StepRecord) -> None:
        """Nothing: a step enters the graph when it has finished."""
        pass  # a step enters the graph when it has finished

    def step_finished(self, record: StepRecord) -> None:
        """Add the step with what it used and generated."""
        from dagwright.engine.result import jsonable

        if record.task not in self.tasks:
            return  # a block whose condition or items failed: no step ran
        spec = self.ir.component_of(record.task)
        outputs = {k: jsonable(v) for k, v in (record.outputs or {}).items()}
        inputs = record.inputs
        if spec.importer is not None and outputs:  # dagwright.importer: the artifact came from
            # outside the run, so the step used it (as its readers do); nothing here made it
            artifacts = {**(inputs or {}).get("artifacts", {}), "artifact": outputs.pop("artifact")}
            inputs = {**(inputs or {}), "artifacts": artifacts}
        node = self.lineage.add_step(
            self.run_id,
            record.label,
            task=record.task,
            component=spec.name,
            component_digest=spec.digest,
            status=record.status,
            inputs=inputs,
            outputs=outputs,
            cache_key=record.cache_key,
            cached=record.cached or record.reused,
            duration=record.duration,
        )
        if self.sink is not None:
            attrs = dict(self.lineage.node(node))
            self.sink.step_finished(self.run_id, {"id": node, **attrs}, record)

    def run_finished(self, result: RunResult) -> None:
        """Add the run's parameters and end, write the graph and tell the sink."""
        lineage = self.lineage
        lineage.add_params(run_node(self.run_id), result.params)
        lineage.finish_run(self.run_id, status=result.status, ended=time.time())
        if self.sink is not None:  # e.g. a marker first: a crash after the graph loses nothing
            self.sink.run_ending(self.run_id)
        save(lineage, self.folder / f"{self.run_id}.json")
        if self.sink is not None:
            self.sink.run_finished(self.run_id, lineage, result)


def save(lineage: Lineage, path: Path) -> None:
    """Write a graph as node-link JSON, atomically, readable by its owner only."""
    from dagwright.writes import write_file

    text = json.dumps(lineage.to_json(), sort_keys=True, default=str)
    write_file(path, text, private=True)


def load(path: Path) -> Lineage:
    """A graph written by ``save``."""
    return Lineage.from_json(json.loads(path.read_text(encoding="utf-8")))
