"""Graph pages that need no store: a pipeline before it runs (``inspect --html``,
``Pipeline._repr_html_``) and a ``RunResult`` in a notebook (``RunResult._repr_html_``).

The pipelines and the engine sit below the UI; their ``_repr_html_`` methods import this
module inside the method, the one exception ``.importlinter`` allows ("the UI sits on top").
So this module imports nothing that pipelines or the engine may not: no store, no engine.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dagwright.redact import masked, masked_outputs, redact_uri, scrub, secret_values, shown
from dagwright.ui.inputs import step_inputs
from dagwright.ui.report import in_iframe, standalone_html

if TYPE_CHECKING:
    from dagwright.engine.result import RunResult
    from dagwright.pipelines.ir import PipelineIR

EMPTY_GRAPH: dict[str, Any] = {"nodes": [], "edges": [], "width": 0, "height": 0}
# the frame's height around the graph: the page's header above it (a run's is taller), margins
_CHROME = {"pipeline": 200, "run": 320}


def shown_outputs(outputs: Any) -> Any:
    """A step's outputs with each artifact's metadata masked too (``redact.masked_outputs``)."""
    return masked_outputs(outputs) if isinstance(outputs, dict) else outputs


def step_key(step: dict[str, Any]) -> str:
    """A step's key in ``steps_detail``: ``task``, or ``task[0.1]`` inside loops."""
    return f"{step['task']}[{step['iteration']}]" if step.get("iteration") else step["task"]


def steps_detail(
    ir: dict[str, Any] | None, steps: list[dict[str, Any]], params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """What each step's panel shows beyond its row (the page merges the two): its component,
    display name, the parameters (masked) and the inputs it was given.

    Args:
        ir: The run's IR as data (None: names only).
        steps: The step rows, as ``runs show --json`` gives them.
        params: The run's parameters, already masked.
    """
    tasks = {t["name"]: t for t in (ir or {}).get("tasks", [])}
    found = {}
    for step in steps:
        task = tasks.get(step["task"], {})
        # as the UI's live step panel reads them (``data.step_detail``)
        plain, artifacts = step_inputs(task, step, steps, params)
        found[step_key(step)] = {
            "component": task.get("component"),
            "display_name": task.get("display_name"),
            "parameters": {name: shown(name, value) for name, value in plain.items()},
            "inputs": artifacts,
        }
    return found


def pipeline_report(ir: dict[str, Any]) -> dict[str, Any]:
    """The report data of a pipeline before it runs (its IR as data): name and graph."""
    from dagwright.ui.graph import pipeline_graph

    return {"pipeline": {"name": ir.get("name"), "graph": dict(pipeline_graph(ir))}}


def pipeline_html(ir: PipelineIR) -> str:
    """A pipeline's graph for Jupyter: the standalone page in a sandboxed iframe."""
    data = pipeline_report(ir.to_dict())
    height = data["pipeline"]["graph"].get("height", 0) + _CHROME["pipeline"]
    return in_iframe(standalone_html("pipeline", data), height)


def result_report(result: RunResult) -> dict[str, Any]:
    """The report data of a run that just ended here, from its ``RunResult`` (masked as
    ``runs show`` masks: secret parameters and outputs, secret values cut out of logs)."""
    secrets = secret_values(result.params)
    ir = result.ir.to_dict() if result.ir is not None else None
    steps = []
    for record in result.steps:
        row = record.to_row()
        row["iteration"] = ".".join(str(i) for i in record.iteration)
        outputs = json.loads(row["outputs"]) if row["outputs"] else None
        row["outputs"] = shown_outputs(masked(outputs)) if outputs is not None else None
        row["cached"] = bool(row["cached"])
        for field in ("error", "traceback", "stdout", "stderr"):
            row[field] = scrub(row[field], secrets)
        steps.append({"run_id": result.run_id, **row})
    started = [r.started for r in result.steps if r.started is not None]
    ended = [r.ended for r in result.steps if r.ended is not None]
    run = {
        "run_id": result.run_id,
        "pipeline": result.pipeline,
        "status": result.status,
        "reason": result.reason,
        # the span of its steps (a RunResult keeps no times of its own)
        "started": min(started, default=None),
        "ended": max(ended, default=None),
        "params": masked(result.params),
        "outputs": shown_outputs(masked(result.json_outputs())),
        "artifacts": redact_uri(result.artifacts or ""),
        "steps": steps,
        "graph": _graph(ir, steps),
    }
    details = steps_detail(ir, steps, run["params"])
    return {"run": run, "steps_detail": details, "previews": {}}


def result_html(result: RunResult) -> str:
    """A run's graph, coloured by status, for Jupyter (a sandboxed iframe's ``srcdoc``)."""
    data = result_report(result)
    height = data["run"]["graph"].get("height", 0) + _CHROME["run"]
    return in_iframe(standalone_html("run", data), height)


def _graph(ir: dict[str, Any] | None, steps: list[dict[str, Any]]) -> dict[str, Any]:
    if ir is None:  # a RunResult made by hand: no pipeline to draw
        return dict(EMPTY_GRAPH)
    from dagwright.ui.graph import run_graph

    return dict(run_graph(ir, steps))
