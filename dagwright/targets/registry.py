"""Targets by name: dagwright's own, those registered from Python, and installed ones.

A distribution adds a target by declaring it in the ``dagwright.targets`` entry-point group::

    [dagwright.targets]
    tekton = "dagwright_tekton.target:TARGET"   # a Target, or a function that returns one

Listing names reads the entry points without importing them; a target's module is imported
when the target is first asked for by name (``get``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dagwright import plugins
from dagwright.errors import ValidationError
from dagwright.targets.base import Target

if TYPE_CHECKING:
    from importlib import metadata

ENTRY_POINT_GROUP = "dagwright.targets"
# dagwright's own, in the order they are listed; imported on first use like any other
_BUILT_IN = {
    "ir": "dagwright.targets.ir:TARGET",
    "kfp": "dagwright.targets.kfp:TARGET",
    "argo": "dagwright.targets.argo:TARGET",
}
_REGISTERED: dict[str, Target] = {}
_LOADED: dict[str, Target] = {}


def register(target: Target) -> None:
    """Make ``target`` known by its name in this process (a built-in's name is refused).

    Raises:
        ValidationError: naming ``target`` when the name is dagwright's own.
    """
    if target.name in _BUILT_IN:
        raise ValidationError(
            f"'{target.name}' is one of dagwright's own targets",
            field="target",
            fix="give your target another name",
        )
    _REGISTERED[target.name] = target


def names() -> list[str]:
    """Every target name: dagwright's own, then registered and installed ones, sorted."""
    others = set(_REGISTERED) | {e.name for e in _entry_points()}
    return [*_BUILT_IN, *sorted(others - set(_BUILT_IN))]


def get(name: str) -> Target:
    """The target called ``name``, its module imported on first use.

    Raises:
        ValidationError: naming ``target``, for an unknown name (listing the known ones) or
            an installed target that cannot be loaded (naming its entry point).
    """
    if name in _BUILT_IN:
        if name not in _LOADED:
            _LOADED[name] = _checked(name, _import(_BUILT_IN[name]), _BUILT_IN[name])
        return _LOADED[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    entry = next((e for e in _entry_points() if e.name == name), None)
    if entry is None:
        raise ValidationError(
            f"unknown target '{name}'",
            field="target",
            fix=f"use one of {sorted(names())}",
        )
    key = f"{name}={entry.value}"
    if key not in _LOADED:
        _LOADED[key] = _checked(name, _load(entry), _origin(entry))
    return _LOADED[key]


def sending() -> list[str]:
    """The names of the targets that can submit and schedule (those with a client).

    An installed target that cannot be loaded is left out here; ``get`` says why.
    """
    found = []
    for name in names():
        try:
            if get(name).client is not None:
                found.append(name)
        except ValidationError:
            continue
    return found


def _entry_points() -> list[metadata.EntryPoint]:
    """The ``dagwright.targets`` entry points installed now (one per name: the first found)."""
    seen: dict[str, metadata.EntryPoint] = {}
    for entry in plugins.entry_points(ENTRY_POINT_GROUP):
        seen.setdefault(entry.name, entry)
    return list(seen.values())


def _import(reference: str) -> Any:
    """The object ``module:attribute`` names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _origin(entry: metadata.EntryPoint) -> str:
    """How an error names an entry point: ``name = value`` and the distribution declaring it."""
    dist = getattr(entry, "dist", None)
    where = f" (from {dist.name} {dist.version})" if dist is not None else ""
    return f"entry point '{entry.name} = {entry.value}'{where}"


def _load(entry: metadata.EntryPoint) -> Any:
    """The object an entry point names, or a ValidationError naming the entry point."""
    try:
        return entry.load()
    except Exception as exc:  # any failure of someone else's import is theirs: name it
        raise ValidationError(
            f"target '{entry.name}' could not be loaded from {_origin(entry)}: "
            f"{type(exc).__name__}: {exc}",
            field="target",
            fix="fix or reinstall the package that provides it, or uninstall it",
        ) from exc


def _checked(name: str, found: Any, origin: str) -> Target:
    """``found`` as a Target called ``name``: a Target, or what a factory returns."""
    target = found
    if not isinstance(target, Target) and callable(target):
        try:
            target = target()
        except Exception as exc:
            raise ValidationError(
                f"target '{name}': the factory of {origin} failed: {type(exc).__name__}: {exc}",
                field="target",
                fix="fix or reinstall the package that provides it, or uninstall it",
            ) from exc
    if not isinstance(target, Target):
        raise ValidationError(
            f"target '{name}': {origin} gives a {type(target).__name__}, not a "
            "dagwright.targets.Target",
            field="target",
            fix="point the entry point at a Target, or a function that returns one",
        )
    if target.name != name:
        raise ValidationError(
            f"target '{name}': {origin} gives a target called '{target.name}'",
            field="target",
            fix="make the entry point's name and the Target's name the same",
        )
    return target
