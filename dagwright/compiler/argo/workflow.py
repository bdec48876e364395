"""The IR as an Argo Workflow, WorkflowTemplate or CronWorkflow, built as plain dicts
(``objects.py``)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from dagwright.compiler.argo import flow, when
from dagwright.compiler.argo.dags import dag_template
from dagwright.compiler.argo.imports import imported_argument, importer_tasks, moved_out
from dagwright.compiler.argo.naming import free, param_name
from dagwright.compiler.argo.objects import obj
from dagwright.compiler.argo.scopes import (
    ScopeVariables,
    body,
    item_key,
    item_name,
    iterator,
    loop_keys,
    no_braces,
    var,
)
from dagwright.compiler.argo.templates import (
    READ_PARAM,
    TASK_PARAM,
    component_template,
    is_collected,
    uses_task_name,
)
from dagwright.compiler.argo.values import protect
from dagwright.compiler.branches import wrap_chains
from dagwright.components.types import ANY, element_type, parse
from dagwright.errors import ValidationError
from dagwright.names import to_k8s_name
from dagwright.pipelines.blocks import blocks
from dagwright.pipelines.flow_values import wants_flat
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR

API_VERSION = "argoproj.io/v1alpha1"
KINDS = {"workflow": "Workflow", "template": "WorkflowTemplate", "cron": "CronWorkflow"}


class WorkflowBuilder:
    """One pass over the IR to the templates of a workflow spec."""

    def __init__(self, ir: PipelineIR, options: Any) -> None:
        self.ir = ir
        self.options = options
        self.name = to_k8s_name(ir.name) or "pipeline"
        # importers run no template: their readers fetch the artifact (imports.py)
        self.importers = importer_tasks(ir)
        # a block with no task inside does nothing, and Argo refuses a DAG without tasks
        run = [t for t in ir.tasks if t.name not in self.importers]
        full = {g.id for t in run for g in ir.ancestors(t.group)}
        kept = [g for g in ir.groups if g.id in full]
        tasks = [moved_out(ir, t, full) if t.name in self.importers else t for t in ir.tasks]
        self.ir = ir = dataclasses.replace(ir, groups=kept, tasks=tasks)
        self.artifact_loops = flow.artifact_loops(ir)
        # a OneOf over artifacts leaves its chain's block as a DAG output (flow.py)
        self.ir = ir = wrap_chains(ir, flow.artifact_one_ofs(ir))[0]
        taken = set(ir.components)
        # a component's template is named after it, made a name Argo takes (naming.py)
        from dagwright.compiler.argo.naming import template_names

        self.component_templates = template_names(list(ir.components))
        taken |= set(self.component_templates.values())
        self.root = free("main", taken)
        # block templates keep their ids unless a component has the name already
        self.template_of = {self.root: self.root}
        for group in ir.groups:
            keys = [group.id, body(group.id)] if group.kind == "loop" else [group.id]
            for key in keys:
                self.template_of[key] = free(key, taken)
        self.variables = ScopeVariables(ir, self.root)
        self.exit_tasks = {g.exit_task: g for g in ir.groups if g.exit_task}
        self.reading: set[str] = set()  # components some task passes READ_PARAM to

    def spec(self) -> dict[str, Any]:
        """The WorkflowSpec."""
        options = self.options
        for group in self.ir.groups:
            self._group(group)
        for task in self.ir.tasks:
            if task.name not in self.importers:
                self._task(task)
        self._outputs()
        self._dependencies()
        from dagwright.compiler.argo.memoize import read_by_prefix, warn_unmemoized

        gathered = read_by_prefix(self.ir)  # not memoized: see memoize.py
        warn_unmemoized(self.ir, gathered)
        cache = (options.cache_config_map, options.cache_max_age)
        templates = [self._dag(scope) for scope in self.variables.scopes.values()]
        templates += [
            component_template(
                self.component_templates[cid],
                spec,
                options.delivery,
                options,
                options.tracking_uri,
                self.ir.name,
                tasks=[t.name for t in self.ir.tasks if t.component == cid],
                allow_pickle=options.allow_pickle,
                reads=cid in self.reading,
                given={t.name: t.inputs for t in self.ir.tasks if t.component == cid},
                cache=None if cid in gathered else cache,
            )
            for cid, spec in self.ir.components.items()
            if spec.importer is None
        ]
        for p in self.ir.params:
            param_name(p.name, f"parameter {p.name}")
        # a parameter's value may reach a when and may be given at submit, where it travels
        # unprotected: a default Argo would alter is refused, as a submitted value is
        params = [
            obj(
                name=p.name,
                value=no_braces(
                    p.default if isinstance(p.default, str) else json.dumps(p.default),
                    f"the default of '{p.name}'",
                    field=f"parameter {p.name}",
                )
                if p.has_default
                else None,
                description=p.description or None,
            )
            for p in self.ir.params
        ]
        on_exit = None
        if self.ir.notify is not None:  # the workflow's exit handler tells the notifiers
            from dagwright.compiler.argo.notify import TEMPLATE, notify_template

            on_exit = free(TEMPLATE, {t["name"] for t in templates})
            notification, delivery = self.ir.notify, options.delivery
            templates.append(notify_template(on_exit, self.ir.name, notification, delivery))
        return obj(
            entrypoint=self.root,
            onExit=on_exit,
            arguments=obj(parameters=params) if params else None,
            templates=templates,
            serviceAccountName=options.service_account,
            artifactRepositoryRef=options.repository_ref(),
            ttlStrategy=obj(
                secondsAfterSuccess=options.ttl_success,
                secondsAfterFailure=options.ttl_failure,
            ),
            podGC=obj(strategy="OnPodSuccess"),
            workflowMetadata=obj(labels=self._labels()),
        )

    def _labels(self) -> dict[str, str]:
        return {"dagwright.dev/pipeline": self.name, **self.options.labels}

    def _call(self, scope: str, name: str, template: str) -> dict[str, Any]:
        task: dict[str, Any] = {"name": name, "template": template}
        self.variables.scopes[scope].tasks[name] = task
        return task

    def _group(self, group: GroupIR) -> None:
        scope = self.variables.inner(group.parent)
        task = self._call(scope, group.id, self.template_of[group.id])
        if group.kind == "condition":
            assert group.condition is not None
            try:
                task["when"] = when.render(
                    group.condition, lambda v: self._operand(v, scope), self._item_as_is
                )
            except ValidationError as exc:  # name the block whose condition it is
                raise ValidationError(
                    exc.problem, pipeline=self.ir.name, block=group.id, field=exc.field, fix=exc.fix
                ) from None
        if group.kind == "loop":
            inner = self._call(group.id, iterator(group), self.template_of[body(group.id)])
            items = group.items or {}
            if "constant" in items:  # strings Argo would alter travel protected
                inner["withItems"] = [protect(v) for v in items["constant"]]
            else:
                artifacts = group.id in self.artifact_loops  # over their metadata (flow.py)
                inner["withParam"] = self.variables.param({**items, "meta": artifacts}, group.id)
            args = inner.setdefault("parameters", {})
            args[item_name(group.id, None)] = "{{item}}"
            keys = loop_keys(self.ir)[group.id] | (
                {"pod"} if group.id in self.artifact_loops else set()
            )
            for key in sorted(keys):
                name = item_name(group.id, item_key(group.id, key))
                if name in args:  # a key spelled like another's written name
                    raise ValidationError(
                        f"Argo target: two keys of the items of {group.id} share the "
                        f"parameter name {name!r}",
                        pipeline=self.ir.name,
                        block=group.id,
                        field="key",
                        fix=f"rename the item key {key!r}",
                    )
                args[name] = var("item", key)
            self.variables.scopes[body(group.id)].in_params.update(dict.fromkeys(args))

    def _operand(self, value: dict[str, Any], scope: str) -> tuple[str, str]:
        type_str = "any"
        if "param" in value:
            param = self.ir.param(value["param"])
            type_str = param.type if param else "any"
        elif "task" in value:
            out = self.ir.component_of(value["task"]).output(value["output"])
            type_str = out.type if out else "any"
        elif "loop_item" in value:
            type_str = self._loop_value_type(value)
        return self.variables.param(value, scope), type_str

    def _literals(self, value: dict[str, Any]) -> list[Any] | None:
        """A loop's literal items (or their field ``key``), None when made at run time."""
        items, key = self.variables.groups[value["loop_item"]].items or {}, value.get("key")
        if "constant" not in items or not items["constant"]:
            return None
        if key is None:
            return list(items["constant"])
        ok = all(isinstance(v, dict) for v in items["constant"])
        return [v.get(key) for v in items["constant"]] if ok else None

    def _item_as_is(self, value: dict[str, Any]) -> bool:
        """Does every literal item (or field) reach a when as its text, nothing escaped?"""
        found = protect(self._literals(value))
        return found is not None and all(
            isinstance(v, str) and when.renders_as_is(v) for v in found
        )

    def _loop_value_type(self, value: dict[str, Any]) -> str:
        """A loop item's (or its field's) type: ``str`` when every literal one is a string,
        else what the items' type says (``any`` when nothing does)."""
        if "constant" in (self.variables.groups[value["loop_item"]].items or {}):
            found = self._literals(value)
            return "str" if found and all(isinstance(v, str) for v in found) else ANY
        head, args = parse(self._item_type(value["loop_item"]))
        if value.get("key") is None:
            return self._item_type(value["loop_item"])
        return args[1] if head == "dict" and len(args) == 2 else ANY

    def _task(self, task: TaskIR) -> None:
        scope = self.variables.homes[task.name]
        exit_of = self.exit_tasks.get(task.name)
        if exit_of is not None:  # runs as the exit hook of its block's task
            holder = self.variables.scopes[scope].tasks[exit_of.id]
            target: dict[str, Any] = {"template": self.component_templates[task.component]}
            holder["hooks"] = {"exit": target}
        else:
            target = self._call(scope, task.name, self.component_templates[task.component])
        spec = self.ir.component_of(task)
        params = target.setdefault("parameters", {})
        if uses_task_name(spec, self.options.tracking_uri):
            params[TASK_PARAM] = task.name
        artifacts = target.setdefault("artifacts", {})
        reads: dict[str, dict[str, Any]] = {}  # how the pod reads an input (entry --read)
        if task.ignore_upstream_failure:  # see flow.py; dags.py writes its depends
            target["tolerant"] = True
        for name, value in task.inputs.items():
            inp = spec.input(name)
            assert inp is not None
            if value.get("collected", {}).get("task") in self.importers:
                raise ValidationError(
                    f"Argo target: task '{task.name}' collects the artifact of importer "
                    f"'{value['collected']['task']}' over a loop; no Argo template outputs it",
                    pipeline=self.ir.name,
                    task=task.name,
                    field=name,
                    fix="import the artifact outside the loop and pass it as it is",
                )
            if "final_status" in value:
                params[name] = flow.final_status_text(value["final_status"])
                reads[name] = {"final_status": True}
                continue
            if "collected" in value:
                depth = self._depth(value["collected"]["task"], task.group)
                if depth > 1:  # one list per loop, unless the input declares a flat list
                    reads[name] = {"depth": depth}
                    if not inp.artifact and not wants_flat(inp.type):
                        reads[name]["nested"] = True
            if "loop_item" in value and inp.artifact:  # one of a loop's artifacts (flow.py)
                loop = value["loop_item"]
                pod = self.variables.param({"loop_item": loop, "key": "pod"}, scope)
                artifacts[name] = self.options.location(f"{self.artifact_loops[loop]}/{pod}")
                params[f"{name}-meta"] = self.variables.param({"loop_item": loop}, scope)
                continue
            if "loop_item" in value:  # the whole item: Argo's {{item.key}} is not unescaped
                loop = value["loop_item"]
                params[name] = self.variables.param({"loop_item": loop}, scope)
                reads[name] = {"item": self._item_type(loop)}
                if value.get("key") is not None:
                    reads[name]["key"] = value["key"]
            elif not inp.artifact:
                params[name] = self.variables.param(value, scope)
                if task.ignore_upstream_failure:  # its upstream may have failed: the default
                    params[name] = flow.or_skipped(params[name])
                if "collected" in value and element_type(inp.type) == ANY:
                    ref = value["collected"]
                    out = self.ir.component_of(ref["task"]).output(ref["output"])
                    if out is not None and out.type != ANY:  # see templates: "-items"
                        params[f"{name}-items"] = out.type
            elif value.get("task") in self.importers:
                imported = self.importers[value["task"]]
                artifacts[name], params[f"{name}-meta"] = imported_argument(
                    self.ir, imported, self.options
                )
            elif "collected" in value and is_collected(inp.type):
                ref = value["collected"]
                prefix = f"{var('workflow', 'name')}/{ref['task']}/{ref['output']}"
                artifacts[name] = self.options.location(prefix)
                params[f"{name}-meta"] = self.variables.param({**value, "meta": True}, scope)
            else:
                artifacts[name] = self.variables.artifact(value, scope)
                params[f"{name}-meta"] = self.variables.param({**value, "meta": True}, scope)
        if reads:
            self.reading.add(task.component)
            params[READ_PARAM] = json.dumps(protect(reads), sort_keys=True, separators=(",", ":"))

    def _depth(self, producer: str, consumer_block: str | None) -> int:
        """How many loops around ``producer`` do not enclose the consumer: the list levels
        Argo's aggregation nests a Collected output in."""
        around = {g.id for g in self.ir.ancestors(consumer_block)}
        home = next(t.group for t in self.ir.tasks if t.name == producer)
        return sum(1 for g in self.ir.ancestors(home) if g.kind == "loop" and g.id not in around)

    def _item_type(self, loop: str) -> str:
        """The type of a loop's items (``any`` when nothing says)."""
        from dagwright.pipelines.validate import value_type

        group = self.variables.groups[loop]
        return element_type(value_type(self.ir, group.items or {}, group.parent)) or ANY

    def _outputs(self) -> None:
        scope = self.variables.scopes[self.root]
        for name, value in self.ir.outputs.items():
            ref = value.get("collected", value)
            if "task" not in ref:
                raise ValidationError(
                    f"Argo target: pipeline output '{name}' is not made by a task",
                    pipeline=self.ir.name,
                    field=f"output {name}",
                    fix="return a task's output (a component that returns the value will do)",
                )
            out = self.ir.component_of(ref["task"]).output(ref["output"])
            assert out is not None
            if ref["task"] in self.importers:
                raise ValidationError(
                    f"Argo target: pipeline output '{name}' is the artifact importer "
                    f"'{ref['task']}' imports, which no Argo template outputs",
                    pipeline=self.ir.name,
                    field=f"output {name}",
                    fix="return the output of a task that reads the imported artifact",
                )
            if "collected" in value and self._depth(ref["task"], None) > 1:
                raise ValidationError(
                    f"Argo target: pipeline output '{name}' collects over nested loops; Argo "
                    "nests the inner lists as their texts (['3','4']), not as the list of lists "
                    "dagwright run gives, and no pod reads them back for an output",
                    pipeline=self.ir.name,
                    field=f"output {name}",
                    fix="return the output of a task that takes Collected(...) instead",
                )
            if out.artifact and "collected" in value:
                raise ValidationError(
                    f"Argo target: pipeline output '{name}' collects artifacts over a loop, "
                    "which an Argo template cannot output",
                    pipeline=self.ir.name,
                    field=f"output {name}",
                    fix="return the output of a task that takes Collected(...) instead",
                )
            param_name(name, f"output {name}")
            if out.artifact:
                scope.out_artifacts[name] = self.variables.artifact(value, self.root)
            else:
                scope.out_params[name] = self.variables.param(value, self.root)

    def _dependencies(self) -> None:
        for block_id, block in blocks(self.ir).items():
            scope = self.variables.scopes[self.variables.inner(block_id)]
            for node in block.nodes:
                hooked = sorted(u for u in block.upstream[node] if u in self.exit_tasks)
                if hooked:
                    raise ValidationError(
                        f"Argo target: '{node}' waits for the exit task '{hooked[0]}', which "
                        "runs as its block's exit hook and cannot be waited for",
                        pipeline=self.ir.name,
                        task=node,
                        fix="let the exit task end the pipeline, or use .after on the block's "
                        "last task instead",
                    )
                upstream = set(block.upstream[node])
                if node in self.exit_tasks:  # its hook's arguments are resolved from the
                    holder = self.exit_tasks[node].id  # hooked task's ancestors only
                    needs = upstream - {holder}
                    held = scope.tasks[holder].setdefault("dependencies", [])
                    held.extend(sorted(needs - set(held)))
                    continue
                wanted = sorted(u for u in upstream if u in scope.tasks)
                if node in scope.tasks and wanted:
                    deps = scope.tasks[node].setdefault("dependencies", [])
                    deps.extend(u for u in wanted if u not in deps)

    def _dag(self, scope: Any) -> Any:
        group = self.variables.groups.get(scope.name)
        parallelism = group.parallelism if group is not None and group.kind == "loop" else None
        return dag_template(scope, self.template_of[scope.name], parallelism)
