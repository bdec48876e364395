"""A step that ran in a KFP or Argo pod made again for ``dagwright replay``, from the record
its pod kept in MLflow (``lineage/step_pieces.py``, which the command line reads: the engine
knows no lineage) rather than from a local run database, which holds no row of it.

The record has the inputs as the pod gave them: parameters (secret-named ones masked, so
``-p`` must give them) and artifacts with their URIs in the pipeline's object store (``s3://``,
``gs://``), which the executor fetches as for any step, its endpoint and credentials from the
environment as for any store (``AWS_ENDPOINT_URL``...). An Argo pod whose repository was the
cluster's default knew only the key of its input (``repository_key``): ``--artifact-repository``
says which bucket that is. The code is the component's source as the record holds it, else
``--code-from`` must give it (a spec compiled in image mode carries none).
"""

from __future__ import annotations

import copy
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.engine.pod_env import PodEnv
from dagwright.engine.replay import (
    Replay,
    check_complete,
    check_not_in_memory,
    current_component,
    override,
)
from dagwright.errors import ValidationError
from dagwright.executor import Step
from dagwright.pipelines.ir import PipelineIR
from dagwright.redact import MASK, redact_uri
from dagwright.store import remote
from dagwright.store.local import LocalStore


def from_piece(
    run_id: str,
    piece: dict[str, Any],
    overrides: dict[str, str] | None = None,
    *,
    root: str | Path | None = None,
    secrets_file: str | Path | None = None,
    allow_pickle: bool = False,
    code_from: PipelineIR | None = None,
    artifact_repository: str | None = None,
) -> Replay:
    """The step a pod recorded (``piece``) of run ``run_id``, ready to run again here.

    Args:
        run_id: The cluster run (a KFP run id, an Argo workflow's name).
        piece: The pod's record, as ``step_pieces.find_piece`` reads it.
        overrides: Parameter inputs to change, as command-line text by input name.
        root: The store folder (where the component's volumes are, as for a run).
        secrets_file: Where the component's Secret and ConfigMap values are (as for run).
        allow_pickle: Let the step unpickle values read from a non-local store.
        code_from: A pipeline whose task of the same name gives the component to run.
        artifact_repository: ``s3://bucket[/prefix]`` or ``gs://...``: the cluster's default
            artifact repository, where an Argo pod's inputs known by key alone are.

    Raises:
        ValidationError: no code to run (field ``--code-from``), a masked parameter not
            given with ``-p`` (field: the parameter), a bad override, a bad repository or an
            input kept by key with none given (field ``--artifact-repository``), or an input
            that was a file of its pod alone (field ``STEP``).
    """
    repository = checked_repository(artifact_repository)
    label = str(piece.get("label", ""))
    spec = ComponentSpec.from_dict(piece["component"])
    given = piece.get("inputs") or {}
    step = Step(spec, label, allow_pickle=allow_pickle, run_id=run_id, run_started=time.time())
    step.parameters = dict(given.get("parameters") or {})
    step.artifacts = copy.deepcopy(dict(given.get("artifacts") or {}))  # URIs may change
    step.remote_inputs = True  # from the cluster's store, whoever wrote them there
    _from_repository(step, repository)
    check_not_in_memory(step)
    _check_here(step)
    if code_from is not None:
        spec = step.component = current_component(code_from, label.split("@", 1)[0], step)
    elif not spec.source and spec.kfp is None and spec.importer is None:
        raise ValidationError(
            f"the record of step '{label}' holds no code: its spec was compiled with the "
            "component's code in the image",
            field="--code-from",
            fix="pass --code-from FILE.py[:PIPELINE], the file that defines the pipeline",
        )
    changed = override(step, spec, overrides or {})
    for name in given.get("masked") or ():
        if name not in changed and step.parameters.get(name) == MASK:
            raise ValidationError(
                f"parameter '{name}' of step '{label}' was recorded masked (secret)",
                field=name,
                fix=f"give its value with -p {name}=...",
            )
    check_complete(spec, step, label.split("@", 1)[0])
    store = LocalStore(root)
    pod_env = PodEnv.resolve([spec], secrets_file)
    step.env = pod_env.env_for(spec, store.root, run_id, label)
    scratch = Path(tempfile.mkdtemp(prefix=f"dagwright-replay-{spec.name}-"))
    step.outputs = {out.name: str(scratch / out.name) for out in spec.output_artifacts}
    hidden = [step.parameters[n] for n in given.get("masked") or () if n in changed]
    secrets = {s for s in hidden if isinstance(s, str) and len(s) >= 4} | set(pod_env.secrets)
    status = str(piece.get("status", ""))
    made = Replay(
        run_id,
        label,
        step,
        piece.get("outputs"),
        status,
        scratch,
        sorted(secrets, key=len, reverse=True),
    )
    made.overridden, made.source = changed, "recorded"
    made.code = "as the record in MLflow holds it"
    return made


_REPOSITORY = re.compile(r"^(s3|gs)://[^/@:]+(/.*)?$")


def checked_repository(text: str | None) -> str | None:
    """``--artifact-repository`` as replay takes it: ``s3://bucket[/prefix]`` or ``gs://...``,
    without a trailing ``/``; credentials come from the environment, never the URL.

    Raises:
        ValidationError: for anything else (field ``--artifact-repository``).
    """
    if text is None:
        return None
    if not _REPOSITORY.match(text):
        raise ValidationError(
            f"{redact_uri(text)!r} is not an artifact repository"
            + (" (credentials go in the environment, not the URL)" if "@" in text else ""),
            field="--artifact-repository",
            fix="give s3://BUCKET[/PREFIX] or gs://BUCKET[/PREFIX]; an endpoint other than "
            "AWS in AWS_ENDPOINT_URL",
        )
    return text.rstrip("/")


def _from_repository(step: Step, repository: str | None) -> None:
    """Each input an Argo pod knew by its key in the cluster's default repository alone
    (``repository_key``) as a URI in ``repository``; a file its pod was given that is here
    (a replay inside the pod) needs none."""
    for name, value in step.artifacts.items():
        for artifact in value if isinstance(value, list) else [value]:
            key = artifact.get("repository_key")
            if not key:
                continue
            uri = str(artifact.get("uri", ""))
            if repository is not None:
                artifact["uri"] = f"{repository}/{key}"
            elif not (remote.is_local(uri) and Path(remote.local_path(uri)).exists()):
                raise ValidationError(
                    f"input '{name}' of step '{step.task}' is kept under the key {key} in the "
                    "cluster's default artifact repository, whose bucket the run did not record",
                    field="--artifact-repository",
                    fix="pass --artifact-repository s3://BUCKET[/PREFIX] (or gs://...), the "
                    "bucket of the default repository in Argo's artifact-repositories ConfigMap",
                )


def _check_here(step: Step) -> None:
    """An input recorded at a path of the step's pod alone (an Argo pod of a spec compiled
    before pods recorded where the repository keeps their outputs) is refused by name when not
    here."""
    for name, value in step.artifacts.items():
        for artifact in value if isinstance(value, list) else [value]:
            uri = str(artifact.get("uri", ""))
            if remote.is_local(uri) and not Path(remote.local_path(uri)).exists():
                raise ValidationError(
                    f"input '{name}' of step '{step.task}' was the file {uri} in its pod, "
                    "which is not on this machine, and its record does not say where the "
                    "artifact repository keeps it",
                    field="STEP",
                    fix="recompile the pipeline with this version of dagwright and run it "
                    "again: its pods record where the repository keeps each input; or put "
                    "the file at that path",
                )
