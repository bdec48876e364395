"""Names that must survive the trip to Kubernetes (DNS-1123 labels)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from dagwright.errors import ValidationError

_MAX_LEN = 63
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes resource quantities, e.g. "500m", "2", "1.5", "512Mi", "2Gi", "1e3"
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MOUNTS_ENV = "DAGWRIGHT_MOUNTS"
# the variables dagwright itself gives a step or its pod and reads there (the volumes' map, the
# launcher's pod identity from the downward API, a Nuclio function's step, the lineage syncer's
# URIs): one a user sets too would be overwritten, or misread as dagwright's own. Written out
# here, the layer every way of setting a variable reaches; a test checks it holds the constants
# of the modules that read them.
RESERVED_ENV = frozenset(
    {
        MOUNTS_ENV,
        "DAGWRIGHT_POD_NAME",
        "DAGWRIGHT_POD_UID",
        "DAGWRIGHT_POD_NAMESPACE",
        "DAGWRIGHT_STEP",
        "DAGWRIGHT_SYNC_URIS",
    }
)


def refuse_reserved_env(name: str, field: str, fail: Any) -> None:
    """Raise ``fail(field, message, fix)`` when ``name`` is a variable dagwright sets itself.

    Every way a step's variable is set calls it: ``env=``, ``set_env_variable`` (a value or a
    pipeline value), a ``Secret`` or ``ConfigMapEnv`` (``pod_checks``).
    """
    if name in RESERVED_ENV:
        raise fail(
            field,
            f"environment variable {name} is one dagwright sets itself for a step "
            f"(reserved: {', '.join(sorted(RESERVED_ENV))})",
            "name another variable",
        )


def to_k8s_name(name: str) -> str:
    """Turn a Python-style name into the DNS-1123 label Kubernetes would accept.

    Returns an empty string when nothing usable is left.
    """
    lowered = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    return re.sub(r"-{2,}", "-", lowered).strip("-")[:_MAX_LEN].rstrip("-")


def is_k8s_name(name: str) -> bool:
    """Whether ``name`` is a DNS-1123 label Kubernetes takes."""
    return len(name) <= _MAX_LEN and bool(_LABEL.match(name))


def check_k8s_name(name: str, what: str, *, pipeline: str | None = None) -> None:
    """Raise a ValidationError unless ``name`` is already a valid Kubernetes resource name."""
    if is_k8s_name(name):
        return
    fixed = to_k8s_name(name)
    if fixed:
        fix = f"use '{fixed}' (lowercase letters, digits and '-', at most {_MAX_LEN} characters)"
        problem = f"{what} '{name}' cannot be a Kubernetes resource name; it would become '{fixed}'"
    else:
        fix = "use lowercase letters, digits and '-'"
        problem = f"{what} '{name}' cannot become a Kubernetes resource name: nothing of it is left"
    raise ValidationError(problem, pipeline=pipeline, field="name", fix=fix)


# an image reference as docker reads it: [host[:port]/]path[:tag][@algorithm:hex]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(
    rf"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
# what a shell would read as more than a word, whatever quoting a target applies
SHELL_METACHARACTERS = frozenset("`$\\|&;<>(){}!*?'\"\n\r\t\0")


def check_image(image: str, field: str = "image") -> None:
    """Refuse an image that is not a docker reference (no spaces, no shell metacharacters)."""
    if not IMAGE.match(image):
        raise ValidationError(
            f"image {image!r} is not an image reference",
            field=field,
            fix="write [registry/]name[:tag][@sha256:digest], e.g. 'python:3.11-slim'",
        )


def check_requirement(requirement: str, field: str = "packages") -> None:
    r"""Refuse a pip requirement that is not PEP 508, or whose URL carries shell
    metacharacters (markers may use ';', quotes and comparisons; nothing may use ` $ or \)."""
    fix = "write a pip requirement such as 'scikit-learn>=1.3' or 'name @ https://host/x.whl'"
    if any(c in requirement for c in "`$\\|&\n\r\0"):
        raise ValidationError(
            f"requirement {requirement!r} holds shell metacharacters", field=field, fix=fix
        )
    url: str | None = requirement
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", requirement):  # else a bare URL, as pip takes
        url = _parsed(requirement, field, fix)
    if url and any(c in SHELL_METACHARACTERS or c.isspace() for c in url):
        raise ValidationError(
            f"requirement {requirement!r} has shell metacharacters in its URL", field=field, fix=fix
        )


def _parsed(requirement: str, field: str, fix: str) -> str | None:
    """The URL of a PEP 508 requirement (None for a name and specifiers)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement as exc:
        raise ValidationError(
            f"requirement {requirement!r} is not a pip requirement ({str(exc).splitlines()[0]})",
            field=field,
            fix=fix,
        ) from exc
    return parsed.url


def free_name(wanted: str, taken: set[str], max_length: int | None = None) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``...: the first name not in ``taken``, which
    then takes it. With ``max_length``, a longer name keeps its start and ends in a hash of the
    whole (as Kubernetes-length names are shortened elsewhere)."""
    n = 1
    while True:
        name = wanted if n == 1 else f"{wanted}-{n}"
        if max_length is not None and len(name) > max_length:
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            name = f"{name[: max_length - 9].rstrip('-')}-{digest}"
        if name not in taken:
            taken.add(name)
            return name
        n += 1
