"""A Local step's variables, set in this process's environment while it runs.

Local steps are threads of one process, which has one environment: a step's variables are set
when it starts and restored when the last step that set them ends. Two steps that want one
variable with different values do not run at the same time: the second waits for the first.
A step without variables of its own sees those of the steps running beside it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

_CHANGED = threading.Condition()
# variable -> (value set, how many running steps set it, the value before the first did)
_HELD: dict[str, tuple[str, int, str | None]] = {}


@contextmanager
def applied(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` in ``os.environ`` for the block; waits while a running step holds another
    value of one of its variables."""
    if not env:
        yield
        return
    with _CHANGED:
        _CHANGED.wait_for(lambda: all(_HELD.get(k, (v,))[0] == v for k, v in env.items()))
        for key, value in env.items():
            held = _HELD.get(key)
            if held is None:
                _HELD[key] = (value, 1, os.environ.get(key))
                os.environ[key] = value
            else:
                _HELD[key] = (value, held[1] + 1, held[2])
    try:
        yield
    finally:
        with _CHANGED:
            for key in env:
                value, count, before = _HELD[key]
                if count > 1:
                    _HELD[key] = (value, count - 1, before)
                    continue
                del _HELD[key]
                if before is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = before
            _CHANGED.notify_all()
