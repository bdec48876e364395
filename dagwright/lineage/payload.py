"""What one pipeline run and each of its steps become in MLflow, as plain JSON-able dicts.

These dicts travel from the engine's process to the MLflow writer process and are kept in the
``.pending`` marker of a run that could not be uploaded, so nothing here imports mlflow.

A run payload: ``run_id``, ``pipeline``, ``start``/``end`` (epoch ms), ``status`` (an MLflow
run status), ``params``, ``tags``. A step payload: the same plus ``label`` and ``metrics``.
Tags carry what is not a parameter or metric: ``dagwright.run_id``, ``dagwright.step``,
``dagwright.component``, ``dagwright.component_digest``, ``dagwright.cache_key``,
``dagwright.status``, ``dagwright.cached`` and ``dagwright.artifact.<output>`` = the URI of
each artifact the step made (or reused, when cached); artifact files are never copied.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.lineage.graph import GENERATED_BY, USED, Lineage, run_node
from dagwright.redact import masked, redact_uri, scrub, secret_values, shown

if TYPE_CHECKING:
    from dagwright.engine.result import RunResult, StepRecord

# MLflow run statuses: a step that did not run (skipped, upstream failed, cancelled) is KILLED;
# the dagwright status is kept in the dagwright.status tag.
_STATUS = {"succeeded": "FINISHED", "failed": "FAILED"}
_KEY = re.compile(r"[^\w.\- /]")  # MLflow keys: alphanumerics, _ - . space and /


def mlflow_status(status: str) -> str:
    """MLflow's run status for a dagwright status."""
    return _STATUS.get(status, "KILLED")


def key(name: str) -> str:
    """A param, metric or tag key MLflow accepts."""
    return _KEY.sub("_", str(name))[:250] or "_"


def text(value: Any) -> str:
    """A parameter value as MLflow keeps it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def millis(seconds: float | None) -> int:
    """Epoch milliseconds, as MLflow takes times (now when ``seconds`` is None)."""
    return int((seconds if seconds is not None else time.time()) * 1000)


def run_start(run_id: str, pipeline: str, started: float) -> dict[str, Any]:
    """The run as it is created in MLflow, before any step finished."""
    tags = {"dagwright.run_id": run_id, "dagwright.pipeline": pipeline, "dagwright.kind": "run"}
    return {"run_id": run_id, "pipeline": pipeline, "start": millis(started), "tags": tags}


def run_end(start: dict[str, Any], result: RunResult, ended: float | None = None) -> dict[str, Any]:
    """The start payload completed with what is known when the run ends."""
    return {
        **start,
        "end": millis(ended),
        "status": mlflow_status(result.status),
        "params": {key(k): text(v) for k, v in masked(result.params).items()},
        "end_tags": {"dagwright.status": result.status, "dagwright.steps": str(len(result.steps))},
    }


def step_payload(run_id: str, node: dict[str, Any], record: StepRecord) -> dict[str, Any]:
    """One step execution, from its lineage node and the engine's record of it."""
    from dagwright.engine.result import jsonable

    outputs = {name: jsonable(value) for name, value in (record.outputs or {}).items()}
    artifacts = {n: v for n, v in outputs.items() if isinstance(v, dict) and "uri" in v}
    parameters = (record.inputs or {}).get("parameters", {})
    tags = _step_tags(run_id, node, {name: a["uri"] for name, a in artifacts.items()})
    if record.error:  # an error may quote a secret argument
        tags["dagwright.error"] = scrub(record.error, secret_values(parameters)) or ""
    return {
        "label": node["label"],
        "start": millis(record.started),
        "end": millis(record.ended),
        "status": mlflow_status(node["status"]),
        "params": {key(k): text(v) for k, v in masked(parameters).items()},
        "metrics": metrics_of(artifacts),
        "tags": tags,
    }


def metrics_of(artifacts: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The numbers in the metadata of Metrics artifacts, by name (``<output>.<name>`` when a
    step makes more than one Metrics artifact, so names cannot clash)."""
    found = {n: a for n, a in artifacts.items() if a.get("type") == "Metrics"}
    metrics: dict[str, float] = {}
    for output, artifact in found.items():
        for name, value in (artifact.get("metadata") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metrics[key(name if len(found) == 1 else f"{output}.{name}")] = float(value)
    return metrics


def graph_payloads(lineage: Lineage, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run and step payloads rebuilt from a saved graph alone (a run recorded with tracking
    off has no marker). Step times are approximate (the run's start plus the step's duration)
    and metrics are read back from local Metrics files, when they are still there."""
    graph = lineage.graph
    run = graph.nodes[run_node(run_id)]
    start = run_start(run_id, run.get("pipeline", ""), run.get("started") or time.time())
    run_payload = {
        **start,
        "end": millis(run.get("ended")),
        "status": mlflow_status(run.get("status", "succeeded")),
        "params": _params_of(graph, run_node(run_id)),
        "end_tags": {"dagwright.status": run.get("status", "")},
    }
    steps = []
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "step" or attrs.get("run_id") != run_id:
            continue
        made = [
            graph.nodes[up]
            for up, _, relation in graph.in_edges(node, keys=True)
            if relation == GENERATED_BY
        ]
        uris = {a.get("name", ""): (a.get("uris") or [""])[0] for a in made}
        began = run.get("started") or time.time()
        steps.append(
            {
                "label": attrs["label"],
                "start": millis(began),
                "end": millis(began + float(attrs.get("duration") or 0.0)),
                "status": mlflow_status(attrs.get("status", "")),
                "params": _params_of(graph, node),
                "metrics": attrs.get("metrics") or _metrics_from_files(made),
                "tags": _step_tags(run_id, {"id": node, **attrs}, uris),
            }
        )
    return run_payload, steps


def _step_tags(run_id: str, node: dict[str, Any], uris: dict[str, str]) -> dict[str, str]:
    tags = {
        "dagwright.run_id": run_id,
        "dagwright.step": node["label"],
        "dagwright.node": node["id"],
        "dagwright.task": node.get("task", ""),
        "dagwright.component": node.get("component", ""),
        "dagwright.component_digest": node.get("component_digest", ""),
        "dagwright.cache_key": node.get("cache_key") or "",
        "dagwright.status": node.get("status", ""),
        "dagwright.cached": "true" if node.get("cached") else "false",
    }
    tags.update(
        {key(f"dagwright.artifact.{name}"): redact_uri(uri) for name, uri in uris.items() if uri}
    )
    return {k: v for k, v in tags.items() if v != ""}  # an empty tag says nothing


def _params_of(graph: Any, owner: str) -> dict[str, str]:
    params = {}
    for _, down, relation in graph.out_edges(owner, keys=True):
        attrs = graph.nodes[down]
        if relation == USED and attrs.get("kind") == "parameter":
            params[key(attrs["name"])] = text(shown(attrs["name"], json.loads(attrs["value"])))
    return params


def _metrics_from_files(made: list[dict[str, Any]]) -> dict[str, float]:
    artifacts = {}
    for artifact in made:
        if artifact.get("type") != "Metrics":
            continue
        for uri in artifact.get("uris") or []:
            path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
            try:
                metadata = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(metadata, dict):
                artifacts[artifact.get("name", "")] = {"type": "Metrics", "metadata": metadata}
                break
    return metrics_of(artifacts)
