"""One Argo container template per dagwright component, running dagwright's step executor."""

from __future__ import annotations

import json
import math
from typing import Any

from dagwright.compiler.argo.memoize import memoize
from dagwright.compiler.argo.naming import param_name
from dagwright.compiler.argo.objects import obj
from dagwright.compiler.argo.runtimes import (
    apply_pod,
    check_resource_step,
    fragments_for,
    merge_container,
    pod_step,
    resource_template,
)
from dagwright.compiler.argo.scopes import var
from dagwright.compiler.argo.values import encode, stored
from dagwright.compiler.deadline import pod_deadline
from dagwright.compiler.delivery import CodeDelivery
from dagwright.components.spec import ComponentSpec
from dagwright.components.types import ANY, element_type
from dagwright.errors import ValidationError
from dagwright.specs import artifact_kind

TASK_PARAM = "dagwright-task"  # a template learns its task's name where it uses it (below)
READ_PARAM = "dagwright-read"  # how the pod reads inputs from loop items and nested loops
ROOT = "/tmp/dagwright"


def uses_task_name(spec: ComponentSpec, tracking_uri: str | None) -> bool:
    """Whether the component's template reads its task's name (TASK_PARAM): in the keys of its
    output artifacts, and for the lineage its pod records. Only then do its tasks pass it: a
    thousand-task DAG would otherwise carry a thousand arguments no pod reads."""
    if bool(tracking_uri) or any(out.artifact for out in spec.outputs):
        return True
    from dagwright.compiler.argo.kfp_container import is_container

    return is_container(spec)  # KFP's {{$.pipeline_task_name}} may be in its command


def is_collected(type_str: str) -> bool:
    """Whether an artifact of this type is a list gathered over a loop (``Collected``)."""
    return artifact_kind(type_str)[1]


def component_template(
    name: str,
    spec: ComponentSpec,
    delivery: CodeDelivery,
    repository: Any,
    tracking_uri: str | None = None,
    pipeline: str = "",
    tasks: list[str] | None = None,
    allow_pickle: bool = False,
    reads: bool = False,
    given: dict[str, dict[str, Any]] | None = None,
    cache: tuple[str, str] | None = ("dagwright-cache", ""),
) -> dict[str, Any]:
    """The template of a component: a container template, with the fragments of the
    component's runtime merged in, or a resource template when the runtime makes a resource.

    Args:
        name: The template's name.
        spec: The component.
        delivery: How the pod gets the code.
        repository: The artifact repository (``ArgoOptions``): ``location(key)``, an
            artifact's storage fields (``s3``/``gcs``), and ``stored_at(key)``, where its pod
            records it is kept.
        tasks: The tasks that use the component (named when the runtime refuses it).
        allow_pickle: The pod may unpickle (joblib) artifacts; it refuses them otherwise.
        reads: Some task passes READ_PARAM (entry's ``--read``) to the template.
        given: Each task using the component, with the inputs it gives (a KFP container
            component's IfPresent placeholders depend on which).
        cache: The ConfigMap and maxAge of a memoized template (``cache=True``, memoize.py);
            None: not memoized, whatever the component says.
    """
    from dagwright.compiler.argo.kfp_container import is_container

    if is_container(spec):
        return kfp_container_template(
            name, spec, repository, tracking_uri, tasks, reads, given, cache
        )
    params = [obj(name=TASK_PARAM)] if uses_task_name(spec, tracking_uri) else []
    args = _component_args(spec, delivery)
    if reads:
        params.append(obj(name=READ_PARAM, default="{}"))
        args += ["--read", var("inputs", "parameters", READ_PARAM)]
    for io in (*spec.inputs, *spec.outputs):  # names an IR file gave, Argo checks them
        param_name(io.name, f"component {spec.name}: {io.name}")
    in_params, artifacts, in_args = _input_ports(spec)
    outputs, out_args = _output_ports(spec, repository)
    env = _env(spec, tracking_uri)
    args += in_args + out_args + _run_flags(tracking_uri, pipeline, allow_pickle)
    container = _container(spec, delivery, args, env)
    inputs = obj(parameters=params + in_params, artifacts=artifacts or None)
    base = dict(
        name=name,
        inputs=inputs,
        retryStrategy=_retry_strategy(spec),
        metadata=obj(labels={"dagwright.dev/component": spec.name}),
        memoize=memoize(spec, inputs, cache, skip=frozenset({TASK_PARAM})),
    )
    pod = pod_step(name, container, {e["name"]: e["value"] for e in env})
    return _runtime_template(base, spec, pod, container, outputs, tasks or [])


