"""A KFP component with an executor (container or importer) as a dagwright component dict.

The executor is kept verbatim under ``kfp`` (with the component's input and output
definitions), so the step runs through KFP's own executor contract; dagwright's ``inputs`` and
``outputs`` carry the same interface in dagwright's types for validation and the compilers.
Per-task settings (retry policy, caching) make per-task variants of a component, stored under
``<name>-<digest[:8]>`` when they differ, as the IR already does for same-name components.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from dagwright.errors import ValidationError
from dagwright.names import refuse_reserved_env
from dagwright.sources.kfp import types
from dagwright.sources.kfp.platform import KfpImportWarning

_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)s$")


def component_dict(
    key: str,
    component: dict[str, Any],
    executor: dict[str, Any],
    task: dict[str, Any],
    platform: dict[str, Any],
    where: dict[str, Any],
) -> dict[str, Any]:
    """The IR component for task ``task`` running KFP component ``key``.

    Raises:
        ValidationError: an executor kind other than container and importer, a bad retry
            policy or resource quantity, naming the task and the fix.
    """
    if "container" not in executor and "importer" not in executor:
        kinds = sorted(executor) or ["none"]
        raise ValidationError(
            f"component '{key}' has executor kind {kinds[0]!r}, which cannot be imported",
            field=f"deploymentSpec.executors.{component.get('executorLabel')}",
            fix="use a container component, a Python component or dsl.importer",
            **where,
        )
    kfp: dict[str, Any] = {"executor": executor}
    for part in ("inputDefinitions", "outputDefinitions"):
        if component.get(part):
            kfp[part] = component[part]
    data: dict[str, Any] = {
        "name": _name(key, executor),
        "inputs": _inputs(component.get("inputDefinitions", {}), where),
        "outputs": _outputs(component.get("outputDefinitions", {}), where),
        "returns": "none",
        "image": executor.get("container", {}).get("image"),
        "packages": [],
        "resources": _resources(executor.get("container", {}).get("resources", {}), where),
        "retry": _retry(task.get("retryPolicy"), where),
        "timeout": platform.get("timeout"),
        "cache": bool(task.get("cachingOptions", {}).get("enableCache", False)),
        "runtime": {"kind": "local"},
    }
    cache_key = task.get("cachingOptions", {}).get("cacheKey")
    if cache_key:  # KFP's own key replaces its fingerprint; here it joins the inputs in the key
        data["cache_version"] = str(cache_key)
    env = {e["name"]: str(e.get("value", "")) for e in executor.get("container", {}).get("env", [])}
    for name in env:  # one dagwright sets itself for a step: refused as @component refuses it

        def fail(field: str, problem: str, fix: str) -> ValidationError:
            return ValidationError(f"component '{key}': {problem}", field=field, fix=fix, **where)

        refuse_reserved_env(name, f"env['{name}']", fail)
    if env:
        data["env"] = env
    if platform.get("pod"):  # kfp-kubernetes fields dagwright's pod options hold
        data["pod"] = platform["pod"]
    data["kfp"] = kfp
    if "importer" in executor:
        data["importer"] = _importer(executor["importer"])
    data["function"] = _function(key, executor)
    data["module"] = None
    data["source"] = _program(executor, data["function"])
    return data


def _name(key: str, executor: dict[str, Any]) -> str:
    function = _flag(executor, "--function_to_execute")
    return function or key.removeprefix("comp-")


def _function(key: str, executor: dict[str, Any]) -> str:
    return _flag(executor, "--function_to_execute") or key.removeprefix("comp-")


def _flag(executor: dict[str, Any], flag: str) -> str | None:
    args = executor.get("container", {}).get("args", [])
    for i, arg in enumerate(args[:-1]):
        if arg == flag:
            return str(args[i + 1])
    return None


def _program(executor: dict[str, Any], function: str) -> str:
    """The Python program a lightweight component embeds in its command ("" for others)."""
    if _flag(executor, "--function_to_execute") is None:
        return ""
    command = executor.get("container", {}).get("command", [])
    for part in reversed(command):
        if isinstance(part, str) and re.search(rf"^def {re.escape(function)}\(", part, re.M):
            return part
    return ""  # a containerized Python component: its code is in the image


def _inputs(definitions: dict[str, Any], where: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for name, spec in definitions.get("parameters", {}).items():
        kind = types.parameter_type(spec, {**where, "field": name})
        entry: dict[str, Any] = {"name": name, "type": kind}
        if "defaultValue" in spec:
            entry["default"] = types.coerce(spec["defaultValue"], kind)
        elif spec.get("isOptional") and kind != "PipelineTaskFinalStatus":
            entry["default"] = None  # (KFP marks a final status optional; the exit task gets it)
        found.append(entry)
    for name, spec in definitions.get("artifacts", {}).items():
        entry = {"name": name, "type": types.artifact_type(spec), "artifact": True}
        if spec.get("isOptional"):
            entry["default"] = None
        found.append(entry)
    return found


def _outputs(definitions: dict[str, Any], where: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": name, "type": types.parameter_type(spec, {**where, "field": name})}
        for name, spec in definitions.get("parameters", {}).items()
    ]
    found += [
        {"name": name, "type": types.artifact_type(spec), "artifact": True}
        for name, spec in definitions.get("artifacts", {}).items()
    ]
    return found


def _resources(resources: dict[str, Any], where: dict[str, Any]) -> dict[str, Any]:
    """KFP's container resources (2.17 writes ``resourceCpuLimit`` and the like as the text
    given, and the older float fields beside them) as dagwright's."""
    found: dict[str, Any] = {}
    dynamic = sorted(k for k, v in resources.items() if "{{$" in str(v))
    if dynamic:
        warnings.warn(
            KfpImportWarning(
                f"task '{where.get('task')}': resources {', '.join(dynamic)} are set from "
                "pipeline values when the task runs; the imported pipeline keeps fixed "
                "resources only, so these are not set"
            ),
            stacklevel=3,
        )
        resources = {k: v for k, v in resources.items() if k not in dynamic}
    for field, (text, number, unit) in {
        "cpu": ("resourceCpuRequest", "cpuRequest", ""),
        "memory": ("resourceMemoryRequest", "memoryRequest", "G"),
        "cpu_limit": ("resourceCpuLimit", "cpuLimit", ""),
        "memory_limit": ("resourceMemoryLimit", "memoryLimit", "G"),
    }.items():
        if resources.get(text):
            found[field] = str(resources[text])
        elif resources.get(number):
            value = resources[number]
            found[field] = f"{int(value) if float(value).is_integer() else value}{unit}"
    accelerator = resources.get("accelerator", {})
    if "{{$" in str(accelerator):
        accelerator = {}
    count = accelerator.get("resourceCount") or accelerator.get("count")
    if count:
        try:
            found["gpu"] = int(count)
        except ValueError:
            raise ValidationError(
                f"accelerator count {count!r} is not a number",
                field="resources.accelerator",
                fix="set_accelerator_limit with a whole number",
                **where,
            ) from None
    return found


