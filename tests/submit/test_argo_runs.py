"""Managing workflows on Argo: ``dagwright.runs_on("argo")`` (``remote/argo_runs.py``).

As for submit, no Argo server runs here: these tests talk to the real HTTP stand-in on
127.0.0.1 (``argo_server.py``) that checks every request Hera's ``WorkflowsService`` (and the
log call made through its session) sends against the upstream Argo Workflows v4.1.2 swagger
(list, get, log, stop, terminate and retry of workflows) and answers per its response schemas; the
log API answers as Argo's does, a stream of one JSON object a line. Each test asserts the
stand-in found no violation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argo_server import ArgoServer
from hera.workflows import Workflow

import dagwright
from dagwright.errors import ValidationError
from dagwright.remote import SubmitError, argo
from dagwright.remote.argo_runs import pod_name


def submitted(server: ArgoServer, manifest: Path) -> str:
    """A workflow of the Hera manifest (steps ``prepare`` then ``report``), its name."""
    made = argo.submit(manifest, host=server.url, namespace="team-a", echo=None)
    return made.name


def manager(server: ArgoServer, **options: Any) -> Any:
    return dagwright.runs_on("argo", host=server.url, namespace="team-a", **options)


def ended(server: ArgoServer, name: str) -> Any:
    """The workflow, shown until the stand-in has ended it."""
    for _ in range(server.running_polls + 3):
        run = manager(server).show(name)
        if run.status in ("Succeeded", "Failed", "Error"):
            return run
    raise AssertionError(f"{name} did not end")


def test_ls_lists_the_newest_workflows_first_with_their_phase(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    manifest = hera_manifest(Workflow, generate_name="nightly-")
    first, second = submitted(argo_server, manifest), submitted(argo_server, manifest)
    for name, stamp in ((first, "2026-12-01T08:00:00Z"), (second, "2026-12-01T09:00:00Z")):
        argo_server.workflows[("team-a", name)]["metadata"]["creationTimestamp"] = stamp
    ended(argo_server, first)
    runs = manager(argo_server).ls(limit=5)
    assert argo_server.violations == []
    assert [(r.run_id, r.status) for r in runs] == [(second, "Pending"), (first, "Succeeded")]
    assert runs[1].created is not None and runs[1].created.hour == 8
    assert runs[0].url == f"{argo_server.url}/workflows/team-a/{second}"
    (listed, *_) = argo_server.calls("ListWorkflows")
    assert listed.path == "/api/v1/workflows/team-a"
    assert [r.run_id for r in manager(argo_server).ls(limit=1)] == [second]


def test_show_gives_each_step_with_its_phase_message_and_pod(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    argo_server.final_phase, argo_server.running_polls = "Failed", 0
    name = submitted(argo_server, hera_manifest(Workflow, generate_name="nightly-"))
    run = ended(argo_server, name)
    assert argo_server.violations == []
    assert (run.status, run.message) == ("Failed", f"child '{name}-{_crc('report')}' failed")
    # the DAG node groups the steps: not a step
    assert [(s.name, s.status, s.message) for s in run.steps] == [
        ("prepare", "Succeeded", None),
        ("report", "Failed", "Error (exit code 1)"),
    ]
    # pods named as Argo names them, which the stand-in computes on its own
    assert {s.name: s.pod for s in run.steps} == argo_server.pods(("team-a", name))


def test_logs_read_argos_log_stream_for_each_step(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    name = submitted(argo_server, hera_manifest(Workflow, generate_name="nightly-"))
    argo_server.token = "s3cret"
    runs = manager(argo_server, token="s3cret")
    runs.show(name), runs.show(name)  # Pending, then Running: the steps have pods
    pods = argo_server.pods(("team-a", name))
    argo_server.pod_logs[pods["report"]] = ["rows: 10", "", "wrote report.html"]
    logs = runs.logs(name)
    assert [(log.step, log.pod, log.text) for log in logs] == [
        ("prepare", pods["prepare"], "prepare says hello\nprepare is done"),
        ("report", pods["report"], "rows: 10\n\nwrote report.html"),
    ]
    (only,) = runs.logs(name, "report")
    assert only.pod == pods["report"]
    calls = argo_server.calls("WorkflowLogs")
    assert len(calls) == 3 and calls[-1].query == {
        "podName": pods["report"],
        "logOptions.container": "main",
    }
    assert {c.headers.get("authorization") for c in calls} == {"Bearer s3cret"}
    with pytest.raises(ValidationError, match="has no step 'nope'.*its steps: prepare, report"):
        runs.logs(name, "nope")
    assert argo_server.violations == []


def test_cancel_stops_a_running_workflow_and_refuses_an_ended_one(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    """A stop, not a terminate: Argo runs the exit handler after a stop only, and the exit
    handler is what sends a pipeline's notifications (``on=["cancelled"]`` included)."""
    argo_server.running_polls = 10_000
    name = submitted(argo_server, hera_manifest(Workflow, generate_name="nightly-"))
    runs = manager(argo_server)
    stopped = runs.cancel(name)
    assert (stopped.status, stopped.message) == ("Failed", "Stopped with strategy 'Stop'")
    (call,) = argo_server.calls("StopWorkflow")
    assert (call.method, call.path) == ("PUT", f"/api/v1/workflows/team-a/{name}/stop")
    assert call.body == {"name": name, "namespace": "team-a"}
    assert argo_server.calls("TerminateWorkflow") == []
    with pytest.raises(ValidationError, match="has ended \\(Failed\\)"):
        runs.cancel(name)
    assert len(argo_server.calls("StopWorkflow")) == 1
    assert argo_server.violations == []


