"""Which parts of two recorded cache keys differ (``engine/explain.py``), each in words:
``parameter lr: 0.1 -> 0.2``, ``input data: digest 3fa2… -> 9c1e…``, ``component code changed
(digest a… -> b…)``, ``cache_version v1 -> v2``; a masked parameter is named as such, never
compared."""

from __future__ import annotations

import json
from typing import Any

# component fields that are not options set beside the code: the digest itself, where the
# code lives, what follows from the code (its interface, docstring), and cache_version, named
# on its own line
_NOT_OPTIONS = frozenset(
    {"digest", "module", "source", "function", "name", "description", "inputs", "outputs"}
    | {"returns", "cache_version"}
)


def differences(
    before: dict[str, Any],
    after: dict[str, Any],
    component_before: dict[str, Any] | None = None,
    component_after: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The parts of ``after``'s key that differ from ``before``'s (both as
    ``RunDatabase.step_inputs`` gives them); the components' IR dicts, when known, say what
    in a changed component differs. Each difference: ``part`` (component, cache_version,
    parameter, input or masked), ``name`` where it has one, ``before``, ``after``, ``text``."""
    found = _component(before, after, component_before, component_after)
    if before.get("cache_version") != after.get("cache_version"):
        old, new = _shown(before.get("cache_version")), _shown(after.get("cache_version"))
        found.append(_diff("cache_version", None, old, new, f"cache_version {old} -> {new}"))
    found += _parameters(before, after)
    found += _inputs(before["artifacts"], after["artifacts"])
    return found


def _diff(part: str, name: str | None, old: Any, new: Any, text: str) -> dict[str, Any]:
    return {"part": part, "name": name, "before": old, "after": new, "text": text}


def _component(
    before: dict[str, Any],
    after: dict[str, Any],
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    a, b = before["component"]["digest"], after["component"]["digest"]
    if a == b:
        return []
    digests = f"digest {a[:12]}… -> {b[:12]}…"
    if old is None or new is None:  # an IR this version cannot read: the digest alone
        return [_diff("component", None, a, b, f"component changed ({digests})")]
    found = []
    if (old.get("source"), old.get("function")) != (new.get("source"), new.get("function")):
        found.append(_diff("component", "code", a, b, f"component code changed ({digests})"))
    for key in sorted((set(old) | set(new)) - _NOT_OPTIONS):
        if old.get(key) != new.get(key):
            was, now = _shown(old.get(key)), _shown(new.get(key))
            text = f"component option {key}: {was} -> {now}"
            found.append(_diff("component", key, old.get(key), new.get(key), text))
    same_version = before.get("cache_version") == after.get("cache_version")
    if not found and same_version:  # nothing in the IR differs: say so rather than guess
        found.append(_diff("component", None, a, b, f"component changed ({digests})"))
    return found


def _parameters(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    hidden = set(before.get("masked") or ()) | set(after.get("masked") or ())
    old, new = before["parameters"], after["parameters"]
    for name in sorted(set(old) | set(new)):
        if name in hidden:
            text = f"parameter {name}: masked; cannot compare"
            found.append(_diff("masked", name, None, None, text))
        elif old.get(name, _MISSING) != new.get(name, _MISSING):
            text = f"parameter {name}: {_value(old, name)} -> {_value(new, name)}"
            found.append(_diff("parameter", name, old.get(name), new.get(name), text))
    return found


_MISSING = object()


def _value(values: dict[str, Any], name: str) -> str:
    if name not in values:  # left to the function's default, which the key does not hold
        return "(not given: the default)"
    return json.dumps(values[name], default=str)


def _inputs(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for name in sorted(set(old) | set(new)):
        was, now = _digests(old.get(name)), _digests(new.get(name))
        if was == now:
            continue
        if isinstance(was, list) or isinstance(now, list):
            text = f"input {name}: {_count(was)} -> {_count(now)}"
            if len(was or []) == len(now or []):
                changed = [i for i, (x, y) in enumerate(zip(was, now, strict=True)) if x != y]
                text = f"input {name}: digest of item(s) {changed} changed"
        else:
            text = f"input {name}: digest {_short(was)} -> {_short(now)}"
        found.append(_diff("input", name, was, now, text))
    return found


def _digests(value: Any) -> Any:
    """An input's digest (its URI when it has none), or a list of them; None when absent."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_digests(v) for v in value]
    return value.get("digest") or value.get("uri")


def _count(value: Any) -> str:
    if value is None:
        return "(not given)"
    return f"{len(value)} artifacts" if isinstance(value, list) else "1 artifact"


def _short(value: Any) -> str:
    if value is None:
        return "(not given)"
    text = str(value)
    return f"{text[:12]}…" if len(text) == 64 else text


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
