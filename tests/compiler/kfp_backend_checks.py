"""What KFP's backend does with a spec where kfp.local does something else: a check.

No KFP backend can run here (it needs a cluster: the API server, Argo's controller and the
driver pods), so this models, from their source in kubeflow/pipelines and argoproj/argo-workflows,
the steps that differ from kfp.local, and reports each task whose settings would not have on a
cluster the effect they have under kfp.local and ``dagwright run``:

- Retry parameters. ``backend/src/v2/compiler/argocompiler/container.go``
  (``getTaskRetryParametersWithValues``) writes each duration of a ``retryPolicy`` as its
  ``Seconds`` (the fraction dropped) and the factor with Go's ``fmt.Sprint``; a duration left
  out takes the template parameter's default, ``"0"`` (``addParameterDefault``). Argo's
  controller (``workflow/controller/operator.go``, retry backoff) parses ``backoff.factor``
  with ``intstr.Int`` (an integer only: ``"1.5"`` fails the node) and gives up once the next
  wait would end after ``maxDuration`` from the first attempt's start: a ``"0"`` window means
  no retry at all. kfp.local retries regardless of both.
- Timeouts. kfp-kubernetes' executor config carries ``activeDeadlineSeconds``; the driver
  (``backend/src/v2/driver``) sets it on the pod only when it is above zero.
- Exit hooks. ``backend/src/v2/compiler/argocompiler/dag.go`` makes a task whose trigger
  strategy is ALL_UPSTREAM_TASKS_COMPLETED an exit hook on *each* task it depends on
  (``dependentTasks`` plus the producers of what it reads, ``addImplicitDependencies``) and
  leaves it out of the DAG: more than one dependency runs it early and more than once, and a
  task depending on it names a task Argo's DAG does not have.
- Condition dependencies. The same file writes each dependency as ``<task>.Succeeded``; a
  DAG task with a trigger condition gets ``when: <condition> != false``, so when the condition
  is false Argo skips it and omits every task depending on it (``dagwright run`` runs them).
- Placeholders. KFP's launcher (``backend/src/v2/component/launcher_v2.go``,
  ``getPlaceholders``) fills in command and args only ``{{$}}`` and the task's own inputs and
  outputs (``{{$.inputs.parameters['x']}}``, ``{{$.inputs.artifacts['x'].uri}}``, ``.path``,
  ``.metadata``, the same of output artifacts, ``{{$.outputs.parameters['x'].output_file}}``);
  the run's placeholders (``{{$.pipeline_job_uuid}}``, ``{{$.pipeline_task_name}}``, ...) are
  filled by the driver (``backend/src/v2/driver/resolve.go``) only in a constant input that
  is exactly one of them. kfp.local fills them everywhere.
- Empty Collected. The driver (``resolve.go``, ``resolveUpstreamParameters`` and
  ``...Artifacts``) collects a loop's outputs only when it had iterations; after none it looks
  for the producer task inside the loop, finds none, and fails the reader. A loop over a
  constant ``[]`` is known when compiled; over items computed at run time (``inputParameter``)
  a reader is safe only inside a branch whose trigger condition (evaluated by the DAG driver,
  ``backend/src/v2/expression``) requires those items to be non-empty, or through a
  ``valueFromOneof`` DAG output (``resolve.go``, ``GetProducerTask``: the branch that ran)
  whose every way to the loop passes such a branch. No OneOf for artifacts: the same function
  takes the last of a DAG output's ``artifactSelectors``, whichever branch ran.
- Optional parameters. The driver (``backend/src/v2/driver/resolver/parameters.go``,
  ``resolveParameters``; ``resolve.go``'s ``resolveInputs`` before it) refuses a null, or an
  input its parent DAG lacks, unless the component's ``inputDefinitions`` declare it
  ``isOptional``; then it leaves the input out, and a task inside reading it falls back on its
  own optional input's default. A block input that may be null must therefore be optional.
- ``optional`` on ``secretAsEnv``/``configMapAsEnv`` (kfp-kubernetes) is known only to
  backends from 2025-09 on; written when not asked for (``false``), it only breaks older ones.
- Conditions. The driver (``backend/src/v2/expression``) evaluates ``triggerPolicy.condition``
  with cel-go over the task's inputs as ``google.protobuf.Value``s: a STRING parameter is a
  CEL string, a NUMBER_INTEGER or NUMBER_DOUBLE one a double, a BOOLEAN a bool. CEL compares
  only operands of one type (``"10" > "9"`` is false: two strings), and its string literals
  take CEL's escapes only. kfp.local instead pastes each value into a Python ``eval`` (quoted
  with ``'``), which compares loosely and breaks on quotes. ``condition_problems`` reports a
  comparison of two types or a literal CEL cannot read; ``evaluate_condition`` gives the
  backend's answer for given values (see ``cel_model``).
"""

