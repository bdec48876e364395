"""The shape of a PipelineSpec, checked before the importer reads it.

``kfp.compiler`` writes each part the importer reads as a mapping, a list or a string, and
never writes ``null``: a file edited by hand or cut short can hold something else, which would
otherwise end as a Python error deep in the importer. ``check`` walks the parts the importer
reads and refuses the first one of the wrong kind by its path (``root.dag.tasks.train.inputs``).
Keys it does not list are left to the importer, which refuses what it does not know by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagwright.errors import ValidationError

FIX = (
    "compile the pipeline again with kfp.compiler.Compiler().compile (the file was changed "
    "by hand or cut short)"
)


@dataclass(frozen=True)
class Map:
    """A mapping whose every value has the shape ``of`` (KFP's maps keyed by name)."""

    of: Any


@dataclass(frozen=True)
class Seq:
    """A list whose every item has the shape ``of``."""

    of: Any


ANY_MAP = Map(None)  # a mapping, its values not checked here
_SELECTOR = {"producerSubtask": str, "outputParameterKey": str, "outputArtifactKey": str}
_INPUT = {
    "componentInputParameter": str,
    "componentInputArtifact": str,
    "taskOutputParameter": {"producerTask": str, "outputParameterKey": str},
    "taskOutputArtifact": {"producerTask": str, "outputArtifactKey": str},
    "taskFinalStatus": {"producerTask": str},
    "runtimeValue": ANY_MAP,
    "parameterExpressionSelector": str,
}
_ITERATOR = {"items": ANY_MAP, "itemInput": str}
_TASK = {
    "componentRef": {"name": str},
    "inputs": {"parameters": Map(_INPUT), "artifacts": Map(_INPUT)},
    "dependentTasks": Seq(str),
    "taskInfo": ANY_MAP,
    "triggerPolicy": {"condition": str, "strategy": str},
    "cachingOptions": ANY_MAP,
    "retryPolicy": ANY_MAP,
    "parameterIterator": _ITERATOR,
    "artifactIterator": _ITERATOR,
    "iteratorPolicy": ANY_MAP,
}
_DEFINITIONS = {"parameters": Map(ANY_MAP), "artifacts": Map(ANY_MAP)}
_DAG_OUTPUTS = {
    "parameters": Map(
        {
            "valueFromParameter": _SELECTOR,
            "valueFromOneof": {"parameterSelectors": Seq(_SELECTOR)},
        }
    ),
    "artifacts": Map({"artifactSelectors": Seq(_SELECTOR)}),
}
_COMPONENT = {
    "inputDefinitions": _DEFINITIONS,
    "outputDefinitions": _DEFINITIONS,
    "dag": {"tasks": Map(_TASK), "outputs": _DAG_OUTPUTS},
    "executorLabel": str,
}
_CONTAINER = {
    "image": str,
    "command": Seq(str),
    "args": Seq(str),
    "env": Seq({"name": str}),
    "resources": ANY_MAP,
}
SPEC = {
    "pipelineInfo": ANY_MAP,
    "root": _COMPONENT,
    "components": Map(_COMPONENT),
    "deploymentSpec": {"executors": Map({"container": _CONTAINER, "importer": ANY_MAP})},
}
# parts a pipeline cannot do without (a root with no task would import as a pipeline that
# does nothing and succeeds)
REQUIRED = (("root",), ("root", "dag"), ("root", "dag", "tasks"))


def check(spec: dict[str, Any]) -> None:
    """Refuse the first part of ``spec`` that is not of the kind ``kfp.compiler`` writes.

    Raises:
        ValidationError: naming the part's path, what it holds and the fix.
    """
    _check(spec, SPEC, "")
    for path in REQUIRED:  # each part before is a mapping: _check saw to it
        part: Any = spec
        for key in path:
            part = part.get(key)
            if part is None:
                _refuse(".".join(path), "missing", "a mapping")
    if not spec["root"]["dag"]["tasks"]:
        _refuse("root.dag.tasks", "empty", "one task or more (kfp compiles no empty pipeline)")


def _check(value: Any, shape: Any, path: str) -> None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return _refuse(path, _kind(value), "a mapping")
        for key, inner in shape.items():
            if key in value:
                _check(value[key], inner, f"{path}.{key}" if path else key)
    elif isinstance(shape, Map):
        if not isinstance(value, dict):
            return _refuse(path, _kind(value), "a mapping")
        if shape.of is not None:
            for key, inner in value.items():
                _check(inner, shape.of, f"{path}.{key}")
    elif isinstance(shape, Seq):
        if not isinstance(value, list):
            return _refuse(path, _kind(value), "a list")
        for i, item in enumerate(value):
            _check(item, shape.of, f"{path}[{i}]")
    elif not isinstance(value, shape):
        return _refuse(path, _kind(value), "a string")
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    number = "a number" if isinstance(value, (int, float)) else "a value"
    text = repr(value)
    shown = text if len(text) <= 40 else text[:37] + "..."
    return f"{names.get(type(value), number)} ({shown})"


def _refuse(path: str, found: str, expected: str) -> None:
    raise ValidationError(
        f"the KFP pipeline's {path} is {found}, where kfp.compiler writes {expected}",
        field=path,
        fix=FIX,
    )
