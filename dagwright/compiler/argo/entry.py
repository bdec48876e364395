"""What an Argo pod runs: ``python3 -m dagwright.compiler.argo.entry ...``.

Argo hands a step its inputs as text (parameters: raw for ``str``, JSON otherwise, as
``{{item}}`` renders them) and files (artifacts at declared paths), and collects outputs from
files. This module turns those into a dagwright ``Step``, runs it with the single step executor
and writes each output where the template says. An artifact's metadata (the format of a stored
DataFrame, its digest, where the repository keeps it: ``values.stored``) travels beside it as
the output parameter ``<name>-meta``, since Argo artifacts carry none. Loop outputs gathered
with Collected arrive as one folder holding each iteration's artifact under its pod name, with
the list of their metadata in iteration order; Collected values arrive as Argo aggregates them
(see ``decode``), one list level per loop between producer and consumer. Strings Argo would
alter travel protected (``values.py``), and a loop item arrives as Argo renders ``{{item}}``:
the task passes the whole item and says in ``--read`` which key to pick, so a dict key is never
part of an Argo variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from dagwright.compiler.argo.values import (
    SKIPPED,
    encode,
    from_item,
    protect,
    restore,
    stored,
    typed,
    untyped,
)
from dagwright.components.spec import ComponentSpec
from dagwright.components.types import element_type, from_text, unwrap_optional

__all__ = ["SKIPPED", "decode", "encode", "main", "read_item"]


def _pairs(values: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values or []:
        name, _, text = value.partition("=")
        found[name] = text
    return found


def decode(text: str, type_str: str, item_type: str | None = None, depth: int = 1) -> Any:
    """A parameter's text as the declared type; ``item_type`` is the type of a Collected
    output, which the task passes when the declared type is an untyped list; ``depth`` is the
    number of loops the Collected output was made in (each aggregates one list level, and
    dagwright run gives one flat list in iteration order).

    A list may be an aggregate of loop outputs (Collected). Argo v4's controller
    (``aggregatedJSONValueList``) embeds the iterations' values as JSON only when every one is
    a JSON object or list; otherwise it passes the list of their texts, so ints arrive as
    ``["1","2"]``. Each item is therefore read back by the declared item type, whichever way it
    came, and the marks of iterations that skipped their If are dropped.
    """
    item = element_type(type_str)
    if item == "any" and item_type:
        item = item_type
    if item is None or item == "any" or not text.lstrip().startswith("["):
        if depth > 1 and text.lstrip().startswith("["):
            return restore(_flatten(json.loads(text), depth))
        return restore(from_text(text, type_str))
    flat = _flatten(json.loads(text), depth)
    items = [_item(v, item) for v in flat if v != SKIPPED]
    return restore(from_text(json.dumps(items), type_str))


def nested(text: str, item_type: str, depth: int) -> list[Any]:
    """A Collected over ``depth`` loops as a list per loop (KFP's nested fan-in, as ``dagwright
    run`` gives a reader that declares no flat list): each level of Argo's aggregates read back
    (an inner one may come as its JSON text), the innermost iterations that skipped dropped and
    each value read as the output's type. An outer iteration marked skipped (its If was false)
    keeps its place as an empty list, as in ``dagwright run``: one list per outer iteration."""
    values = json.loads(text) if isinstance(text, str) else text
    if depth <= 1:
        return [restore(_item(v, item_type)) for v in values if v != SKIPPED]
    return [[] if v == SKIPPED else nested(v, item_type, depth - 1) for v in values]


def _innermost(type_str: str, depth: int) -> str:
    """The item type inside ``depth`` list levels of a declared type (``any`` where a level
    is untyped)."""
    for _ in range(depth):
        type_str = element_type(type_str) or "any"
        if type_str == "any":
            break
    return type_str


def _flatten(values: list[Any], depth: int) -> list[Any]:
    """The innermost iterations' values of ``depth`` nested aggregates, outermost first; an
    outer iteration that skipped its If (or made its inner list as text) is read as such."""
    if depth <= 1:
        return values
    flat: list[Any] = []
    for value in values:
        if value == SKIPPED:
            continue
        if isinstance(value, str):  # Argo passed the inner aggregate as text
            value = json.loads(value)
        flat.extend(_flatten(value, depth - 1))
    return flat


def read_item(text: str, type_str: str, how: dict[str, Any]) -> Any:
    """An input taken from a loop item: Argo's ``{{item}}`` text, with the key ``how`` names
    picked in the pod (``item["k"]``) or the item itself."""
    if "key" in how:
        item = from_item(text, "dict")
        if how["key"] not in item:
            raise ValueError(f"the loop item {item!r} has no key {how['key']!r}")
        return typed(item[how["key"]], type_str)
    item_type = how.get("item", "any")
    value = from_item(text, type_str, item_type)
    return typed(value, item_type if untyped(type_str) else type_str)


def _item(value: Any, type_str: str) -> Any:
    """One item of an aggregated list as ``type_str``: its text (as the producer's
    ``encode`` wrote it) parsed, or a value Argo embedded as JSON kept."""
    head = unwrap_optional(type_str)
    if head == "str":
        if isinstance(value, str):  # a str output's raw text; ``null`` is a None's
            return None if value == "null" and head != type_str else value
        return json.dumps(value)  # every iteration's text was a JSON object or list
    if isinstance(value, str):  # Argo passed texts: an int's "1", a dict's "{...}"
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a {type_str}") from None
    if head == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


# Argo's node phases as KFP's task states (a skipped task did not fail; an omitted one did
# not run because something before it failed)
_STATES = {"Succeeded": "SUCCEEDED", "Skipped": "SUCCEEDED", "Omitted": "FAILED"}


def final_status(text: str) -> dict[str, Any]:
    """KFP's PipelineTaskFinalStatus dict from the JSON the compiled spec passes: the block's
    Argo phase, the workflow's name and the block's id (``compiler/argo/flow.py``)."""
    data = json.loads(text)
    phase = data.get("state", "")
    state = _STATES.get(phase, "FAILED")
    error = (
        {}
        if state == "SUCCEEDED"
        else {"code": 1, "message": f"{data.get('pipelineTaskName')} ended {phase}"}
    )
    return {**data, "state": state, "error": error}


def _artifact(io_type: str, name: str, path: str, meta: dict[str, Any]) -> dict[str, Any]:
    from dagwright.specs import artifact_kind

    data: dict[str, Any] = {"type": artifact_kind(io_type)[0], "name": name, "uri": path}
    data["metadata"] = dict(meta.get("metadata", {}))
    if meta.get("digest"):
        data["digest"] = meta["digest"]
    for kept in ("stored_at", "repository_key"):  # the pod's path is its own: replay reads these
        if meta.get(kept):
            data[kept] = meta[kept]
    return data


def _collected(io_type: str, name: str, folder: str, metas: list[Any]) -> list[dict[str, Any]]:
    """Each iteration's artifact, in iteration order (the metadata list's order)."""
    items = []
    for meta in metas:
        if meta == SKIPPED:
            continue
        if isinstance(meta, str):  # Argo may hand a JSON object back as text
            meta = json.loads(meta)
        meta = restore(meta)
        items.append(_artifact(io_type, name, os.path.join(folder, meta["pod"]), meta))
    return items


def _inputs(spec: ComponentSpec, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The step's parameters and artifacts from the pod's arguments.

    Raises:
        ValueError: naming the input whose text cannot be read as its type.
    """
    params, item_types = _pairs(args.param), _pairs(args.param_items)
    artifact_paths, artifact_metas = _pairs(args.artifact), _pairs(args.artifact_meta)
    collected, collected_metas = _pairs(args.collected), _pairs(args.collected_meta)
    reads: dict[str, dict[str, Any]] = restore(json.loads(args.read or "{}"))
    parameters: dict[str, Any] = {}
    artifacts: dict[str, Any] = {}
    for inp in spec.inputs:
        how = reads.get(inp.name, {})
        try:
            if params.get(inp.name) == SKIPPED and inp.has_default:
                continue  # a tolerant task's input whose task failed: its default applies
            if inp.name in params and how.get("final_status"):
                parameters[inp.name] = final_status(params[inp.name])
            elif inp.name in params and "item" in how:
                parameters[inp.name] = read_item(params[inp.name], inp.type, how)
            elif inp.name in params and how.get("nested"):
                item = _innermost(inp.type, how["depth"])
                if item == "any":
                    item = item_types.get(inp.name) or item
                parameters[inp.name] = nested(params[inp.name], item, how["depth"])
            elif inp.name in params:
                parameters[inp.name] = decode(
                    params[inp.name], inp.type, item_types.get(inp.name), how.get("depth", 1)
                )
            elif inp.name in artifact_paths:
                meta = restore(json.loads(artifact_metas.get(inp.name) or "{}"))
                path = artifact_paths[inp.name]
                artifacts[inp.name] = _artifact(inp.type, inp.name, path, meta)
            elif inp.name in collected:
                metas = json.loads(collected_metas.get(inp.name) or "[]")
                metas = _flatten(metas, how.get("depth", 1))
                if not os.path.isdir(collected[inp.name]):  # no iteration made one
                    metas = []
                artifacts[inp.name] = _collected(inp.type, inp.name, collected[inp.name], metas)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"input '{inp.name}': {exc}") from None
    return parameters, artifacts


