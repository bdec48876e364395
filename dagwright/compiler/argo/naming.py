"""Names in an Argo spec: what Argo's validation (workflow/validate/validate.go) takes for
parameter and DAG task names, and the renaming that keeps dagwright's names within it."""

from __future__ import annotations

import re
from typing import Any

from dagwright.compiler.argo.scopes import PARAM_NAME
from dagwright.errors import ValidationError
from dagwright.names import free_name as free
from dagwright.names import is_k8s_name, to_k8s_name


def param_name(name: str, what: str) -> str:
    """Argo refuses a parameter or artifact name outside ``[-a-zA-Z0-9_]`` (workflow/validate's
    paramOrArtifactNameRegex); names dagwright makes from user text are written safe before
    this, so one that reaches here is the user's own name."""
    if not PARAM_NAME.match(name):
        raise ValidationError(
            f"Argo target: {what}: {name!r} is not a name Argo takes for a parameter",
            field=what,
            fix="use letters, digits, '-' and '_' only",
        )
    return name


def digit_free(tasks: dict[str, Any]) -> dict[str, str]:
    """New names for the tasks of one DAG whose name begins with a digit, which Argo refuses
    when tasks use ``dependencies`` (workflow/validate's validateDAG): ``t-<name>``, or
    ``t-<name>-2``... when a task has that name already. Their pods still learn the dagwright
    task's own name (TASK_PARAM)."""
    taken = set(tasks)
    return {name: free(f"t-{name}", taken) for name in tasks if name[:1].isdigit()}


def renamed_refs(value: Any, renamed: dict[str, str]) -> Any:
    """``value`` with references to renamed tasks renamed: ``{{tasks.<name>.`` and, inside an
    expression tag (a ``when``), ``tasks['<name>']`` (a digit-first name is no identifier, so
    ``when.py`` writes it that way). Only tags are touched: a user's text never holds ``{{``
    here (``values.protect``)."""
    if not renamed:
        return value
    if isinstance(value, str):
        for old, new in renamed.items():
            value = value.replace(f"{{{{tasks.{old}.", f"{{{{tasks.{new}.")
        return _EXPRESSION_TAG.sub(lambda m: _renamed_in_tag(m.group(0), renamed), value)
    if isinstance(value, list):
        return [renamed_refs(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: renamed_refs(v, renamed) for k, v in value.items()}
    return value


_EXPRESSION_TAG = re.compile(r"\{\{=.*?\}\}", re.S)


def _renamed_in_tag(tag: str, renamed: dict[str, str]) -> str:
    for old, new in renamed.items():
        tag = tag.replace(f"tasks['{old}']", f"tasks['{new}']")
    return tag


def renamed_task(fields: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """A DAG task's fields with its own name, its dependencies and its references renamed."""
    if not renamed:
        return fields
    out: dict[str, Any] = renamed_refs(fields, renamed)
    out["name"] = renamed.get(fields["name"], fields["name"])
    if "dependencies" in fields:
        out["dependencies"] = [renamed.get(d, d) for d in fields["dependencies"]]
    return out


def template_names(component_ids: list[str]) -> dict[str, str]:
    """The template name of each component: its id when Argo takes it (a DNS-1123 label,
    workflow/validate's template name check), else the id made one (``mark_item`` ->
    ``mark-item``, a long id shortened with a hash), never a name another component keeps.

    Any IR may hold such ids: a KFP import names components after their Python function, and
    an IR file is the user's text. The component keeps its id everywhere else (the pod's spec,
    the ``dagwright.dev/component`` label)."""
    kept = {cid for cid in component_ids if is_k8s_name(cid)}
    taken = set(kept)
    names: dict[str, str] = {}
    for cid in component_ids:
        if cid in kept:
            names[cid] = cid
        else:
            names[cid] = free(to_k8s_name(cid) or "component", taken, max_length=63)
    return names
