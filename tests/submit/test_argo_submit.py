"""Submitting Workflows to Argo: ``dagwright submit --target argo`` and ``dagwright.remote.argo``.

No Argo server can run here. These tests talk to a real HTTP stand-in on 127.0.0.1
(``argo_server.py``) that checks every request Hera's ``WorkflowsService`` sends against the
upstream Argo Workflows v4.1.2 swagger (``tests/schemas/argo-workflows-v4.1.2.swagger.json.gz``)
with jsonschema plus a strict unknown-field check, and answers per the swagger's response
schemas. Each test asserts the stand-in found no violation; the last tests show that it does
find them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argo_server import ArgoServer
from click.testing import CliRunner, Result
from hera.workflows import Workflow, WorkflowTemplate

from dagwright.cli import cli
from dagwright.errors import ValidationError
from dagwright.remote import SubmitError, argo

NIGHTLY = str(Path(__file__).with_name("nightly.py")) + ":nightly"


def dagwright(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def to_argo(server: ArgoServer, *args: str, env: dict[str, str] | None = None) -> Result:
    """``dagwright submit NIGHTLY --target argo`` to the stand-in, namespace team-a."""
    where = ("--target", "argo", "--host", server.url, "--namespace", "team-a")
    return dagwright("submit", NIGHTLY, *where, *args, env=env)


def created(server: ArgoServer) -> dict[str, Any]:
    """The body of the one CreateWorkflow call, which the server took."""
    (call,) = server.calls("CreateWorkflow")
    assert call.status == 200
    return dict(call.body)


def test_submit_creates_a_workflow_in_the_namespace_with_the_arguments(
    argo_server: ArgoServer,
) -> None:
    out = to_argo(argo_server, "-p", "rows=5", "-p", "label=weekly")
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    (call,) = argo_server.calls("CreateWorkflow")
    assert call.path == "/api/v1/workflows/team-a"
    body = created(argo_server)
    assert body["namespace"] == "team-a"
    workflow = body["workflow"]
    assert (workflow["kind"], workflow["metadata"]["namespace"]) == ("Workflow", "team-a")
    assert workflow["metadata"]["generateName"] == "nightly-"
    # -p values as Argo's text; the step entry decodes them by the parameter's type
    assert workflow["spec"]["arguments"]["parameters"] == [
        {"name": "rows", "value": "5"},
        {"name": "label", "value": "weekly"},
    ]
    ((namespace, name),) = argo_server.workflows
    assert namespace == "team-a" and name.startswith("nightly-")
    url = f"{argo_server.url}/workflows/team-a/{name}"
    assert out.output.splitlines() == [f"submitted workflow team-a/{name}: {url}"]
    assert argo_server.calls("LintWorkflow") == argo_server.calls("GetWorkflow") == []


def test_defaults_stay_in_the_manifest_and_a_name_replaces_generate_name(
    argo_server: ArgoServer,
) -> None:
    out = to_argo(argo_server, "--run-name", "nightly-manual")
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    workflow = created(argo_server)["workflow"]
    assert workflow["metadata"]["name"] == "nightly-manual"
    assert "generateName" not in workflow["metadata"]
    assert workflow["spec"]["arguments"]["parameters"] == [
        {"name": "rows", "value": "10"},
        {"name": "label", "value": "nightly"},
    ]
    assert list(argo_server.workflows) == [("team-a", "nightly-manual")]


def test_lint_goes_first_through_the_server(argo_server: ArgoServer) -> None:
    out = to_argo(argo_server, "--lint")
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    operations = [r.operation for r in argo_server.requests]
    assert operations == ["WorkflowService_LintWorkflow", "WorkflowService_CreateWorkflow"]
    (lint,) = argo_server.calls("LintWorkflow")
    assert lint.path == "/api/v1/workflows/team-a/lint"
    assert lint.body["workflow"] == created(argo_server)["workflow"]
    assert out.output.startswith("lint: the server found no problem in the Workflow\n")


def test_a_lint_failure_exits_1_with_the_message_and_creates_nothing(
    argo_server: ArgoServer,
) -> None:
    argo_server.lint_problem = "pods of team-a may not run as root"
    out = to_argo(argo_server, "--lint")
    assert out.exit_code == 1
    assert argo_server.violations == []
    assert "error: lint refused the Workflow: pods of team-a may not run as root" in out.output
    assert "Traceback" not in out.output
    assert argo_server.calls("CreateWorkflow") == []
    assert argo_server.workflows == {}


def test_lint_refuses_a_workflow_argo_finds_invalid(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    """A manifest built by Hera whose entrypoint names no template: Argo's own validation."""
    manifest = hera_manifest(Workflow, generate_name="broken-")
    text = manifest.read_text().replace("entrypoint: main", "entrypoint: nope")
    manifest.write_text(text)
    with pytest.raises(SubmitError, match="lint refused the Workflow: .*'nope' is undefined"):
        argo.submit(manifest, host=argo_server.url, namespace="team-a", lint=True, echo=None)
    assert argo_server.violations == []
    assert len(argo_server.calls("LintWorkflow")) == 1
    assert argo_server.calls("CreateWorkflow") == []


