"""Checks on a whole IR, run before anything compiles or executes.

The same checks apply to a traced pipeline and to an IR read from a file, so every target sees a
pipeline that passed them. Each failure is a ValidationError naming pipeline, task and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagwright.components import types as t
from dagwright.components.final_status import FINAL_STATUS
from dagwright.errors import UsageError, ValidationError
from dagwright.names import check_k8s_name
from dagwright.pipelines import flow_values
from dagwright.pipelines.blocks import blocks
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR, Value

_ORDERED = {"lt", "le", "gt", "ge"}
_EQUALITY = {"eq", "ne"}


def validate_ir(ir: PipelineIR) -> None:
    """Raise the first problem found in ``ir``; return quietly when it is sound."""
    from dagwright._bulk_work import without_cycle_collection

    with without_cycle_collection():
        _Checker(ir).run()


def to_ir(pipeline: Any) -> PipelineIR:
    """The validated IR of a @pipeline, a Pipeline builder, an IR, or an IR file path."""
    if isinstance(pipeline, PipelineIR):
        validate_ir(pipeline)
        return pipeline
    if isinstance(pipeline, (str, Path)):
        ir = PipelineIR.load(pipeline)
        validate_ir(ir)
        return ir
    if hasattr(pipeline, "build"):
        built: PipelineIR = pipeline.build()
        return built
    raise UsageError(f"expected a pipeline, a PipelineIR or an IR file, not {pipeline!r}")


def value_type(ir: PipelineIR, value: Value, scope: str | None) -> str:
    """The type of ``value`` used in block ``scope`` of a valid ``ir``."""
    return _Checker(ir).type_of(value, scope)


class _Checker:
    def __init__(self, ir: PipelineIR) -> None:
        self.ir = ir
        self.tasks = {task.name: task for task in ir.tasks}
        self.groups = {group.id: group for group in ir.groups}

    def fail(self, problem: str, **where: Any) -> ValidationError:
        return ValidationError(problem, pipeline=self.ir.name, **where)

    def run(self) -> None:
        check_k8s_name(self.ir.name, "pipeline name", pipeline=self.ir.name)
        self._check_names()
        self._check_structure()
        self._check_params()
        if self.ir.schedule is not None:
            self._check_schedule(self.ir.schedule)
        for group in self.ir.groups:
            self._check_group(group)
        for task in self.ir.tasks:
            self._check_task(task)
        for name, value in self.ir.outputs.items():
            self.type_of(value, None, task=None, field=f"output {name}", pipeline_output=True)
        self._check_acyclic()

    def _check_names(self) -> None:
        seen: set[str] = set()
        for task in self.ir.tasks:
            if task.name in seen:
                raise self.fail(
                    f"duplicate task name '{task.name}'",
                    task=task.name,
                    fix="give every task a distinct name",
                )
            seen.add(task.name)
            try:
                check_k8s_name(task.name, "task name", pipeline=self.ir.name)
            except ValidationError as exc:
                raise exc.within(task=task.name) from None
        for group in self.ir.groups:
            if group.id in seen:
                raise self.fail(f"duplicate name '{group.id}' (a task and a block)", block=group.id)
            seen.add(group.id)

    def _check_structure(self) -> None:
        """Every block and task sits in a block that exists, and no block is inside itself."""
        for group in self.ir.groups:
            if group.parent is not None and group.parent not in self.groups:
                raise self.fail(
                    f"block '{group.id}' names unknown parent '{group.parent}'", block=group.id
                )
            self.ir.ancestors(group.id)
        for task in self.ir.tasks:
            if task.group is not None and task.group not in self.groups:
                raise self.fail(f"unknown block '{task.group}'", task=task.name, field="group")
            if task.component not in self.ir.components:
                raise self.fail(
                    f"unknown component '{task.component}'", task=task.name, field="component"
                )

    def _check_params(self) -> None:
        seen: set[str] = set()
        for param in self.ir.params:
            if param.name in seen:
                raise self.fail(f"parameter '{param.name}' is declared twice", field=param.name)
            seen.add(param.name)
            if param.has_default and not t.value_matches(param.default, param.type):
                raise self.fail(
                    f"default {param.default!r} of parameter '{param.name}' is not a {param.type}",
                    field=param.name,
                )

    def _check_schedule(self, schedule: str) -> None:
        from croniter import croniter

        if not croniter.is_valid(schedule):
            raise self.fail(
                f"schedule '{schedule}' is not a cron expression",
                field="schedule",
                fix="use five fields, e.g. '0 3 * * *' for 03:00 every day",
            )

    def _check_group(self, group: GroupIR) -> None:
        where: dict[str, Any] = {"block": group.id}
        if group.kind == "condition":
            self._check_condition(group.condition or {}, group.parent, group.id)
        elif group.kind == "loop":
            items = self.type_of(
                group.items or {}, group.parent, field="ParallelFor items", **where
            )
            if t.element_type(items) is None:
                raise self.fail(
                    f"ParallelFor needs a list to loop over, got a {items}",
                    field="items",
                    fix="loop over a literal list, a list parameter or a list output",
                    **where,
                )
            if group.parallelism is not None and group.parallelism < 1:
                raise self.fail("parallelism must be at least 1", field="parallelism", **where)
        elif group.kind == "exit_handler":
            exit_task = self.tasks.get(group.exit_task or "")
            if exit_task is None:
                raise self.fail(
                    f"unknown exit task '{group.exit_task}'", field="exit_task", **where
                )
            if exit_task.group != group.parent:
                raise self.fail(
                    "the exit task must sit beside its ExitHandler block",
                    task=exit_task.name,
                    field="exit_task",
                )
        elif group.kind != "pipeline":
            raise self.fail(f"unknown block kind '{group.kind}'", field="kind", **where)

    def _check_condition(self, expr: Value, scope: str | None, where: str) -> None:
        op = expr.get("op")
        if op is None:
            if not isinstance(expr.get("constant"), bool):
                raise self.fail(
                    f"condition {expr!r} is neither a comparison nor true/false",
                    block=where,
                    field="condition",
                )
            return
        if op in ("and", "or"):
            for arg in expr.get("args", []):
                self._check_condition(arg, scope, where)
            return
        if op == "not":
            self._check_condition(expr["arg"], scope, where)
            return
        if op not in _ORDERED | _EQUALITY:
            raise self.fail(f"unknown operator '{op}'", block=where, field="condition")
        left = self.type_of(expr["left"], scope, block=where, field="condition")
        right = self.type_of(expr["right"], scope, block=where, field="condition")
        for side, kind in ((expr["left"], left), (expr["right"], right)):
            if not t.comparable(kind, op in _ORDERED):
                raise self.fail(
                    f"condition compares {_describe(side)}, of type {kind}, which cannot be "
                    f"{'ordered' if op in _ORDERED else 'compared'}",
                    block=where,
                    field="condition",
                    fix="compare int, float, str (or bool with == / !=) values",
                )
        if not (t.compatible(left, right) or t.compatible(right, left)):
            raise self.fail(
                f"condition compares a {left} with a {right}", block=where, field="condition"
            )

    def _check_task(self, task: TaskIR) -> None:
        spec = self.ir.components[task.component]
        for name, value in task.inputs.items():
            declared = spec.input(name)
            if declared is None:
                raise self.fail(
                    f"component '{spec.name}' has no input '{name}'",
                    task=task.name,
                    field=name,
                    fix=f"its inputs are {[i.name for i in spec.inputs]}",
                )
            self._check_input(task, declared.name, declared.type, declared.artifact, value)
        for declared in spec.inputs:
            if declared.name not in task.inputs and declared.type == FINAL_STATUS:
                raise flow_values.missing_final_status(self, task, declared.name)
            if declared.name not in task.inputs and not declared.has_default:
                raise self.fail(
                    f"missing input '{declared.name}' ({declared.type})",
                    task=task.name,
                    field=declared.name,
                    fix=f"pass {declared.name}=... to the call",
                )
        for other in task.after:
            if other not in self.tasks or other == task.name:
                raise self.fail(f"runs after unknown task '{other}'", task=task.name, field="after")
        flow_values.check_ignoring(self, task)

    def _check_input(
        self, task: TaskIR, name: str, type_str: str, artifact: bool, value: Value
    ) -> None:
        if flow_values.check_final_status(self, task, name, type_str, value):
            return
        if "constant" in value:
            if artifact:
                raise self.fail(
                    f"artifact input '{name}' got a constant",
                    task=task.name,
                    field=name,
                    fix="pass an artifact output of another task",
                )
            if not t.value_matches(value["constant"], type_str):
                raise self.fail(
                    f"type mismatch: {value['constant']!r} is not a {type_str}",
                    task=task.name,
                    field=name,
                )
            return
        source = self.type_of(value, task.group, task=task.name, field=name)
        if "collected" in value and flow_values.wants_flat(type_str):
            source = f"list[{self._output(value['collected'])}]"  # the engine flattens it
        if not t.compatible(source, type_str):
            raise self.fail(
                f"type mismatch: {_describe(value)} is a {source} but input '{name}' takes "
                f"a {type_str}",
                task=task.name,
                field=name,
            )

    def type_of(
        self, value: Value, scope: str | None, *, pipeline_output: bool = False, **where: Any
    ) -> str:
        """The type of a value used in ``scope``, checking that it is visible there (a
        pipeline output may come from inside an If: the run fails at its end when the
        branch did not run)."""
        if "constant" in value:
            return t.type_of_value(value["constant"])
        if "param" in value:
            param = self.ir.param(value["param"])
            if param is None:
                raise self.fail(f"unknown pipeline parameter '{value['param']}'", **where)
            return param.type
        if "task" in value:
            out = self._output(value, **where)
            self._check_visible(
                value["task"], scope, False, pipeline_output=pipeline_output, **where
            )
            return out
        if "collected" in value:  # a list per loop left, as KFP nests them
            out = self._output(value["collected"], **where)
            depth = self._check_visible(value["collected"]["task"], scope, True, **where)
            return flow_values.nested_type(out, depth)
        if "loop_item" in value:
            return self._loop_item_type(value, scope, **where)
        if "one_of" in value:
            return flow_values.one_of_type(self, value, scope, **where)
        if "final_status" in value:
            raise self.fail(
                "a final status can only be given to a PipelineTaskFinalStatus input",
                fix="pass it to the exit task's PipelineTaskFinalStatus parameter",
                **where,
            )
        raise self.fail(f"unknown value {value!r}", **where)

    def _output(self, value: Value, **where: Any) -> str:
        producer = self.tasks.get(value["task"])
        if producer is None:
            raise self.fail(f"uses an output of unknown task '{value['task']}'", **where)
        out = self.ir.component_of(producer).output(value["output"])
        if out is None:
            names = [o.name for o in self.ir.component_of(producer).outputs]
            raise self.fail(
                f"task '{producer.name}' has no output '{value['output']}'",
                fix=f"use one of {names}",
                **where,
            )
        return out.type

    def _check_visible(
        self,
        producer: str,
        scope: str | None,
        collected: bool,
        *,
        pipeline_output: bool = False,
        **where: Any,
    ) -> int:
        """Refuse a value not visible in ``scope``; the number of loops a Collected leaves."""
        consumer_chain = {g.id for g in self.ir.ancestors(scope)}
        hidden = [
            g
            for g in self.ir.ancestors(self.tasks[producer].group)
            if g.id not in consumer_chain and g.kind in ("loop", "condition")
        ]
        if collected:
            if not hidden or hidden[-1].kind != "loop":
                raise self.fail(
                    f"Collected({producer}) needs '{producer}' to sit in a ParallelFor that "
                    "does not also enclose the consumer",
                    **where,
                )
            return sum(1 for g in hidden if g.kind == "loop")
        if hidden and not (pipeline_output and all(g.kind == "condition" for g in hidden)):
            block = hidden[-1]
            if block.kind == "loop":
                raise self.fail(
                    f"'{producer}' runs once per item of {block.id}; its output is a list here",
                    fix=f"wrap it in Collected(...) to gather the values of {block.id}",
                    **where,
                )
            raise self.fail(
                f"'{producer}' runs only inside the If block {block.id}; its output may not "
                "exist here",
                fix="use it inside that block",
                **where,
            )
        return 0

    def _loop_item_type(self, value: Value, scope: str | None, **where: Any) -> str:
        loop = self.groups.get(value["loop_item"])
        if loop is None or loop.kind != "loop":
            raise self.fail(f"unknown loop '{value['loop_item']}'", **where)
        if loop.id not in {g.id for g in self.ir.ancestors(scope)}:
            raise self.fail(f"the item of {loop.id} is used outside its ParallelFor", **where)
        items = self.type_of(loop.items or {}, loop.parent, **where)
        item = t.element_type(items) or t.ANY
        if "key" not in value:
            return item
        if item == t.ANY:
            return t.ANY
        head, args = t.parse(t.unwrap_optional(item))
        if head != "dict":
            raise self.fail(
                f"items of {loop.id} are {item}, not dicts; item['{value['key']}'] "
                "has nothing to pick",
                **where,
            )
        return args[1] if args else t.ANY

    def _check_acyclic(self) -> None:
        """No cycle among tasks, nor among the blocks that hold them (a task cannot both wait
        for an If block and be waited for by it)."""
        # the standard library's sorter, not networkx (which costs a run ~60 ms to import); its
        # search walks nodes and edges in insertion order, so the cycle named is the one
        # networkx's find_cycle named
        from graphlib import CycleError, TopologicalSorter

        graph: TopologicalSorter[str] = TopologicalSorter()
        for block in blocks(self.ir).values():
            for node in block.nodes:  # every node first: the search starts from them in order
                graph.add(node)
            for node in block.nodes:
                graph.add(node, *block.upstream[node])
        try:
            graph.prepare()
        except CycleError as exc:
            cycle: list[str] = exc.args[1]
            path = " -> ".join(cycle)
            first = cycle[0]
            where = {"task": first} if first in self.tasks else {"block": first}
            raise self.fail(
                f"tasks form a cycle: {path}",
                fix="remove one of the .after(...) calls that closes it",
                **where,
            ) from None


def _describe(value: Value) -> str:
    if "task" in value:
        return f"output '{value['output']}' of task '{value['task']}'"
    if "param" in value:
        return f"parameter '{value['param']}'"
    if "loop_item" in value:
        return f"the item of {value['loop_item']}"
    if "collected" in value:
        return f"Collected({value['collected']['task']}.{value['collected']['output']})"
    if "one_of" in value:
        return "OneOf(" + ", ".join(_describe(v) for v in value["one_of"]) + ")"
    return repr(value.get("constant"))
