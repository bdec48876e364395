"""The Job runtime: the step in its own Kubernetes pod with chosen pod fields.

Locally a ``Job()`` step runs as ``Process()`` does, in a fresh ``python -m dagwright.executor``
with the config's ``env`` added. On a target its fields become container fields (``image``,
``env``, ``envFrom``, ``resources``) and pod fields (``nodeSelector``, ``tolerations``,
``serviceAccountName``). The API server's rules for tolerations and labels are checked when the
``Job(...)`` is made (``scale_out.py`` calls ``check_tolerations``), and again with every field
against the Kubernetes client's models when a target compiles it; either way a bad value is
refused naming the field.
"""

from __future__ import annotations

import contextlib
import re
from contextlib import AbstractContextManager
from typing import Any

from dagwright.errors import ValidationError
from dagwright.executor import Step
from dagwright.runtimes import Attempt, Fragments, Job, PodStep, RuntimeConfig, Session
from dagwright.runtimes.kube import build
from dagwright.runtimes.process import run_process

# the API server's rules (k8s.io/apimachinery validation and core/v1 ValidateTolerations)
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
OPERATORS = ("Equal", "Exists")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# core/v1 Toleration's fields and their types
TOLERATION_FIELDS: dict[str, type] = {
    "key": str,
    "operator": str,
    "value": str,
    "effect": str,
    "tolerationSeconds": int,
}


def _fail(name: str, problem: str, fix: str) -> ValidationError:
    return ValidationError(f"runtime job: {problem}", field=name, fix=fix)


class JobRuntime:
    """``Job()``: a subprocess here; its own pod, with the config's pod fields, on Kubernetes."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step in a subprocess with the config's ``env``.

        ``secrets`` name Kubernetes Secrets, which cannot be read here: locally their keys are
        not in the environment (set them yourself, or through ``env``, to run such a step).
        Tolerations, node selector, service account and resources only mean something on a
        cluster and are ignored.
        """
        config = step.component.runtime
        env = dict(config.env) if isinstance(config, Job) else {}
        return run_process(step, timeout, env=env, session=session)

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """The container and pod fields of ``config``; ``resources`` merged over ``pod``'s.

        Raises:
            ValidationError: for a toleration, label, quantity or field Kubernetes would
                refuse, naming the config field (``tolerations[0].effect``).
        """
        job = _job(config)
        check_tolerations(job.tolerations)
        check_node_selector(job.node_selector)
        container: dict[str, Any] = {}
        if job.image:
            container["image"] = job.image
        if job.env:
            container["env"] = [{"name": k, "value": v} for k, v in job.env.items()]
        if job.secrets:
            container["envFrom"] = [{"secretRef": {"name": s}} for s in job.secrets]
        if any((job.cpu, job.memory, job.cpu_limit, job.memory_limit)):
            container["resources"] = merged_resources(job, pod.resources)
        fields: dict[str, Any] = {}
        if job.node_selector:
            fields["nodeSelector"] = dict(job.node_selector)
        if job.tolerations:
            fields["tolerations"] = [dict(t) for t in job.tolerations]
        if job.service_account:
            fields["serviceAccountName"] = job.service_account
        _check_pod(pod, container, fields)
        return Fragments(container=container, pod=fields)

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """Nothing to hand over: the pod's fields are the runtime."""
        return contextlib.nullcontext({})


def _job(config: RuntimeConfig) -> Job:
    if not isinstance(config, Job):
        raise TypeError(f"JobRuntime got a {type(config).__name__} config, not Job")
    return config


