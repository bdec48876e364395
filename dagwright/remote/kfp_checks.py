"""What is checked here before anything goes to KFP: the cron, the package, the arguments.

Nothing in this module talks to a server or imports kfp.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.schedules.cron import check_weekday

# KFP's parameter types and the JSON values a run may give them (bool is no number here)
_KFP_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "NUMBER_INTEGER": (int,),
    "NUMBER_DOUBLE": (int, float),
    "BOOLEAN": (bool,),
    "LIST": (list,),
    "STRUCT": (dict,),
}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# what robfig/cron (KFP's parser) reads in a field: numbers, names, *, ?; croniter also
# takes L, W, # and H, which KFP would refuse only when its controller reads the schedule
_CRON_ATOM = re.compile(r"^(\*|\?|[0-9]+|[A-Za-z]{3})$")
_PACKAGE_FIX = "compile the pipeline first: dagwright compile FILE.py --target kfp -o pipeline.yaml"


def kfp_cron(expr: str, *, field: str = "cron") -> str:
    """KFP's six-field cron for a five-field one (or a six-field one, checked).

    KFP parses cron with robfig/cron, whose first field is seconds: a five-field
    ``"0 3 * * *"`` sent as it is would mean minute 3 of every hour. So a five-field
    expression (or an ``@daily``-style macro) gets ``"0 "`` in front and runs at second 0:
    ``"0 3 * * *"`` becomes ``"0 0 3 * * *"``. Six fields are taken as seconds first.

    Args:
        expr: A five-field cron (minute hour day month weekday) or KFP's six-field form.
        field: The name to blame in an error (the CLI says ``--cron``).

    Returns:
        The six-field expression.

    Raises:
        ValidationError: when ``expr`` is not a cron expression KFP can read.
    """
    from croniter import croniter

    text = " ".join(expr.split())
    text = _MACROS.get(text.lower(), text)
    fields = text.split(" ") if text else []
    fix = "use five fields, e.g. '0 3 * * *' for 03:00 every day (KFP gets '0 0 3 * * *')"
    if len(fields) not in (5, 6):
        raise ValidationError(
            f"'{expr}' has {len(fields)} fields, not a cron expression", field=field, fix=fix
        )
    six = text if len(fields) == 6 else "0 " + text
    for part in fields:
        for atom in re.split(r"[,/-]", part):
            if not _CRON_ATOM.match(atom):
                raise ValidationError(
                    f"'{expr}' uses '{atom}', which KFP's cron parser does not read",
                    field=field,
                    fix="use numbers, names (MON, JAN), *, ?, ranges a-b, lists a,b, steps */n",
                )
    if not croniter.is_valid(six, second_at_beginning=True):
        raise ValidationError(f"'{expr}' is not a valid cron expression", field=field, fix=fix)
    check_weekday(text, field=field)  # croniter takes 7 as Sunday, KFP's robfig/cron does not
    return six


def read_package(package: str | Path) -> tuple[Path, dict[str, Any] | None]:
    """The package's path and, for a YAML package, its PipelineSpec as a dict.

    Archives (.tar.gz, .tgz, .zip), which kfp also takes, are passed on unread (None).

    Raises:
        ValidationError: the file is missing, or is YAML but no KFP pipeline spec.
    """
    path = Path(package)
    if not path.is_file():
        raise ValidationError(f"no such package '{path}'", field="package", fix=_PACKAGE_FIX)
    if path.suffix not in (".yaml", ".yml"):
        return path, None
    import yaml

    try:
        spec = next(yaml.safe_load_all(path.read_text(encoding="utf-8")), None)
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"'{path}' is not YAML ({exc})", field="package", fix=_PACKAGE_FIX
        ) from exc
    if not isinstance(spec, dict) or "root" not in spec:
        raise ValidationError(
            f"'{path}' is not a KFP pipeline spec", field="package", fix=_PACKAGE_FIX
        )
    return path, spec


def spec_name(spec: dict[str, Any] | None) -> str | None:
    """The pipeline's name in its spec (``pipelineInfo.name``), if any."""
    name = ((spec or {}).get("pipelineInfo") or {}).get("name")
    return str(name) if name else None


def check_arguments(spec: dict[str, Any] | None, args: dict[str, Any]) -> None:
    """Refuse unknown, missing or mistyped parameters before anything is sent.

    Raises:
        ValidationError: naming the parameter.
    """
    if spec is None:
        return
    declared = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    for name, value in args.items():
        if name not in declared:
            known = sorted(declared)
            fix = f"its parameters are {known}" if known else "it takes none"
            raise ValidationError(f"unknown parameter '{name}'", field=name, fix=fix)
        kind = declared[name].get("parameterType", "")
        allowed = _KFP_TYPES.get(kind)
        wrong_bool = isinstance(value, bool) and bool not in (allowed or ())
        if allowed and (wrong_bool or not isinstance(value, allowed)):
            raise ValidationError(f"{value!r} is not a {kind}", field=name)
    for name, decl in declared.items():
        if name not in args and not decl.get("isOptional") and "defaultValue" not in decl:
            raise ValidationError(
                f"missing parameter '{name}'", field=name, fix=f"pass -p {name}=..."
            )
