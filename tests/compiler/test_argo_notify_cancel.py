"""``on=["cancelled"]`` on Argo: ``dagwright runs cancel --target argo`` stops the workflow
(``remote/argo_runs.py``), and Argo runs the exit handler after a stop but not after a
terminate (``ShutdownStrategy.ShouldExecute``, ``pkg/apis/workflow/v1alpha1/workflow_types.go``;
the exit handler is started only when it holds, ``workflow/controller/operator.go``). After a
stop ``{{workflow.status}}`` is Failed, and the nodes the stop ended carry Argo's shutdown
message, from which the notification pod tells a cancel from a failure.

The compiled Workflow is run by the stand-in for the Argo controller (``argo_controller``, not
Argo) shut down before its steps start; the exit handler's pod tells a real HTTP receiver.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn
from notify_receivers import http_receiver

import dagwright
from dagwright import Webhook, component, pipeline

__all__ = ["http_receiver"]
pytest.importorskip("hera")


@component
def train(n: int, fail: bool = False) -> int:
    if fail:
        raise ValueError("the data is gone")
    return n * 2


def _manifest(url: str) -> dict[str, Any]:
    @pipeline(name="nightly", notify=[Webhook(url)], on=["cancelled", "failed"])
    def nightly(n: int = 3, fail: bool = False) -> int:
        return train(n=n, fail=fail).output

    return yaml.safe_load(dagwright.compile(nightly, target="argo"))


def test_a_stopped_workflow_notifies_cancelled_and_a_terminated_one_nothing(
    http_receiver: Any, tmp_path: Path
) -> None:
    manifest = _manifest(http_receiver.url + "/hook")
    exit_template = manifest["spec"]["onExit"]

    stopped = ArgoControllerStandIn(manifest, tmp_path / "stop", shutdown="Stop")
    assert stopped.run().phase == "Failed"
    assert stopped.ran == [exit_template]  # no step's pod, the exit handler's only
    assert stopped.exit_node is not None and stopped.exit_node.phase == "Succeeded"
    [cancelled] = http_receiver.received
    assert cancelled.path == "/hook"
    assert cancelled.body["status"] == "cancelled"
    assert cancelled.body["failed_steps"] == []  # stopped, not failed

    terminated = ArgoControllerStandIn(manifest, tmp_path / "terminate", shutdown="Terminate")
    assert terminated.run().phase == "Failed"
    assert terminated.exit_node is None and terminated.ran == []
    assert len(http_receiver.received) == 1  # a terminate sends nothing: why cancel stops

    failed = ArgoControllerStandIn(manifest, tmp_path / "fail")
    assert failed.run({"fail": json.dumps(True)}).phase == "Failed"
    assert [r.body["status"] for r in http_receiver.received] == ["cancelled", "failed"]
    assert http_receiver.received[1].body["failed_steps"][0]["task"] == "train"


@pytest.mark.parametrize(
    "message",
    [
        "workflow shutdown with strategy: Stop",  # a pod not made (workflowpod.go)
        "workflow shutdown with strategy:  Stop",  # a running pod stopped (exec_control.go)
        "Stopped with strategy 'Stop'",  # a suspended node (operator.go)
    ],
)
def test_the_pod_reads_each_of_argos_stop_messages_as_a_cancel(message: str) -> None:
    from dagwright.notifications.pod import run_end
    from dagwright.pipelines.notify import checked_notification

    notification = checked_notification([Webhook("https://e.com")], ["cancelled"], None)
    assert notification is not None
    failures = [
        {"displayName": "prepare", "message": "Error (exit code 1)", "phase": "Failed"},
        {"displayName": "train", "message": message, "phase": "Failed"},
        {"displayName": "nightly-x", "message": "child 'nightly-x-1' failed", "phase": "Failed"},
    ]
    quoted = json.dumps(json.dumps(failures))  # as Argo gives it (strconv.Quote)
    end = run_end(notification, "nightly", "nightly-x", "Failed", quoted)
    assert end.status == "cancelled"
    assert [step.task for step in end.failed] == ["prepare"]  # failed before the stop
    failed = run_end(notification, "nightly", "nightly-x", "Failed", json.dumps(failures[:1]))
    assert failed.status == "failed"
