"""Check an Argo manifest against Argo's own JSON schema, strictly.

The schema (Argo v4.1.2's ``api/jsonschema/schema.json``, shipped gzipped beside this module)
never sets ``additionalProperties: false``, so a misspelled key would pass it. A second walk
follows the same schema's ``$ref``s and refuses any key an object's ``properties`` do not name.
Errors name the path in the manifest (``spec.templates[2].dag.tasks[0].when``).

Both checks read a copy of the manifest in which every list keeps one item of each shape (its
keys, nested lists and value types, not its texts): a 1,000-task DAG of three kinds of task is
checked as a few tasks, 0.3 s less for ``dagwright compile`` (measured). That is as strict as
checking every item, because below the manifest's top level the schema constrains values only
by ``type``, ``properties``, ``items``, ``additionalProperties`` and ``required`` (its only
``const`` are the top-level ``apiVersion`` and ``kind``; ``format`` is not asserted), so items
of one shape pass or fail alike; ``tests/compiler/test_argo_validation.py`` holds the schema to
that. When the copy fails, the whole manifest is checked again, so that the error names the
item that breaks, as before.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.names import is_k8s_name

SCHEMA = Path(__file__).with_name("argo-workflows-v4.1.2.schema.json.gz")
_PREFIX = "io.argoproj.workflow.v1alpha1."


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """Argo's workflow JSON schema, read from the gzipped file shipped in the package."""
    with gzip.open(SCHEMA, "rt", encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Raise a ValidationError naming the first place the manifest breaks Argo's schema.

    Raises:
        ValidationError: for a schema violation, an unknown key or a bad Kubernetes name.
    """
    import jsonschema

    full = schema()
    kind = manifest.get("kind", "")
    definition = f"{_PREFIX}{kind}"
    if definition not in full["definitions"]:
        raise _error("kind", f"unknown kind {kind!r}")
    document = {**full, "$ref": f"#/definitions/{definition}"}
    document.pop("oneOf", None)
    validator = jsonschema.Draft202012Validator(document)
    shapes = one_of_each_shape(manifest)
    if not validator.is_valid(shapes):
        # the same shape breaks in the whole manifest; checked whole, the error names its item
        error = jsonschema.exceptions.best_match(validator.iter_errors(manifest))
        assert error is not None
        raise _error(_path(error.absolute_path), error.message)
    root = full["definitions"][definition]
    try:
        _strict(shapes, root, full["definitions"], "")
    except ValidationError:
        _strict(manifest, root, full["definitions"], "")
        raise
    _names(manifest)


def one_of_each_shape(value: Any) -> Any:
    """``value`` with every list cut to its first item of each shape (``_shaped``)."""
    return _shaped(value)[0]


def _shaped(value: Any) -> tuple[Any, Any]:
    """``value`` cut as ``one_of_each_shape`` says, and its shape: dict keys in order with the
    shapes of their values, the shapes a list holds, a scalar's type (and, for a float, whether
    it is whole, which JSON schema's ``integer`` accepts)."""
    if isinstance(value, dict):
        pairs = [(key, _shaped(inner)) for key, inner in value.items()]
        cut = {key: inner for key, (inner, _) in pairs}
        return cut, ("dict", tuple((key, shape) for key, (_, shape) in pairs))
    if isinstance(value, list):
        kept: dict[Any, Any] = {}
        for item in value:
            cut_item, shape = _shaped(item)
            kept.setdefault(shape, cut_item)
        return list(kept.values()), ("list", tuple(kept))
    if isinstance(value, float):
        return value, ("float", value.is_integer())
    return value, type(value).__name__


def _strict(value: Any, node: dict[str, Any], defs: dict[str, Any], where: str) -> None:
    while "$ref" in node:
        node = defs[node["$ref"].split("/")[-1]]
    if isinstance(value, dict) and "properties" in node:
        for key, inner in value.items():
            if key not in node["properties"]:
                known = ", ".join(sorted(node["properties"]))[:300]
                raise _error(_join(where, key), f"unknown key '{key}' (known: {known})")
            _strict(inner, node["properties"][key], defs, _join(where, key))
    elif isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        for key, inner in value.items():
            _strict(inner, node["additionalProperties"], defs, _join(where, key))
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, inner in enumerate(value):
            _strict(inner, node["items"], defs, f"{where}[{i}]")


def _names(manifest: dict[str, Any]) -> None:
    meta = manifest.get("metadata", {})
    for key in ("name", "generateName"):
        if key in meta:
            name = meta[key].rstrip("-") if key == "generateName" else meta[key]
            if not is_k8s_name(name):
                raise _error(f"metadata.{key}", f"'{name}' is not a Kubernetes name")
    if manifest.get("kind") == "CronWorkflow" and len(meta.get("name", "")) > 52:
        # Argo adds a time suffix to each run's name, so it refuses longer cron names
        raise _error("metadata.name", f"'{meta['name']}' is over Argo's 52 characters")
    spec = manifest.get("spec", {})
    spec = spec.get("workflowSpec", spec)
    for i, template in enumerate(spec.get("templates", [])):
        if not is_k8s_name(template["name"]):
            raise _error(f"spec.templates[{i}].name", f"'{template['name']}' is not a valid name")
        for j, task in enumerate(template.get("dag", {}).get("tasks", [])):
            if not is_k8s_name(task["name"]):
                where = f"spec.templates[{i}].dag.tasks[{j}].name"
                raise _error(where, f"'{task['name']}' is not a valid name")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _path(parts: Any) -> str:
    where = ""
    for part in parts:
        where = f"{where}[{part}]" if isinstance(part, int) else _join(where, str(part))
    return where or "(the manifest)"


def _error(where: str, problem: str) -> ValidationError:
    return ValidationError(
        f"the Argo spec breaks Argo's schema at {where}: {problem}",
        field=where,
        fix="this is a dagwright bug if the spec came from 'dagwright compile'; please report it",
    )
