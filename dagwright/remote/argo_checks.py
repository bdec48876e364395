"""What is checked here before anything goes to Argo: the manifest, its namespace and
arguments, a cron and a time zone; and the manifest read into Hera's model classes.

Nothing in this module talks to a server; hera is imported only by ``to_model``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from dagwright.compiler.argo.values import needs_protection
from dagwright.errors import ValidationError
from dagwright.schedules.cron import check_weekday

API_VERSION = "argoproj.io/v1alpha1"
# --kind as the CLI says it -> the resource's kind
KINDS = {"workflow": "Workflow", "template": "WorkflowTemplate", "cron": "CronWorkflow"}
NAMESPACE_ENV = "ARGO_NAMESPACE"
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
# descriptors that robfig/cron's standard parser (Argo's) reads besides five fields
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_EVERY = re.compile(r"^@every\s+([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
_CRON_ATOM = re.compile(r"^(\*|\?|[0-9]+|[A-Za-z]{3})$")
# what Kubernetes takes as an object name (a DNS-1123 subdomain) and as a namespace (a label)
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_K8S_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_kind(kind: str, *, field: str = "kind") -> str:
    """The resource kind (``Workflow``...) for ``workflow``, ``template`` or ``cron``."""
    if kind not in KINDS:
        raise ValidationError(
            f"unknown kind '{kind}'", field=field, fix=f"use one of {', '.join(KINDS)}"
        )
    return KINDS[kind]


def read_manifest(manifest: str | Path, kind: str) -> dict[str, Any]:
    """The manifest in a YAML (or JSON) file, checked to be one Argo resource of ``kind``.

    Args:
        manifest: The file (``dagwright compile FILE.py --target argo -o ...``).
        kind: The resource kind expected: ``Workflow``, ``WorkflowTemplate``, ``CronWorkflow``.

    Raises:
        ValidationError: the file is missing, not YAML, or not one such resource.
    """
    import yaml

    path = Path(manifest)
    fix = "compile the pipeline first: dagwright compile FILE.py --target argo -o manifest.yaml"
    if not path.is_file():
        raise ValidationError(f"no such manifest '{path}'", field="manifest", fix=fix)
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except yaml.YAMLError as exc:
        raise ValidationError(f"'{path}' is not YAML ({exc})", field="manifest", fix=fix) from exc
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ValidationError(
            f"'{path}' holds {len(documents)} documents, not one Argo resource",
            field="manifest",
            fix=fix,
        )
    doc: dict[str, Any] = documents[0]
    found = (doc.get("apiVersion"), doc.get("kind"))
    if found != (API_VERSION, kind):
        raise ValidationError(
            f"'{path}' is {found[1] or 'no resource'} ({found[0]}), not an {API_VERSION} {kind}",
            field="manifest",
            fix=f"compile it with kind='{_cli_kind(kind)}'",
        )
    if not isinstance(doc.get("metadata"), dict) or not isinstance(doc.get("spec"), dict):
        raise ValidationError(f"'{path}' has no metadata or spec", field="manifest", fix=fix)
    return doc


def place(doc: dict[str, Any], namespace: str | None, name: str | None = None) -> str:
    """Set the namespace (and name) the resource goes to; returns the namespace.

    The namespace given wins over the manifest's own (as ``argo submit -n`` does), then the
    manifest's, then ``$ARGO_NAMESPACE``. A name replaces ``generateName``.

    Raises:
        ValidationError: no namespace anywhere, or a name Kubernetes would refuse.
    """
    meta = doc["metadata"]
    chosen = namespace_for(namespace or meta.get("namespace"))
    meta["namespace"] = chosen
    if name:
        check_name(name, field="name")
        meta["name"] = name
        meta.pop("generateName", None)
    return chosen


def namespace_for(namespace: str | None) -> str:
    """The namespace given, else ``$ARGO_NAMESPACE``, checked.

    Raises:
        ValidationError: no namespace, or one Kubernetes would refuse.
    """
    chosen = namespace or os.environ.get(NAMESPACE_ENV)
    if not chosen:
        raise ValidationError(
            "no namespace to send to",
            field="namespace",
            fix=f"pass --namespace NS (or set ${NAMESPACE_ENV})",
        )
    check_name(chosen, field="namespace")
    return chosen


def check_name(name: str, *, field: str) -> None:
    """Refuse what Kubernetes would refuse as a name (or namespace), before anything is sent."""
    if not (_K8S_LABEL if field == "namespace" else _K8S_NAME).match(name):
        raise ValidationError(
            f"'{name}' is not a Kubernetes name",
            field=field,
            fix="use lower-case letters, digits, '-' and '.', starting and ending alphanumeric",
        )


def set_arguments(doc: dict[str, Any], arguments: dict[str, Any], *, required: bool) -> None:
    """Put argument values into the manifest's ``arguments.parameters``, as Argo's text.

    Strings go as they are and every other value as JSON: the form the step entry in the pod
    decodes by the parameter's type. Only declared parameters may be given.

    Args:
        doc: A Workflow, WorkflowTemplate or CronWorkflow manifest (changed in place).
        arguments: Values by parameter name.
        required: Every parameter needs a value now (a Workflow, a CronWorkflow); a
            WorkflowTemplate may leave one to whoever submits it.

    Raises:
        ValidationError: an unknown parameter, a value outside its enum or holding '{{', or a
            missing one.
    """
    spec = doc["spec"]
    if doc["kind"] == "CronWorkflow":
        spec = spec.setdefault("workflowSpec", {})
    declared = (spec.get("arguments") or {}).get("parameters") or []
    by_name = {p.get("name"): p for p in declared if isinstance(p, dict)}
    for name, value in arguments.items():
        param = by_name.get(name)
        if param is None:
            known = sorted(str(n) for n in by_name)
            fix = f"its parameters are {known}" if known else "it takes none"
            raise ValidationError(f"unknown parameter '{name}'", field=name, fix=fix)
        text = value if isinstance(value, str) else json.dumps(value)
        if "{{" in text:  # Argo substitutes variables in submitted values too
            raise ValidationError(
                "the value holds '{{', which Argo would read as a variable and substitute",
                field=name,
                fix="pass a value without '{{'; text holding it reaches a step as a constant "
                "argument or a component's output, which travel protected",
            )
        if needs_protection(text):  # see compiler/argo/values.py
            raise ValidationError(
                "the value holds a control character Argo cannot substitute, or starts with "
                "dagwright's mark for protected text",
                field=name,
                fix="pass a value without control characters (tabs and newlines are fine)",
            )
        if param.get("enum") and text not in param["enum"]:
            raise ValidationError(
                f"{text!r} is not one of {param['enum']}", field=name, fix="pick one of those"
            )
        param["value"] = text
        param.pop("valueFrom", None)  # a value given here replaces where it came from
    if required:
        for pname, param in by_name.items():
            if param.get("value") is None and not param.get("valueFrom"):
                raise ValidationError(
                    f"missing parameter '{pname}'", field=str(pname), fix=f"pass -p {pname}=..."
                )


def to_model(doc: dict[str, Any]) -> Any:
    """The manifest as Hera's model of its kind, refusing what those models would drop.

    Hera's models ignore keys they do not declare, so a field the installed hera does not know
    (a newer Argo's) would vanish from the request without a word; here it is an error.

    Raises:
        ValidationError: the manifest does not fit the model, or has fields it does not know.
    """
    import pydantic
    from hera.workflows import models

    model = getattr(models, doc["kind"])
    try:
        parsed = model.model_validate(doc)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(
            f"the {doc['kind']} does not fit hera's model at {where}: {first['msg']}",
            field="manifest",
            fix="compile it again with dagwright, or correct that field",
        ) from exc
    kept = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    lost = _lost(doc, kept, "")
    if lost:
        raise ValidationError(
            f"hera's models do not know {', '.join(lost[:3])}; they would not be sent",
            field="manifest",
            fix="upgrade hera (pip install -U hera) or leave those fields out",
        )
    return parsed


def argo_cron(expr: str, *, field: str = "cron") -> str:
    """A cron expression as Argo's parser (robfig/cron, standard) reads it, checked.

    Five fields (minute hour day month weekday), an ``@daily``-style descriptor or
    ``@every <duration>``. Unlike KFP, Argo takes no seconds field.

    Raises:
        ValidationError: when Argo could not read it.
    """
    from croniter import croniter

    text = " ".join(expr.split())
    if text.lower() in _DESCRIPTORS or _EVERY.match(text):
        return text
    fields = text.split(" ") if text else []
    fix = "use five fields, e.g. '0 3 * * *' for 03:00 every day"
    if len(fields) != 5:
        raise ValidationError(
            f"'{expr}' has {len(fields)} fields; Argo reads five", field=field, fix=fix
        )
    for part in fields:
        for atom in re.split(r"[,/-]", part):
            if not _CRON_ATOM.match(atom):
                raise ValidationError(
                    f"'{expr}' uses '{atom}', which Argo's cron parser does not read",
                    field=field,
                    fix="use numbers, names (MON, JAN), *, ?, ranges a-b, lists a,b, steps */n",
                )
    if not croniter.is_valid(text):
        raise ValidationError(f"'{expr}' is not a valid cron expression", field=field, fix=fix)
    check_weekday(text, field=field)  # croniter takes 7 as Sunday, Argo's robfig/cron does not
    return text


def check_timezone(name: str, *, field: str = "timezone") -> str:
    """An IANA time zone name (Argo loads it with Go's ``time.LoadLocation``)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"unknown time zone '{name}'", field=field, fix="use an IANA name like Europe/Paris"
        ) from exc
    return name


def check_cron_spec(spec: dict[str, Any]) -> None:
    """A CronWorkflow spec's ``schedules`` (Argo v4: a non-empty list) and ``timezone``."""
    schedules = spec.get("schedules")
    if not isinstance(schedules, list) or not schedules:
        raise ValidationError(
            "the CronWorkflow has no spec.schedules",
            field="cron",
            fix="compile it with a schedule (Argo v4 reads spec.schedules, a list)",
        )
    for expr in schedules:
        argo_cron(str(expr))
    if spec.get("timezone"):
        check_timezone(str(spec["timezone"]))


def _cli_kind(kind: str) -> str:
    return next((k for k, v in KINDS.items() if v == kind), kind)


def _lost(given: Any, kept: Any, where: str) -> list[str]:
    """Paths of keys in ``given`` with a value that ``kept`` (the model's dump) lacks."""
    if isinstance(given, dict) and isinstance(kept, dict):
        found = []
        for key, value in given.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in kept:
                if value is not None:
                    found.append(path)
            else:
                found += _lost(value, kept[key], path)
        return found
    if isinstance(given, list) and isinstance(kept, list):
        pairs = enumerate(zip(given, kept, strict=False))
        return [p for i, (a, b) in pairs for p in _lost(a, b, f"{where}[{i}]")]
    return []
