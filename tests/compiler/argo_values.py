"""How Argo v4.1.2 turns values into text, for the test stand-in (``argo_controller``). Not
Argo: a model of the upstream code each function names, as far as dagwright's specs meet it.

- ``replace``: util/template's ``Replace``/``simpleReplace``: a tag is looked up trimmed; an
  unknown one is kept or refused; a value is written into the template's JSON through Go's
  ``strconv.Quote``, so one holding a control character JSON cannot read back fails.
- ``item_texts`` and ``item_scope``: the items of ``withParam``/``withItems`` and what
  ``{{item}}`` and ``{{item.key}}`` become (``processItem`` in workflow/controller/operator.go,
  ``Item.String`` in pkg/apis/workflow/v1alpha1/item.go, util/json's ``Fix``).
- ``aggregated_json_value_list``: a fan-out's output parameters as one (operator.go).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

# what strconv.Quote writes as \a, \v or \xNN: not JSON, so the substituted template is refused
UNQUOTABLE = re.compile("[\x00-\x07\x0b\x0e-\x1f\x7f]")


class ArgoRejected(ValueError):
    """What Argo would refuse, with its message."""


def tags(text: str) -> list[str]:
    """The ``{{...}}`` tags of a text as fasttemplate finds them: from ``{{`` to the next
    ``}}``; a ``{{`` with no ``}}`` after it is an error."""
    found, at = [], 0
    while (start := text.find("{{", at)) != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            raise ArgoRejected(f"Cannot find end tag='}}}}' in the template={text[start:]!r}")
        found.append(text[start + 2 : end])
        at = end + 2
    return found


def replace(text: str, scope: dict[str, str], allow_unresolved: bool) -> str:
    """``template.Replace``: every tag looked up trimmed (see the module docstring)."""
    tags(text)  # refuses a '{{' without '}}'
    out, at = [], 0
    while (start := text.find("{{", at)) != -1:
        end = text.find("}}", start + 2)
        tag = text[start + 2 : end]
        out.append(text[at:start])
        name = tag.strip()
        if name in scope:
            value = scope[name]
            if UNQUOTABLE.search(value):
                raise ArgoRejected(
                    "cannot finish template replacement because the result was invalid JSON"
                )
            out.append(value)
        elif allow_unresolved or name.startswith("="):
            out.append("{{" + tag + "}}")
        else:
            raise ArgoRejected(f"failed to resolve {{{{{tag}}}}}")
        at = end + 2
    out.append(text[at:])
    return "".join(out)


# withParam / withItems


def raw_elements(text: str) -> list[str]:
    """The raw JSON texts of a JSON list's elements (Argo keeps each item's bytes)."""
    decoder = json.JSONDecoder()
    text = text.strip()
    if not text.startswith("["):
        raise ArgoRejected(f"withParam value could not be parsed as a JSON list: {text}")
    found, at = [], 1
    while True:
        at = _skip(text, at)
        if text[at] == "]":
            return found
        _, end = decoder.raw_decode(text, at)
        found.append(text[at:end])
        at = _skip(text, end)
        if text[at] == ",":
            at += 1


def _raw_pairs(text: str) -> list[tuple[str, str]]:
    """(key, raw value text) of a JSON object's members, in the text's order."""
    decoder = json.JSONDecoder()
    found, at = [], _skip(text, 1)
    while text[at] != "}":
        key, at = decoder.raw_decode(text, at)
        at = _skip(text, _skip(text, at) + 1)  # past ':'
        _, end = decoder.raw_decode(text, at)
        found.append((key, text[at:end]))
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)
    return found


def _skip(text: str, at: int) -> int:
    while text[at] in " \t\r\n":
        at += 1
    return at


def _compact(raw: str) -> str:
    """Go's compacting of a RawMessage on Marshal: no white space outside strings, and
    ``<``, ``>``, ``&``, U+2028 and U+2029 escaped inside them; other escapes kept as written."""
    out, in_string, escaped = [], False, False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            elif char in "<>&\u2028\u2029":
                char = f"\\u{ord(char):04x}"
        elif char == '"':
            in_string = True
        elif char in " \t\r\n":
            continue
        out.append(char)
    return "".join(out)


def _fix(text: str) -> str:
    """util/json's Fix, applied by ``Item.String``."""
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def item_kind(raw: str) -> str:
    """``Item.GetType``: Number, Bool, List (``null`` too: it unmarshals into a list), Map or
    String."""
    if re.fullmatch(r"[+-]?\d+", raw) or _is_float(raw):
        return "number"
    if raw in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"):
        return "bool"
    if raw.startswith("[") or raw == "null":
        return "list"
    if raw.startswith("{"):
        return "map"
    return "string"