def main(argv: list[str] | None = None) -> int:
    """Run one step in an Argo pod from the template's arguments; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dagwright.compiler.argo.entry")
    parser.add_argument("--component", required=True, help="the component spec as JSON")
    parser.add_argument("--digest", required=True)
    parser.add_argument("--pod", default="", help="this pod's name ({{pod.name}})")
    parser.add_argument("--run", default="", help="the workflow's name, the lineage run id")
    parser.add_argument("--pipeline", default="", help="the pipeline's name")
    parser.add_argument("--task", default="", help="the task's name")
    parser.add_argument(
        "--stored-at",
        default="",
        help="where the repository keeps this pod's output artifacts, but for the output and "
        "pod: s3://bucket/prefix/<workflow>/<task>, or the key alone (see values.stored)",
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="unpickle (joblib) input artifacts; compiled in only when the user allowed it",
    )
    for flag in (
        "--param",
        "--param-items",
        "--artifact",
        "--artifact-meta",
        "--collected",
        "--collected-meta",
        "--output-param",
        "--output-artifact",
        "--output-meta",
    ):
        parser.add_argument(flag, action="append", metavar="NAME=VALUE")
    parser.add_argument(
        "--read", default="{}", help="JSON: how inputs from loop items or nested loops are read"
    )
    args = parser.parse_args(argv)
    from dagwright.executor import Step

    spec = ComponentSpec.from_dict(json.loads(args.component))
    try:  # a text no input of this type can be read from fails the step, named
        parameters, artifacts = _inputs(spec, args)
    except ValueError as exc:
        print(f"dagwright: step '{spec.name}': {exc}", file=sys.stderr)
        return 1
    outputs = _pairs(args.output_artifact)
    # the input files came from the artifact repository, whoever wrote them there: a pickle
    # among them is loaded only when the spec was compiled with allow_pickle
    step = Step(
        spec,
        spec.name,
        parameters,
        artifacts,
        outputs,
        digest=args.digest,
        allow_pickle=args.allow_pickle,
        remote_inputs=True,
    )
    from dagwright.compiler.pod_step import run_recorded
    from dagwright.components.serializers import PickleRefused
    from dagwright.lineage.pod import tracking_target

    where = tracking_target(args.run, args.pipeline, args.task or spec.name)
    try:
        outcome = run_recorded(step, where)
    except PickleRefused as exc:
        print(f"dagwright: step '{spec.name}': {exc}", file=sys.stderr)
        return 1
    for name, path in _pairs(args.output_param).items():
        _write(path, encode(outcome.values[name]) + "\n")  # Argo strips one trailing newline
    for name, path in _pairs(args.output_meta).items():
        written = outcome.artifacts[name]
        meta = {"metadata": written.metadata, "digest": written.digest, "pod": args.pod}
        if args.stored_at:  # a spec compiled before this was known passes none
            meta.update(stored(args.stored_at, name, args.pod))
        _write(path, json.dumps(protect(meta), sort_keys=True))
    return 0


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
