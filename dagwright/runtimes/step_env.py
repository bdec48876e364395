"""A Local step's variables, set in this process's environment while it runs.

Local steps are threads of one process, which has one environment: a step's variables are set
when it starts and restored when the last step that set them ends. Two steps that want one
variable with different values do not run at the same time: the second waits for the first,
unless the first was abandoned (timed out or cancelled; its thread may never end), whose hold
is then dropped. A step without variables of its own sees those of the steps running beside it;
a child process (a Process, Horovod or ranks step's) does not: it starts from ``outside()``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

_CHANGED = threading.Condition()
POLL = 0.1  # seconds between looks at whether a holder was abandoned (nothing notifies it)


@dataclass
class _Held:
    value: str
    before: str | None  # the variable before the first holder set it (None: unset)
    # each holder's token and its abandoned event
    holders: dict[object, threading.Event | None] = field(default_factory=dict)

    def blocks(self, value: str) -> bool:
        """Does a live holder keep another value?"""
        return self.value != value and any(
            ev is None or not ev.is_set() for ev in self.holders.values()
        )


_HELD: dict[str, _Held] = {}


def outside() -> dict[str, str]:
    """This process's environment without what running Local steps set in it (each such
    variable as it was before they did): what a child process of another step starts from,
    so a Local step's Secret values never reach another step's process."""
    with _CHANGED:
        env = dict(os.environ)
        for key, held in _HELD.items():
            if held.before is None:
                env.pop(key, None)
            else:
                env[key] = held.before
    return env


@contextmanager
def applied(env: Mapping[str, str], abandoned: threading.Event | None = None) -> Iterator[None]:
    """``env`` in ``os.environ`` for the block; waits while a running step that has not been
    abandoned holds another value of one of its variables."""
    if not env:
        yield
        return
    token = object()
    with _CHANGED:
        while any(k in _HELD and _HELD[k].blocks(v) for k, v in env.items()):
            _CHANGED.wait(POLL)
        for key, value in env.items():
            held = _HELD.get(key)
            if held is None:
                _HELD[key] = _Held(value, os.environ.get(key), {token: abandoned})
            elif held.value == value:
                held.holders[token] = abandoned
            else:  # only abandoned holders kept another value: they no longer count
                held.value, held.holders = value, {token: abandoned}
            os.environ[key] = value
    try:
        yield
    finally:
        with _CHANGED:
            for key in env:
                held = _HELD.get(key)
                if held is None or held.holders.pop(token, False) is False:
                    continue  # dropped while this step was abandoned
                if not held.holders:
                    del _HELD[key]
                    if held.before is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = held.before
            _CHANGED.notify_all()
