"""A component's runtime on the KFP target: its Fragments in the container and the platform spec.

A KFP PipelineContainerSpec carries only image, command, args, env (name and value) and
resources. Every other pod or container field is the kfp-kubernetes extension's business: a
second YAML document, the platform spec (``platforms.kubernetes.deploymentSpec.executors``),
holding one ``KubernetesExecutorConfig`` (kfp-kubernetes' ``kubernetes_executor_config.proto``)
per executor label, written here with that message's JSON field names. That message has no
service account (KFP sets one per run) and maps Secrets to variables key by key
(``secretAsEnv.keyToEnv``), with no whole-Secret ``envFrom``: both are refused.

A step whose runtime becomes a custom resource runs ``python -m dagwright.runtimes.launcher``
instead, which creates the resource and waits for its conditions (KFP has no resource step).
A serving runtime (``serves``, as Nuclio) is the exception: its step's pod deploys the
resource itself and outputs the URL, so it stays an ordinary executor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from dagwright.compiler.delivery import CodeDelivery, sdk_requirement
from dagwright.compiler.kfp.container import set_resources
from dagwright.compiler.kfp.policy import timeout_config
from dagwright.compiler.kfp.volumes import named, node_affinity, volume_config
from dagwright.compiler.pod_options import with_pod_options
from dagwright.components.spec import ComponentSpec, Resources
from dagwright.errors import ValidationError
from dagwright.runtimes import Fragments, PodStep, runtime_for
from dagwright.runtimes import launcher as ln
from dagwright.runtimes.fragments import PARAMETERS_ONLY_FIX
from dagwright.runtimes.resource_conditions import parse_condition

Fail = Callable[..., ValidationError]
_GPU = "nvidia.com/gpu"
_TOLERATION_KEYS = ("key", "operator", "value", "effect", "tolerationSeconds")
_NO_KFP_FIX = (
    "compile for Argo (--target argo), which carries every pod field, or leave the setting out"
)


def apply(
    spec: ComponentSpec, box: Any, label: str, delivery: CodeDelivery, pb: Any, fail: Fail
) -> tuple[Any, dict[str, Any]]:
    """The executor's container with the runtime's fragments, and its platform config.

    Args:
        spec: The component.
        box: Its ordinary PipelineContainerSpec message (left as it is).
        label: Its executor label.
        delivery: How code reaches the pod.
        pb: The ``pipeline_spec_pb2`` module.
        fail: Makes a ValidationError naming the pipeline, from problem, fix and place.

    Returns:
        The container to use, and the ``KubernetesExecutorConfig`` as JSON (empty: none).
    """
    fragments = runtime_for(spec.runtime).fragments(spec.runtime, pod_step(label, box))
    fragments = with_pod_options(spec, fragments, fail)  # the component's own pod options
    # a serving runtime's own pod deploys its resource (a NuclioFunction through the
    # dashboard) and outputs the URL: the step stays an ordinary executor
    if fragments.resource is not None and not spec.runtime.serves:
        return launcher(spec, box, fragments, delivery, pb, fail)
    if not fragments.container and not fragments.pod:
        return box, timeout_config(spec, {})
    out = pb.PipelineDeploymentConfig.PipelineContainerSpec()
    out.CopyFrom(box)
    config: dict[str, Any] = {}
    container = {k: v for k, v in fragments.container.items() if k != "volumeMounts"}
    _container(spec, out, container, config, fail)
    _pod(spec, {k: v for k, v in fragments.pod.items() if k != "volumes"}, config, fail)
    mounts = fragments.container.get("volumeMounts", [])
    config.update(volume_config(spec, mounts, fragments.pod.get("volumes", []), fail))
    return out, timeout_config(spec, config)


def pod_step(label: str, box: Any) -> PodStep:
    """The ordinary container of an executor, as a runtime sees it."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    res = box.resources
    if res.resource_cpu_request:
        requests["cpu"] = res.resource_cpu_request
    if res.resource_memory_request:
        requests["memory"] = res.resource_memory_request
    if res.resource_cpu_limit:
        limits["cpu"] = res.resource_cpu_limit
    if res.resource_memory_limit:
        limits["memory"] = res.resource_memory_limit
    if res.accelerator.resource_count:
        limits[res.accelerator.resource_type or _GPU] = res.accelerator.resource_count
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return PodStep(
        name=label,
        image=box.image,
        command=[*box.command, *box.args],
        env={e.name: e.value for e in box.env},
        resources=resources,
    )


