"""What a pod keeps in MLflow of a step for ``dagwright replay``, and reading it back.

A step run in a KFP or Argo pod has no row in a local run database: its pod records it in
MLflow (``lineage/pod.py``), and beside its piece of the graph it stores this record as the
pipeline run's artifact ``lineage/replay/<label>.json``: the component (its spec, with its
source when the spec carried it), the inputs as the step was given them (parameters with
secret-named values masked, artifacts with their URIs, passwords redacted: where the pipeline
root or Argo's artifact repository keeps them (``stored_at``), or, for Argo's cluster default
repository, the path its pod was given with the key it is kept under (``repository_key``,
which replay is told the bucket of); a spec compiled before pods recorded either gives the
paths alone), its outputs, its status and error. The graph alone cannot say which artifact
fed which input.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError
from dagwright.redact import MASK, masked, masked_outputs, redact_uri, scrub, secret_values

REPLAY = "lineage/replay"
FORMAT = 1


def file_name(label: str) -> str:
    """The file name a pod's step is kept under in MLflow, its lineage piece and its replay
    record alike (MLflow-safe characters only)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", label) + ".json"


def piece(
    label: str,
    spec: ComponentSpec,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    error: str | None,
) -> dict[str, Any]:
    """A pod step's record for replay, with nothing secret in it."""
    artifacts = masked_outputs(
        {
            name: [_artifact(a) for a in value] if isinstance(value, list) else _artifact(value)
            for name, value in (inputs.get("artifacts") or {}).items()
        }
    )  # a secret-named metadata key masked too
    parameters = inputs.get("parameters") or {}
    shown = masked(parameters)
    return {
        "format": FORMAT,
        "label": label,
        "component": spec.to_dict(),
        "inputs": {
            "parameters": shown,
            "artifacts": artifacts,
            "masked": sorted(n for n in parameters if shown[n] == MASK != parameters[n]),
        },
        "outputs": None if outputs is None else masked_outputs(outputs),
        "status": "failed" if error else "succeeded",
        "error": scrub(error, secret_values(parameters)),  # it may quote a secret argument
    }


def _artifact(artifact: dict[str, Any]) -> dict[str, Any]:
    """An input as replay fetches it: from where the store keeps it (``stored_at``, which KFP
    and Argo pods record) rather than the path it was downloaded to in the pod."""
    kept = {k: v for k, v in artifact.items() if k != "stored_at"}
    uri = artifact.get("stored_at") or artifact.get("uri", "")
    return {**kept, "uri": redact_uri(str(uri))}


def tracking_uri(given: str | None) -> str | None:
    """The MLflow tracking URI to look in: ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``."""
    return given or os.environ.get("MLFLOW_TRACKING_URI") or None


def find_piece(uri: str, run_id: str, label: str) -> dict[str, Any]:
    """The record a pod of run ``run_id`` (a KFP run id, an Argo workflow's name) kept of
    step ``label`` in the MLflow at ``uri``.

    Raises:
        ValidationError: MLflow is not installed, holds no such run (field ``RUN``) or no
            such step of it (field ``STEP``, naming those it holds).
    """
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ValidationError(
            "replaying a step recorded in MLflow needs mlflow",
            field="--tracking-uri",
            fix='pip install "dagwright[mlflow]"',
        ) from None
    client = MlflowClient(uri)
    quoted = run_id.replace("'", "\\'")
    query = f"tags.`dagwright.run_id` = '{quoted}' and tags.`dagwright.kind` = 'run'"
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, query, order_by=["attributes.start_time ASC"])
    where = redact_uri(uri)
    if not runs:
        raise ValidationError(
            f"no run '{run_id}' in the run database nor in MLflow at {where}",
            field="RUN",
            fix="give the KFP run id or Argo workflow name of a run whose spec was compiled "
            "with --tracking-uri",
        )
    parent = runs[0].info.run_id
    with tempfile.TemporaryDirectory(prefix="dagwright-replay-pieces-") as folder:
        held = [Path(a.path).name for a in client.list_artifacts(parent, REPLAY)]
        pieces = []
        if held:
            where_kept = Path(client.download_artifacts(parent, REPLAY, folder))
            pieces = [json.loads((where_kept / n).read_text(encoding="utf-8")) for n in held]
    return _chosen(pieces, run_id, label)


def task_of(label: str) -> str:
    """The task of a pod step's label (an Argo pod's is ``<task>@<pod name>``)."""
    return label.split("@", 1)[0]


def _chosen(pieces: list[dict[str, Any]], run_id: str, label: str) -> dict[str, Any]:
    """The record named ``label`` exactly, else the one execution of task ``label``."""
    labels = sorted(str(p.get("label", "")) for p in pieces)
    exact = [p for p in pieces if p.get("label") == label]
    mine = exact or [p for p in pieces if task_of(str(p.get("label", ""))) == label]
    if len(mine) == 1:
        return mine[0]
    if mine:
        problem = f"step '{label}' ran {len(mine)} times in run '{run_id}'"
        fix = "name one execution: " + ", ".join(sorted(str(p["label"]) for p in mine))
    else:
        problem = f"run '{run_id}' recorded no step '{label}' for replay in MLflow"
        fix = (
            "name one of its steps; a pod records one only when its spec was compiled with "
            "--tracking-uri by this version of dagwright"
        )
    steps = ", ".join(labels) or "none"
    raise ValidationError(f"{problem} (its steps: {steps})", field="STEP", fix=fix)
