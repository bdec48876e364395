"""Outputs as ``dagwright verify`` compares them, from either side.

- a parameter by value. Numbers are the same within a relative tolerance of 1e-9 (``TOLERANCE``)
  and an int equals the float of its value: a parameter crossing KFP travels in a protobuf
  ``Struct``, whose numbers are doubles, so ``3`` comes back ``3.0`` and an int past 2**53
  loses its last digits; anything further apart is a real difference. Booleans, strings, lists
  and dicts compare exactly (their numbers as above);
- a ``Metrics`` artifact by the metrics it logged (its JSON file), numbers as above;
- any other artifact by the sha256 of its content: a file's bytes, a folder's sorted relative
  paths and file digests (``store/files.sha256_of``), wherever it was written.

A dagwright artifact comes as an ``Artifact``; kfp.local's as ``{"artifact": {"uri": ...}}``
(``kfp_local.plain``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from dagwright.store.files import sha256_of

TOLERANCE = 1e-9

_METRICS = ("Metrics", "system.Metrics")


@dataclass(frozen=True)
class Content:
    """An artifact as compared: its kind (``metrics`` or ``digest``) and what it holds."""

    kind: str
    value: Any


def comparable(value: Any) -> Any:
    """``value`` (from either side) in the form ``same`` compares."""
    kfp = value.get("artifact") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(kfp, dict) and "uri" in kfp:
        return _content(str(kfp["uri"]), str(kfp.get("schema") or ""))
    path = getattr(value, "path", None)
    if isinstance(path, str) and hasattr(value, "type_name"):
        return _content(path, value.type_name)
    if isinstance(value, (list, tuple)):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    return value


def _content(path: str, type_name: str) -> Content:
    if type_name in _METRICS:
        try:
            with open(path, encoding="utf-8") as f:
                return Content("metrics", json.load(f))
        except (OSError, ValueError):  # not the JSON Metrics write: compared by its bytes
            pass
    return Content("digest", sha256_of(path))


def same(a: Any, b: Any) -> bool:
    """Whether two comparable values are the same (numbers within ``TOLERANCE``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=0.0)
    if isinstance(a, Content) and isinstance(b, Content):
        return a.kind == b.kind and same(a.value, b.value)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def shown(value: Any, width: int = 40) -> str:
    """A comparable value as a table cell, cut to ``width`` characters."""
    if isinstance(value, Content) and value.kind == "digest":
        text = f"sha256:{str(value.value)[:12]}" if value.value else "(no file)"
    elif isinstance(value, Content):  # metrics: the values they logged
        text = json.dumps(value.value, sort_keys=True, default=str)
    else:
        text = json.dumps(as_json(value), sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def as_json(value: Any) -> Any:
    """A comparable value as JSON data (``--json``): an artifact as ``{"sha256": ...}`` or
    ``{"metrics": ...}``."""
    if isinstance(value, Content):
        return {"sha256" if value.kind == "digest" else "metrics": value.value}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value
