r"""Values as the text Argo carries, and back to values in the pod.

Argo substitutes ``{{...}}`` in every text it handles, values included: a task's argument
holding ``{{workflow.name}}`` is replaced by the workflow's name when its template runs
(``SubstituteParams`` in workflow/common), and an unknown ``{{x}}`` in a looping task's
arguments fails the task (``processItem`` replaces with unresolved variables refused). Its
substitution also writes each value into the JSON of the template with Go's ``strconv.Quote``,
whose ``\a``, ``\v`` and ``\xNN`` are not JSON: a value with such a control character fails
the substitution. So every string dagwright hands Argo that holds ``{{``, such a character, or
could be read back as one of dagwright's marks (``MARK``, ``SKIPPED``) travels as ``MARK`` +
base64 of its UTF-8 (``protect``), at any depth of a list or dict and in dict keys too; the pod
undoes it (``restore``). A string value that reads as a None once trimmed (``null``, ``None``)
travels protected too, so that a ``when`` finds a None only where the pod wrote one. A plain
string stays as it is, so a ``when`` compares ordinary text.

A loop item reaches a pod as Argo renders ``{{item}}`` (``processItem`` in
workflow/controller/operator.go, ``Item.String`` in pkg/apis/workflow/v1alpha1/item.go): a
string item as its JSON text with the quotes cut off but the escapes kept (``caf\u00e9``,
``a\"b``), a number or bool as its JSON text, a list or dict as JSON (``from_item``).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from dagwright.components.types import ANY, parse, unwrap_optional

MARK = "dagwright-b64:"
# what a Collected list holds for an iteration whose If branch did not run; dropped in the pod
SKIPPED = "__dagwright_skipped__"
# characters Go's strconv.Quote writes as \a, \v or \xNN, which JSON does not read
_UNQUOTABLE = re.compile("[\x00-\x07\x0b\x0e-\x1f\x7f]")


def needs_protection(text: str) -> bool:
    """Would Argo alter the text, or the pod read it as one of dagwright's marks?"""
    if "{{" in text or text.startswith(MARK) or text == SKIPPED:
        return True
    return _UNQUOTABLE.search(text) is not None


def protect(value: Any) -> Any:
    """``value`` with every string Argo would alter (see the module docstring) marked."""
    if isinstance(value, str):
        # a when reads a bare null or None as a None (when.py), so a string never is one
        if needs_protection(value) or value.strip() in ("null", "None"):
            return MARK + base64.b64encode(value.encode("utf-8")).decode("ascii")
        return value
    if isinstance(value, list):
        return [protect(v) for v in value]
    if isinstance(value, dict):
        return {_protect_key(k): protect(v) for k, v in value.items()}
    return value


def _protect_key(key: Any) -> Any:
    """A key is looked up by name (``{{item.null}}``), so it is protected only as Argo needs."""
    if isinstance(key, str) and needs_protection(key):
        return MARK + base64.b64encode(key.encode("utf-8")).decode("ascii")
    return key


def restore(value: Any) -> Any:
    """Undo ``protect``."""
    if isinstance(value, str):
        if value.startswith(MARK):
            return base64.b64decode(value[len(MARK) :].encode("ascii")).decode("utf-8")
        return value
    if isinstance(value, list):
        return [restore(v) for v in value]
    if isinstance(value, dict):
        return {restore(k): restore(v) for k, v in value.items()}
    return value


def encode(value: Any) -> str:
    r"""A value as Argo passes it on: strings raw, everything else as JSON; protected. Text
    inside JSON is written as UTF-8, not as ``\u`` escapes: Argo's ``{{item.key}}`` hands a
    value's JSON on without unescaping it, to a ``when`` too."""
    value = protect(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def untyped(type_str: str) -> bool:
    """Does the type leave the kind of value open (``any``)?"""
    return _concrete(type_str) is None


def _concrete(type_str: str) -> str | None:
    """The JSON kind a type fixes (``str``, or ``json`` for the rest), None for ``any``."""
    head = parse(unwrap_optional(type_str))[0]
    if head == ANY or head in ("Union", "Any"):
        return None
    return "str" if head == "str" else "json"


def from_item(text: str, type_str: str, item_type: str = ANY) -> Any:
    """The value of Argo's ``{{item}}`` text, read as ``type_str`` (the input's type), or as
    ``item_type`` (the loop's item type) when the input is untyped.

    Untyped both ways, a text that is JSON is read as JSON and any other text as a string's
    JSON without its quotes: a string item whose text is itself JSON (``"1"``) then reads as
    that JSON value (Argo's rendering keeps no trace of the quotes).
    """
    kind = _concrete(type_str) or _concrete(item_type)
    optional = parse(type_str)[0] == "Optional" or parse(item_type)[0] == "Optional"
    if kind == "str" and not (text == "null" and optional):  # Argo renders None as null
        return restore(json.loads(f'"{text}"'))
    try:
        value = json.loads(text)
    except ValueError:
        if kind == "json":
            raise ValueError(f"{text!r} is not a {type_str}") from None
        value = json.loads(f'"{text}"')
    return restore(value)


def typed(value: Any, type_str: str) -> Any:
    """``value`` with ints where floats are declared made floats (Go writes ``1.0`` as ``1``)."""
    head, args = parse(unwrap_optional(type_str))
    if head == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if head == "list" and args and isinstance(value, list):
        return [typed(v, args[0]) for v in value]
    if head == "dict" and len(args) == 2 and isinstance(value, dict):
        return {k: typed(v, args[1]) for k, v in value.items()}
    return value


def stored(base: str, output: str, pod: str) -> dict[str, str]:
    """Where the repository keeps a pod's output artifact, as its ``-meta`` says it to readers
    (for ``dagwright replay``, which cannot read a pod's files): ``stored_at``, a URI, when
    ``base`` (the template's ``--stored-at``) names the bucket, else ``repository_key``, the
    key in the cluster's default repository, which replay is told (``--artifact-repository``).
    The key is the one the template stores the output under (``templates.py``); the compiler
    writes the same for a KFP container component, whose ``-meta`` is a default."""
    where = f"{base}/{output}/{pod}"
    return {"stored_at" if "://" in base else "repository_key": where}
