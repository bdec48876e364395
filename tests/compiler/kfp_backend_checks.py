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
        for task_name, task in comp.get("dag", {}).get("tasks", {}).items():
            if "retryPolicy" in task:
                found += [f"{name}/{task_name}: {p}" for p in retry_problems(task["retryPolicy"])]
            condition = task.get("triggerPolicy", {}).get("condition")
            if condition:
                component = spec["components"][task["componentRef"]["name"]]
                types = _parameter_types(component)
                found += [f"{name}/{task_name}: {p}" for p in condition_problems(condition, types)]
    executors = (
        (platform or {}).get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {})
    ).get("executors", {})
    for label, config in executors.items():
        if "activeDeadlineSeconds" in config:
            deadline = str(config["activeDeadlineSeconds"])
            if not deadline.isdigit() or int(deadline) <= 0:
                found.append(f"{label}: activeDeadlineSeconds {deadline!r} sets no deadline")
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
