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


# the URL options a spec carries, and where their credentials belong instead
_URL_OPTIONS = {
    "tracking_uri": (
        "--tracking-uri",
        "give the pods MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD from a Kubernetes "
        "Secret (runtime=Job(secrets=[...]))",
    ),
    "index_url": (
        "--index-url",
        "give the pods PIP_INDEX_URL from a Kubernetes Secret, or build an image that has "
        "the credentials in its pip configuration (--code image)",
    ),
    "dagwright": (
        "--dagwright",
        "install dagwright from a public URL or an image (--code image)",
    ),
    "pipeline_root": (
        "--pipeline-root",
        "let KFP read the store's credentials from its own Secret",
    ),
    "artifact_repository": (
        "--artifact-repository",
        "name the Secret that holds them with --artifact-secret",
    ),
    "artifact_endpoint": (
        "--artifact-endpoint",
        "name the Secret that holds them with --artifact-secret",
    ),
}


def check_url_options(options: dict[str, Any]) -> None:
    """URLs put into a compiled spec must not carry credentials.

    Raises:
        ValidationError: naming the option whose URL holds a password or token.
    """
    for name, (flag, fix) in _URL_OPTIONS.items():
        value = options.get(name)
        if isinstance(value, str) and has_credentials(value):
            from dagwright.redact import redact_uri

            raise ValidationError(
                f"{flag} {redact_uri(value)} holds credentials, which would be written into "
                "the compiled spec",
                field=name,
                fix=f"give {flag} without user:password and {fix}",
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
