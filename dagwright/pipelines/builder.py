"""PipelineBuilder: records tasks, groups, parameters and outputs while a pipeline is traced."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dagwright.components.spec import ComponentSpec, IOSpec
from dagwright.components.types import ANY, compatible, type_of_value, value_matches
from dagwright.errors import ValidationError
from dagwright.pipelines.handles import Handle, Outputs, PipelineHandle, TaskHandle
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR, Value
from dagwright.pipelines.refs import Collected, OneOf, Operand, OutputRef, ParamRef, to_value

if TYPE_CHECKING:
    from dagwright.components.decorator import Component
    from dagwright.pipelines.decorator import PipelineDefinition


class PipelineBuilder:
    """Collects one pipeline's IR; control-flow blocks push and pop groups on it."""

    def __init__(self, name: str, description: str = "", schedule: str | None = None) -> None:
        self.ir = PipelineIR(name=name, description=description, schedule=schedule)
        self._groups: list[str | None] = [None]
        self._prefixes: list[str] = [""]
        self._counters: dict[str, int] = {}
        self._last_child: dict[str | None, str] = {}
        self._chains: dict[str | None, list[Value]] = {}
        self._taken: set[str] = set()  # task names and block ids, kept as names are made
        self._next_suffix: dict[str, int] = {}  # where the search for a free "base-N" resumes
        self.tracing: list[Any] = []  # pipeline definitions being traced, outermost first

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return self.ir.name

    @property
    def current_group(self) -> str | None:
        """The id of the innermost open block, or None at the top level."""
        return self._groups[-1]

    def error(self, problem: str, **where: Any) -> ValidationError:
        """A ``ValidationError`` naming this pipeline."""
        return ValidationError(problem, pipeline=self.name, **where)

    # parameters and tasks

    def add_param(
        self,
        name: str,
        type_str: str,
        default: Any = None,
        has_default: bool = False,
        description: str = "",
    ) -> ParamRef:
        """Declare a pipeline parameter; the reference tasks are given."""
        if not name.isidentifier():
            raise self.error(
                f"parameter name '{name}' is not a Python identifier",
                field=name,
                fix="use letters, digits and '_', not starting with a digit",
            )
        param = IOSpec(name, type_str, description=description)
        if has_default:
            param.default = default
        self.ir.params.append(param)
        return ParamRef(name, self)

    def add_task(self, component: Component, inputs: dict[str, Any]) -> TaskHandle:
        """Add a task of ``component`` with these inputs, in the current block."""
        return self.add_spec_task(component.spec, inputs, component.digest)

    def add_spec_task(
        self, spec: ComponentSpec, inputs: dict[str, Any], digest: str | None = None
    ) -> TaskHandle:
        """Add a task of a component given as its spec (a built-in one, such as an importer;
        ``digest``: the spec's, when the caller has it)."""
        name = self._unique(self._prefixes[-1] + spec.name)
        values = {key: self._value(val, task=name, field=key) for key, val in inputs.items()}
        task = TaskIR(name, self._register(spec, digest or spec.digest), values)
        task.group = self.current_group
        self.ir.tasks.append(task)
        self._touch(name)
        return TaskHandle(self, name)

    def _register(self, spec: ComponentSpec, digest: str) -> str:
        cid = spec.name
        existing = self.ir.components.get(cid)
        if existing is not None and existing.digest != digest:
            cid = f"{cid}-{digest[:8]}"
        self.ir.components.setdefault(cid, spec)
        return cid

    def _value(self, obj: Any, **where: Any) -> Value:
        refs = [obj.ref if isinstance(obj, Collected) else obj]
        if isinstance(obj, OneOf):
            refs = list(obj.refs)
        for ref in refs:
            if isinstance(ref, (OutputRef, ParamRef)) and ref.builder is not self:
                raise self.error(
                    f"{ref!r} belongs to another pipeline",
                    fix="pass values between pipelines through the inner pipeline's parameters",
                    **where,
                )
        try:
            return to_value(obj)
        except TypeError as exc:
            raise self.error(str(exc), **where) from exc

    def _unique(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``...: a generated name no task or block has.

        A generated name longer than Kubernetes allows keeps its start and ends in a short
        hash of the whole, so it stays unique and stable.
        """
        n = self._next_suffix.get(base, 1)
        while True:
            name = base if n == 1 else f"{base}-{n}"
            if len(name) > 63:
                digest = hashlib.sha256(name.encode()).hexdigest()[:8]
                name = f"{name[:54].rstrip('-')}-{digest}"
            if name not in self._taken:
                self._taken.add(name)
                self._next_suffix[base] = n + 1
                return name
            n += 1

    def rename(self, old: str, new: str) -> None:
        """Rename a task, and every reference to it."""
        from dagwright.names import check_k8s_name
        from dagwright.pipelines.blocks import value_tasks

        check_k8s_name(new, "task name", pipeline=self.name)
        if any(t.name == new for t in self.ir.tasks) or any(g.id == new for g in self.ir.groups):
            raise self.error(
                f"duplicate task name '{new}'", task=new, fix="give every task a distinct name"
            )
        values = [v for t in self.ir.tasks for v in t.inputs.values()]
        values += [v for g in self.ir.groups for v in (g.condition, g.items) if v]
        values += list(self.ir.outputs.values())
        used = any(old in value_tasks(v) for v in values) or any(
            old in t.after for t in self.ir.tasks
        )
        if used or any(g.exit_task == old for g in self.ir.groups):
            raise self.error(
                f"task '{old}' cannot be renamed to '{new}': it is already used",
                task=old,
                fix="call .named(...) right where the task is created",
            )
        self.ir.task(old).name = new
        self._taken.discard(old)
        self._taken.add(new)
        self._next_suffix.clear()  # the old name is free again: search from the start
        for key, child in self._last_child.items():
            if child == old:
                self._last_child[key] = new

    def add_after(self, task: str, others: list[str]) -> None:
        """Make ``task`` wait for ``others``."""
        after = self.ir.task(task).after
        after.extend(o for o in others if o not in after)

    # groups

    def _touch(self, child: str) -> None:
        self._last_child[self.current_group] = child

    @contextmanager
    def group(self, kind: str, **fields: Any) -> Iterator[GroupIR]:
        """Open a block of ``kind`` for the tasks added inside the ``with``."""
        group = GroupIR(
            self._unique(fields.pop("id", None) or self._next_id(kind)),
            kind,
            self.current_group,
            **fields,
        )
        self.ir.groups.append(group)
        self._touch(group.id)
        self._groups.append(group.id)
        try:
            yield group
        finally:
            self._groups.pop()

    def _next_id(self, kind: str) -> str:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return f"{kind.replace('_', '-')}-{self._counters[kind]}"

    def condition_chain(self, branch: str) -> list[Value]:
        """The conditions of the If/Elif blocks an Elif or Else continues."""
        parent = self.current_group
        last = self._last_child.get(parent)
        chain = self._chains.get(parent)
        previous = next((g for g in self.ir.groups if g.id == last), None)
        if (
            chain is None
            or previous is None
            or previous.kind != "condition"
            or (previous.branch == "else")
        ):
            raise self.error(
                f"{branch} must directly follow an If or Elif block",
                fix=f"put the {branch} block right after the `with If(...)` block it continues",
            )
        return chain

    def record_branch(self, branch: str, own: Value) -> None:
        """Note an If/Elif/Else branch's own condition, so the next branch can negate it."""
        parent = self.current_group
        if branch == "if":
            self._chains[parent] = [own]
        else:
            self._chains[parent].append(own)

    def call_pipeline(
        self, definition: PipelineDefinition, kwargs: dict[str, Any]
    ) -> PipelineHandle:
        """Trace another pipeline inline, as a sub-DAG group of this one."""
        if definition in self.tracing:
            chain = " -> ".join(d.name for d in [*self.tracing, definition])
            raise self.error(
                f"pipeline '{definition.name}' uses itself as a step ({chain})",
                task=definition.name,
                fix="a pipeline cannot contain itself; use ParallelFor to repeat steps",
            )
        params = definition.params()
        unknown = sorted(set(kwargs) - {p.name for p in params})
        if unknown:
            raise self.error(
                f"pipeline '{definition.name}' has no parameter '{unknown[0]}'",
                task=definition.name,
                field=unknown[0],
                fix=f"its parameters are {[p.name for p in params]}",
            )
        bound: dict[str, Any] = {}
        for p in params:
            if p.name in kwargs:
                bound[p.name] = kwargs[p.name]
            elif p.has_default:
                bound[p.name] = p.default
            else:
                raise self.error(
                    f"missing input '{p.name}' of pipeline '{definition.name}'",
                    task=definition.name,
                    field=p.name,
                    fix=f"pass {p.name}=...",
                )
        declared = {p.name: p.type for p in params}
        for key, val in bound.items():
            value = self._value(val, task=definition.name, field=key)
            source = self.type_of(value)
            fits = (
                value_matches(value["constant"], declared[key])
                if "constant" in value
                else compatible(source, declared[key])
            )
            if not fits:
                raise self.error(
                    f"type mismatch: pipeline '{definition.name}' takes {key}: {declared[key]}, "
                    f"got a {source}",
                    task=definition.name,
                    field=key,
                )
        with self.group("pipeline", id=definition.name) as group:
            self._prefixes.append(group.id + "-")
            self.tracing.append(definition)
            try:
                returned = definition.func(**bound)
            finally:
                self._prefixes.pop()
                self.tracing.pop()
        inner = [t.name for t in self.ir.tasks if group in self._enclosing(t.group)]
        outputs = self.outputs_from(returned, definition.func)
        return PipelineHandle(self, group.id, outputs, inner)

    def type_of(self, value: Value) -> str:
        """The type of a value made while tracing (loop items are not known yet: any)."""
        if "constant" in value:
            return type_of_value(value["constant"])
        if "param" in value:
            param = self.ir.param(value["param"])
            return param.type if param is not None else ANY
        if "one_of" in value:
            return self.type_of(value["one_of"][0])
        ref = value.get("collected", value)
        if "task" in ref:
            out = self.ir.component_of(ref["task"]).output(ref["output"])
            kind = out.type if out is not None else ANY
            return f"list[{kind}]" if "collected" in value else kind
        return ANY

    def _enclosing(self, group_id: str | None) -> list[GroupIR]:
        return self.ir.ancestors(group_id)

    def outputs_from(self, returned: Any, func: Any = None) -> dict[str, Any]:
        """Name the references a pipeline function returned, as KFP does.

        ``func`` is the pipeline function: a returned ``task.outputs`` (or a nested pipeline's
        ``.outputs``) is mapped onto the fields of its NamedTuple return annotation.
        """
        if returned is None:
            return {}
        if isinstance(returned, Outputs):
            from dagwright.pipelines.returns import returned_outputs

            return returned_outputs(self, returned, func)
        if isinstance(returned, Handle):
            return {"output": returned.output}
        if isinstance(returned, (Operand, Collected)):
            return {"output": returned}
        if isinstance(returned, tuple) and hasattr(returned, "_fields"):
            return dict(zip(returned._fields, returned, strict=True))
        if isinstance(returned, dict):
            return dict(returned)
        raise self.error(
            f"the pipeline returned {returned!r}",
            field="return",
            fix="return a task output, a task's .outputs, Collected(...), a NamedTuple or a "
            "dict of those",
        )

    def set_outputs(self, outputs: dict[str, Any]) -> None:
        """Set the pipeline's outputs."""
        self.ir.outputs = {name: self.output_value(name, val) for name, val in outputs.items()}

    def output_value(self, name: str, val: Any) -> Value:
        """One pipeline output as an IR value."""
        return self._value(val.output if isinstance(val, Handle) else val, field=f"output {name}")

    def finish(self) -> PipelineIR:
        """Validate the IR and return it."""
        from dagwright.pipelines.validate import validate_ir

        validate_ir(self.ir)
        return self.ir