def seconds(text: Any, field: str, where: dict[str, Any]) -> float:
    """A protobuf Duration as KFP writes it (``"30s"``) in seconds."""
    match = _DURATION.match(str(text).strip())
    if match is None:
        raise ValidationError(
            f"duration {text!r} is not in seconds ('30s')",
            field=field,
            fix="recompile with kfp, which writes durations as '<seconds>s'",
            **where,
        )
    return float(match[1])


def _retry(policy: dict[str, Any] | None, where: dict[str, Any]) -> dict[str, Any]:
    if not policy:
        return {"limit": 0, "backoff": 0.0, "factor": 2.0}
    retry: dict[str, Any] = {
        "limit": int(policy.get("maxRetryCount", 0)),
        "backoff": seconds(policy.get("backoffDuration", "0s"), "retryPolicy", where),
        "factor": float(policy.get("backoffFactor", 2.0)),
    }
    if "backoffMaxDuration" in policy:
        retry["max_backoff"] = seconds(policy["backoffMaxDuration"], "retryPolicy", where)
    return retry


def _importer(importer: dict[str, Any]) -> dict[str, Any]:
    title = importer.get("typeSchema", {}).get("schemaTitle", "system.Artifact")
    return {
        "type": types.ARTIFACT_TYPES.get(title, "Artifact"),
        "metadata": importer.get("metadata", {}),
        "reimport": bool(importer.get("reimport", False)),
    }
