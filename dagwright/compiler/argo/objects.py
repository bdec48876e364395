"""Argo's objects as plain dicts, each exactly as Hera's model of it would dump.

The compiler used to build every object from ``hera.workflows.models`` and dump the result.
Importing those ~300 pydantic classes took 0.38 s of the 1.0 s a ``dagwright compile --target
argo`` of a 1,000-task pipeline took (``python -X importtime``), more than building and writing
the spec, and made the whole process slower than a Hera script building the same workflow. So
the hot path writes the dicts directly, as ``Model(...).model_dump(by_alias=True,
exclude_none=True, mode="json")`` gives them: Argo's JSON field names (Hera's aliases), no
``None`` field, and the fields in sorted order, which is the order of every Hera model's fields
(they are generated from Argo's sorted OpenAPI properties). Free-form maps (labels, resource
quantities, hooks) keep their own order, as ``model_dump`` keeps it. A test round-trips
compiled specs through Hera's models to hold this to Hera's own dump; the few paths that take
fields from a runtime's fragments still check them with Hera's models (``runtimes.py``).
"""

from __future__ import annotations

from typing import Any


def obj(**fields: Any) -> dict[str, Any]:
    """An Argo object from its fields by their JSON names, as Hera's model of it dumps:
    ``None`` fields left out, the rest in sorted order."""
    return {key: fields[key] for key in sorted(fields) if fields[key] is not None}