from __future__ import annotations

import re
from typing import Any


def problems(spec: dict[str, Any], platform: dict[str, Any] | None = None) -> list[str]:
    """Everything in ``spec`` (the PipelineSpec document) and ``platform`` (the platform spec
    document, if any) that KFP's backend would run otherwise than kfp.local; empty when none."""
    found: list[str] = []
    dags = {"<root>": spec["root"], **spec.get("components", {})}
    for name, comp in dags.items():
        tasks = comp.get("dag", {}).get("tasks", {})
        for task_name, task in tasks.items():
            if "retryPolicy" in task:
                found += [f"{name}/{task_name}: {p}" for p in retry_problems(task["retryPolicy"])]
            condition = task.get("triggerPolicy", {}).get("condition")
            if condition:
                component = spec["components"][task["componentRef"]["name"]]
                types = _parameter_types(component)
                found += [f"{name}/{task_name}: {p}" for p in condition_problems(condition, types)]
        found += [f"{name}/{p}" for p in dependency_problems(tasks, spec)]
    found += placeholder_problems(spec)
    found += computed_loop_problems(spec)
    for name, comp in dags.items():
        for key, out in comp.get("dag", {}).get("outputs", {}).get("artifacts", {}).items():
            if len(out.get("artifactSelectors", [])) > 1:
                found.append(
                    f"{name}: DAG output {key} selects from several tasks; the driver "
                    "(resolve.go, GetProducerTask) takes the last, whichever ran"
                )
    found += null_input_problems(spec)
    executors = (
        (platform or {}).get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {})
    ).get("executors", {})
    for label, config in executors.items():
        for kind in ("secretAsEnv", "configMapAsEnv"):
            for item in config.get(kind, []):
                if item.get("optional") is False:
                    found.append(
                        f"{label}: {kind} optional: false is written unasked; backends before "
                        "2025-09 refuse the field"
                    )
        if "activeDeadlineSeconds" in config:
            deadline = str(config["activeDeadlineSeconds"])
            if not deadline.isdigit() or int(deadline) <= 0:
                found.append(f"{label}: activeDeadlineSeconds {deadline!r} sets no deadline")
    return found


EXIT_STRATEGY = "ALL_UPSTREAM_TASKS_COMPLETED"


def _producers(task: dict[str, Any]) -> list[str]:
    inputs = task.get("inputs", {})
    found = [
        p.get("taskOutputParameter", {}).get("producerTask")
        for p in inputs.get("parameters", {}).values()
    ] + [
        a.get("taskOutputArtifact", {}).get("producerTask")
        for a in inputs.get("artifacts", {}).values()
    ]
    return [f for f in found if f]


def backend_dependencies(task: dict[str, Any]) -> list[str]:
    """The tasks the backend makes ``task`` depend on: its ``dependentTasks`` and the producers
    of the outputs it reads (argocompiler's ``addImplicitDependencies``)."""
    return list(dict.fromkeys([*task.get("dependentTasks", []), *_producers(task)]))


