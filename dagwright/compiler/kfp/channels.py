"""How a value reaches a task in KFP's nested DAGs.

In a KFP PipelineSpec every block (If, ParallelFor, ExitHandler, a nested pipeline) is a DAG
component of its own, and a task may read only its DAG's inputs and the outputs of its sibling
tasks. A value from outside a block therefore enters it as an input of the block's component
(named ``pipelinechannel--...``, as the KFP SDK names them), and a value made inside a block
leaves it as an output of the block's DAG; leaving a ParallelFor makes it a list (Collected).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dagwright.compiler.kfp import nested
from dagwright.compiler.kfp import types as kt
from dagwright.compiler.kfp.guards import Guard
from dagwright.components.types import ANY, element_type, type_of_value
from dagwright.pipelines.ir import PipelineIR, Value
from dagwright.specs import artifact_kind

_UNSET: Any = object()


@dataclass
class Channel:
    """Where one task input comes from, in the DAG of the task reading it."""

    artifact: bool = False
    constant: Any = _UNSET
    component_input: str | None = None
    producer: str | None = None
    key: str | None = None
    selector: str | None = None

    def fill(self, inputs: Any, name: str) -> None:
        """Set input ``name`` of a TaskInputsSpec message from this channel."""
        if self.artifact:
            art = inputs.artifacts[name]
            if self.component_input is not None:
                art.component_input_artifact = self.component_input
            else:
                art.task_output_artifact.producer_task = self.producer
                art.task_output_artifact.output_artifact_key = self.key
            return
        param = inputs.parameters[name]
        if self.constant is not _UNSET:
            param.runtime_value.constant.CopyFrom(to_value(self.constant))
        elif self.component_input is not None:
            param.component_input_parameter = self.component_input
        else:
            param.task_output_parameter.producer_task = self.producer
            param.task_output_parameter.output_parameter_key = self.key
        if self.selector:
            param.parameter_expression_selector = self.selector


def to_value(constant: Any) -> Any:
    """A constant as a protobuf Value."""
    from google.protobuf import struct_pb2

    value = struct_pb2.Value()
    if constant is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(constant, bool):
        value.bool_value = constant
    elif isinstance(constant, (int, float)):
        value.number_value = constant
    elif isinstance(constant, str):
        value.string_value = constant
    elif isinstance(constant, dict):
        value.struct_value.SetInParent()  # so that {} is a struct, not an unset value (null)
        value.struct_value.update(constant)
    else:
        value.list_value.SetInParent()  # so that [] is a list, not an unset value (null)
        value.list_value.extend(constant)
    return value


class BlockChannels:
    """Resolves IR values to channels, adding block inputs and outputs on the way.

    Args:
        ir: The pipeline.
        dags: Each block's ComponentSpec message (None is the root).
        group_tasks: Each group's task message in its parent's DAG.
        guards: The blocks that choose between a loop's Collected outputs and ``[]``, by id.
        wrappers: The block around the If/Elif/Else chain of each branch a OneOf reads.
    """

    def __init__(
        self,
        ir: PipelineIR,
        dags: dict[str | None, Any],
        group_tasks: dict[str, Any],
        guards: dict[str, Guard] | None = None,
        wrappers: dict[str, str] | None = None,
    ) -> None:
        self.ir = ir
        self.dags = dags
        self.group_tasks = group_tasks
        self.guards = guards or {}
        self.wrappers = wrappers or {}  # the condition-branches block of each OneOf branch
        self.one_of_ids: dict[str, int] = {}
        self.parents = {g.id: g.parent for g in ir.groups}
        self.kinds = {g.id: g.kind for g in ir.groups}
        self.task_groups = {t.name: t.group for t in ir.tasks}
        self.nested_reads = nested.exports(ir)

    def path(self, block: str | None) -> list[str | None]:
        """The blocks from the root down to ``block``."""
        chain: list[str | None] = []
        while block is not None:
            chain.append(block)
            block = self.parents[block]
        return [None, *reversed(chain)]

    def type_of(self, value: Value) -> tuple[str, bool]:
        """A value's dagwright type and whether it is an artifact."""
        if "constant" in value:
            return type_of_value(value["constant"]), False
        if "param" in value:
            param = self.ir.param(value["param"])
            return (param.type if param else ANY), False
        if "loop_item" in value:
            if value.get("key"):
                return ANY, False
            items = self.ir.group(value["loop_item"]).items or {}
            items_type, artifact = self.type_of(items)
            return element_type(items_type) or ANY, artifact
        if "one_of" in value:
            return self.type_of(value["one_of"][0])
        ref = value.get("collected", value)
        out = self.ir.component_of(ref["task"]).output(ref["output"])
        assert out is not None
        if "collected" in value:
            return f"list[{out.type}]", out.artifact
        return out.type, out.artifact

    def channel(self, value: Value, block: str | None, want: str = ANY) -> Channel:
        """The channel that brings ``value`` to a task in ``block``.

        Args:
            value: The IR value.
            block: The block of the task that reads it.
            want: The type the reader declares; it types a block input whose value has no
                type of its own (an item of an untyped list), as KFP converts a value to the
                type of the input it arrives through.
        """
        if "constant" in value:
            return Channel(constant=value["constant"])
        if "param" in value:
            name = value["param"]
            if block is None:
                return Channel(component_input=name)
            return self.imported(block, f"pipelinechannel--{name}", value, want)
        if "loop_item" in value:
            loop, key = value["loop_item"], value.get("key")
            item = f"pipelinechannel--{loop}-loop-item"
            selector = f"parseJson(string_value)[{json.dumps(key)}]" if key else None
            if block == loop:
                if not key:
                    self.declare_item(loop, want)
                artifact = self.type_of(value)[1]
                return Channel(artifact=artifact, component_input=item, selector=selector)
            assert block is not None  # a loop item is only read inside its loop
            if key:
                return self.imported(block, f"{item}-subvar-{_safe(key)}", value, want)
            return self.imported(block, item, value, want)
        if "one_of" in value:  # made in the chain's condition-branches block
            wrapper = self._wrapper(value)
            wrapper_path = self.path(wrapper)
            if block in wrapper_path:
                child = wrapper_path[wrapper_path.index(block) + 1]
                assert child is not None
                return Channel(producer=child, key=self.exported(child, value))
            assert block is not None
            return self.imported(block, self.channel_name(value), value, want)
        ref = value.get("collected", value)
        producer = ref["task"]
        artifact = self.type_of(value)[1]
        home = self.task_groups[producer]
        if home == block:
            return Channel(artifact=artifact, producer=producer, key=self.key(ref))
        home_path = self.path(home)
        if block in home_path:  # made deeper inside this block: surfaced by the child holding it
            child = home_path[home_path.index(block) + 1]
            assert child is not None
            return Channel(artifact=artifact, producer=child, key=self.exported(child, value))
        assert block is not None  # the root holds every task, so it never imports one
        return self.imported(block, self.import_name(ref, block), value, want)

    def declare_item(self, loop: str, want: str = ANY) -> None:
        """Declare a loop's item input, once: of the items' element type, or, for an untyped
        list, of the type its first reader wants (STRING when nothing reads it whole)."""
        item = f"pipelinechannel--{loop}-loop-item"
        inputs = self.dags[loop].input_definitions
        if item not in inputs.parameters and item not in inputs.artifacts:
            found, artifact = self.type_of({"loop_item": loop})
            define(inputs, item, want if found == ANY else found, artifact)

    def may_be_null(self, value: Value) -> bool:
        """Can the value be null at run time: a pipeline parameter whose default is None?"""
        if "param" not in value:
            return False
        param = self.ir.param(value["param"])
        return param is not None and param.has_default and param.default is None

    def key(self, ref: Value) -> str:
        """The output key of a task's output, as the KFP spec names it."""
        return kt.output_key(self.ir.component_of(ref["task"]), ref["output"])

    def channel_name(self, ref: Value) -> str:
        """``pipelinechannel--train-Output`` for the single return value (the form kfp.local
        parses as a task output), ``pipelinechannel--train--accuracy`` for a named one;
        ``pipelinechannel--condition-branches-1-oneof-1`` for a OneOf, as the KFP SDK names it."""
        if "one_of" in ref:
            wrapper = self._wrapper(ref)
            text = f"{wrapper} {json.dumps(ref, sort_keys=True)}"
            if text not in self.one_of_ids:
                mine = [k for k in self.one_of_ids if k.startswith(f"{wrapper} ")]
                self.one_of_ids[text] = len(mine) + 1
            number = self.one_of_ids[text]
            return f"pipelinechannel--{wrapper}-oneof-{number}"
        key = self.key(ref)
        sep = "-" if key == "Output" else "--"
        return f"pipelinechannel--{ref['task']}{sep}{key}"

    def import_name(self, ref: Value, block: str) -> str:
        """The input name a task output takes in the blocks it enters to reach ``block``: out of
        a nested pipeline, named after the pipeline's task (``nested.py``, as the KFP SDK does)."""
        home, reader = self.path(self.task_groups[ref["task"]]), self.path(block)
        common = [g for g, h in zip(reader, home, strict=False) if g == h][-1]
        child = home[home.index(common) + 1] if common != home[-1] else None
        if child is None or self.kinds[child] != "pipeline":
            return self.channel_name(ref)
        return nested.reading_name(child, self.pipeline_key(child, ref))

    def pipeline_key(self, group: str, ref: Value) -> str:
        """The DAG output of nested pipeline ``group`` that carries a task output out of it."""
        return nested.output_name(group, ref, self.key(ref), self.nested_reads)

    def imported(self, block: str, name: str, value: Value, want: str = ANY) -> Channel:
        """``value`` as an input of ``block``'s component, fed by the block's parent."""
        type_str, artifact = self.type_of(value)
        if type_str == ANY:
            type_str = want
        inputs = self.dags[block].input_definitions
        known = inputs.artifacts if artifact else inputs.parameters
        if name not in known:
            defined = define(inputs, name, type_str, artifact)
            if self.may_be_null(value):
                # KFP's driver refuses a null it resolves for a block input unless that input
                # is declared optional (backend/src/v2/driver/resolver/parameters.go)
                defined.is_optional = True
            parent = self.parents[block]
            self.channel(value, parent, type_str).fill(self.group_tasks[block].inputs, name)
        return Channel(artifact=artifact, component_input=name)

    def exported(self, group: str, value: Value) -> str:
        """Make ``group``'s DAG output a value produced inside it; returns the output's name."""
        if "one_of" in value:
            return self._one_of(group, value)
        ref = value.get("collected", value)
        if self.kinds.get(group) == "pipeline":
            name = self.pipeline_key(group, ref)
        else:
            name = self.channel_name(ref)
        comp = self.dags[group]
        guard = self.guards.get(group)
        if guard is not None and ("collected" in value or value.get("task") in guard.copies):
            return self._either(group, value)
        _, artifact = self.type_of(value)
        outputs = (
            comp.output_definitions.artifacts if artifact else comp.output_definitions.parameters
        )
        if name in outputs:
            return name
        inner = self.channel(value, group)  # a sibling in the group, or a deeper child
        type_str, _ = self.type_of({"task": ref["task"], "output": ref["output"]})
        listed = any(
            self.kinds[g] == "loop"
            for g in self.path(self.task_groups[ref["task"]])[self.path(group).index(group) :]
            if g is not None
        )
        define(comp.output_definitions, name, f"list[{type_str}]" if listed else type_str, artifact)
        select_output(comp.dag.outputs, name, inner)
        return name

    def _wrapper(self, value: Value) -> str:
        """The condition-branches block of a OneOf's chain."""
        return self.wrappers[self.task_groups[value["one_of"][0]["task"]] or ""]

    def _one_of(self, group: str, value: Value) -> str:
        """A OneOf as an output of ``group``: of the condition-branches block, taken with
        ``valueFromOneof`` from the branch that ran (each branch's DAG output of its member);
        of a block holding it, passed on."""
        name = self.channel_name(value)
        comp = self.dags[group]
        if name in comp.output_definitions.parameters:
            return name
        define(comp.output_definitions, name, self.type_of(value)[0], False)
        if self._wrapper(value) != group:
            select_output(comp.dag.outputs, name, self.channel(value, group))
            return name
        selectors = comp.dag.outputs.parameters[name].value_from_oneof.parameter_selectors
        for member in value["one_of"]:
            branch = self.task_groups[member["task"]]
            assert branch is not None
            selector = selectors.add()
            selector.producer_subtask = branch
            selector.output_parameter_key = self.exported(branch, member)
        return name

    def _either(self, block: str, value: Value) -> str:
        """A guard block's output, from whichever of its branches ran (``valueFromOneof``, as
        the KFP SDK compiles ``dsl.OneOf``): a loop's Collected list or the empty step's
        ``[]``; a moved task's output or its Else copy's."""
        guard = self.guards[block]
        ref = value.get("collected", value)
        name = self.channel_name(ref)
        comp = self.dags[block]
        if name in comp.output_definitions.parameters:
            return name
        type_str, _ = self.type_of(value)
        define(comp.output_definitions, name, type_str, False)
        if "collected" in value:
            assert guard.task is not None
            otherwise: Value = {"task": guard.task, "output": "output"}
        else:
            otherwise = {**value, "task": guard.copies[value["task"]]}
        branches = [
            (guard.nonempty, self.exported(guard.nonempty, value)),
            (guard.empty, self.exported(guard.empty, otherwise)),
        ]
        selectors = comp.dag.outputs.parameters[name].value_from_oneof.parameter_selectors
        for producer, key in branches:
            selector = selectors.add()
            selector.producer_subtask = producer
            selector.output_parameter_key = key
        return name