def test_retry_runs_again_only_the_failed_step(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    argo_server.final_phase, argo_server.running_polls = "Failed", 0
    name = submitted(argo_server, hera_manifest(Workflow, generate_name="nightly-"))
    before = {s.name: s for s in ended(argo_server, name).steps}
    argo_server.running_polls = 1
    retried = manager(argo_server).retry(name)
    (call,) = argo_server.calls("RetryWorkflow")
    assert (call.method, call.path) == ("PUT", f"/api/v1/workflows/team-a/{name}/retry")
    assert call.body == {"name": name, "namespace": "team-a"}
    steps = {s.name: s for s in retried.steps}
    assert (retried.status, steps["report"].status) == ("Running", "Running")
    assert steps["prepare"] == before["prepare"]  # kept as it was, not run again
    assert ended(argo_server, name).status == "Succeeded"
    with pytest.raises(ValidationError, match="is Succeeded.*only a Failed or Error workflow"):
        manager(argo_server).retry(name)
    assert len(argo_server.calls("RetryWorkflow")) == 1
    assert argo_server.violations == []


def test_a_refused_token_an_unknown_workflow_and_a_host_down_are_remote_errors(
    argo_server: ArgoServer,
) -> None:
    argo_server.token = "s3cret"
    with pytest.raises(SubmitError, match="answered 401: token not valid"):
        manager(argo_server, token="nope").ls()
    with pytest.raises(SubmitError, match='answered 404: workflows.argoproj.io "gone" not found'):
        manager(argo_server, token="s3cret").show("gone")
    with ArgoServer() as gone:
        url = gone.url  # a port nothing listens on once this server stops
    with pytest.raises(SubmitError, match="cannot reach"):
        dagwright.runs_on("argo", host=url, namespace="a").ls()
    with pytest.raises(ValidationError, match="no namespace"):
        dagwright.runs_on("argo", host=url)
    assert argo_server.violations == []


def test_pod_names_follow_argos_fnv1a_naming() -> None:
    # FNV-1a of "a" is 0xe40c292c, the published test vector
    assert pod_name("wf", "a", "tpl", "wf-1") == f"wf-tpl-{0xE40C292C}"
    assert pod_name("wf", "wf", "tpl", "wf-1") == "wf"  # a workflow of one pod
    assert pod_name("wf", "a", "tpl", "wf-1", v1=True) == "wf-1"
    # the prefix cut to 242 characters, so that the name fits Kubernetes' 253
    assert pod_name("w" * 300, "a", "t", "x") == "w" * 242 + f"-{0xE40C292C}"


def _crc(step: str) -> int:
    import zlib

    return zlib.crc32(step.encode())


def test_the_stand_in_catches_bad_retry_terminate_and_log_requests(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    import json
    import urllib.error
    import urllib.request

    name = submitted(argo_server, hera_manifest(Workflow, generate_name="nightly-"))
    base = f"{argo_server.url}/api/v1/workflows/team-a/{name}"

    def send(method: str, url: str, body: Any = None) -> int:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return refused.code

    assert send("PUT", f"{base}/retry", {"name": name, "restartSucessful": True}) == 400
    assert "body.restartSucessful: unknown field" in argo_server.violations[-1]
    assert send("PUT", f"{base}/terminate", {"name": "other"}) == 400
    assert "the body names ('team-a', 'other')" in argo_server.violations[-1]
    assert send("GET", f"{base}/log?podName=nope&logOptions.container=main") == 400
    assert "podName 'nope' is no pod of workflow" in argo_server.violations[-1]
    assert send("GET", f"{base}/log?logOptions.follow=maybe") == 400
    assert "'logOptions.follow'='maybe' is not a boolean" in argo_server.violations[-1]
