"""``cache=True`` on Argo: the component's template memoized, keyed like the local cache key.

Locally (``engine/cache.py``) a step's key is a sha256 over its component's digest, its
``cache_version``, its parameter values and each input artifact's sha256. Argo memoizes a
template (``memoize``: ``key``, ``maxAge``, ``cache.configMap``): before it creates a pod, the
controller substitutes the template's inputs into ``key`` and looks the result up in the
ConfigMap; a hit gives the node the outputs saved there (parameters, and artifacts by their
location in the repository) and no pod runs. A ConfigMap key takes only ``[-a-zA-Z0-9]``
(``cacheKeyRegex`` in ``workflow/controller/cache``), so the key is an expression tag that
hashes its inputs, which Argo evaluates with expr-lang when it fills the template:

    {{=sprig.sha256sum(toJson(['<sha256 of digest and cache_version>', inputs.parameters['x'],
        sprig.default(inputs.parameters['m-meta'], sprig.regexFind('[0-9a-f]{64}',
        sprig.regexFind('digest...', inputs.parameters['m-meta']))), ...]))}}

- parameters: each input parameter's text, in the template's order (the component's digest
  pins that order), except the task's name, which the local key leaves out too;
- an input artifact: Argo knows no digest of a file before a pod runs, but dagwright's pods
  write each output artifact's sha256 into its ``<name>-meta`` output parameter
  (``entry.py``), which reaches the reader as a parameter: the key takes that digest, so a
  producer that ran again and wrote the same bytes still gives a hit, as locally. Where the
  metadata has no digest (a KFP container component's artifact, an imported one: their
  metadata names the pod or the URI), the whole metadata text is taken instead, which changes
  when the producer ran again and stays when its outputs came from the cache; for an imported
  artifact it is its URI, as locally. A ``Collected`` list of artifacts is keyed on the whole
  list of their metadata for the same reason (each item names the pod that wrote it);
- the component's digest and ``cache_version``, hashed into one literal when compiling, so
  that the expression holds no text of the user's: Argo reads an expression holding both
  ``?`` and ``:`` as a ternary (``isTernaryExpression``), so none is written.

Not memoized, with a ``MemoizeWarning``: a component whose output artifact some task reads
gathered over a loop (``Collected``, or a loop over such a list). Those are read by the key
prefix of *this* workflow (``{{workflow.name}}/<task>/<output>``), where an iteration whose
outputs came from the cache stored nothing: its object is under the workflow that ran it.

What Argo does not do that the local cache does: it does not check that a cached artifact is
still in the repository with the same bytes (a deleted one fails its reader), and an entry
lives in one namespace's ConfigMap (``maxAge`` bounds its age; empty keeps it, as locally).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from typing import Any

from dagwright.compiler.argo.objects import obj
from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError

# the sha256 in an artifact's metadata text, as its pod wrote it or Go re-marshalled it (a
# loop item): '"digest": "<hex>"' or '"digest":"<hex>"'. A regular expression, not fromJSON,
# so that no text fails the expression (which would error the node); and no '"', which Argo's
# unquoting of the tag would break on, nor '?' (see above)
_DIGEST = "digest[^0-9a-f]{2,4}[0-9a-f]{64}"
_HEX = "[0-9a-f]{64}"
# Go's time.ParseDuration, which Argo reads maxAge with: a sequence of number and unit
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


class MemoizeWarning(UserWarning):
    """A ``cache=True`` component compiled for Argo without memoization (module docstring)."""


def read_by_prefix(ir: Any) -> dict[str, str]:
    """The components (ids) whose output artifact a task or loop reads gathered over a loop,
    each with one such task's name: their objects are read by this workflow's key prefix."""
    found: dict[str, str] = {}

    def visit(value: Any, gathered: bool = False) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item, gathered)
        if not isinstance(value, dict):
            return
        if gathered and "task" in value and "output" in value:
            task = ir.task(value["task"])
            out = ir.component_of(task).output(value["output"])
            if out is not None and out.artifact:
                found.setdefault(task.component, task.name)
        for key, inner in value.items():  # a OneOf's branches, gathered, are each gathered
            visit(inner, gathered or key == "collected")

    for task in ir.tasks:
        for value in task.inputs.values():
            visit(value)
    for group in ir.groups:
        visit(group.items)
    return found


def warn_unmemoized(ir: Any, skipped: dict[str, str]) -> None:
    """Say which ``cache=True`` components are compiled without memoization, and why."""
    for cid, task in sorted(skipped.items()):
        if ir.components[cid].cache:
            warnings.warn(
                f"Argo target: task '{task}' (component '{ir.components[cid].name}', "
                "cache=True) is not memoized: its artifacts are gathered over a loop, read by "
                "this workflow's key prefix, where a cached iteration stored nothing; it runs "
                "every time (compile for KFP, whose cache handles it, or pass the artifacts "
                "out of the loop one by one)",
                MemoizeWarning,
                stacklevel=3,
            )


def check_max_age(text: str) -> None:
    """Refuse a ``maxAge`` Argo's ``time.ParseDuration`` would fail the node on.

    Raises:
        ValidationError: naming ``cache_max_age``.
    """
    if text and not _DURATION.match(text):
        raise ValidationError(
            f"Argo target: cache_max_age {text!r} is not a duration Argo reads",
            field="cache_max_age",
            fix="write e.g. '24h', '90m' or '3600s' (no days), or leave it empty to keep entries",
        )


def spec_hash(spec: ComponentSpec) -> str:
    """The sha256 of what the component contributes to the key: its digest and cache_version."""
    text = json.dumps([spec.digest, spec.cache_version], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def memoize(
    spec: ComponentSpec,
    inputs: dict[str, Any],
    cache: tuple[str, str] | None,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The template's ``memoize`` for a component with ``cache=True``, else None.

    Args:
        spec: The component.
        inputs: The template's ``inputs`` (its parameters and artifacts as compiled).
        cache: The ConfigMap holding the entries and how old one may be (a Go duration,
            empty for no limit); None for no memoization.
        skip: Input parameters left out of the key (the task's name).
    """
    if not spec.cache or cache is None:
        return None
    config_map, max_age = cache
    collected = {inp.name for inp in spec.inputs if inp.artifact and _collected(inp.type)}
    artifacts = {a["name"] for a in inputs.get("artifacts") or []}
    parts = [f"'{spec_hash(spec)}'"]
    for param in inputs.get("parameters") or []:
        name = param["name"]
        if name in skip:
            continue
        ref = f"inputs.parameters['{name}']"
        owner = name.removesuffix("-meta")
        if name.endswith("-meta") and owner in artifacts and owner not in collected:
            found = f"sprig.regexFind('{_DIGEST}', {ref})"  # the key's name, then its value
            ref = f"sprig.default({ref}, sprig.regexFind('{_HEX}', {found}))"
        parts.append(ref)
    key = "{{=sprig.sha256sum(toJson([" + ", ".join(parts) + "]))}}"
    return obj(key=key, maxAge=max_age, cache=obj(configMap=obj(name=config_map)))


def _collected(type_str: str) -> bool:
    from dagwright.specs import artifact_kind

    return artifact_kind(type_str)[1]
