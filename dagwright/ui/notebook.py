"""Graph pages that need no store: a pipeline before it runs (``inspect --html``,
``Pipeline._repr_html_``) and a ``RunResult`` in a notebook (``RunResult._repr_html_``).

The pipelines and the engine sit below the UI; their ``_repr_html_`` methods import this
module inside the method, the one exception ``.importlinter`` allows ("the UI sits on top").
So this module imports nothing that pipelines or the engine may not: no store, no engine.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dagwright.redact import masked, redact_uri, scrub, secret_values
from dagwright.ui.report import in_iframe, standalone_html

if TYPE_CHECKING:
    from dagwright.engine.result import RunResult
    from dagwright.pipelines.ir import PipelineIR

EMPTY_GRAPH: dict[str, Any] = {"nodes": [], "edges": [], "width": 0, "height": 0}
# the frame's height around the graph: the header above it, the margins
_CHROME = 160


def pipeline_report(ir: dict[str, Any]) -> dict[str, Any]:
    """The report data of a pipeline before it runs (its IR as data): name and graph."""
    from dagwright.ui.graph import pipeline_graph

    return {"pipeline": {"name": ir.get("name"), "graph": dict(pipeline_graph(ir))}}


def pipeline_html(ir: PipelineIR) -> str:
    """A pipeline's graph for Jupyter: the standalone page in a sandboxed iframe."""
    data = pipeline_report(ir.to_dict())
    height = data["pipeline"]["graph"].get("height", 0) + _CHROME
    return in_iframe(standalone_html("pipeline", data), height)


def result_report(result: RunResult) -> dict[str, Any]:
    """The report data of a run that just ended here, from its ``RunResult`` (masked as
    ``runs show`` masks: secret parameters and outputs, secret values cut out of logs)."""
    secrets = secret_values(result.params)
    steps = []
    for record in result.steps:
        row = record.to_row()
        row["iteration"] = ".".join(str(i) for i in record.iteration)
        row["outputs"] = masked(json.loads(row["outputs"])) if row["outputs"] else None
        row["cached"] = bool(row["cached"])
        for field in ("error", "traceback", "stdout", "stderr"):
            row[field] = scrub(row[field], secrets)
        steps.append({"run_id": result.run_id, **row})
    run = {
        "run_id": result.run_id,
        "pipeline": result.pipeline,
        "status": result.status,
        "reason": result.reason,
        "params": masked(result.params),
        "outputs": masked(result.json_outputs()),
        "artifacts": redact_uri(result.artifacts or ""),
        "steps": steps,
        "graph": _graph(result, steps),
    }
    details = {(s["task"] + (f"[{s['iteration']}]" if s["iteration"] else "")): s for s in steps}
    return {"run": run, "steps_detail": details, "previews": {}}


def result_html(result: RunResult) -> str:
    """A run's graph, coloured by status, for Jupyter (a sandboxed iframe's ``srcdoc``)."""
    data = result_report(result)
    height = data["run"]["graph"].get("height", 0) + _CHROME
    return in_iframe(standalone_html("run", data), height)


def _graph(result: RunResult, steps: list[dict[str, Any]]) -> dict[str, Any]:
    if result.ir is None:  # a RunResult made by hand: no pipeline to draw
        return dict(EMPTY_GRAPH)
    from dagwright.ui.graph import run_graph

    return dict(run_graph(result.ir.to_dict(), steps))
