"""What a KFP pod runs: a lightweight-component function that hands the step to dagwright.

KFP's own executor (``python -m kfp.dsl.executor_main``) reads the step's inputs, builds KFP
artifact objects and writes the executor output; it learns what to pass from the function's
annotations. ``entry`` builds such a function for one dagwright component, with KFP
annotations derived from the component's spec, and its body calls dagwright's single step
executor. This module runs in the pod (and under ``kfp.local``), never at compile time.
"""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Callable
from typing import Any

from dagwright.compiler.kfp.types import coerce, output_key
from dagwright.components.spec import ComponentSpec, IOSpec
from dagwright.components.types import parse, unwrap_optional
from dagwright.specs import artifact_kind

_PYTHON_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "dict": dict,
}


def entry(component: dict[str, Any], digest: str) -> Callable[..., Any]:
    """A function KFP's executor can call for one component.

    Args:
        component: The component spec as data (without its source in image mode).
        digest: The digest the component had when it was compiled.
    """
    from dagwright.compiler.pod_step import run_recorded
    from dagwright.executor import Step

    spec = ComponentSpec.from_dict(component)
    value_outputs = [o for o in spec.outputs if not o.artifact]
    Outputs = typing.NamedTuple(  # type: ignore[misc]
        "Outputs", [(output_key(spec, o.name), _python_type(o.type)) for o in value_outputs]
    )

    def run(**kwargs: Any) -> Any:
        parameters: dict[str, Any] = {}
        artifacts: dict[str, Any] = {}
        for inp in spec.inputs:
            if inp.name not in kwargs:
                continue  # KFP passes nothing for an optional input left unset
            given = kwargs[inp.name]
            if inp.artifact and given is None and artifact_kind(inp.type)[1]:
                # KFP's executor passes None for a list of artifacts it was given none of
                # (kfp/dsl/executor.py): an optional one a guard's Else copy leaves out, see
                # compiler/kfp/guards.py
                artifacts[inp.name] = []
            elif inp.artifact:
                artifacts[inp.name] = (
                    [_artifact(inp, a) for a in given]
                    if isinstance(given, list)
                    else _artifact(inp, given)
                )
            else:
                parameters[inp.name] = coerce(given, inp.type)
        targets = {o.name: kwargs[output_key(spec, o.name)] for o in spec.output_artifacts}
        step = Step(
            component=spec,
            task=spec.name,
            parameters=parameters,
            artifacts=artifacts,
            outputs={name: target.path for name, target in targets.items()},
            digest=digest,
            # KFP downloaded the inputs from the pipeline root, whoever wrote them there: a
            # pickle among them is loaded only when the spec was compiled with allow_pickle
            allow_pickle=_allow_pickle(),
            remote_inputs=True,
        )
        outcome = run_recorded(step, _tracking(spec.name))
        for name, written in outcome.artifacts.items():
            # downstream steps read the format of a stored value from here; the KFP UI shows
            # a Metrics artifact's metadata as its scalar metrics
            targets[name].metadata.update(written.metadata)
            if written.digest and artifact_kind(spec.output(name).type)[0] != "Metrics":  # type: ignore[union-attr]
                targets[name].metadata["digest"] = written.digest
        if not value_outputs:
            return None
        return Outputs(*(outcome.values[o.name] for o in value_outputs))

    parameters = [
        inspect.Parameter(io.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(io, "in"))
        for io in spec.inputs
    ]
    parameters += [
        inspect.Parameter(
            output_key(spec, io.name),
            inspect.Parameter.KEYWORD_ONLY,
            annotation=_annotation(io, "out"),
        )
        for io in spec.output_artifacts
    ]
    returns = Outputs if value_outputs else None
    run.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    run.__annotations__["return"] = returns
    run.__name__ = spec.function
    return run


def _tracking(default_label: str) -> tuple[str, str, str, str] | None:
    """The run id and pipeline the compiler put on the command line (KFP's executor reads
    its own arguments with ``parse_known_args``, so ours pass through)."""
    import argparse
    import sys

    from dagwright.lineage.pod import tracking_target

    parser = argparse.ArgumentParser(add_help=False)
    for flag in ("--dagwright-run", "--dagwright-pipeline", "--dagwright-task"):
        parser.add_argument(flag)
    known, _ = parser.parse_known_args(sys.argv[1:])
    label = known.dagwright_task or default_label
    return tracking_target(known.dagwright_run, known.dagwright_pipeline, label)


def _allow_pickle() -> bool:
    """Was the spec compiled with ``allow_pickle`` (``--dagwright-allow-pickle`` among the
    container's arguments, which KFP's executor leaves alone)?"""
    import sys

    return "--dagwright-allow-pickle" in sys.argv[1:]


def _python_type(type_str: str) -> Any:
    head, _ = parse(unwrap_optional(type_str))
    return _PYTHON_TYPES.get(head, str)


def _annotation(io: IOSpec, direction: str) -> Any:
    from kfp import dsl

    if not io.artifact:
        return _python_type(io.type)
    kind, is_list = artifact_kind(io.type)
    cls = getattr(dsl, kind, dsl.Artifact)
    if direction == "out":
        return dsl.Output[cls]
    return dsl.Input[list[cls]] if is_list else dsl.Input[cls]  # type: ignore[valid-type]


def _artifact(io: IOSpec, given: Any) -> dict[str, Any]:
    """A KFP input artifact as dagwright's executor takes it: a local path and its metadata."""
    metadata = dict(given.metadata or {})
    data: dict[str, Any] = {
        "type": artifact_kind(io.type)[0],
        "name": io.name,
        "uri": given.path,
        "metadata": metadata,
    }
    if given.uri and given.uri != given.path:
        # where the pipeline root keeps it (s3://, gs://, minio://): what ``dagwright replay``
        # fetches, as the path KFP's launcher downloaded it to is the pod's alone
        data["stored_at"] = given.uri
    if isinstance(metadata.get("digest"), str):
        data["digest"] = metadata["digest"]
    elif os.path.exists(given.path):  # Metrics keep no digest in metadata (the UI shows it)
        from dagwright.store.files import sha256_of

        data["digest"] = sha256_of(given.path)
    return data
