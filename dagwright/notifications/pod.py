"""The notification of a run on a cluster, sent by its exit task: ``python -m
dagwright.notifications.pod`` (Argo's ``onExit`` template, given ``{{workflow.status}}`` and
``{{workflow.failures}}``) or ``notify_exit`` (the component of KFP's exit task, given KFP's
``PipelineTaskFinalStatus``).

Whatever happens here ends well for the pod: a workflow whose exit handler fails is marked
failed, and a notifier that fails must never fail the run.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from dagwright.notifications.message import FailedStep, RunEnd, first_line
from dagwright.notifications.send import send_all
from dagwright.pipelines.notify import Notification

log = logging.getLogger("dagwright.notifications")
# Argo's message on a DAG node whose child failed (workflow/controller/dag.go); every failed
# node, DAGs included, is in {{workflow.failures}}
_CHILD_FAILED = re.compile(r"^child '[^']*' failed$")
# what Argo writes on the nodes a Stop ends (``argo stop``, dagwright's ``runs cancel``): a pod
# not made, ``workflowpod.go``; a running pod stopped (two spaces), ``exec_control.go``; a
# suspended node, ``operator.go``. A Stop runs the exit handler with {{workflow.status}}
# Failed, so these tell a cancelled run from a failed one; a Terminate runs no exit handler
# (``ShutdownStrategy.ShouldExecute``, ``pkg/apis/workflow/v1alpha1/workflow_types.go``).
_STOPPED = re.compile(r"^(workflow shutdown with strategy:\s+Stop|Stopped with strategy 'Stop')$")

# a run's end as Argo's workflow phase and KFP's final state name it
STATUSES = {
    "succeeded": "succeeded",
    "failed": "failed",
    "error": "failed",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}


def run_end(
    notification: Notification,
    pipeline: str,
    run_id: str,
    status: str,
    failures: Any = None,
    error: str = "",
) -> RunEnd:
    """The ``RunEnd`` of a cluster run from what its exit task was told.

    Args:
        notification: The pipeline's notification.
        pipeline: The pipeline's name.
        run_id: The workflow's (Argo) or the run's (KFP) name.
        status: Argo's phase (``Succeeded``, ``Failed``, ``Error``) or KFP's state.
        failures: Argo's ``{{workflow.failures}}``: a JSON list of the nodes that failed; a
            Failed workflow with nodes a Stop ended is "cancelled".
        error: KFP's error message for the pipeline, when it failed.
    """
    ended = STATUSES.get(status.strip().lower(), status.strip().lower() or "failed")
    failed: list[FailedStep] = []
    nodes = _failures(failures)
    if ended == "failed" and any(_STOPPED.match(str(n.get("message") or "")) for n in nodes):
        ended = "cancelled"  # stopped (cancelled), not failed
    for node in nodes:
        if _CHILD_FAILED.match(str(node.get("message") or "")):
            continue  # a DAG (or the workflow's) node, failed because a step in it did
        if _STOPPED.match(str(node.get("message") or "")):
            continue  # stopped by the cancel, not failed
        step = FailedStep(str(node.get("displayName") or node.get("templateName") or "?"),
                          first_line(str(node.get("message") or "")))  # fmt: skip
        if step not in failed:
            failed.append(step)
    if any(step.error for step in failed):  # a pod's failure has a message, a DAG's may not
        failed = [step for step in failed if step.error]
    if not failed and error and ended == "failed":
        failed.append(FailedStep("pipeline", first_line(error)))
    link = notification.link_for(pipeline, run_id)
    return RunEnd(pipeline, run_id, ended, tuple(failed), link)


def _failures(failures: Any) -> list[dict[str, Any]]:
    """The failed nodes, from the list or from Argo's text of it: the JSON list quoted once
    more as a Go string (``strconv.Quote``, ``operator.go``), ``"null"`` when none failed."""
    for _ in range(2):
        if not isinstance(failures, str):
            break
        try:
            failures = json.loads(failures) if failures.strip() else []
        except ValueError:  # not JSON at all: nothing to tell of the steps
            return []
    if not isinstance(failures, list):
        return []
    return [f for f in failures if isinstance(f, dict)]


def notify_exit(notification: Notification, end: RunEnd) -> list[str]:
    """Send ``end`` when the notification wants its status; the problems."""
    if not notification.wants(end.status):
        log.info("run %s ended %s: not notified (on: %s)", end.run_id, end.status, notification.on)
        return []
    return send_all(notification, end)


def main(argv: Sequence[str] | None = None) -> int:
    """The Argo exit template's program; 0 whatever happened (see the module's doc)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m dagwright.notifications.pod")
    parser.add_argument("--notify", required=True, help="the pipeline's notify, as IR JSON")
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--status", required=True)
    parser.add_argument("--failures", default="")
    args = parser.parse_args(argv)
    try:
        notification = Notification.from_dict(json.loads(args.notify))
        end = run_end(notification, args.pipeline, args.run_id, args.status, args.failures)
        notify_exit(notification, end)
    except Exception as exc:  # reported, never the workflow's failure
        log.warning("notifications not sent: %s", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
