"""A returned value as the JSON it travels as, so it has one type wherever it is read.

A step's value outputs are stored as JSON (the run database, the cache, a pod's output
parameter). A value is therefore turned into its JSON form when the step returns it: the
consumer in the same run, a cached run and a resumed run all see the same value. What JSON
cannot hold (a set, bytes, an object, a dict with non-str keys) fails the step, naming the output.
"""

from __future__ import annotations

from typing import Any

from dagwright.components.types import parse, unwrap_optional
from dagwright.errors import DagwrightError


class NotJsonValue(DagwrightError, TypeError):
    """A value that cannot travel between steps as JSON."""


def as_json_value(value: Any, type_str: str, where: str) -> Any:
    """``value`` in its JSON form, typed by ``type_str`` (an int declared float is a float).

    Args:
        value: What the step returned for one output.
        type_str: The output's declared type.
        where: The output's name, for the message.

    Raises:
        NotJsonValue: naming the path inside the value and its Python type.
    """
    return _typed(_plain(value, where), type_str)


def _plain(value: Any, where: str) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    # subclasses (an IntEnum, numpy.float64) become the builtin they are
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise NotJsonValue(
                    f"{where} has the key {key!r} ({type(key).__name__}); JSON objects have "
                    "str keys, so it would come back as a str: use str keys"
                )
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise NotJsonValue(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which is not a "
        "JSON value (str, int, float, bool, None, list, dict): convert it (e.g. a set to a "
        "sorted list), or pass it in a file, as an artifact"
    )


def _typed(value: Any, type_str: str) -> Any:
    if value is None:
        return None
    head, args = parse(unwrap_optional(type_str))
    if head == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if head == "list" and args and isinstance(value, list):
        return [_typed(v, args[0]) for v in value]
    if head == "dict" and len(args) == 2 and isinstance(value, dict):
        return {k: _typed(v, args[1]) for k, v in value.items()}
    return value