def dependency_problems(tasks: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """Exit hooks placed otherwise than ExitHandler means, tasks Argo omits after a skipped
    If block, and readers of a loop that cannot have run, in one DAG's tasks."""
    found = []
    exits = {
        n for n, t in tasks.items() if t.get("triggerPolicy", {}).get("strategy") == EXIT_STRATEGY
    }
    for name, task in tasks.items():
        deps = backend_dependencies(task)
        if name in exits:
            if len(deps) != 1:
                found.append(
                    f"{name}: an exit task the backend sets as an exit hook on each of {deps}, "
                    "so it runs early and more than once"
                )
            continue
        for dep in deps:
            if dep in exits:
                found.append(
                    f"{name}: depends on exit task {dep}, which the backend leaves out of the "
                    "Argo DAG (Argo rejects the workflow)"
                )
            elif "condition" in tasks.get(dep, {}).get("triggerPolicy", {}):
                found.append(
                    f"{name}: waits on {dep}.Succeeded; when {dep}'s condition is false Argo "
                    f"skips {dep} and omits {name}, which dagwright run runs"
                )
            empty = tasks.get(dep, {}).get("parameterIterator", {}).get("items", {}).get("raw")
            if empty == "[]" and dep in _producers(task):  # waiting on it alone is fine
                found.append(
                    f"{name}: reads a loop over no items ({dep}); the driver finds no producer "
                    "in a loop that never ran and fails the task"
                )
    return found


def computed_loop_problems(spec: dict[str, Any]) -> list[str]:
    """Readers of a loop over items computed at run time that the driver would fail when the
    items turn out empty: no branch on the items being non-empty lies between them."""
    comps = {"<root>": spec["root"], **spec.get("components", {})}
    callers: dict[str, dict[str, Any]] = {}
    for comp in comps.values():
        for task in comp.get("dag", {}).get("tasks", {}).values():
            callers[task.get("componentRef", {}).get("name", "")] = task

    def guarded(dag: str, loop: dict[str, Any]) -> bool:
        """Does ``dag`` run only when the loop's items are not empty?"""
        items = loop["parameterIterator"]["items"]["inputParameter"]
        source = loop.get("inputs", {}).get("parameters", {}).get(items, {})
        name = source.get("componentInputParameter")
        condition = callers.get(dag, {}).get("triggerPolicy", {}).get("condition")
        read = f"inputs.parameter_values['{name}']"
        return name is not None and condition in (f"{read} != []", f'{read} != "[]"')

    def reached(dag: str, producer: str, key: str, artifact: bool) -> str | None:
        """The unguarded loop over computed items that an output leads back to, if any."""
        task = comps[dag].get("dag", {}).get("tasks", {}).get(producer)
        if task is None:
            return None
        if "inputParameter" in task.get("parameterIterator", {}).get("items", {}):
            return None if guarded(dag, task) else producer
        inner = task.get("componentRef", {}).get("name", "")
        outputs = comps.get(inner, {}).get("dag", {}).get("outputs")
        if outputs is None:
            return None  # a container: its own output
        if artifact:
            spec_ = outputs.get("artifacts", {}).get(key, {})
            ways = [
                (s["producerSubtask"], s["outputArtifactKey"])
                for s in spec_.get("artifactSelectors", [])
            ]
        else:
            spec_ = outputs.get("parameters", {}).get(key, {})
            selectors = [spec_["valueFromParameter"]] if "valueFromParameter" in spec_ else []
            selectors += spec_.get("valueFromOneof", {}).get("parameterSelectors", [])
            ways = [(s["producerSubtask"], s["outputParameterKey"]) for s in selectors]
        for sub, sub_key in ways:
            loop = reached(inner, sub, sub_key, artifact)
            if loop is not None:
                return loop
        return None

    found = []
    for name, comp in comps.items():
        dag = comp.get("dag", {})
        reads = []
        for task_name, task in dag.get("tasks", {}).items():
            inputs = task.get("inputs", {})
            for p in inputs.get("parameters", {}).values():
                if "taskOutputParameter" in p:
                    out = p["taskOutputParameter"]
                    reads.append((task_name, out["producerTask"], out["outputParameterKey"], False))
            for a in inputs.get("artifacts", {}).values():
                if "taskOutputArtifact" in a:
                    out = a["taskOutputArtifact"]
                    reads.append((task_name, out["producerTask"], out["outputArtifactKey"], True))
        if name == "<root>":  # the pipeline's outputs are read from the root DAG
            outputs = dag.get("outputs", {})
            for key, out in outputs.get("parameters", {}).items():
                if "valueFromParameter" in out:
                    sel = out["valueFromParameter"]
                    reads.append(
                        (f"output {key}", sel["producerSubtask"], sel["outputParameterKey"], False)
                    )
            for key, out in outputs.get("artifacts", {}).items():
                for sel in out.get("artifactSelectors", []):
                    reads.append(
                        (f"output {key}", sel["producerSubtask"], sel["outputArtifactKey"], True)
                    )
        for reader, producer, key, artifact in reads:
            loop = reached(name, producer, key, artifact)
            if loop is not None:
                found.append(
                    f"{name}/{reader}: reads the outputs of {loop}, a loop over items computed "
                    "at run time, outside a branch on them not being empty; when they turn out "
                    "empty the driver finds no iteration to collect and fails it"
                )
    return found


# what KFP's launcher fills in a container's command and args (launcher_v2.go, getPlaceholders)
_LAUNCHER_FILLS = re.compile(
    r"\{\{\$(?:"
    r"|\.inputs\.parameters\['(?P<param>[^']+)'\]"
    r"|\.(?:inputs|outputs)\.artifacts\['[^']+'\]\.(?:uri|path|metadata)"
    r"|\.outputs\.parameters\['[^']+'\]\.output_file"
    r")\}\}"
)
# the constants the driver replaces (resolve.go, resolveInputParameter's runtime value)
DRIVER_FILLS = {
    "{{$.pipeline_job_name}}",
    "{{$.pipeline_job_resource_name}}",
    "{{$.pipeline_job_uuid}}",
    "{{$.pipeline_task_name}}",
    "{{$.pipeline_task_uuid}}",
    "{{$.pipeline_job_create_time_utc}}",
    "{{$.pipeline_job_schedule_time_utc}}",
}
_PLACEHOLDER = re.compile(r"\{\{\$[^{}]*\}\}")


def placeholder_problems(spec: dict[str, Any]) -> list[str]:
    """KFP placeholders the backend would leave as they are."""
    found = []
    components = spec.get("components", {})
    by_label = {c.get("executorLabel"): c for c in components.values() if "executorLabel" in c}
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    for label, executor in executors.items():
        container = executor.get("container", {})
        declared = by_label.get(label, {}).get("inputDefinitions", {}).get("parameters", {})
        for text in [*container.get("command", []), *container.get("args", [])]:
            for placeholder in _PLACEHOLDER.findall(text):
                match = _LAUNCHER_FILLS.fullmatch(placeholder)
                if match is None:
                    found.append(f"{label}: the launcher leaves {placeholder} unfilled")
                elif match.group("param") and match.group("param") not in declared:
                    found.append(f"{label}: {placeholder} names no input of the component")
    for name, comp in {"<root>": spec["root"], **components}.items():
        for task_name, task in comp.get("dag", {}).get("tasks", {}).items():
            for key, param in task.get("inputs", {}).get("parameters", {}).items():
                value = param.get("runtimeValue", {}).get("constant")
                if isinstance(value, str) and "{{$." in value and value not in DRIVER_FILLS:
                    found.append(f"{name}/{task_name}: the driver leaves {key}={value!r} as it is")
    return found


def null_input_problems(spec: dict[str, Any]) -> list[str]:
    """Block inputs that may resolve to null without being declared optional."""
    components = spec.get("components", {})
    callers: dict[str, tuple[str, dict[str, Any]]] = {}  # block component -> (parent, task)
    for parent, comp in {"<root>": spec["root"], **components}.items():
        for task in comp.get("dag", {}).get("tasks", {}).values():
            ref = task.get("componentRef", {}).get("name")
            if ref in components and "dag" in components[ref]:
                callers[ref] = (parent, task)

    def may_be_null(comp_name: str, param: str) -> bool:
        comp = spec["root"] if comp_name == "<root>" else components[comp_name]
        defined = comp.get("inputDefinitions", {}).get("parameters", {}).get(param, {})
        if comp_name == "<root>":
            return bool(defined.get("isOptional")) and "defaultValue" not in defined
        if comp_name not in callers:
            return False
        parent, task = callers[comp_name]
        source = task.get("inputs", {}).get("parameters", {}).get(param, {})
        upstream = source.get("componentInputParameter")
        return upstream is not None and may_be_null(parent, upstream)

    found = []
    for name in callers:
        defined = components[name].get("inputDefinitions", {}).get("parameters", {})
        for param, definition in defined.items():
            if not definition.get("isOptional") and may_be_null(name, param):
                found.append(
                    f"{name}: input {param} may be null and is not isOptional; the DAG driver "
                    "refuses it"
                )
    return found


def _parameter_types(component: dict[str, Any]) -> dict[str, str]:
    declared = component.get("inputDefinitions", {}).get("parameters", {})
    return {name: d.get("parameterType", "STRING") for name, d in declared.items()}


def condition_problems(condition: str, types: dict[str, str]) -> list[str]:
    """Why cel-go would refuse ``condition`` where kfp.local's ``eval`` goes on."""
    from cel_model import CelError, check

    try:
        check(condition, types)
    except CelError as exc:
        return [f"condition {condition!r}: {exc}"]
    return []


def evaluate_condition(condition: str, types: dict[str, str], values: dict[str, Any]) -> bool:
    """The backend's answer for ``condition`` over the parameter ``values`` (as dagwright run
    made them), each held as the ``google.protobuf.Value`` its declared type gives."""
    from cel_model import evaluate

    return evaluate(condition, types, values)


def argo_parameters(policy: dict[str, Any]) -> dict[str, str]:
    """The Argo retry parameters KFP's backend makes of a ``retryPolicy`` (proto JSON)."""
    return {
        "retry-max-count": str(policy.get("maxRetryCount", 0)),
        "retry-backoff-duration": _seconds(policy.get("backoffDuration")),
        "retry-backoff-factor": _go_float(float(policy.get("backoffFactor", 0.0))),
        "retry-backoff-max-duration": _seconds(policy.get("backoffMaxDuration")),
    }


def retry_problems(policy: dict[str, Any]) -> list[str]:
    """Why the retries a ``retryPolicy`` asks for would not happen on a cluster."""
    params = argo_parameters(policy)
    found = []
    factor_text = params["retry-backoff-factor"]
    integral = re.fullmatch(r"-?\d+", factor_text) is not None
    if not integral:
        found.append(f"backoff factor {factor_text!r} is not an integer Argo can parse")
    limit = int(params["retry-max-count"])
    duration = int(params["retry-backoff-duration"])
    window = int(params["retry-backoff-max-duration"])
    if "backoffMaxDuration" not in policy:
        found.append("no backoffMaxDuration: the backend passes '0', a retry window of 0s")
    factor = int(factor_text) if integral else 1
    waits = sum(duration * factor**n for n in range(limit))
    if limit and window <= waits:
        found.append(f"retry window {window}s does not cover the waits ({waits}s)")
    given = policy.get("backoffDuration", "0s")
    if _exact_seconds(given) != duration:
        found.append(f"backoffDuration {given} loses its fraction (the backend waits {duration}s)")
    return found


def _seconds(duration: str | None) -> str:
    """A protobuf JSON duration (``"1.500s"``) as the backend passes it: whole seconds."""
    if duration is None:
        return "0"  # addParameterDefault's value for a parameter the policy left out
    return str(int(float(duration.removesuffix("s"))))


def _exact_seconds(duration: str) -> float:
    return float(duration.removesuffix("s"))


def _go_float(value: float) -> str:
    """Go's ``fmt.Sprint`` of a float64 (``%v``: shortest form, no trailing ``.0``)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)


def assert_runs_as_compiled(text: str) -> None:
    """Fail the calling test if the compiled KFP YAML ``text`` has any of the problems."""
    import yaml

    spec, *rest = [d for d in yaml.safe_load_all(text) if d is not None]
    found = problems(spec, rest[0] if rest else None)
    assert found == [], f"KFP's backend would run this otherwise than kfp.local: {found}"
