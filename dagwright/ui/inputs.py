"""A step's inputs read back from its pipeline's IR and the run's step rows, as the step panel
shows them (the UI's run page through ``data.py``, a report or a notebook through
``notebook.py``): plain values (constants, run parameters, upstream values) and artifacts.
Pure data in, data out: no store, so ``notebook.py`` may use it below the engine.
"""

from __future__ import annotations

from typing import Any


def step_inputs(
    spec: dict[str, Any], row: dict[str, Any], steps: list[dict[str, Any]], params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A step's inputs read back from the IR and the other step rows: plain values, and
    artifacts (values with a ``uri``). A loop's item is not in the IR: ``data.py`` reads it
    from the run's lineage."""
    plain: dict[str, Any] = {}
    artifacts: dict[str, Any] = {}
    for name, value in (spec.get("inputs") or {}).items():
        resolved = _resolve(value, row["iteration"], steps, params)
        if resolved is _UNKNOWN:
            continue
        is_artifact = isinstance(resolved, dict) and "uri" in resolved
        if isinstance(resolved, list) and resolved and isinstance(resolved[0], dict):
            is_artifact = "uri" in resolved[0]
        (artifacts if is_artifact else plain)[name] = resolved
    return plain, artifacts


_UNKNOWN = object()


def _resolve(
    value: Any, iteration: str, steps: list[dict[str, Any]], params: dict[str, Any]
) -> Any:
    if not isinstance(value, dict):
        return _UNKNOWN
    if "constant" in value:
        return value["constant"]
    if "param" in value:
        return params.get(value["param"], _UNKNOWN)
    if "task" in value:
        made = _made(value, iteration, steps)
        return made[0] if made else _UNKNOWN
    if "collected" in value:
        return _made(value["collected"], iteration, steps)
    if "one_of" in value:
        for member in value["one_of"]:
            found = _resolve(member, iteration, steps, params)
            if found is not _UNKNOWN:
                return found
    return _UNKNOWN


def _made(ref: dict[str, Any], iteration: str, steps: list[dict[str, Any]]) -> list[Any]:
    """The values an output took in the executions that share this step's loop scope."""
    mine = iteration.split(".") if iteration else []
    found = []
    for row in steps:
        theirs = row["iteration"].split(".") if row["iteration"] else []
        same_scope = theirs[: len(mine)] == mine[: len(theirs)]
        if (
            row["task"] == ref.get("task")
            and same_scope
            and ref.get("output") in (row["outputs"] or {})
        ):
            found.append(row["outputs"][ref["output"]])
    return found
