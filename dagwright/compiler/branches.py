"""The If/Elif/Else chain a OneOf reads, as one block: what both targets need to give a
OneOf as an output of a block (KFP's ``valueFromOneof``; an Argo DAG output's
``fromExpression`` for artifacts)."""

from __future__ import annotations

import dataclasses
from typing import Any

from dagwright.names import free_name
from dagwright.pipelines.flow_values import branch_sets
from dagwright.pipelines.ir import GroupIR, PipelineIR, Value

BRANCHES = "condition-branches"


def one_of_values(ir: PipelineIR) -> list[tuple[Value, dict[str, Any]]]:
    """Every ``one_of`` value of the IR, with where it is used."""
    found: list[tuple[Value, dict[str, Any]]] = []
    for task in ir.tasks:
        for name, value in task.inputs.items():
            if "one_of" in value:
                found.append((value, {"task": task.name, "field": name}))
    for name, value in ir.outputs.items():
        if "one_of" in value:
            found.append((value, {"field": f"output {name}"}))
    return found


def wrap_chains(ir: PipelineIR, values: list[Value]) -> tuple[PipelineIR, dict[str, str]]:
    """The IR with each If/Elif/Else chain the ``one_of`` ``values`` read inside a plain block
    of its own (``condition-branches-N``, as the KFP SDK makes it; a ``pipeline`` block that
    holds the chain alone, as an imported one does, is kept), and that block's id by the id of
    each branch in it."""
    chains = branch_sets(ir)
    wanted: dict[int, list[str]] = {}
    for value in values:
        producer = ir.task(value["one_of"][0]["task"])
        chain = chains[producer.group or ""][0]
        wanted[chain] = [g for g, (c, _) in chains.items() if c == chain]
    if not wanted:
        return ir, {}
    taken = {t.name for t in ir.tasks} | {g.id for g in ir.groups}
    wrapper_of: dict[str, str] = {}
    groups: list[GroupIR] = []
    for group in ir.groups:
        chain = chains.get(group.id, (-1, False))[0]
        members = wanted.get(chain)
        if members is not None and group.id == members[0]:
            parent = ir.group(group.parent) if group.parent else None
            siblings = _children(ir, group.parent)
            if parent is not None and parent.kind == "pipeline" and siblings == set(members):
                wrapper = parent.id  # already a block of the chain alone (an imported one)
            else:
                wrapper = free_name(f"{BRANCHES}-{len(set(wrapper_of.values())) + 1}", taken)
                groups.append(GroupIR(id=wrapper, kind="pipeline", parent=group.parent))
            wrapper_of.update(dict.fromkeys(members, wrapper))
        if group.id in wrapper_of and wrapper_of[group.id] != group.parent:
            groups.append(dataclasses.replace(group, parent=wrapper_of[group.id]))
        else:
            groups.append(dataclasses.replace(group))
    return dataclasses.replace(ir, groups=groups), wrapper_of


def _children(ir: PipelineIR, parent: str | None) -> set[str]:
    return {g.id for g in ir.groups if g.parent == parent} | {
        t.name for t in ir.tasks if t.group == parent
    }