def kfp_container_template(
    name: str,
    spec: ComponentSpec,
    repository: Any,
    tracking_uri: str | None,
    tasks: list[str] | None,
    reads: bool,
    given: dict[str, dict[str, Any]] | None,
    cache: tuple[str, str] | None = ("dagwright-cache", ""),
) -> dict[str, Any]:
    """The template of a KFP container component: its own image, command and args, KFP's
    placeholders as Argo's variables (``kfp_container.py``), and the ports every component
    template has, so its tasks are wired as any other's."""
    from dagwright.compiler.argo.kfp_container import container_command

    given = given or {t: {} for t in tasks or []}
    for task, inputs in sorted(given.items()):
        keyed = sorted(n for n, v in inputs.items() if v.get("key") is not None)
        if keyed:  # Argo's {{item.key}} is not unescaped: dagwright's step picks the field
            raise ValidationError(
                f"Argo target: task '{task}' gives KFP container component '{spec.name}' a "
                f"field of a loop item ({keyed[0]}), which only dagwright's step picks in a pod",
                task=task,
                field=keyed[0],
                fix="loop over the values themselves, or pick the field in a Python component",
            )
    for io in (*spec.inputs, *spec.outputs):
        param_name(io.name, f"component {spec.name}: {io.name}")
    command, args = container_command(spec, {t: set(i) for t, i in given.items()})
    in_params, artifacts, _ = _input_ports(spec)
    if reads:  # its tasks pass it (a whole loop item's type), which nothing reads here
        in_params.append(obj(name=READ_PARAM, default="{}"))
    outputs, _ = _output_ports(spec, repository)
    # an output artifact's "-meta" (entry.py) is written by dagwright's step, which does not
    # run here: Argo takes the default, metadata empty, as KFP gives a container's artifacts,
    # and where the artifact is kept, as entry.py records it
    kept_under = repository.stored_at(stored_base())
    for out in spec.output_artifacts:
        pod_name = var("pod", "name")
        meta = {"metadata": {}, "pod": pod_name, **stored(kept_under, out.name, pod_name)}
        for param in (outputs or {}).get("parameters") or []:
            if param["name"] == f"{out.name}-meta":
                param["valueFrom"]["default"] = json.dumps(meta, separators=(",", ":"))
    env = _env(spec, tracking_uri)
    container = obj(
        image=spec.image,
        command=command or None,  # none: the image's entrypoint, as KFP runs it
        args=args or None,
        env=env or None,
        resources=_resources(spec),
    )
    inputs = obj(parameters=[obj(name=TASK_PARAM), *in_params], artifacts=artifacts or None)
    base = dict(
        name=name,
        inputs=inputs,
        retryStrategy=_retry_strategy(spec),
        metadata=obj(labels={"dagwright.dev/component": spec.name}),
        memoize=memoize(spec, inputs, cache, skip=frozenset({TASK_PARAM})),
    )
    pod = pod_step(name, container, {e["name"]: e["value"] for e in env})
    return _runtime_template(base, spec, pod, container, outputs, tasks or [])


def _component_args(spec: ComponentSpec, delivery: CodeDelivery) -> list[str]:
    """The entry's arguments that name the component (as the pod gets it) and the pod."""
    carried = json.dumps(
        delivery.carried_spec(spec).to_dict(), sort_keys=True, separators=(",", ":")
    )
    return [
        "--component",
        # "{{" only occurs inside JSON strings here; escaped, Argo cannot take it for a variable
        carried.replace("{{", "{\\u007b"),
        "--digest",
        spec.digest,
        "--pod",
        "{{pod.name}}",
    ]


