"""Every field of an exit task's ``PipelineTaskFinalStatus`` on Argo, beside ``dagwright run``.

The exit task runs as the lifecycle hook of its block's DAG task and is given the block's phase
(``{{tasks.<block>.status}}``) and the workflow's name (``compiler/argo/flow.py``); the pod's
entry turns them into KFP's dict (``entry.final_status``). Argo sets ``{{workflow.status}}`` and
``{{workflow.failures}}`` only for the workflow's own exit handler (``onExit``), after every
node ended, not for a DAG task's hook, so the failed step's own message is not there: the
message names the block and its phase. Run by the stand-in for the Argo controller
(``argo_controller``, not Argo), the same pipeline run by ``dagwright run`` beside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from argo_controller import ArgoControllerStandIn

import dagwright
from dagwright import ExitHandler, If, PipelineTaskFinalStatus, component, pipeline

pytest.importorskip("hera")


@component
def fails(n: int) -> int:
    raise ValueError(f"no good: {n}")


@component
def number(n: int) -> int:
    return n


@component
def record(journal: str, status: PipelineTaskFinalStatus) -> str:
    fields = {
        "state": status.state,
        "task": status.pipeline_task_name,
        "job": status.pipeline_job_resource_name,
        "code": status.error_code,
        "message": status.error_message,
    }
    with open(os.path.join(journal, "status.json"), "w", encoding="utf-8") as f:
        json.dump(fields, f)
    return status.state


@pipeline(name="final-status")
def watched(journal: str, bad: bool = False) -> None:
    with ExitHandler(record(journal=journal)):
        n = number(n=1)
        with If(bad == True):  # noqa: E712
            fails(n=7).after(n)


@pytest.mark.parametrize("bad", [False, True])
def test_the_exit_task_gets_every_field_of_its_blocks_final_status(
    tmp_path: Path, bad: bool
) -> None:
    argo_journal, local_journal = tmp_path / "argo", tmp_path / "local"
    argo_journal.mkdir()
    local_journal.mkdir()
    manifest = yaml.safe_load(dagwright.compile(watched, target="argo"))
    stand_in = ArgoControllerStandIn(manifest, tmp_path / "stand-in")
    node = stand_in.run({"journal": str(argo_journal), "bad": json.dumps(bad)})
    ours = dagwright.run(
        watched, journal=str(local_journal), bad=bad, echo=False, root=tmp_path / "store"
    )
    assert (node.phase == "Failed") == (ours.status == "failed") == bad
    theirs = json.loads((argo_journal / "status.json").read_text(encoding="utf-8"))
    mine = json.loads((local_journal / "status.json").read_text(encoding="utf-8"))
    assert theirs["job"] == stand_in.name and mine["job"] == ours.run_id  # the run's own name
    for fields in (theirs, mine):
        assert fields["state"] == ("FAILED" if bad else "SUCCEEDED")
        assert fields["task"] == "exit-handler-1"
        assert fields["code"] == (1 if bad else None)
    if bad:  # locally the first failure's message; on Argo the block's phase (module docstring)
        assert mine["message"] == "fails: ValueError: no good: 7"
        assert theirs["message"] == "exit-handler-1 ended Failed"
    else:
        assert theirs["message"] is None and mine["message"] is None
