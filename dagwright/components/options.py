"""Checks on component options, so a bad one is refused where it is written, not mid-run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dagwright.components.spec import PodOptions, Resources, Retry
from dagwright.errors import ValidationError
from dagwright.names import ENV_NAME as _ENV_NAME
from dagwright.names import QUANTITY as _QUANTITY
from dagwright.names import check_image, check_requirement, refuse_reserved_env
from dagwright.runtimes.registry import Local, RuntimeConfig


def checked_options(
    where: str,
    *,
    image: Any,
    packages: Any,
    resources: Any,
    cpu: Any,
    memory: Any,
    gpu: Any,
    retries: Any,
    cpu_limit: Any = None,
    memory_limit: Any = None,
    timeout: Any,
    cache_version: Any,
    runtime: Any,
    env: Any = None,
    pod: Any = None,
    env_inputs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The options as ComponentSpec fields, or a ValidationError naming the bad one
    (``env_inputs``, variables set from inputs, only checked against the others)."""

    def fail(field: str, problem: str, fix: str) -> ValidationError:
        return ValidationError(f"{where}: {problem}", field=field, fix=fix)

    _check_image(image, where, fail)
    packages = _checked_packages(packages, where, fail)
    res = resources or Resources(
        cpu=cpu, memory=memory, gpu=gpu, cpu_limit=cpu_limit, memory_limit=memory_limit
    )
    _check_resources(res, fail)
    retry = _checked_retries(retries, fail)
    _check_timeout(timeout, fail)
    if cache_version is not None and not isinstance(cache_version, str):
        raise fail(
            "cache_version",
            f"cache_version {cache_version!r} is not a string",
            "use e.g. cache_version='2'",
        )
    runtime = runtime if runtime is not None else Local()
    if not isinstance(runtime, RuntimeConfig):
        raise fail(
            "runtime",
            f"runtime {runtime!r} is not a runtime config",
            "use e.g. runtime=Local() or runtime=Process() from dagwright.runtimes",
        )
    env = _checked_env(env, fail)
    # a variable set from an input counts as one of the component's own
    own = {**env, **dict.fromkeys(env_inputs or {}, "")}
    for name in own:
        refuse_reserved_env(name, f"env['{name}']", fail)
    pod = _checked_pod(fail, own, pod_kwargs(pod))
    return {
        "env": env,
        "pod": pod,
        "image": image,
        "packages": packages,
        "resources": res,
        "retry": retry,
        "timeout": timeout,
        "cache_version": cache_version,
        "runtime": runtime,
    }


def _check_image(image: Any, where: str, fail: Any) -> None:
    """Refuse an image that is not a string or not an image reference."""
    if image is not None and not isinstance(image, str):
        raise fail("image", f"image {image!r} is not a string", "name an image, e.g. 'python:3.11'")
    if image is not None:
        _named(check_image, image, "image", where)


def _checked_packages(packages: Any, where: str, fail: Any) -> list[str]:
    """The packages as a list, each a pip requirement string."""
    if isinstance(packages, str) or not isinstance(packages, Iterable):
        raise fail(
            "packages", f"packages {packages!r} is not a list", f"write packages=[{packages!r}]"
        )
    packages = list(packages)
    if not all(isinstance(p, str) and p.strip() for p in packages):
        raise fail(
            "packages",
            f"packages {packages!r} holds something other than requirement strings",
            "list pip requirements, e.g. ['scikit-learn>=1.3']",
        )
    for package in packages:
        _named(check_requirement, package, "packages", where)
    return packages


def _check_resources(res: Any, fail: Any) -> None:
    """Refuse resources that are not a Resources, a quantity Kubernetes cannot read, or a GPU
    count that is not a whole number."""
    if not isinstance(res, Resources):
        raise fail("resources", f"resources {res!r} is not a Resources", "use Resources(...)")
    quantities = (
        ("cpu", res.cpu),
        ("memory", res.memory),
        ("cpu_limit", res.cpu_limit),
        ("memory_limit", res.memory_limit),
    )
    for field, value in quantities:
        if value is not None and not (isinstance(value, str) and _QUANTITY.match(value)):
            example = "'500m' or '2'" if field.startswith("cpu") else "'512Mi' or '2Gi'"
            raise fail(
                field,
                f"{field} {value!r} is not a Kubernetes quantity",
                f"write it as a string such as {example}",
            )
    if res.gpu is not None and (
        isinstance(res.gpu, bool) or not isinstance(res.gpu, int) or res.gpu < 0
    ):
        raise fail("gpu", f"gpu {res.gpu!r} is not a whole number of GPUs", "use e.g. gpu=1")


def _checked_retries(retries: Any, fail: Any) -> Retry:
    """``retries`` as a checked Retry: a Retry given, or a count of retries."""
    retry = retries if isinstance(retries, Retry) else None
    if retry is None:
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise fail(
                "retries",
                f"retries {retries!r} is not a number",
                "use retries=2 or retries=Retry(limit=2, backoff=1.0)",
            )
        retry = Retry(limit=retries)
    _check_retry(retry, fail)
    return retry


def _check_timeout(timeout: Any, fail: Any) -> None:
    """Refuse a timeout that is not a positive number of seconds."""
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise fail(
            "timeout",
            f"timeout {timeout!r} is not a positive number of seconds",
            "use e.g. timeout=600",
        )


def _named(check: Any, value: str, field: str, where: str) -> None:
    """Run a names.py check, its error naming the component."""
    try:
        check(value, field)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc.problem}", field=field, fix=exc.fix) from None


def _checked_env(env: Any, fail: Any) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise fail("env", f"env {env!r} is not a mapping", "use env={'NAME': 'value'}")
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise fail(
                "env",
                f"environment variable name {key!r} is not valid",
                "use letters, digits and '_', not starting with a digit",
            )
        if not isinstance(value, str):
            raise fail(
                f"env.{key}",
                f"environment variable {key} has value {value!r}, not a string",
                f"write {key}={str(value)!r}",
            )
    return dict(sorted(env.items()))


def _check_retry(retry: Retry, fail: Any) -> None:
    checks = (
        (
            "limit",
            isinstance(retry.limit, int) and not isinstance(retry.limit, bool) and retry.limit >= 0,
            "a whole number >= 0",
        ),
        ("backoff", _number(retry.backoff) and retry.backoff >= 0, "seconds >= 0"),
        ("factor", _number(retry.factor) and retry.factor >= 1, "a number >= 1"),
        (
            "max_backoff",
            retry.max_backoff is None or (_number(retry.max_backoff) and retry.max_backoff >= 0),
            "seconds >= 0",
        ),
    )
    for field, ok, wanted in checks:
        if not ok:
            value = getattr(retry, field)
            raise fail(
                f"retries.{field}",
                f"retry {field} {value!r} is not {wanted}",
                f"give {field} as {wanted}",
            )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked_pod(fail: Any, env: dict[str, str], given: dict[str, Any]) -> PodOptions:
    """The pod options checked; none given (the common case) needs no checks loaded."""
    if all(v is None or (isinstance(v, (list, tuple, dict)) and not v) for v in given.values()):
        return PodOptions()
    from dagwright.components.pod_checks import checked_pod

    return checked_pod(fail, env=env, **given)


def pod_kwargs(pod: PodOptions | Mapping[str, Any] | None) -> dict[str, Any]:
    """The pod options as ``checked_pod``'s keyword arguments (from a ``PodOptions``, or from
    ``@component``'s own arguments by name)."""
    if pod is None:
        return {}
    if isinstance(pod, PodOptions):
        return {name: getattr(pod, name) for name in PodOptions.__dataclass_fields__}
    return dict(pod)