def _input_ports(spec: ComponentSpec) -> tuple[list[Any], list[Any], list[str]]:
    """The template's input parameters and artifacts, and the entry's arguments reading them."""
    params: list[Any] = []
    artifacts: list[Any] = []
    args: list[str] = []
    for inp in spec.inputs:
        if not inp.artifact:
            default = encode(inp.default) if inp.has_default else None
            params.append(obj(name=inp.name, default=default))
            args += ["--param", f"{inp.name}={{{{inputs.parameters.{inp.name}}}}}"]
            if element_type(inp.type) == ANY:  # a task passing Collected(...) names its items'
                # type: Argo hands the items of ints or floats on as texts (decode)
                params.append(obj(name=f"{inp.name}-items", default=""))
                items = f"{{{{inputs.parameters.{inp.name}-items}}}}"
                args += ["--param-items", f"{inp.name}={items}"]
            continue
        collected = is_collected(inp.type)
        artifacts.append(
            # a loop whose iterations all skipped leaves nothing under the key prefix
            obj(name=inp.name, path=f"{ROOT}/inputs/{inp.name}", optional=collected or None)
        )
        params.append(obj(name=f"{inp.name}-meta", default="[]" if collected else "{}"))
        flag = "--collected" if collected else "--artifact"
        args += [flag, f"{inp.name}={{{{inputs.artifacts.{inp.name}.path}}}}"]
        args += [f"{flag}-meta", f"{inp.name}={{{{inputs.parameters.{inp.name}-meta}}}}"]
    return params, artifacts, args


def stored_base() -> str:
    """The key prefix of a template's output artifacts: the workflow and the task. Each output
    is kept under ``<prefix>/<output>/<pod name>`` (``stored``)."""
    return f"{var('workflow', 'name')}/{var('inputs', 'parameters', TASK_PARAM)}"


def _output_ports(spec: ComponentSpec, repository: Any) -> tuple[Any, list[str]]:
    """The template's outputs (None without outputs) and the entry's arguments writing
    them; an output artifact is stored under the workflow, task and pod, and the entry is
    told where (``--stored-at``, once for all outputs: it adds the output and its pod)."""
    out_params: list[Any] = []
    out_artifacts: list[Any] = []
    args: list[str] = []
    if spec.output_artifacts:
        args += ["--stored-at", repository.stored_at(stored_base())]
    for out in spec.outputs:
        if out.artifact:
            key = f"{stored_base()}/{out.name}/{var('pod', 'name')}"
            out_artifacts.append(
                obj(
                    name=out.name,
                    path=f"{ROOT}/outputs/{out.name}",
                    archive=obj(none=obj()),
                    **repository.location(key),
                )
            )
            meta_path = f"{ROOT}/outputs/{out.name}-meta"
            out_params.append(obj(name=f"{out.name}-meta", valueFrom=obj(path=meta_path)))
            args += ["--output-artifact", f"{out.name}={{{{outputs.artifacts.{out.name}.path}}}}"]
            args += ["--output-meta", f"{out.name}={{{{outputs.parameters.{out.name}-meta.path}}}}"]
        else:
            path = f"{ROOT}/outputs/{out.name}"
            out_params.append(obj(name=out.name, valueFrom=obj(path=path)))
            args += ["--output-param", f"{out.name}={{{{outputs.parameters.{out.name}.path}}}}"]
    if not (out_params or out_artifacts):
        return None, args
    return obj(parameters=out_params or None, artifacts=out_artifacts or None), args


def _env(spec: ComponentSpec, tracking_uri: str | None) -> list[dict[str, Any]]:
    """The container's environment: the component's, and MLflow's URI when steps record."""
    env = [obj(name=k, value=v) for k, v in spec.env.items()]
    if tracking_uri:
        env.append(obj(name="MLFLOW_TRACKING_URI", value=tracking_uri))
    return env


