"""The function behind a component's spec, in the process that runs its step: the live one,
the one its module imports to, or one rebuilt from the source the spec carries.

``executor.run_step`` calls ``resolve_function`` for every step; the Nuclio runtime for the
function it serves.
"""

from __future__ import annotations

import importlib
import linecache
from collections.abc import Callable
from typing import Any

from dagwright.components.spec import TASK_OPTIONS, ComponentSpec

# functions rebuilt from a spec's source, by digest: each is compiled once per process
_FROM_SOURCE: dict[str, Callable[..., Any]] = {}


def resolve_function(spec: ComponentSpec, digest: str | None = None) -> Callable[..., Any]:
    """The callable behind a spec: live, imported, or rebuilt from the spec's source.

    Args:
        spec: The component.
        digest: For a spec without source (image delivery): the digest the imported
            component must have, so a stale image is refused rather than run.
    """
    from dagwright.components.decorator import Component, live_function

    if not spec.source:
        return _imported(spec, digest)
    digest = spec.digest
    func = live_function(spec, digest) or _FROM_SOURCE.get(digest)
    if func is not None:
        return func
    if spec.module:
        try:
            candidate = getattr(importlib.import_module(spec.module), spec.function, None)
        except Exception:  # not importable here: the source below still works
            candidate = None
        if isinstance(candidate, Component) and candidate.digest == digest:
            return candidate.func
    namespace: dict[str, Any] = {"__name__": f"dagwright_component_{spec.function}"}
    filename = f"<component {spec.name}>"
    # registered so tracebacks of the rebuilt function show its lines
    linecache.cache[filename] = (len(spec.source), None, spec.source.splitlines(True), filename)
    code = compile(spec.source, filename, "exec")
    exec(code, namespace)  # the component's own source, carried in the spec
    func = namespace[spec.function]
    _FROM_SOURCE[digest] = func
    return func


def _imported(spec: ComponentSpec, digest: str | None) -> Callable[..., Any]:
    from dagwright.components.decorator import Component
    from dagwright.errors import ValidationError

    try:
        found = getattr(importlib.import_module(spec.module or ""), spec.function, None)
    except ImportError as exc:
        raise ValidationError(
            f"component '{spec.name}' comes from module '{spec.module}', which this image "
            f"cannot import ({exc})",
            field="module",
            fix="build the image with 'dagwright dockerfile', or compile with --code inline",
        ) from exc
    if not isinstance(found, Component):
        raise ValidationError(
            f"'{spec.import_ref}' is not a dagwright component in this image",
            field="module",
            fix="rebuild the image from the project's current code",
        )
    if digest is not None and found.digest != digest and not _variant(found.spec, spec, digest):
        raise ValidationError(
            f"the image holds another version of component '{spec.name}' than the one compiled",
            field="digest",
            fix="rebuild the image from the code you compiled ('dagwright dockerfile')",
        )
    return found.func


def _variant(found: ComponentSpec, spec: ComponentSpec, digest: str) -> bool:
    """Is the compiled component a per-task variant of the image's (the same code, with
    a task's own resources, retries, caching or environment; ``pipelines/task_options.py``)?"""
    from dataclasses import replace

    options = {name: getattr(spec, name) for name in TASK_OPTIONS}
    return replace(found, **options).digest == digest
