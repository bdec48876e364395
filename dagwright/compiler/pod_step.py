"""What a compiled pod's entry (``kfp/entry.py``, ``argo/entry.py``) does around its step: run
it with the executor within the component's timeout and record its lineage.

Pod-side code, like the entries: the compilers never import it.
"""

from __future__ import annotations

import time
from typing import Any

from dagwright.compiler.deadline import enforced
from dagwright.executor import run_step
from dagwright.lineage.pod import record_step


def run_recorded(step: Any, where: tuple[str, str, str, str] | None) -> Any:
    """Run a step with the executor, within its component's timeout (``compiler.deadline``),
    and, when ``where`` (tracking URI, run id, pipeline, step label) is given, record it in
    MLflow, failed or not."""
    started = time.time()
    inputs = {"parameters": step.parameters, "artifacts": step.artifacts}
    try:
        # the step's timeout, counted from here: the pod's own deadline includes its bootstrap
        with enforced(step.component.timeout, step.task):
            outcome = run_step(step)
    except Exception as exc:
        if where is not None:
            error = f"{type(exc).__name__}: {exc}"
            record_step(*where, step.component, inputs, None, error, started)
        raise
    if where is not None:
        made = {name: artifact.to_dict() for name, artifact in outcome.artifacts.items()}
        record_step(*where, step.component, inputs, {**outcome.values, **made}, None, started)
    return outcome