def _is_float(raw: str) -> bool:
    try:
        float(raw)
    except ValueError:
        return False
    return raw.strip() == raw


def item_string(raw: str) -> str:
    """``Item.String``: the JSON, a string's with its quotes cut off (escapes kept)."""
    text = _compact(raw)
    if text.startswith('"'):
        text = text[1:-1]
    return _fix(text)


def item_scope(raw: str) -> dict[str, str]:
    """What ``{{item}}`` and ``{{item.<key>}}`` become for one item (``processItem``)."""
    kind = item_kind(raw)
    if kind in ("string", "number", "bool"):
        return {"item": item_string(raw)}
    if kind == "list":
        if raw.strip() == "null":
            return {"item": "null"}
        return {"item": "[" + ",".join(_compact(r) for r in raw_elements(raw)) + "]"}
    pairs = dict(_raw_pairs(raw))  # Go's map: a repeated key keeps the last value
    scope = {f"item.{key}": item_string(value) for key, value in pairs.items()}
    members = (f"{_go_string(key)}:{_compact(value)}" for key, value in sorted(pairs.items()))
    scope["item"] = "{" + ",".join(members) + "}"
    return scope


def _go_string(text: str) -> str:
    return _go_marshal(text)


def item_texts(task: dict[str, Any], with_param: str | None) -> list[str]:
    """The raw JSON of each item: a withParam list's own bytes, or a withItems entry as the
    controller gets it back from the API server (Go's JSON, numbers read as float64)."""
    if with_param is not None:
        return raw_elements(with_param)
    return [_go_marshal(_floats(item)) for item in task["withItems"]]


def _floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return {k: _floats(v) for k, v in value.items()}


def aggregated_json_value_list(values: list[str]) -> str:
    """The outputs of a fan-out's iterations as one parameter, as Argo v4.1.2 aggregates them.

    Models the controller's ``aggregatedJSONValueList`` and ``tryJSONUnmarshal``
    (workflow/controller/operator.go): the values are embedded as JSON only when EVERY one
    unmarshals to a JSON object or list; otherwise the result is the JSON list of the values'
    raw texts, so the items ``1``, ``2``, ``3`` aggregate to ``["1","2","3"]`` (Argo's own e2e
    test and operator_test.go's ``TestAggregatedJsonValueList``). Either way the list is
    written by Go's ``json.Marshal``: compact, object keys sorted, numbers as float64, ``<``,
    ``>`` and ``&`` escaped.
    """
    parsed: list[Any] = []
    for value in values:
        try:
            loaded = json.loads(value, parse_int=float, parse_constant=_no_constant)
        except ValueError:  # Go's encoding/json refuses it: the texts are passed on
            return _go_marshal(values)
        if not isinstance(loaded, (dict, list)):  # a scalar: the texts are passed on
            return _go_marshal(values)
        parsed.append(loaded)
    return _go_marshal(parsed)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity, Go does not


def _go_marshal(value: Any) -> str:
    """``value`` as Go's ``json.Marshal`` writes it (numbers are float64 by then)."""
    if isinstance(value, list):
        return "[" + ",".join(_go_marshal(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_go_marshal(k)}:{_go_marshal(v)}" for k, v in sorted(value.items()))
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, float):
        magnitude = abs(value)
        if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
            return re.sub(r"e([-+])0(\d)$", r"e\1\2", repr(value))  # 1e-07 is 1e-7 in Go
        return format(Decimal(repr(value)).normalize(), "f")  # 1e-05 is 0.00001, 3.0 is 3
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)  # Go escapes HTML's specials in strings
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
