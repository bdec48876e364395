"""Secrets that would end up in a compiled spec: refused (a tracking URI with a password) or
warned about (a literal default, argument or ``env=`` value that looks like a credential).

A compiled spec is stored by the cluster, shown in its UI and often committed; a credential
belongs in a Kubernetes Secret the pod reads at run time.
"""

from __future__ import annotations

import warnings
from typing import Any

from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.redact import SecretWarning, has_credentials, is_secret_name, looks_secret

_FIX = (
    "pass it at run time from a Kubernetes Secret instead (runtime=Job(secrets=[...]) gives "
    "the pod the Secret's keys as environment variables) and leave no literal value"
)


def check_tracking_uri(uri: str | None) -> None:
    """A tracking URI put into pods must not carry credentials.

    Raises:
        ValidationError: for a URI with a password or token in it.
    """
    if has_credentials(uri):
        from dagwright.redact import redact_uri

        raise ValidationError(
            f"the tracking URI {redact_uri(str(uri))} holds credentials, which would be "
            "written into the compiled spec",
            field="tracking_uri",
            fix="give --tracking-uri without user:password and give the pods "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD from a Kubernetes Secret "
            "(runtime=Job(secrets=[...]))",
        )


def warn_literal_secrets(ir: PipelineIR) -> None:
    """Warn (``SecretWarning``) for each literal value of ``ir`` that looks like a secret."""
    for param in ir.params:
        if param.has_default:
            _check(f"the default of parameter '{param.name}'", param.name, param.default, ir)
    for spec in ir.components.values():
        for inp in spec.inputs:
            if inp.has_default:
                where = f"the default of input '{inp.name}' of component '{spec.name}'"
                _check(where, inp.name, inp.default, ir)
        envs = [spec.env, getattr(spec.runtime, "env", None) or {}]
        for env in envs:
            for name, value in env.items():
                _check(f"env {name} of component '{spec.name}'", name, value, ir)
    for task in ir.tasks:
        for name, value in task.inputs.items():
            if "constant" in value:
                where = f"the argument '{name}' of task '{task.name}'"
                _check(where, name, value["constant"], ir)


def _check(where: str, name: str, value: Any, ir: PipelineIR) -> None:
    if not isinstance(value, str) or not value:
        return
    if is_secret_name(name) or looks_secret(value):
        warnings.warn(
            f"pipeline '{ir.name}': {where} looks like a secret and would be stored in the "
            f"compiled spec; {_FIX}",
            SecretWarning,
            stacklevel=4,
        )