def check_tolerations(tolerations: list[dict[str, Any]]) -> None:
    """Refuse a toleration the API server would refuse (or the client's model cannot hold).

    Raises:
        ValidationError: naming ``tolerations[i].<key>`` and the fix.
    """
    for i, toleration in enumerate(tolerations):
        where = f"tolerations[{i}]"
        _check_shape(toleration, where)
        key = toleration.get("key", "")
        operator = toleration.get("operator", "Equal")
        effect = toleration.get("effect", "")
        if operator not in OPERATORS:
            raise _fail(
                f"{where}.operator",
                f"operator {operator!r} is not a toleration operator",
                "use 'Equal' (with a value) or 'Exists' (any value)",
            )
        if effect and effect not in EFFECTS:
            raise _fail(
                f"{where}.effect",
                f"effect {effect!r} is not a taint effect",
                f"use one of {', '.join(EFFECTS)}, or leave it out to match every effect",
            )
        if key:
            problem = _label_key_problem(key)
            if problem:
                raise _fail(f"{where}.key", f"key {key!r} {problem}", "use a label key")
        elif operator != "Exists":
            raise _fail(
                f"{where}.operator",
                "a toleration without a key must have operator 'Exists'",
                "add a key, or set operator='Exists' to tolerate every taint",
            )
        value = toleration.get("value", "")
        if operator == "Exists" and value:
            raise _fail(
                f"{where}.value",
                f"operator 'Exists' takes no value (got {value!r})",
                "drop the value, or use operator='Equal'",
            )
        if value and not _label_value_ok(value):
            raise _fail(
                f"{where}.value", f"value {value!r} is not a label value", "use a label value"
            )
        if "tolerationSeconds" in toleration and effect != "NoExecute":
            raise _fail(
                f"{where}.tolerationSeconds",
                "tolerationSeconds only applies to effect 'NoExecute'",
                "set effect='NoExecute', or drop tolerationSeconds",
            )


def _check_shape(toleration: Any, where: str) -> None:
    """V1Toleration's fields and types, checked without importing the kubernetes client (a
    ``Job`` runs this when it is made)."""
    if not isinstance(toleration, dict):
        raise _fail(where, f"{where} is a {type(toleration).__name__}, not a dict", "pass a dict")
    for key, value in toleration.items():
        wanted = TOLERATION_FIELDS.get(key)
        if wanted is None:
            raise _fail(
                f"{where}.{key}",
                f"V1Toleration has no field '{key}'",
                f"use one of: {', '.join(sorted(TOLERATION_FIELDS))}",
            )
        if not isinstance(value, wanted) or isinstance(value, bool):
            name = wanted.__name__
            raise _fail(
                f"{where}.{key}",
                f"{where}.{key}={value!r} is a {type(value).__name__}; Kubernetes takes {name}",
                f"write {where}.{key} as a value of type {name}",
            )


def check_node_selector(selector: dict[str, str]) -> None:
    """Refuse node selector labels Kubernetes would refuse.

    Raises:
        ValidationError: naming ``node_selector[<key>]``.
    """
    for key, value in selector.items():
        problem = _label_key_problem(key)
        if problem:
            raise _fail(
                f"node_selector[{key!r}]",
                f"{key!r} {problem}",
                "use a label key such as 'kubernetes.io/arch' or 'pool'",
            )
        if not _label_value_ok(value):
            raise _fail(
                f"node_selector[{key!r}]",
                f"{value!r} is not a label value",
                "use at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
            )


def merged_resources(job: Job, base: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """``base`` (the step's own resources) with the Job's quantities over it.

    Raises:
        ValidationError: when a request ends up above its limit, which Kubernetes refuses.
    """
    from kubernetes.utils import parse_quantity

    requests = dict(base.get("requests", {}))
    limits = dict(base.get("limits", {}))
    for name, value in (("cpu", job.cpu), ("memory", job.memory)):
        if value:
            requests[name] = value
    for name, value in (("cpu", job.cpu_limit), ("memory", job.memory_limit)):
        if value:
            limits[name] = value
    for name in ("cpu", "memory"):
        if name in requests and name in limits:
            if parse_quantity(requests[name]) > parse_quantity(limits[name]):
                blamed = f"{name}_limit" if getattr(job, f"{name}_limit") else name
                raise _fail(
                    blamed,
                    f"the {name} request {requests[name]} is above its limit {limits[name]}",
                    f"make {name}_limit at least {name}",
                )
    out = {k: v for k, v in base.items() if k not in ("requests", "limits")}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _check_pod(pod: PodStep, container: dict[str, Any], fields: dict[str, Any]) -> None:
    """The whole pod spec, as the client's models hold it: a last net for the config's values."""
    box = {
        "name": pod.name,
        "image": container.get("image", pod.image),
        "command": list(pod.command),
        "env": [{"name": k, "value": v} for k, v in pod.env.items()] + container.get("env", []),
        **{k: v for k, v in container.items() if k not in ("image", "env")},
    }
    build({"containers": [box], **fields}, "V1PodSpec", "", _fail)


def _label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return "has a prefix that is not a DNS subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return "is not a label key (at most 63 letters, digits, '-', '_', '.' after a prefix)"
    return None


def _label_value_ok(value: str) -> bool:
    return value == "" or (len(value) <= 63 and bool(_LABEL_NAME.match(value)))
