"""A step's ``timeout`` in a pod: enforced around the step itself, not the pod's bootstrap.

The pod-level deadlines of both targets count from the pod's start, so they include pulling
the image and the inline pip bootstrap: Argo's template ``activeDeadlineSeconds`` becomes the
pod's ``spec.activeDeadlineSeconds`` (and a template's ``timeout`` counts from the node's
start, pending time included), and KFP's is kfp-kubernetes' ``activeDeadlineSeconds`` on the
pod. A step given ``timeout=60`` would then fail whenever installing its packages took a
minute. So the pod's entry enforces the timeout around the step alone (``enforced``), as
``dagwright run`` times a step, and the pod's deadline is the timeout plus
``BOOTSTRAP_SECONDS`` (``pod_deadline``), a backstop for a bootstrap that hangs.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BOOTSTRAP_SECONDS = 600  # image pull, pip install and interpreter start, on top of the timeout
EXIT_CODE = 124  # what coreutils' timeout exits with; any non-zero fails the step


def pod_deadline(timeout: float) -> int:
    """The pod's ``activeDeadlineSeconds`` for a step with ``timeout`` seconds."""
    return math.ceil(timeout) + BOOTSTRAP_SECONDS


@contextmanager
def enforced(timeout: float | None, step: str) -> Iterator[None]:
    """End this process with ``EXIT_CODE`` if the block runs longer than ``timeout`` seconds.

    The process ends (``os._exit``) rather than raising into the step: a step may catch any
    exception, or sit in native code that never sees one. A pod's step is the whole process,
    so nothing is left running; the pod fails and the target's retry policy applies.
    """
    if not timeout:
        yield
        return
    timer = threading.Timer(timeout, _expire, args=(step, timeout))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _expire(step: str, timeout: float) -> None:
    message = f"TimeoutError: step '{step}' did not finish within {timeout:g} s\n"
    try:
        sys.stderr.write(message)
        sys.stderr.flush()
    finally:
        os._exit(EXIT_CODE)
