"""A nested pipeline's DAG outputs and the inputs that read them, named as the KFP SDK names them.

The SDK names a pipeline's DAG outputs after the pipeline's outputs (``Output`` for a single
return), and a block outside that reads one names its input after the pipeline's task and that
key: ``pipelinechannel--inner-Output``. kfp.local depends on it: it evaluates a condition, and
finds a loop's items, by parsing the producer and key out of that name and looking them up in
the DAG that holds the block (``kfp/local/orchestrator/enhanced_dag_orchestrator.py``,
``ConditionEvaluator`` and ``_run_parallel_for_task``); named after the task inside the nested
pipeline, a condition found nothing there and its branch was skipped without a word. KFP's
driver reads these names only as keys (``backend/src/v2/driver/resolve.go``, ``GetProducerTask``
follows a DAG's ``valueFromParameter`` by its key), so either form runs there.

The IR keeps no output names for a nested pipeline: one whose outside readers read one value
names it ``Output``; one read for several names each ``<task>-<key>``, the task without the
pipeline's prefix (``bounds-low``): no ``--`` and no ``pipelinechannel--``, so that its reading
name ``pipelinechannel--<pipeline>--<task>-<key>`` still parses as the pipeline's task and key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dagwright.pipelines.ir import PipelineIR

Read = tuple[str, str]  # (task, output) of a value read outside its nested pipeline


def exports(ir: PipelineIR) -> dict[str, set[Read]]:
    """Each nested pipeline's values read by a task or block outside it."""
    parents = {g.id: g.parent for g in ir.groups}
    pipelines = {g.id for g in ir.groups if g.kind == "pipeline"}
    homes = {t.name: t.group for t in ir.tasks}

    def enclosing(block: str | None) -> set[str]:
        found: set[str] = set()
        while block is not None:
            found.add(block)
            block = parents.get(block)
        return found

    found: dict[str, set[Read]] = {}

    def visit(value: Any, reader: str | None) -> None:
        for ref in _refs(value):
            if ref["task"] not in homes:
                continue
            for group in (enclosing(homes[ref["task"]]) - enclosing(reader)) & pipelines:
                found.setdefault(group, set()).add((ref["task"], ref["output"]))

    for task in ir.tasks:
        visit(task.inputs, task.group)
    for group in ir.groups:
        visit([group.condition, group.items], group.id)
    visit(ir.outputs, None)
    return found


def output_name(group: str, ref: Any, key: str, read: dict[str, set[Read]]) -> str:
    """The DAG output of nested pipeline ``group`` that carries ``ref`` (whose key is ``key``
    inside it) out of it."""
    if len(read.get(group, ())) == 1:
        return "Output"
    return f"{ref['task'].removeprefix(f'{group}-')}-{key}"


def reading_name(group: str, output: str) -> str:
    """The input name of a block reading DAG output ``output`` of nested pipeline ``group``,
    in the two forms kfp.local parses (``-Output``, or ``--`` before any other key)."""
    return f"pipelinechannel--{group}{'-' if output == 'Output' else '--'}{output}"


def _refs(value: Any) -> Iterator[dict[str, Any]]:
    """Every task output a value (a condition tree, a OneOf, a Collected...) names."""
    if isinstance(value, dict):
        if "constant" in value:  # data, whatever keys it has
            return
        if isinstance(value.get("task"), str) and "output" in value:
            yield value
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
