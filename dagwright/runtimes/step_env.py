"""A Local step's variables, set in this process's environment while it runs.

Local steps are threads of one process, which has one environment: a step's variables are set
when it starts and restored when the last step that set them ends. Two steps that want one
variable with different values do not run at the same time: the second waits for the first,
unless the first was abandoned (timed out or cancelled; its thread may never end), whose hold
is then dropped. A child process (a Process, Horovod or ranks step's) starts from ``outside()``.

A step whose variables hold Secret values runs alone among the in-process steps
(``in_process``; Local steps, and Dask's and Spark's steps that run in this process): it waits
for those running to end, and those that come after it wait for it (a secret holder waiting
lets no new step in before it). So no other step's code can read its Secret in ``os.environ``;
the cost is parallelism while it runs. An abandoned step counts for nothing: a secret holder
runs beside the abandoned thread of a step that timed out (which can see its Secret), and an
abandoned secret holder's Secret values leave ``os.environ`` as soon as the engine stops
waiting for it (``withdraw_abandoned``), or else when the next in-process step starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from dagwright.errors import DagwrightError

_CHANGED = threading.Condition()
POLL = 0.1  # seconds between looks at whether a holder was abandoned (nothing notifies it)


def _live(abandoned: threading.Event | None) -> bool:
    return abandoned is None or not abandoned.is_set()


@dataclass
class _Held:
    value: str
    before: str | None  # the variable before the first holder set it (None: unset)
    # each holder's token and its abandoned event
    holders: dict[object, threading.Event | None] = field(default_factory=dict)

    def blocks(self, value: str) -> bool:
        """Does a live holder keep another value?"""
        return self.value != value and any(_live(ev) for ev in self.holders.values())


@dataclass
class _Running:
    """An in-process step running: the Secret variables it set, and its abandoned event."""

    secret: frozenset[str]
    abandoned: threading.Event | None


class Abandoned(DagwrightError):
    """The engine stopped waiting for a step before it could start: it does not run."""


_HELD: dict[str, _Held] = {}
_RUNNING: dict[object, _Running] = {}  # in-process steps, by their token
# secret holders waiting to run alone, by token: no new step starts before a live one
_WAITING: dict[object, threading.Event | None] = {}


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
        _set(env, token, abandoned)
    try:
        yield
    finally:
        with _CHANGED:
            _unset(env, token)
            _CHANGED.notify_all()


@contextmanager
def in_process(
    env: Mapping[str, str],
    secret: Collection[str] = (),
    abandoned: threading.Event | None = None,
) -> Iterator[None]:
    """An in-process step's code runs in the block, with ``env`` in ``os.environ``.

    Args:
        env: The step's variables.
        secret: Those of them that hold Secret values: the step then runs alone.
        abandoned: Set when the engine stopped waiting for the step (its thread may go on).

    Raises:
        Abandoned: when ``abandoned`` is set while the step waits to start.
    """
    token = object()
    alone = frozenset(k for k in secret if k in env)
    with _CHANGED:
        if alone:
            _WAITING[token] = abandoned
        try:
            while _blocked(alone):
                if not _live(abandoned):
                    raise Abandoned("the step was abandoned before it could start")
                _CHANGED.wait(POLL)
        finally:
            _WAITING.pop(token, None)
        _withdraw_abandoned()
        _set(env, token, abandoned)
        _RUNNING[token] = _Running(alone, abandoned)
    try:
        yield
    finally:
        with _CHANGED:
            del _RUNNING[token]
            _unset(env, token)
            _CHANGED.notify_all()


def withdraw_abandoned() -> None:
    """Take the Secret values of steps just abandoned out of ``os.environ`` now, rather than
    when the next in-process step starts (the run may end first, its threads running on)."""
    with _CHANGED:
        _withdraw_abandoned()
        _CHANGED.notify_all()


def _blocked(alone: frozenset[str]) -> bool:
    """Must a step wait: a secret holder while any live step runs, another while a live
    secret holder runs or waits."""
    live = [r for r in _RUNNING.values() if _live(r.abandoned)]
    if alone:
        return bool(live)
    return any(_live(ev) for ev in _WAITING.values()) or any(r.secret for r in live)


def _withdraw_abandoned() -> None:
    """Take abandoned secret holders' Secret values out of ``os.environ``: their threads may
    run on, but what starts now must not see them."""
    for token, running in _RUNNING.items():
        if running.secret and not _live(running.abandoned):
            _unset(running.secret, token)
            running.secret = frozenset()


def _set(env: Mapping[str, str], token: object, abandoned: threading.Event | None) -> None:
    """Hold ``env``'s variables for ``token`` once no live holder keeps another value."""
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


def _unset(keys: Collection[str], token: object) -> None:
    """``token``'s hold of ``keys`` dropped; a variable nobody holds is restored."""
    for key in keys:
        held = _HELD.get(key)
        if held is None or held.holders.pop(token, False) is False:
            continue  # dropped while this step was abandoned
        if not any(_live(ev) for ev in held.holders.values()):
            del _HELD[key]
            if held.before is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = held.before
