"""KFP's per-task settings on a task handle (``.set_retry``, ``.set_cpu_limit``...).

A setting that changes how the step runs changes its component, so a task that sets one gets
a component of its own: a copy of the spec with the options changed, checked as
``@component``'s are (``checked_options``), stored under ``<name>-<digest[:8]>`` as the IR
stores two components that share a name. Everything downstream (the engine, the cache, both
compilers) then sees an ordinary component. The display name is the task's own
(``TaskIR.display_name``): it changes nothing about how the step runs.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from dagwright.components.options import checked_options
from dagwright.components.spec import IOSpec, Retry
from dagwright.components.types import ANY
from dagwright.errors import ValidationError
from dagwright.names import ENV_NAME
from dagwright.pipelines.refs import OutputRef, ParamRef

if TYPE_CHECKING:
    from dagwright.pipelines.handles import TaskHandle

# KFP's duration units (kfp.dsl.structures.convert_duration_to_seconds): the unit's first letter
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def seconds(duration: Any, field: str, where: str) -> float:
    """A KFP duration (``"30s"``, ``"5 minutes"``, ``"1h"``; a bare number is seconds) in
    seconds.

    Raises:
        ValidationError: for anything else, naming ``field``.
    """
    if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
        return float(duration)
    if isinstance(duration, str):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", duration.strip())
        if match and (not match[2] or match[2][0].lower() in _UNITS):
            unit = _UNITS[match[2][0].lower()] if match[2] else 1
            return float(match[1]) * unit
    raise ValidationError(
        f"{where}: {field} {duration!r} is not a duration",
        field=field,
        fix="write it as KFP does: a number and a unit, e.g. '30s', '5m', '1h' or '2 days'",
    )


def vary(handle: TaskHandle, method: str, **changes: Any) -> None:
    """Give the task a component of its own with ``changes`` made (ComponentSpec fields),
    checked as ``@component`` checks them; ``method`` names the call in errors."""
    builder = handle.builder
    task = builder.ir.task(handle.name)
    base = builder.ir.components[task.component]
    fields = {
        "image": base.image,
        "packages": base.packages,
        "resources": changes.pop("resources", base.resources),
        "cpu": None,
        "memory": None,
        "gpu": None,
        "retries": changes.pop("retry", base.retry),
        "timeout": base.timeout,
        "cache_version": changes.pop("cache_version", base.cache_version),
        "runtime": base.runtime,
        "env": changes.pop("env", base.env),
        "pod": changes.pop("pod", base.pod),
        "env_inputs": changes.get("env_inputs", base.env_inputs),
    }
    checked = checked_options(f"task '{handle.name}' ({method})", **fields)
    variant = dataclasses.replace(base, **checked, **changes)
    if variant.digest == base.digest:
        return
    cid = next(
        (k for k, c in builder.ir.components.items() if c.name == variant.name and c == variant),
        f"{variant.name}-{variant.digest[:8]}",
    )
    builder.ir.components.setdefault(cid, variant)
    old, task.component = task.component, cid
    if all(t.component != old for t in builder.ir.tasks):  # no task runs the base any more
        del builder.ir.components[old]
    from dagwright.components.decorator import share_live_function

    share_live_function(base, variant)


def set_retry(
    handle: TaskHandle,
    num_retries: int,
    backoff_duration: str | None,
    backoff_factor: float | None,
    backoff_max_duration: str | None,
) -> None:
    """KFP's retry policy as the task's ``Retry`` (its defaults: no wait, factor 2)."""
    where = f"task '{handle.name}' (set_retry)"
    retry = Retry(
        limit=num_retries,
        backoff=seconds(backoff_duration, "backoff_duration", where) if backoff_duration else 0.0,
        factor=2.0 if backoff_factor is None else backoff_factor,
        # kfp.local caps each wait at it, as Retry.max_backoff does (KFP's backend reads it as
        # the window in which to retry, which the KFP target writes from the waits anyway)
        max_backoff=(
            seconds(backoff_max_duration, "backoff_max_duration", where)
            if backoff_max_duration is not None
            else None
        ),
    )
    vary(handle, "set_retry", retry=retry)


def runs_code(handle: TaskHandle, method: str) -> None:
    """Refuse a container setting on a task that runs no code (an importer), as KFP does."""
    if handle.builder.ir.component_of(handle.name).importer is not None:
        raise ValidationError(
            f"task '{handle.name}' is an importer, which runs no container: {method} does "
            "not apply to it",
            pipeline=handle.builder.name,
            task=handle.name,
            field=method,
            fix=f"call {method} on the tasks that read the imported artifact",
        )


def set_resource(handle: TaskHandle, method: str, field: str, quantity: Any) -> None:
    """One request or limit (``cpu``, ``memory``, ``cpu_limit``, ``memory_limit``)."""
    runs_code(handle, method)
    base = handle.builder.ir.component_of(handle.name).resources
    vary(handle, method, resources=dataclasses.replace(base, **{field: quantity}))


def set_env(handle: TaskHandle, name: Any, value: Any) -> None:
    """One environment variable, added to (or replacing one of) the component's; a pipeline
    value (a parameter, a task's output) becomes an input the variable is set from."""
    _runs_code_named(handle, name)
    spec = handle.builder.ir.component_of(handle.name)
    env, env_inputs = dict(spec.env), dict(spec.env_inputs)
    port = env_inputs.pop(name, None)  # a value set before is replaced, as KFP replaces it
    inputs = [i for i in spec.inputs if i.name != port]
    task = handle.builder.ir.task(handle.name)
    if port is not None:
        task.inputs.pop(port, None)
    if isinstance(value, (OutputRef, ParamRef)):
        env.pop(name, None)
        port = f"env_{name}"
        if any(i.name == port for i in inputs):  # the function's own input of that name
            raise ValidationError(
                f"task '{handle.name}' (set_env_variable): the component has an input "
                f"'{port}', which the variable {name} would be read from",
                field="env",
                fix=f"rename the input '{port}' or the variable",
            )
        kind = handle.builder.type_of(value.to_value())
        if kind not in ("str", "int", "float", "bool", ANY):
            raise ValidationError(
                f"task '{handle.name}' (set_env_variable): {name} would be set from a {kind}",
                field=f"env.{name}",
                fix="set a variable from a parameter or output of type str, int, float or bool",
            )
        inputs.append(IOSpec(port, kind))
        env_inputs[name] = port
        vary(handle, "set_env_variable", env=env, inputs=inputs, env_inputs=env_inputs)
        task.inputs[port] = value.to_value()
        return
    env[name] = value
    vary(handle, "set_env_variable", env=env, inputs=inputs, env_inputs=env_inputs)


def _runs_code_named(handle: TaskHandle, name: Any) -> None:
    runs_code(handle, "set_env_variable")
    if not isinstance(name, str) or not ENV_NAME.match(name):
        raise ValidationError(
            f"task '{handle.name}' (set_env_variable): name {name!r} is not a variable name",
            field="env",
            fix="give the variable's name as a string, e.g. set_env_variable('MODE', 'fast')",
        )


def set_caching(handle: TaskHandle, enable_caching: Any, cache_key: Any) -> None:
    """Caching on or off for this task; a ``cache_key`` is its ``cache_version``."""
    where = f"task '{handle.name}' (set_caching_options)"
    if not isinstance(enable_caching, bool):
        raise ValidationError(
            f"{where}: enable_caching {enable_caching!r} is not True or False",
            field="enable_caching",
            fix="write set_caching_options(True) or set_caching_options(False)",
        )
    changes: dict[str, Any] = {"cache": enable_caching}
    if cache_key:
        changes["cache_version"] = cache_key
    vary(handle, "set_caching_options", **changes)


def set_display_name(handle: TaskHandle, name: Any) -> None:
    """The name people see for the task (KFP's ``taskInfo.name``); the task's name stays."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(
            f"task '{handle.name}': display name {name!r} is not a non-empty string",
            pipeline=handle.builder.name,
            task=handle.name,
            field="display_name",
            fix="give the name people should see, e.g. set_display_name('Train the model')",
        )
    handle.builder.ir.task(handle.name).display_name = name
