"""Fill a PipelineSpec message from the IR: components, executors and the nested DAGs."""

from __future__ import annotations

import json
from typing import Any

from dagwright.compiler.delivery import CodeDelivery
from dagwright.compiler.kfp import cel
from dagwright.compiler.kfp import types as kt
from dagwright.compiler.kfp.channels import Plumbing, _define, to_value
from dagwright.compiler.kfp.container import container
from dagwright.components.spec import ComponentSpec
from dagwright.pipelines.blocks import blocks
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR


class DagBuilder:
    """One pass over the IR that writes into ``spec`` (a PipelineSpec message)."""

    def __init__(self, ir: PipelineIR, spec: Any, delivery: CodeDelivery) -> None:
        from kfp.pipeline_spec import pipeline_spec_pb2

        self.pb = pipeline_spec_pb2
        self.ir = ir
        self.spec = spec
        self.delivery = delivery
        self.names = _Names()

    def build(self) -> None:
        ir, spec = self.ir, self.spec
        component_names = {cid: self.names.take(f"comp-{cid}") for cid in ir.components}
        group_names = {g.id: self.names.take(f"comp-{g.id}") for g in ir.groups}
        dags: dict[str | None, Any] = {None: spec.root}
        group_tasks: dict[str, Any] = {}
        for group in ir.groups:  # a parent block always comes before the blocks inside it
            dags[group.id] = spec.components[group_names[group.id]]
            task = dags[group.parent].dag.tasks[group.id]
            task.task_info.name = group.id
            task.component_ref.name = group_names[group.id]
            group_tasks[group.id] = task
        self.plumbing = Plumbing(ir, dags, group_tasks)
        self._parameters()
        deployment = self.pb.PipelineDeploymentConfig()
        for cid, component in ir.components.items():
            self._component(spec.components[component_names[cid]], component, cid)
            executor = deployment.executors[f"exec-{component_names[cid][5:]}"]
            executor.container.CopyFrom(container(component, self.delivery, self.pb))
        for group in ir.groups:
            self._group(group, group_tasks[group.id])
        for task in ir.tasks:
            self._task(task, dags[task.group].dag.tasks[task.name], component_names)
        self._outputs()
        self._dependencies(dags)
        from google.protobuf import json_format

        spec.deployment_spec.update(json_format.MessageToDict(deployment))

    def _parameters(self) -> None:
        inputs = self.spec.root.input_definitions
        for param in self.ir.params:
            _define(inputs, param.name, param.type, False)
            spec = inputs.parameters[param.name]
            if param.has_default:
                spec.is_optional = True
                if param.default is not None:
                    spec.default_value.CopyFrom(to_value(param.default))
            if param.description:
                spec.description = param.description

    def _component(self, target: Any, spec: ComponentSpec, cid: str) -> None:
        target.executor_label = "exec-" + self.names.taken[f"comp-{cid}"][5:]
        for inp in spec.inputs:
            _define(target.input_definitions, inp.name, inp.type, inp.artifact)
            if inp.has_default:
                defs = target.input_definitions
                param_or_artifact = (defs.artifacts if inp.artifact else defs.parameters)[inp.name]
                param_or_artifact.is_optional = True
                if not inp.artifact and inp.default is not None:
                    param_or_artifact.default_value.CopyFrom(to_value(inp.default))
            if inp.description:
                defs = target.input_definitions
                (defs.artifacts if inp.artifact else defs.parameters)[
                    inp.name
                ].description = inp.description
        for out in spec.outputs:
            _define(
                target.output_definitions, kt.output_key(spec, out.name), out.type, out.artifact
            )

    def _group(self, group: GroupIR, task: Any) -> None:
        plumbing = self.plumbing
        if group.kind == "condition":
            assert group.condition is not None

            def resolve(value: dict[str, Any]) -> tuple[str, str]:
                channel = plumbing.channel(value, group.id)
                assert channel.component_input is not None
                return channel.component_input, plumbing.type_of(value)[0]

            task.trigger_policy.condition = cel.render(group.condition, resolve)
        elif group.kind == "loop":
            assert group.items is not None
            iterator = task.parameter_iterator
            item = f"pipelinechannel--{group.id}-loop-item"
            iterator.item_input = item
            if "constant" in group.items:
                iterator.items.raw = json.dumps(group.items["constant"])
            else:
                channel = plumbing.channel(group.items, group.id)
                assert channel.component_input is not None
                iterator.items.input_parameter = channel.component_input
            item_type = plumbing.type_of({"loop_item": group.id})[0]
            _define(plumbing.dags[group.id].input_definitions, item, item_type, False)
            if group.parallelism:
                task.iterator_policy.parallelism_limit = group.parallelism
        if group.exit_task is not None:
            exit_task = self.plumbing.dags[group.parent].dag.tasks[group.exit_task]
            exit_task.trigger_policy.strategy = (
                self.pb.PipelineTaskSpec.TriggerPolicy.TriggerStrategy.ALL_UPSTREAM_TASKS_COMPLETED
            )

    def _task(self, task: TaskIR, target: Any, component_names: dict[str, str]) -> None:
        spec = self.ir.component_of(task)
        target.task_info.name = task.name
        target.component_ref.name = component_names[task.component]
        for name, value in task.inputs.items():
            self.plumbing.channel(value, task.group).fill(target.inputs, name)
        if spec.cache:  # left out, KFP reads caching as off (the SDK writes it as {})
            target.caching_options.enable_cache = True
        retry = spec.retry
        if retry.limit:
            policy = target.retry_policy
            policy.max_retry_count = retry.limit
            policy.backoff_duration.FromNanoseconds(int(retry.backoff * 1e9))
            policy.backoff_factor = retry.factor
            if retry.max_backoff is not None:
                policy.backoff_max_duration.FromNanoseconds(int(retry.max_backoff * 1e9))

    def _outputs(self) -> None:
        root = self.spec.root
        for name, value in self.ir.outputs.items():
            channel = self.plumbing.channel(value, None)
            type_str, artifact = self.plumbing.type_of(value)
            _define(root.output_definitions, name, type_str, artifact)
            if artifact:
                selector = root.dag.outputs.artifacts[name].artifact_selectors.add()
                selector.producer_subtask = channel.producer
                selector.output_artifact_key = channel.key
            else:
                param = root.dag.outputs.parameters[name].value_from_parameter
                param.producer_subtask = channel.producer
                param.output_parameter_key = channel.key

    def _dependencies(self, dags: dict[str | None, Any]) -> None:
        for block_id, block in blocks(self.ir).items():
            tasks = dags[block_id].dag.tasks
            for node in block.nodes:
                upstream = sorted(block.upstream[node])
                if upstream:
                    tasks[node].dependent_tasks.extend(upstream)


class _Names:
    """KFP component names, unique across components and blocks."""

    def __init__(self) -> None:
        self.taken: dict[str, str] = {}
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self._used:
            n += 1
            name = f"{wanted}-{n}"
        self._used.add(name)
        self.taken[wanted] = name
        return name
