"""Managing runs on Kubeflow Pipelines: ``dagwright.runs_on("kfp")`` (``remote/kfp_runs.py``).

As for submit, no KFP backend runs here: these tests talk to the real HTTP stand-in on
127.0.0.1 (``kfp_api_server.py``) that checks every request kfp.Client sends against the
upstream KFP v2beta1 swagger (list, get, terminate and retry of runs) and answers per its
response schemas. Each test asserts the stand-in found no violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kfp_api_server import KfpApiServer

import dagwright
from dagwright.errors import ValidationError
from dagwright.remote import SubmitError
from dagwright.remote import kfp as kfp_submit


def submitted(server: KfpApiServer, package: Path, name: str = "nightly run") -> str:
    """A run of the SDK's package (tasks ``shout`` and ``shout-2``), its id."""
    made = kfp_submit.submit(package, host=server.url, run_name=name, echo=None)
    return made.run_id


def test_ls_lists_the_newest_runs_first_with_their_state(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    first = submitted(kfp_server, sdk_package, "first")
    second = submitted(kfp_server, sdk_package, "second")
    runs = dagwright.runs_on("kfp", host=kfp_server.url).ls(limit=5)
    assert kfp_server.violations == []
    assert [(r.run_id, r.name, r.status) for r in runs] == [
        (second, "second", "PENDING"),
        (first, "first", "PENDING"),
    ]
    assert runs[0].url == f"{kfp_server.url}/#/runs/details/{second}"
    (listed,) = kfp_server.calls("RunService_ListRuns")
    assert listed.query["sort_by"] == "created_at desc" and listed.query["page_size"] == "5"
    assert dagwright.runs_on("kfp", host=kfp_server.url).ls(limit=1)[0].run_id == second


def test_show_gives_each_task_with_its_state_pod_and_error(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    kfp_server.final_state, kfp_server.running_polls = "FAILED", 0
    run_id = submitted(kfp_server, sdk_package)
    run = dagwright.runs_on("kfp", host=kfp_server.url).show(run_id)
    assert kfp_server.violations == []
    assert (run.run_id, run.status, run.message) == (run_id, "FAILED", "task shout-2 failed")
    assert run.finished is not None
    # the root DAG task groups the others: not a step
    assert [(s.name, s.status, s.message) for s in run.steps] == [
        ("shout", "SUCCEEDED", None),
        ("shout-2", "FAILED", "shout-2: exit code 1"),
    ]
    # the executor's pod, not the driver's
    assert run.steps[1].pod == f"shout-2-system-container-impl-{(run_id + '-1')[-8:]}"


def test_logs_say_where_to_read_them_as_the_api_has_none(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    run_id = submitted(kfp_server, sdk_package)
    manager = dagwright.runs_on("kfp", host=kfp_server.url, namespace=None)
    with pytest.raises(SubmitError, match="KFP's API serves no step logs") as said:
        manager.logs(run_id, "shout-2")
    pod = manager.show(run_id).steps[1].pod
    assert f"kubectl logs -n kubeflow {pod} -c main" in str(said.value)
    assert f"#/runs/details/{run_id}" in str(said.value)
    with pytest.raises(ValidationError, match="has no step 'nope'.*its steps: shout, shout-2"):
        manager.logs(run_id, "nope")
    assert kfp_server.violations == []


def test_cancel_terminates_a_running_run_and_refuses_an_ended_one(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    kfp_server.running_polls = 10_000
    run_id = submitted(kfp_server, sdk_package)
    manager = dagwright.runs_on("kfp", host=kfp_server.url)
    assert manager.cancel(run_id).status == "CANCELED"
    (terminated,) = kfp_server.calls("RunService_TerminateRun")
    assert terminated.path == f"/apis/v2beta1/runs/{run_id}:terminate"
    with pytest.raises(ValidationError, match="has ended \\(CANCELED\\)"):
        manager.cancel(run_id)
    assert len(kfp_server.calls("RunService_TerminateRun")) == 1
    assert kfp_server.violations == []


def test_retry_runs_again_only_the_failed_task(kfp_server: KfpApiServer, sdk_package: Path) -> None:
    kfp_server.final_state, kfp_server.running_polls = "FAILED", 0
    run_id = submitted(kfp_server, sdk_package)
    manager = dagwright.runs_on("kfp", host=kfp_server.url)
    assert manager.show(run_id).status == "FAILED"
    kfp_server.running_polls = 1
    retried = manager.retry(run_id)
    (call,) = kfp_server.calls("RunService_RetryRun")
    assert call.path == f"/apis/v2beta1/runs/{run_id}:retry"
    # the server retries the failed task only; the one that succeeded is kept
    assert kfp_server.retried[run_id] == [f"{run_id}-1"]
    assert [(s.name, s.status) for s in retried.steps] == [
        ("shout", "SUCCEEDED"),
        ("shout-2", "RUNNING"),
    ]
    assert manager.show(run_id).status == "SUCCEEDED"
    with pytest.raises(ValidationError, match="is SUCCEEDED.*only a FAILED or CANCELED run"):
        manager.retry(run_id)
    assert len(kfp_server.calls("RunService_RetryRun")) == 1
    assert kfp_server.violations == []


def test_a_refused_token_an_unknown_run_and_a_host_down_are_remote_errors(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    run_id = submitted(kfp_server, sdk_package)
    kfp_server.token = "s3cret"
    # a namespace, so that kfp.Client does not retry its healthz probe for 25 s
    refused = dagwright.runs_on("kfp", host=kfp_server.url, namespace="a", token="nope")
    with pytest.raises(SubmitError, match="answered 401"):
        refused.show(run_id)
    allowed = dagwright.runs_on("kfp", host=kfp_server.url, namespace="a", token="s3cret")
    with pytest.raises(SubmitError, match="answered 404 Not Found: no run 'no-such-run'"):
        allowed.show("no-such-run")
    with KfpApiServer() as gone:
        url = gone.url  # a port nothing listens on once this server stops
    with pytest.raises(SubmitError, match="cannot reach"):
        dagwright.runs_on("kfp", host=url, namespace="a").ls()
    assert kfp_server.violations == []


def test_a_target_that_manages_no_runs_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot manage runs on 'ir'.*kfp, argo"):
        dagwright.runs_on("ir")


def test_ls_of_one_experiment_lists_only_its_runs(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    mine = kfp_submit.submit(sdk_package, host=kfp_server.url, experiment="nightly", echo=None)
    kfp_submit.submit(sdk_package, host=kfp_server.url, echo=None)  # in Default
    runs = dagwright.runs_on("kfp", host=kfp_server.url, experiment="nightly").ls()
    assert [r.run_id for r in runs] == [mine.run_id]
    (listed,) = kfp_server.calls("RunService_ListRuns")
    assert listed.query["experiment_id"] == mine.experiment_id
    assert kfp_server.violations == []
