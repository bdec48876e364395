"""Lineage from a step that runs in a KFP or Argo pod, straight to MLflow.

There is no engine in a pod, so each step records itself: it finds (or makes) the MLflow run
of its pipeline run, by the ``dagwright.run_id`` tag, adds itself as a nested run as the local
engine's writer does, and stores its piece of the graph as ``lineage/steps/<label>.json``;
``tracking.load`` merges those pieces; ``lineage/replay/<label>.json`` beside it is what
``dagwright replay`` runs the step again from (``step_pieces.py``). Two pods that both make
the pipeline's run keep the oldest. Recording never fails the step: a problem is logged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.lineage.graph import Lineage

STEPS = "lineage/steps"


def record_step(
    tracking_uri: str,
    run_id: str,
    pipeline: str,
    label: str,
    spec: ComponentSpec,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    error: str | None,
    started: float,
) -> None:
    """Record one pod step in MLflow; log, never raise, when that fails."""
    try:
        _record(tracking_uri, run_id, pipeline, label, spec, inputs, outputs, error, started)
    except Exception as exc:
        from dagwright.redact import redact_text, redact_uri

        logging.getLogger("dagwright").warning(
            "the lineage of step %s did not reach %s: %s",
            label,
            redact_uri(tracking_uri),
            redact_text(f"{type(exc).__name__}: {exc}"),
        )


def _record(
    tracking_uri: str,
    run_id: str,
    pipeline: str,
    label: str,
    spec: ComponentSpec,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    error: str | None,
    started: float,
) -> None:
    from dagwright.engine.result import FAILED, SUCCEEDED, StepRecord
    from dagwright.lineage import payload
    from dagwright.lineage.step_pieces import REPLAY, file_name, piece
    from dagwright.lineage.uploader import Calls, Uploader

    status = FAILED if error else SUCCEEDED
    lineage = Lineage()
    lineage.add_run(run_id, pipeline, {}, status="running")
    node = lineage.add_step(
        run_id,
        label,
        task=label,
        component=spec.name,
        component_digest=spec.digest,
        status=status,
        inputs=inputs,
        outputs=outputs,
    )
    record = StepRecord(label, status=status, outputs=outputs, error=error, inputs=inputs)
    record.started, record.ended = started, time.time()
    uploader, calls = Uploader(tracking_uri), Calls()
    parent = _parent(uploader, run_id, pipeline, started, calls)
    attrs = {"id": node, **lineage.graph.nodes[node]}
    uploader.log_step(parent, payload.step_payload(run_id, attrs, record), calls)
    text = json.dumps(lineage.to_json(), sort_keys=True, default=str)
    uploader.client.log_text(parent.run_id, text, f"{STEPS}/{file_name(label)}")
    # what ``dagwright replay`` rebuilds the step from: the graph does not say which
    # artifact fed which input, nor holds the component's code
    kept = json.dumps(piece(label, spec, inputs, outputs, error), sort_keys=True, default=str)
    uploader.client.log_text(parent.run_id, kept, f"{REPLAY}/{file_name(label)}")


def _parent(uploader: Any, run_id: str, pipeline: str, started: float, calls: Any) -> Any:
    """The pipeline run's MLflow run: the oldest one tagged with its id, made if missing."""
    from dagwright.lineage import payload
    from dagwright.lineage.uploader import Parent

    start = payload.run_start(run_id, pipeline, started)
    found = _parents(uploader, start, calls)
    if not found:
        made = uploader.start_run(start, calls)
        # finished at once: a cluster run has no end event, and readers skip running runs
        uploader.call(calls, "run", uploader.client.set_terminated, made.run_id, "FINISHED")
        found = _parents(uploader, start, calls)
        for extra in found[1:]:
            if extra.info.run_id == made.run_id:  # another pod made one first: use theirs
                uploader.call(calls, "run", uploader.client.delete_run, made.run_id)
    oldest = found[0]
    return Parent(oldest.info.run_id, oldest.info.experiment_id, oldest.info.artifact_uri)


def _parents(uploader: Any, start: dict[str, Any], calls: Any) -> list[Any]:
    experiment_id = uploader.experiment(start["pipeline"], calls)
    quoted = start["run_id"].replace("'", "\\'")
    query = f"tags.`dagwright.run_id` = '{quoted}' and tags.`dagwright.kind` = 'run'"
    runs = uploader.call(
        calls,
        "run",
        uploader.client.search_runs,
        [experiment_id],
        filter_string=query,
        order_by=["attributes.start_time ASC", "attributes.run_id ASC"],
    )
    return list(runs)


def tracking_target(
    run_id: str | None, pipeline: str | None, label: str
) -> tuple[str, str, str, str] | None:
    """Where a pod's step records itself: set when the spec was compiled with a tracking URI
    (the pod's ``MLFLOW_TRACKING_URI``) and the target passed the run id."""
    import os

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri or not run_id or not pipeline:
        return None
    return uri, run_id, pipeline, label