def platform_document(executors: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The PlatformSpec YAML document for the executors that have a config."""
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": dict(executors)}}}}


def _container(
    spec: ComponentSpec, box: Any, fields: Mapping[str, Any], config: dict[str, Any], fail: Fail
) -> None:
    for key, value in fields.items():
        if key == "image":
            box.image = value
        elif key == "env":
            for entry in value:
                _env(spec, box, entry, config, fail)
        elif key == "resources":
            _container_resources(spec, box, value, fail)
        elif key == "envFrom":
            raise _refused(
                spec,
                fail,
                "secrets" if spec.runtime.kind == "job" else "envFrom",
                "KFP's platform spec maps a Secret to environment variables key by key "
                "(secretAsEnv.keyToEnv) and has no form for all of a Secret's keys (envFrom)",
                "name each key the step reads instead, @component(secrets=[Secret('name', "
                "'key', env='VAR')]), which KFP carries; or compile for Argo (--target argo), "
                "which carries envFrom",
            )
        else:
            raise _refused(spec, fail, key, f"KFP cannot carry the container field '{key}'")


def _env(
    spec: ComponentSpec, box: Any, entry: Mapping[str, Any], config: dict[str, Any], fail: Fail
) -> None:
    name = entry.get("name")
    source = entry.get("valueFrom")
    if source is None:
        for existing in box.env:
            if existing.name == name:  # the runtime's value wins over the component's
                existing.value = str(entry.get("value", ""))
                return
        box.env.add(name=name, value=str(entry.get("value", "")))
        return
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        item: dict[str, Any] = {
            **named("secretAsEnv", ref["name"]),
            "keyToEnv": [{"secretKey": ref["key"], "envVar": name}],
        }
        # ``optional`` is understood only by KFP backends from 2025-09 on (an older driver
        # parses the platform spec strictly and fails the task on the unknown field): written
        # only when asked for, as ``false`` is what every backend does without it
        if ref.get("optional"):
            item["optional"] = True
        config.setdefault("secretAsEnv", []).append(item)
    elif "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        item = {
            **named("configMapAsEnv", ref["name"]),
            "keyToEnv": [{"configMapKey": ref["key"], "envVar": name}],
        }
        if ref.get("optional"):  # as for a Secret, above
            item["optional"] = True
        config.setdefault("configMapAsEnv", []).append(item)
    elif "fieldRef" in source:
        field_path = source["fieldRef"]["fieldPath"]
        config.setdefault("fieldPathAsEnv", []).append({"name": name, "fieldPath": field_path})
    else:
        raise _refused(spec, fail, f"env {name}", f"KFP cannot set {name} from {sorted(source)}")


def _container_resources(
    spec: ComponentSpec, box: Any, value: Mapping[str, Mapping[str, str]], fail: Fail
) -> None:
    """The runtime's requests and limits over the component's, in KFP's resource fields."""
    current = pod_step("", box).resources
    merged = {
        side: {**current.get(side, {}), **value.get(side, {})} for side in ("requests", "limits")
    }
    requests, limits = merged["requests"], merged["limits"]
    for side, table in merged.items():
        for name in table:
            if name not in ("cpu", "memory", _GPU):
                raise _refused(
                    spec, fail, f"resources.{side}.{name}", f"KFP sets no resource '{name}'"
                )
    gpu = limits.get(_GPU) or requests.get(_GPU)
    box.ClearField("resources")
    set_resources(
        box.resources,
        Resources(
            cpu=requests.get("cpu"),
            memory=requests.get("memory"),
            cpu_limit=limits.get("cpu"),
            memory_limit=limits.get("memory"),
            gpu=int(gpu) if gpu else None,
        ),
    )


def _pod(
    spec: ComponentSpec, fields: Mapping[str, Any], config: dict[str, Any], fail: Fail
) -> None:
    for key, value in fields.items():
        if key == "nodeSelector":
            if value:
                config["nodeSelector"] = {"labels": dict(value)}
        elif key == "tolerations":
            config["tolerations"] = [_toleration(spec, t, fail) for t in value]
        elif key == "affinity":
            terms = node_affinity(spec, value, fail)
            if terms:
                config["nodeAffinity"] = terms
        elif key == "metadata":
            config["podMetadata"] = {k: dict(v) for k, v in value.items() if v}
        elif key == "imagePullSecrets":
            config["imagePullSecret"] = [named("imagePullSecret", s["name"]) for s in value]
        elif key == "activeDeadlineSeconds":
            config["activeDeadlineSeconds"] = str(int(value))  # int64: a string in proto JSON
        elif key == "serviceAccountName":
            raise _refused(
                spec,
                fail,
                "service_account",
                "KFP runs every pod of a run under the run's service account and has no "
                "per-step one (the platform spec has no serviceAccountName)",
                "leave service_account out of the runtime and set the account on the run "
                "(kfp.Client.run_pipeline(service_account=...)), or compile for Argo "
                "(--target argo)",
            )
        else:
            raise _refused(spec, fail, key, f"KFP's platform spec has no pod field '{key}'")


def _toleration(spec: ComponentSpec, toleration: Mapping[str, Any], fail: Fail) -> dict[str, Any]:
    unknown = sorted(set(toleration) - set(_TOLERATION_KEYS))
    if unknown:
        raise _refused(spec, fail, f"tolerations.{unknown[0]}", "KFP tolerations have no such key")
    out = {k: toleration[k] for k in _TOLERATION_KEYS if toleration.get(k) is not None}
    if "tolerationSeconds" in out:
        out["tolerationSeconds"] = str(int(out["tolerationSeconds"]))  # int64, as above
    return out


def launcher(
    spec: ComponentSpec, box: Any, fragments: Fragments, delivery: CodeDelivery, pb: Any, fail: Fail
) -> tuple[Any, dict[str, Any]]:
    """A container that creates the step's resource and waits for it (see runtimes.launcher).

    The resource's own pods run the step, so the fragments' container and pod fields, which
    the runtime put in the manifest, do not apply to this pod.
    """
    _parameters_only(spec, fail)
    assert fragments.resource is not None
    success = fragments.success_condition or ""
    failure = fragments.failure_condition or ""
    parse_condition(success, "success_condition")  # a bad condition never leaves the compiler
    parse_condition(failure, "failure_condition")
    out = pb.PipelineDeploymentConfig.PipelineContainerSpec(image=box.image)
    # the launcher needs dagwright and the Kubernetes client, none of the step's packages
    tools = dataclasses.replace(
        delivery, extra_packages=(sdk_requirement("kubernetes"),), no_deps=()
    )
    install = tools.install_command(dataclasses.replace(spec, packages=[]))
    if install is not None:
        out.command.extend(["sh", "-c", f'{install} && "$0" "$@"\n'])
    out.command.extend(["python3", "-m", "dagwright.runtimes.launcher"])
    out.args.extend(["--manifest", ln.encode_manifest(fragments.resource)])
    if success:
        out.args.extend(["--success", success])
    if failure:
        out.args.extend(["--failure", failure])
    if spec.timeout:
        out.args.extend(["--timeout", f"{spec.timeout:g}"])
    out.args.extend(["--executor-input", "{{$}}"])
    for inner in ln.placeholders_in(fragments.resource):
        out.args.extend(["--placeholder", inner, "{{" + inner + "}}"])
    downward = [
        (ln.POD_NAME_ENV, "metadata.name"),
        (ln.POD_UID_ENV, "metadata.uid"),
        (ln.POD_NAMESPACE_ENV, "metadata.namespace"),
    ]
    config = {"fieldPathAsEnv": [{"name": n, "fieldPath": p} for n, p in downward]}
    return out, config


def _parameters_only(spec: ComponentSpec, fail: Fail) -> None:
    fix = PARAMETERS_ONLY_FIX
    for inp in spec.inputs:
        if inp.artifact:
            raise _refused(
                spec,
                fail,
                inp.name,
                f"input '{inp.name}' is an artifact; a {spec.runtime.kind} step becomes a "
                "custom resource, which takes parameter inputs only",
                fix,
            )
    for out in spec.outputs:
        raise _refused(
            spec,
            fail,
            out.name,
            f"output '{out.name}': a {spec.runtime.kind} step becomes a custom resource, "
            "which has no outputs",
            fix,
        )


def _refused(
    spec: ComponentSpec, fail: Fail, field: str, problem: str, fix: str = _NO_KFP_FIX
) -> ValidationError:
    return fail(
        f"component '{spec.name}' (runtime {spec.runtime.kind}): {problem}",
        fix=fix,
        field=field,
    )
