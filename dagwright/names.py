"""Names that must survive the trip to Kubernetes (DNS-1123 labels)."""

from __future__ import annotations

import re

from dagwright.errors import ValidationError

_MAX_LEN = 63
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes resource quantities, e.g. "500m", "2", "1.5", "512Mi", "2Gi", "1e3"
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def to_k8s_name(name: str) -> str:
    """Turn a Python-style name into the DNS-1123 label Kubernetes would accept.

    Returns an empty string when nothing usable is left.
    """
    lowered = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    return re.sub(r"-{2,}", "-", lowered).strip("-")[:_MAX_LEN].rstrip("-")


def is_k8s_name(name: str) -> bool:
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