def test_python_submit_of_a_hera_manifest(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    manifest = hera_manifest(Workflow, generate_name="tiny-", namespace="elsewhere")
    lines: list[str] = []
    result = argo.submit(
        manifest,
        host=argo_server.url + "/",
        namespace="team-a",  # the namespace given wins over the manifest's, as with argo -n
        arguments={"rows": 3, "label": "adhoc"},
        echo=lines.append,
    )
    assert argo_server.violations == []
    workflow = created(argo_server)["workflow"]
    assert workflow["metadata"]["namespace"] == "team-a"
    assert workflow["spec"]["arguments"]["parameters"] == [
        {"name": "rows", "value": "3"},
        {"name": "label", "value": "adhoc"},
    ]
    assert ("team-a", result.name) in argo_server.workflows
    assert (result.phase, result.waited, result.finished, result.linted) == (
        None,
        False,
        False,
        False,
    )
    assert result.url == f"{argo_server.url}/workflows/team-a/{result.name}"
    assert lines == [f"submitted workflow team-a/{result.name}: {result.url}"]


def test_wait_polls_until_succeeded_and_summarises(argo_server: ArgoServer) -> None:
    out = to_argo(argo_server, "--wait", "--poll-interval", "0.01")
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    # Pending once, Running twice, then Succeeded
    assert len(argo_server.calls("GetWorkflow")) == argo_server.running_polls + 2
    ((_, name),) = argo_server.workflows
    lines = out.output.splitlines()
    phases = [line for line in lines if line.startswith(f"workflow team-a/{name}:")]
    assert phases[:3] == [
        f"workflow team-a/{name}: {p}" for p in ("Pending", "Running", "Succeeded")
    ]
    assert phases[3].startswith(f"workflow team-a/{name}: Succeeded in ")
    assert "  prepare: Running" in lines and "  report: Succeeded" in lines
    assert lines[-2:] == ["  prepare  Succeeded", "  report   Succeeded"]


def test_wait_on_a_failed_workflow_exits_1_with_its_message(argo_server: ArgoServer) -> None:
    argo_server.final_phase = "Failed"
    out = to_argo(argo_server, "--wait", "--poll-interval", "0.01")
    assert out.exit_code == 1, out.output
    assert argo_server.violations == []
    ((_, name),) = argo_server.workflows
    assert f"workflow team-a/{name}: Failed in " in out.output
    assert "  message: child 'nightly-" in out.output
    assert out.output.splitlines()[-1] == "  report   Failed: Error (exit code 1)"


def test_wait_gives_up_after_the_timeout(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    argo_server.running_polls = 10_000
    result = argo.submit(
        hera_manifest(Workflow, generate_name="slow-"),
        host=argo_server.url,
        namespace="team-a",
        wait=True,
        timeout=0.3,
        poll_interval=0.05,
        echo=None,
    )
    assert argo_server.violations == []
    assert (result.phase, result.finished, result.succeeded) == ("Running", False, False)
    assert 2 <= len(argo_server.calls("GetWorkflow")) <= 10
    assert result.summary(0.3)[0] == (
        f"workflow team-a/{result.name}: still Running after 0.3s; stopped waiting"
    )


def test_token_is_sent_as_a_bearer_header(argo_server: ArgoServer) -> None:
    argo_server.token = "s3cret"
    out = to_argo(argo_server, "--lint", env={"ARGO_TOKEN": "s3cret"})
    assert out.exit_code == 0, out.output
    # a token that has its "Bearer " already (as `argo auth token` prints) is kept as it is
    again = to_argo(argo_server, "--token", "Bearer s3cret")
    assert again.exit_code == 0, again.output
    assert argo_server.violations == []
    assert len(argo_server.requests) == 3
    assert {r.headers.get("authorization") for r in argo_server.requests} == {"Bearer s3cret"}
    assert {r.status for r in argo_server.requests} == {200}


def test_a_refused_token_exits_1_and_a_kfp_token_is_not_sent_to_argo(
    argo_server: ArgoServer,
) -> None:
    argo_server.token = "s3cret"
    out = to_argo(argo_server, env={"KFP_TOKEN": "s3cret"})
    assert out.exit_code == 1
    assert argo_server.requests[0].headers.get("authorization") is None
    assert f"error: {argo_server.url} answered 401: token not valid" in out.output
    assert "Traceback" not in out.output
    assert argo_server.workflows == {}


def test_an_unreachable_host_is_a_remote_error(hera_manifest: Callable[..., Path]) -> None:
    with ArgoServer() as gone:
        url = gone.url  # a port nothing listens on once this server stops
    with pytest.raises(SubmitError, match="cannot reach"):
        argo.submit(hera_manifest(Workflow, generate_name="x-"), host=url, namespace="a", echo=None)


def test_the_server_comes_from_argo_server_and_the_namespace_from_argo_namespace(
    argo_server: ArgoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the argo CLI reads them: host:port, https unless ARGO_SECURE=false."""
    monkeypatch.setenv("ARGO_SERVER", argo_server.url.removeprefix("http://"))
    monkeypatch.setenv("ARGO_SECURE", "false")
    monkeypatch.setenv("ARGO_NAMESPACE", "team-b")
    out = dagwright("submit", NIGHTLY, "--target", "argo")
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    assert created(argo_server)["namespace"] == "team-b"
    assert argo.server_url("https://argo.example.com/argo") == "https://argo.example.com/argo/"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--namespace", ""), "field 'namespace': no namespace to send to"),
        (("--namespace", "Team_A"), "'Team_A' is not a Kubernetes name"),
        (("--kind", "dag"), "Invalid value for '--kind'"),
        (("--kind", "template", "--wait"), "--kind template makes no run to wait for"),
        (("--upload",), "field '--upload': --upload is for --target kfp"),
        (("--experiment", "x"), "--experiment is for --target kfp"),
        (("-p", "colour=red"), "unknown parameter 'colour'"),
        (("-p", "rows=many"), "field 'rows'"),
        (("--pipeline-root", "s3://b"), "takes no option 'pipeline_root'"),
        (("--run-name", "Not A Name"), "is not a Kubernetes name"),
    ],
)
def test_bad_input_exits_2_and_sends_nothing(
    argo_server: ArgoServer, args: tuple[str, ...], problem: str
) -> None:
    where = ["--target", "argo", "--host", argo_server.url]
    if "--namespace" not in args:
        where += ["--namespace", "team-a"]
    out = dagwright("submit", NIGHTLY, *where, *args)
    assert out.exit_code == 2, out.output
    assert problem in out.output
    assert argo_server.requests == []


@pytest.mark.parametrize(
    ("host", "problem"), [("localhost:2746", "is not an http(s) URL"), ("", "no Argo server")]
)
def test_a_bad_host_exits_2(host: str, problem: str) -> None:
    out = dagwright("submit", NIGHTLY, "--target", "argo", "--host", host, "--namespace", "a")
    assert out.exit_code == 2
    assert problem in out.output


def test_kfp_options_refuse_argo_flags(argo_server: ArgoServer) -> None:
    out = dagwright("submit", NIGHTLY, "--target", "kfp", "--host", argo_server.url, "--lint")
    assert out.exit_code == 2
    assert "--lint is for --target argo" in out.output
    assert argo_server.requests == []


def test_manifest_fields_hera_does_not_know_are_refused(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    """Hera's models drop keys they do not declare; sending the rest silently would be wrong."""
    manifest = hera_manifest(Workflow, generate_name="x-", edit=lambda m: m["spec"].update(x=1))
    with pytest.raises(ValidationError, match=r"hera's models do not know spec\.x"):
        argo.submit(manifest, host=argo_server.url, namespace="team-a", echo=None)
    missing = hera_manifest(
        Workflow,
        generate_name="x-",
        edit=lambda m: m["spec"]["arguments"]["parameters"][0].pop("value"),
    )
    with pytest.raises(ValidationError, match="missing parameter 'rows'"):
        argo.submit(missing, host=argo_server.url, namespace="team-a", echo=None)
    template = hera_manifest(WorkflowTemplate, name="t")
    with pytest.raises(ValidationError, match="is WorkflowTemplate .*, not an .* Workflow"):
        argo.submit(template, host=argo_server.url, namespace="team-a", echo=None)
    with pytest.raises(ValidationError, match="is not YAML"):
        argo.submit(Path(__file__).with_name("nightly.py"), host=argo_server.url, echo=None)
    assert argo_server.requests == []


def test_the_cli_imports_no_hera_and_lists_the_argo_commands() -> None:
    code = "import sys, dagwright.cli; print('hera' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "delete", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0, helped.stderr
    assert "--kind [template|cron]" in helped.stdout


# --- the stand-in's contract check can fail ---------------------------------------------------


def _send(server: ArgoServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_stand_in_rejects_bodies_that_break_the_swagger(argo_server: ArgoServer) -> None:
    status, answer = _send(
        argo_server,
        "POST",
        "/api/v1/workflows/team-a",
        {
            "workflow": {
                "metadata": {"name": "x", "uid": "0000"},  # the system sets a uid
                "spec": {"entrypoint": 7, "templatess": []},  # a string; misspelt
            }
        },
    )
    assert status == 400 and answer["code"] == 3
    problems = "\n".join(argo_server.violations)
    assert "body.workflow.spec.entrypoint: 7 is not of type 'string'" in problems
    assert "body.workflow.spec.templatess: unknown field" in problems
    assert "body.workflow.metadata.uid: set by the system" in problems
    assert argo_server.workflows == {}
    status, _ = _send(argo_server, "POST", "/api/v1/workflowz/team-a", {})
    assert status == 404
    assert "no such operation in the swagger" in argo_server.violations[-1]
    status, _ = _send(
        argo_server,
        "DELETE",
        "/api/v1/cron-workflows/team-a/x?deleteOptions.gracePeriodSeconds=soon",
    )
    assert status == 400
    assert (
        "'deleteOptions.gracePeriodSeconds'='soon' is not an integer" in argo_server.violations[-1]
    )


def test_the_stand_in_refuses_a_second_create_and_a_stale_update(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    """Why ``apply_template`` reads first: a create of an existing name is refused (409), and
    an update without the current resourceVersion too (400 without one; 409 with an old one)."""
    argo.apply_template(
        hera_manifest(WorkflowTemplate, name="t"), host=argo_server.url, namespace="a", echo=None
    )
    template = json.loads(json.dumps(argo_server.templates[("a", "t")]))
    for key in ("uid", "creationTimestamp", "generation"):
        del template["metadata"][key]
    path = "/api/v1/workflow-templates/a/t"
    current = template["metadata"].pop("resourceVersion")
    status, answer = _send(
        argo_server, "POST", "/api/v1/workflow-templates/a", {"template": template}
    )
    assert status == 409 and answer["message"] == 'workflowtemplates.argoproj.io "t" already exists'
    status, _ = _send(argo_server, "PUT", path, {"template": template})
    assert status == 400
    assert "must be specified for an update" in argo_server.violations[-1]
    template["metadata"]["resourceVersion"] = str(int(current) - 1)
    status, answer = _send(argo_server, "PUT", path, {"template": template})
    assert status == 409 and "the object has been modified" in answer["message"]
