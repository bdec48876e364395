"""Fill a PipelineSpec message from the IR: components, executors and the nested DAGs."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format

from dagwright.compiler.delivery import CodeDelivery
from dagwright.compiler.kfp import cel, flow, guards, policy, runtime, topology
from dagwright.compiler.kfp import types as kt
from dagwright.compiler.kfp.channels import BlockChannels, Channel, define, select_output, to_value
from dagwright.compiler.kfp.container import container, importer_executor
from dagwright.components.final_status import FINAL_STATUS
from dagwright.components.spec import ComponentSpec
from dagwright.components.types import ANY, parse
from dagwright.errors import ValidationError
from dagwright.pipelines.blocks import blocks
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR, Value


class DagBuilder:
    """One pass over the IR that writes into ``spec`` (a PipelineSpec message)."""

    def __init__(
        self,
        ir: PipelineIR,
        spec: Any,
        delivery: CodeDelivery,
        tracking_uri: str | None = None,
        *,
        allow_pickle: bool = False,
    ) -> None:
        from dagwright.compiler.kfp.proto import messages

        self.pb = messages()
        self.ir = ir
        self.spec = spec
        self.delivery = delivery
        self.tracking_uri = tracking_uri
        self.allow_pickle = allow_pickle

    def build(self) -> dict[str, dict[str, Any]]:
        """Fill the spec; returns each executor's kfp-kubernetes config (for the platform
        spec), only for executors whose runtime needs one."""
        topology.check_exit_tasks(self.ir, self.fail)
        flow.check_tolerant_tasks(self.ir, self.fail)
        self.ir, wrappers = flow.wrap_branch_sets(self.ir, self.fail)
        self.ir = topology.wrap_awaited_conditions(self.ir)
        self.ir, guarded = guards.guard_computed_loops(self.ir, self.fail)
        self.optional_artifacts = guarded.optional
        self.branches = {b: g for g in guarded.guards.values() for b in (g.nonempty, g.empty)}
        ir, spec = self.ir, self.spec
        self.platform: dict[str, dict[str, Any]] = {}
        # a block with no task inside does nothing, and KFP has no form for an empty DAG
        full = {g.id for t in ir.tasks for g in ir.ancestors(t.group)}
        self.groups = [g for g in ir.groups if g.id in full]
        names = _Names()
        component_names = {cid: names.take(f"comp-{cid}") for cid in ir.components}
        group_names = {g.id: names.take(f"comp-{g.id}") for g in self.groups}
        dags: dict[str | None, Any] = {None: spec.root}
        group_tasks: dict[str, Any] = {}
        for group in self.groups:  # a parent block always comes before the blocks inside it
            dags[group.id] = spec.components[group_names[group.id]]
            task = dags[group.parent].dag.tasks[group.id]
            task.task_info.name = group.id
            task.component_ref.name = group_names[group.id]
            group_tasks[group.id] = task
        self.channels = BlockChannels(ir, dags, group_tasks, guarded.guards, wrappers)
        self._parameters()
        deployment = self.pb.PipelineDeploymentConfig()
        for cid, component in ir.components.items():
            executor_label = "exec-" + component_names[cid].removeprefix("comp-")
            self._component(spec.components[component_names[cid]], cid, component, executor_label)
            executor = deployment.executors[executor_label]
            if component.importer is not None:  # KFP's own importer: no container
                importer_executor(executor.importer, component)
                continue
            box = container(component, self.delivery, self.pb)
            own = component.kfp is None  # an imported executor runs no dagwright entry
            if self.allow_pickle and own:  # the pod's entry refuses joblib artifacts without it
                box.args.append("--dagwright-allow-pickle")
            if self.tracking_uri and own:  # each step records its lineage under the run's id
                box.env.add(name="MLFLOW_TRACKING_URI", value=self.tracking_uri)
                box.args.extend(
                    [
                        "--dagwright-run",
                        _placeholder(RUN_INPUT),
                        "--dagwright-pipeline",
                        ir.name,
                        "--dagwright-task",
                        f"{_placeholder(TASK_INPUT)}@{_placeholder(TASK_ID_INPUT)}",
                    ]
                )
            box, platform = self._runtime(cid, component, box, executor_label)
            if platform:
                self.platform[executor_label] = platform
            executor.container.CopyFrom(box)
        for group in self.groups:
            self._group(group, group_tasks[group.id])
        for task in ir.tasks:
            self._task(task, dags[task.group].dag.tasks[task.name], component_names)
        for group in self.groups:
            if group.kind == "loop":
                self.channels.declare_item(group.id)  # an untyped item nothing read whole
        self._outputs()
        self._dependencies(dags)
        spec.deployment_spec.update(json_format.MessageToDict(deployment))
        return self.platform

    def fail(self, problem: str, fix: str, **where: Any) -> ValidationError:
        """A ``ValidationError`` for a pipeline the KFP target cannot express."""
        return ValidationError(f"KFP target: {problem}", pipeline=self.ir.name, fix=fix, **where)

    def _runtime(
        self, cid: str, component: ComponentSpec, box: Any, label: str
    ) -> tuple[Any, dict[str, Any]]:
        """The component's runtime fragments applied; a refusal names its first task."""

        def fail(problem: str, fix: str, **where: Any) -> ValidationError:
            first = next((t.name for t in self.ir.tasks if t.component == cid), None)
            return self.fail(problem, fix, task=first, **where)

        return runtime.apply(component, box, label, self.delivery, self.pb, fail)

    def _parameters(self) -> None:
        inputs = self.spec.root.input_definitions
        for param in self.ir.params:
            spec = define(inputs, param.name, param.type, False)
            if param.has_default:
                spec.is_optional = True
                if param.default is not None:
                    spec.default_value.CopyFrom(to_value(param.default))
            if param.description:
                spec.description = param.description

    def _component(self, target: Any, cid: str, spec: ComponentSpec, executor_label: str) -> None:
        target.executor_label = executor_label
        for inp in spec.inputs:
            if inp.type == FINAL_STATUS:  # declared as the KFP SDK declares it
                status = target.input_definitions.parameters[inp.name]
                status.parameter_type = self.pb.ParameterType.ParameterTypeEnum.Value(
                    "TASK_FINAL_STATUS"
                )
                status.is_optional = True
                continue
            defined = define(target.input_definitions, inp.name, inp.type, inp.artifact)
            if (cid, inp.name) in self.optional_artifacts:  # left out by a guard's Else copy
                defined.is_optional = True
            if inp.has_default:  # only parameters have defaults
                defined.is_optional = True
                if inp.default is not None:
                    defined.default_value.CopyFrom(to_value(inp.default))
            if inp.description:
                defined.description = inp.description
        for out in spec.outputs:
            if not out.artifact and parse(out.type)[0] == "Optional":
                raise self.fail(
                    f"output '{out.name}' of component '{spec.name}' may be None, which a KFP "
                    "output parameter cannot hold",
                    fix="return a value of the declared type (e.g. -1 or '') instead of None",
                    field=out.name,
                )
            define(target.output_definitions, kt.output_key(spec, out.name), out.type, out.artifact)
        if self.tracking_uri and spec.importer is None:  # the run's ids, which each task
            # passes (see _task); an importer runs no pod to record anything
            for name in _LINEAGE_INPUTS:
                define(target.input_definitions, name, "str", False)

    def _group(self, group: GroupIR, task: Any) -> None:
        channels = self.channels
        if group.kind == "condition":
            assert group.condition is not None

            def resolve(value: Value, want: str) -> str:
                channel = channels.channel(value, group.id, want)
                assert channel.component_input is not None
                return channel.component_input

            condition, typer = group.condition, self._typer
            if group.id in self.branches:
                condition, typer = self._emptiness(group), self._guard_typer
            try:
                task.trigger_policy.condition = cel.render(condition, resolve, typer)
            except ValidationError as exc:  # name the block whose condition it is
                raise self.fail(
                    exc.problem, exc.fix or "", block=group.id, field=exc.field
                ) from None
        elif group.kind == "loop":
            assert group.items is not None
            item = f"pipelinechannel--{group.id}-loop-item"
            if channels.type_of(group.items)[1]:  # a list of artifacts: one per iteration
                artifacts = task.artifact_iterator
                artifacts.item_input = item
                channel = channels.channel(group.items, group.id)
                assert channel.component_input is not None
                artifacts.items.input_artifact = channel.component_input
                channels.declare_item(group.id)
                if group.parallelism:
                    task.iterator_policy.parallelism_limit = group.parallelism
                return
            iterator = task.parameter_iterator
            iterator.item_input = item
            if "constant" in group.items:
                iterator.items.raw = json.dumps(group.items["constant"])
            else:
                channel = channels.channel(group.items, group.id)
                assert channel.component_input is not None
                iterator.items.input_parameter = channel.component_input
            if channels.type_of({"loop_item": group.id})[0] != ANY:
                channels.declare_item(group.id)  # else its first reader's type, see _task
            if group.parallelism:
                task.iterator_policy.parallelism_limit = group.parallelism
        if group.exit_task is not None:
            exit_task = self.channels.dags[group.parent].dag.tasks[group.exit_task]
            exit_task.trigger_policy.strategy = (
                self.pb.PipelineTaskSpec.TriggerPolicy.TriggerStrategy.ALL_UPSTREAM_TASKS_COMPLETED
            )

    def _guard_typer(self, value: Value) -> str:
        """A guard's items: a list, or untyped the list's JSON text, declared STRING and
        compared with ``"[]"`` (see ``_emptiness``)."""
        own = self.channels.type_of(value)[0]
        return "str" if own == ANY else own

    def _typer(self, value: Value) -> str:
        """A condition side's type: a field of literal dict items is ``str`` when every
        item's is a string (KFP hands it on as it is)."""
        key = value.get("key")
        items = (self.ir.group(value["loop_item"]).items or {}) if key else {}
        if items.get("constant"):
            found = [v.get(key) if isinstance(v, dict) else None for v in items["constant"]]
            if all(isinstance(v, str) for v in found):
                return "str"
        return self.channels.type_of(value)[0]

    def _emptiness(self, group: GroupIR) -> Value:
        """A guard branch's condition on its loop's items, compared with ``[]`` as the driver
        gives them: a list to a LIST input, their JSON text to a STRING one (an untyped item;
        ``resolver/parameters.go``, ``normalizeResolvedParameterValue``, and ``PbValueToText``,
        which writes an empty list as ``[]``)."""
        guard = self.branches[group.id]
        items = self.ir.group(guard.loop).items
        assert items is not None
        channel = self.channels.channel(items, group.id)
        assert channel.component_input is not None
        declared = self.channels.dags[group.id].input_definitions.parameters
        string = self.pb.ParameterType.ParameterTypeEnum.Value("STRING")
        text = declared[channel.component_input].parameter_type == string
        test: Value = {"op": "ne", "left": items, "right": {"constant": "[]" if text else []}}
        return test if group.id == guard.nonempty else {"op": "not", "arg": test}

    def _task(self, task: TaskIR, target: Any, component_names: dict[str, str]) -> None:
        spec = self.ir.component_of(task)
        # KFP's UI shows taskInfo.name; the task's key in the DAG stays its name
        target.task_info.name = task.display_name or task.name
        target.component_ref.name = component_names[task.component]
        if task.ignore_upstream_failure:  # see flow.py
            target.trigger_policy.strategy = (
                self.pb.PipelineTaskSpec.TriggerPolicy.TriggerStrategy.ALL_UPSTREAM_TASKS_COMPLETED
            )
        for name, value in task.inputs.items():
            inp = spec.input(name)
            assert inp is not None
            if "final_status" in value:
                target.inputs.parameters[name].task_final_status.producer_task = value[
                    "final_status"
                ]
                continue
            if value.get("constant", ...) is None:
                if inp.has_default and inp.default is None:
                    continue  # KFP cannot pass null; left out, the default None applies
                raise self.fail(
                    f"task '{task.name}' passes None to '{name}', which KFP cannot pass",
                    fix=f"give '{name}' a default of None and leave it out, or pass a value",
                    task=task.name,
                    field=name,
                )
            self._check_collected(value, task.group, inp.type, task=task.name, field=name)
            if self._collects_nothing(value, task.group):
                if inp.artifact:
                    raise self.fail(
                        f"task '{task.name}' collects '{name}' over a ParallelFor with no "
                        "items; KFP's backend has no list of artifacts to give it (the driver "
                        "finds no producer in a loop that never ran) and fails the task",
                        fix="loop over a non-empty list, or drop the loop and its consumer",
                        task=task.name,
                        field=name,
                    )
                # what `dagwright run` gives; the backend's driver would fail the task instead
                # (backend/src/v2/driver/resolve.go collects only when iterations > 0)
                Channel(constant=[]).fill(target.inputs, name)
                continue
            self.channels.channel(value, task.group, inp.type).fill(target.inputs, name)
        if self.tracking_uri and spec.importer is None:
            # KFP's launcher fills only input placeholders in a container's arguments, but the
            # driver (backend/src/v2/driver/resolve.go) fills a constant input that is exactly
            # one of the run's placeholders: the ids reach the arguments through inputs
            for name, placeholder in _LINEAGE_INPUTS.items():
                if name == TASK_INPUT and task.display_name:  # the placeholder would be it
                    placeholder = task.name
                Channel(constant=placeholder).fill(target.inputs, name)
        if spec.cache:  # left out, KFP reads caching as off (the SDK writes it as {})
            target.caching_options.enable_cache = True
        if spec.retry.limit:  # the fields KFP's backend needs for a retry to happen at all
            policy.fill_retry(target.retry_policy, spec.retry, task.name, self.fail)

    def _check_collected(
        self, value: Value, block: str | None, wanted: str | None, **where: Any
    ) -> None:
        flow.check_collected(self.channels, value, block, wanted, self.fail, **where)

    def _collects_nothing(self, value: Value, block: str | None) -> bool:
        """Does ``value`` collect over a loop whose items are a constant empty list?"""
        if "collected" not in value:
            return False
        channels = self.channels
        home = channels.path(channels.task_groups[value["collected"]["task"]])
        return any(
            channels.kinds[g] == "loop" and self.ir.group(g).items == {"constant": []}
            for g in home
            if g is not None and g not in channels.path(block)
        )

    def _outputs(self) -> None:
        root = self.spec.root
        for name, value in self.ir.outputs.items():
            if "task" not in value and "collected" not in value:
                raise self.fail(
                    f"pipeline output '{name}' is not made by a task; KFP takes pipeline "
                    "outputs only from tasks",
                    fix="return a task's output (a component that returns the value will do)",
                    field=f"output {name}",
                )
            self._check_collected(value, None, None, field=f"output {name}")
            if self._collects_nothing(value, None):
                raise self.fail(
                    f"pipeline output '{name}' collects over a ParallelFor with no items; "
                    "KFP's backend finds no producer in a loop that never ran",
                    fix="return the output of a task that takes the Collected list",
                    field=f"output {name}",
                )
            type_str, artifact = self.channels.type_of(value)
            define(root.output_definitions, name, type_str, artifact)
            select_output(root.dag.outputs, name, self.channels.channel(value, None))

    def _dependencies(self, dags: dict[str | None, Any]) -> None:
        for block_id, block in blocks(self.ir).items():
            if block_id not in dags:
                continue  # an empty block, left out
            tasks = dags[block_id].dag.tasks
            for node in block.nodes:
                upstream = sorted(u for u in block.upstream[node] if u in tasks)
                if node in tasks and upstream:
                    tasks[node].dependent_tasks.extend(upstream)


# inputs every component has when pods record lineage, named so no Python parameter clashes
RUN_INPUT = "dagwright-run"
TASK_INPUT = "dagwright-task"
TASK_ID_INPUT = "dagwright-task-id"
_LINEAGE_INPUTS = {
    RUN_INPUT: "{{$.pipeline_job_uuid}}",
    TASK_INPUT: "{{$.pipeline_task_name}}",
    TASK_ID_INPUT: "{{$.pipeline_task_uuid}}",
}


def _placeholder(name: str) -> str:
    return "{{$.inputs.parameters['" + name + "']}}"


class _Names:
    """KFP component names, unique across components and blocks."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self._used:
            n += 1
            name = f"{wanted}-{n}"
        self._used.add(name)
        return name
