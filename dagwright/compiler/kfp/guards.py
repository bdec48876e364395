"""A Collected list over a loop whose items are computed, when they turn out empty.

KFP's backend gathers a loop's outputs for a reader outside the loop only after at least one
iteration: the driver (``backend/src/v2/driver/resolve.go``, ``resolveUpstreamParameters``:
``CollectInputs`` only when ``iterations > 0``; ``resolver/parameters.go`` in the newer
driver finds no output at all) fails the reader of a loop that had none, where ``dagwright
run`` gives it ``[]``. When the items are a constant the compiler knows; when they come from a
parameter or a task output, the spec decides at run time, the way the KFP SDK compiles
``dsl.If``/``dsl.Else`` and ``dsl.OneOf``:

- the loop goes inside an If block that runs when its items are not empty
  (``triggerPolicy.condition``, a CEL expression the driver evaluates,
  ``backend/src/v2/expression``), beside an Else block holding one small step whose output is
  ``[]`` (a DAG output can only be a task's output, so the empty list needs a step). The
  condition compares with a literal (``!= []``, or ``!= "[]"`` for items that reach the block
  as a STRING input, which the driver fills with their JSON text) rather than calling CEL's
  ``size()``: ``size`` of JSON text counts characters, and kfp.local evaluates conditions as
  Python, which has no ``size``;
- both sit in a plain block whose output is ``valueFromOneof`` the two branches' outputs: the
  driver takes the branch that ran (``resolve.go``, ``GetProducerTask``; the newer launcher's
  ``propagateOutputsUpDAG``), so the reader gets the loop's list or ``[]``.

Artifacts cannot take that route: no step outputs an empty list of artifacts, and the older
driver picks the last of a DAG output's ``artifactSelectors`` whichever branch ran. So a task
that collects artifacts over the loop moves into the If block beside it, and a copy of it runs
in the Else block with that input left out (declared ``isOptional``; the pod's entry reads the
missing list as ``[]``) and ``[]`` for a Collected parameter; its parameter outputs leave the
plain block by OneOf. Where that cannot give what ``dagwright run`` gives (such a task in
another block than the loop, an artifact output of it read further on, a Collected artifact
as a pipeline output) the pipeline is refused for KFP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from dagwright.errors import ValidationError
from dagwright.names import free_name
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR, Value

Fail = Callable[..., ValidationError]
EMPTY_COMPONENT = "dagwright-empty-list"


@dataclass(frozen=True)
class Guard:
    """The blocks that decide, at run time, between a loop's outputs and what no iteration
    gives."""

    loop: str
    block: str  # a plain block holding the two branches; its outputs are OneOf
    nonempty: str  # If block holding the loop (and the tasks collecting artifacts over it)
    empty: str  # Else block holding ``task`` and the copies
    task: str | None = None  # the step whose output is [], when a parameter needs it
    copies: dict[str, str] = field(default_factory=dict)  # a moved task -> its Else copy


@dataclass(frozen=True)
class Guarded:
    """What ``guard_computed_loops`` did: the guards by the id of their plain block, and the
    (component, input) pairs a copy leaves out, which must be declared optional."""

    guards: dict[str, Guard] = field(default_factory=dict)
    optional: set[tuple[str, str]] = field(default_factory=set)


def guard_computed_loops(ir: PipelineIR, fail: Fail) -> tuple[PipelineIR, Guarded]:
    """The IR with each loop over computed items that something collects from guarded (see
    the module's docstring).

    Raises:
        ValidationError: where a guard cannot give what ``dagwright run`` gives.
    """
    scan = _Scan(ir, fail)
    if not scan.loops:
        return ir, Guarded()
    from dagwright.compiler.kfp.empty import empty_list

    taken = {t.name for t in ir.tasks} | set(scan.groups)
    by_loop: dict[str, Guard] = {}
    for loop in scan.loops:
        artifact_items(ir, loop, fail)
        readers = scan.movers.get(loop, [])
        by_loop[loop] = Guard(
            loop=loop,
            block=_free_63(f"{loop}-collected", taken),
            nonempty=_free_63(f"{loop}-items", taken),
            empty=_free_63(f"{loop}-no-items", taken),
            task=_free_63(f"{loop}-empty", taken) if loop in scan.needs_empty else None,
            copies={r: _free_63(f"{r}-no-items", taken) for r in readers},
        )
    groups: list[GroupIR] = []
    for group in ir.groups:
        guard = by_loop.get(group.id)
        if guard is None:
            groups.append(dataclasses.replace(group))
            continue
        assert group.items is not None
        groups += [
            GroupIR(id=guard.block, kind="pipeline", parent=group.parent),
            GroupIR(
                id=guard.nonempty,
                kind="condition",
                parent=guard.block,
                condition=nonempty(group.items),
                branch="if",
            ),
            dataclasses.replace(group, parent=guard.nonempty),
            GroupIR(
                id=guard.empty,
                kind="condition",
                parent=guard.block,
                condition={"op": "not", "arg": nonempty(group.items)},
                branch="else",
            ),
        ]
    moved = {r: g for g in by_loop.values() for r in g.copies}
    tasks: list[TaskIR] = []
    for task in ir.tasks:
        guard = moved.get(task.name)
        if guard is None:
            tasks.append(task)
            continue
        tasks.append(dataclasses.replace(task, group=guard.nonempty))
        tasks.append(_copy(task, guard, scan))
    components = dict(ir.components)
    empty_id = EMPTY_COMPONENT  # unless the pipeline has another component of that id
    while empty_id in components and components[empty_id].digest != empty_list.spec.digest:
        empty_id = f"{empty_id}-x"
    for guard in by_loop.values():
        if guard.task is not None:
            tasks.append(TaskIR(name=guard.task, component=empty_id, group=guard.empty))
            components[empty_id] = empty_list.spec
    optional = {
        (ir.tasks[scan.index[r]].component, name)
        for r in moved
        for name, value in ir.tasks[scan.index[r]].inputs.items()
        if scan.artifact_over(value, ir.tasks[scan.index[r]].group)
    }
    guarded = Guarded({g.block: g for g in by_loop.values()}, optional)
    return dataclasses.replace(ir, groups=groups, tasks=tasks, components=components), guarded


def artifact_items(ir: PipelineIR, loop: str, fail: Fail) -> None:
    """Refuse a guard over a loop whose items are artifacts: no trigger condition can test a
    list of artifacts for being empty (CEL reads parameters only)."""
    from dagwright.components.types import is_artifact_type
    from dagwright.pipelines.validate import value_type

    group = ir.group(loop)
    if is_artifact_type(value_type(ir, group.items or {}, group.parent)):
        raise fail(
            f"{loop} loops over artifacts made at run time and its outputs are collected; "
            "KFP's backend fails the reader when the list turns out empty, and no trigger "
            "condition can test a list of artifacts for that",
            fix="read the loop's outputs inside the loop, or compile for Argo (--target argo)",
            block=loop,
        )


def nonempty(items: Value) -> Value:
    """The condition "the items are not empty", in the IR's form; the DAG builder writes it
    for the type the items reach the block with (``dag.DagBuilder._emptiness``)."""
    return {"op": "ne", "left": items, "right": {"constant": []}}


def _copy(task: TaskIR, guard: Guard, scan: _Scan) -> TaskIR:
    """The Else branch's copy of a task that collects over the loop: what it collects is
    ``[]`` (a parameter) or left out (an artifact list), and it reads the other copies."""
    inputs: dict[str, Value] = {}
    for name, value in task.inputs.items():
        if scan.over(value, task.group) == guard.loop:
            if scan.artifact(value):
                continue  # declared optional; the pod's entry reads it as []
            inputs[name] = {"constant": []}
        elif value.get("task") in guard.copies:
            inputs[name] = {**value, "task": guard.copies[value["task"]]}
        else:
            inputs[name] = value
    after = [guard.copies.get(a, a) for a in task.after]
    return TaskIR(
        name=guard.copies[task.name],
        component=task.component,
        inputs=inputs,
        after=after,
        group=guard.empty,
    )


class _Scan:
    """Which loops over computed items need a guard, and which tasks move with them."""

    def __init__(self, ir: PipelineIR, fail: Fail) -> None:
        self.ir = ir
        self.groups = {g.id: g for g in ir.groups}
        self.index = {t.name: i for i, t in enumerate(ir.tasks)}
        self.movers: dict[str, list[str]] = {}
        self.needs_empty: set[str] = set()
        found: set[str] = set()
        for task in ir.tasks:
            for name, value in task.inputs.items():
                loop = self.over(value, task.group)
                if loop is None:
                    continue
                found.add(loop)
                if not self.artifact(value):
                    continue
                if task.group != self.groups[loop].parent:
                    raise fail(
                        f"'{task.name}' collects artifacts over {loop}, whose items are known "
                        "only at run time, from another block than the loop's; on KFP it must "
                        "sit beside the loop to be given [] when the items turn out empty",
                        fix=f"call '{task.name}' in the block that holds the ParallelFor, "
                        "loop over a constant list, or compile for Argo (--target argo)",
                        task=task.name,
                        field=name,
                    )
                other = next((k for k, v in self.movers.items() if task.name in v), loop)
                if other != loop:
                    raise fail(
                        f"'{task.name}' collects artifacts over both {other} and {loop}, whose "
                        "items are known only at run time; on KFP it can wait on the items of "
                        "one such loop only, to be given [] when they turn out empty",
                        fix="collect over each loop in a task of its own, or compile for Argo "
                        "(--target argo)",
                        task=task.name,
                        field=name,
                    )
                if task.name not in self.movers.setdefault(loop, []):
                    self.movers[loop].append(task.name)
        for name, value in ir.outputs.items():
            loop = self.over(value, None)
            if loop is None:
                continue
            if self.artifact(value):
                raise fail(
                    f"pipeline output '{name}' collects artifacts over {loop}, whose items "
                    "are known only at run time; KFP's backend has no empty list of "
                    "artifacts to return when they turn out empty",
                    fix="return the output of a task that takes the Collected list",
                    field=f"output {name}",
                )
            found.add(loop)
        self._readers_of_moved(fail)
        self.loops = [g.id for g in ir.groups if g.id in found]

    def _readers_of_moved(self, fail: Fail) -> None:
        """A task that stays outside reads a moved task's parameters through OneOf and the
        loop's Collected parameters through the empty step; an artifact of a moved task
        cannot leave the guard (see the module's docstring)."""
        moved = {r: loop for loop, readers in self.movers.items() for r in readers}
        readers = [(t.name, t.group, t.inputs) for t in self.ir.tasks]
        readers.append(("", None, self.ir.outputs))
        for reader, block, inputs in readers:
            for name, value in inputs.items():
                loop = self.over(value, block)
                if loop is not None and not self.artifact(value) and reader not in moved:
                    self.needs_empty.add(loop)
                producer = value.get("task")
                if producer in moved and reader not in moved and self.artifact(value):
                    where = {"task": reader, "field": name} if reader else {"field": name}
                    raise fail(
                        f"'{producer}' collects artifacts over {moved[producer]}, whose items "
                        "are known only at run time, and its artifact "
                        f"'{value['output']}' is read further on; on KFP it runs in one of "
                        "two branches, and the backend cannot pick an artifact by branch",
                        fix=f"have '{producer}' return parameters only, or compile for Argo "
                        "(--target argo)",
                        **where,
                    )

    def over(self, value: Value, reader: str | None) -> str | None:
        """The loop over computed items that ``value`` collects over, if any (a Collected
        over nested loops is refused by the DAG builder, not here)."""
        if "collected" not in value:
            return None
        producer = self.ir.tasks[self.index[value["collected"]["task"]]].group
        inside = set(self._path(reader))
        loops = [g for g in self._path(producer) if g not in inside and self._kind(g) == "loop"]
        if len(loops) != 1:
            return None
        items = self.groups[loops[0]].items or {}
        return None if "constant" in items else loops[0]

    def artifact(self, value: Value) -> bool:
        ref = value.get("collected", value)
        if "task" not in ref:
            return False
        out = self.ir.component_of(self.ir.tasks[self.index[ref["task"]]]).output(ref["output"])
        return out is not None and out.artifact

    def artifact_over(self, value: Value, reader: str | None) -> bool:
        return self.over(value, reader) is not None and self.artifact(value)

    def _kind(self, group: str) -> str:
        return self.groups[group].kind

    def _path(self, block: str | None) -> list[str]:
        chain: list[str] = []
        while block is not None:
            chain.append(block)
            block = self.groups[block].parent
        return chain


def _free_63(wanted: str, taken: set[str]) -> str:
    """A name no task or block has, within Kubernetes' 63 characters (as the builder names
    tasks)."""
    return free_name(wanted, taken, max_length=63)