def _run_flags(tracking_uri: str | None, pipeline: str, allow_pickle: bool) -> list[str]:
    """The entry's arguments for lineage and for unpickling artifacts."""
    args: list[str] = []
    if tracking_uri:  # each step records its lineage under the workflow's name
        args += ["--run", var("workflow", "name"), "--pipeline", pipeline]
        args += ["--task", f"{var('inputs', 'parameters', TASK_PARAM)}@{var('pod', 'name')}"]
    if allow_pickle:
        args.append("--allow-pickle")
    return args


def _container(
    spec: ComponentSpec, delivery: CodeDelivery, args: list[str], env: list[Any]
) -> dict[str, Any]:
    """The container running the entry, after the delivery's install command if any."""
    install = delivery.install_command(spec)
    run = "python3 -m dagwright.compiler.argo.entry"
    command = ["sh", "-c", f'{install} && exec {run} "$@"', "sh"] if install else run.split()
    return obj(
        image=delivery.image_for(spec),
        command=command,
        args=args,
        env=env or None,
        resources=_resources(spec),
    )


def _retry_strategy(spec: ComponentSpec) -> dict[str, Any] | None:
    """The retryStrategy of the component's retries, None when it does not retry."""
    if not spec.retry.limit:
        return None
    return obj(
        limit=str(spec.retry.limit),  # the schema types it as text
        retryPolicy="Always",
        backoff=obj(
            duration=_duration(spec.retry.backoff),
            factor=str(_factor(spec)),
            # Argo's maxDuration bounds all attempts together; a cap bounds one wait
            cap=_duration(spec.retry.max_backoff) if spec.retry.max_backoff is not None else None,
        ),
    )


def _runtime_template(
    base: dict[str, Any],
    spec: ComponentSpec,
    pod: Any,
    container: Any,
    outputs: Any,
    tasks: list[str],
) -> dict[str, Any]:
    """The template with the fragments of the component's runtime: a resource template when
    the runtime makes a resource, else the container template with them merged in."""
    fragments = fragments_for(spec, pod)
    kind = spec.runtime.kind
    # a serving runtime's pod deploys its resource itself (a NuclioFunction through the
    # dashboard): the step stays a container that outputs the URL
    if fragments.resource is not None and not spec.runtime.serves:
        check_resource_step(spec, kind, tasks)
        deadline = str(math.ceil(spec.timeout)) if spec.timeout else None
        return resource_template({**base, "activeDeadlineSeconds": deadline}, fragments, pod, kind)
    template = obj(
        **base,
        # the entry enforces the timeout around the step; the pod's deadline, which counts
        # image pull and the pip bootstrap too, leaves room for them (compiler/deadline.py)
        # the schema types it as an int or a string; Hera's IntOrString wrote it as a string
        activeDeadlineSeconds=str(pod_deadline(spec.timeout)) if spec.timeout else None,
        outputs=outputs,
        container=merge_container(container, fragments.container, kind),
    )
    return apply_pod(template, fragments.pod, kind)


def _resources(spec: ComponentSpec) -> dict[str, Any] | None:
    res = spec.resources
    requests = {k: v for k, v in (("cpu", res.cpu), ("memory", res.memory)) if v}
    limits = {k: v for k, v in (("cpu", res.cpu_limit), ("memory", res.memory_limit)) if v}
    if res.gpu:
        limits["nvidia.com/gpu"] = str(res.gpu)  # Kubernetes takes GPUs as limits
    if not requests and not limits:
        return None
    return obj(requests=requests or None, limits=limits or None)


def _duration(seconds: float) -> str:
    return f"{_number(seconds)}s"


def _factor(spec: ComponentSpec) -> int:
    factor = spec.retry.factor
    if not float(factor).is_integer():
        raise ValidationError(
            f"Argo target: component '{spec.name}' retries with backoff factor {factor}; "
            "Argo takes whole factors only",
            field="retries.factor",
            fix=f"use factor={max(1, round(factor))}",
        )
    return int(factor)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