def select_output(outputs: Any, name: str, channel: Channel) -> None:
    """Make output ``name`` of a DAG (a DagOutputsSpec) the output a channel names."""
    if channel.producer is None:
        raise ValueError("a DAG output comes from a task inside it")
    if channel.artifact:
        selector = outputs.artifacts[name].artifact_selectors.add()
        selector.producer_subtask = channel.producer
        selector.output_artifact_key = channel.key
    else:
        param = outputs.parameters[name].value_from_parameter
        param.producer_subtask = channel.producer
        param.output_parameter_key = channel.key


def define(defs: Any, name: str, type_str: str, artifact: bool) -> Any:
    """Declare one input or output of a component (a ComponentInputsSpec/OutputsSpec) and
    return its spec message."""
    from dagwright.compiler.kfp.proto import messages

    pb = messages()

    if artifact:
        _, is_list = artifact_kind(type_str)
        spec = defs.artifacts[name]
        spec.artifact_type.schema_title = kt.schema_title(type_str)
        spec.artifact_type.schema_version = kt.SCHEMA_VERSION
        if is_list:
            spec.is_artifact_list = True
        return spec
    spec = defs.parameters[name]
    spec.parameter_type = pb.ParameterType.ParameterTypeEnum.Value(kt.parameter_type(type_str))
    return spec


def _safe(key: str) -> str:
    """A dict key as part of an input name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", key)
