"""Submitting runs to Kubeflow Pipelines: ``dagwright submit`` and ``dagwright.remote.kfp``.

No KFP backend can run here. These tests talk to a real HTTP stand-in on 127.0.0.1
(``kfp_api_server.py``) that checks every request kfp.Client sends against the upstream KFP
v2beta1 swagger (``tests/schemas/kfp-api-v2beta1.swagger.json.gz``) with jsonschema plus a
strict unknown-field check, and answers per the swagger's response schemas. Each test asserts
the stand-in found no violation; the last tests show that it does find them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from kfp_api_server import KfpApiServer

from dagwright.cli import cli
from dagwright.errors import ValidationError
from dagwright.remote import SubmitError
from dagwright.remote import kfp as kfp_submit

NIGHTLY = str(Path(__file__).with_name("nightly.py")) + ":nightly"


def dagwright(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def only(server: KfpApiServer, operation: str) -> Any:
    """The body (or upload) of the one call made to ``operation``."""
    calls = server.calls(operation)
    assert len(calls) == 1, [c.operation for c in server.requests]
    return calls[0]


def test_direct_run_carries_the_compiled_spec_and_typed_parameters(
    kfp_server: KfpApiServer,
) -> None:
    out = dagwright(
        "submit",
        NIGHTLY,
        "--target",
        "kfp",
        "--host",
        kfp_server.url,
        "-p",
        "rows=5",
        "-p",
        "label=weekly",
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    run = only(kfp_server, "RunService_CreateRun").body
    assert run["pipeline_spec"]["pipelineInfo"]["name"] == "nightly"
    assert sorted(run["pipeline_spec"]["root"]["dag"]["tasks"]) == ["prepare", "report"]
    # -p values are typed by the pipeline's parameters; defaults stay in the spec
    assert run["runtime_config"]["parameters"] == {"rows": 5, "label": "weekly"}
    assert "pipeline_version_reference" not in run
    run_id = next(iter(kfp_server.runs))
    assert f"submitted run {run_id}: {kfp_server.url}/#/runs/details/{run_id}" in out.output
    assert kfp_server.calls("UploadPipeline") == []


def test_python_submit_of_an_sdk_package(kfp_server: KfpApiServer, sdk_package: Path) -> None:
    lines: list[str] = []
    result = kfp_submit.submit(
        sdk_package, host=kfp_server.url, arguments={"times": 3}, echo=lines.append
    )
    assert kfp_server.violations == []
    run = only(kfp_server, "RunService_CreateRun").body
    assert run["runtime_config"]["parameters"] == {"times": 3}
    assert run["display_name"].startswith("tiny ")
    assert result.run_id in kfp_server.runs
    assert (result.state, result.waited, result.finished) == ("PENDING", False, False)
    assert lines == [f"submitted run {result.run_id}: {result.url}"]


def test_upload_makes_a_pipeline_then_versions_and_runs_the_version(
    kfp_server: KfpApiServer,
) -> None:
    """A new pipeline is created empty and gets its first version named after the package's
    digest (KFP's own upload would name it after the pipeline); ``--version-name``, the old
    spelling of ``--version``, names the next one."""
    first = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--upload")
    assert first.exit_code == 0, first.output
    created = only(kfp_server, "PipelineService_CreatePipeline").body
    assert (created["name"], created["display_name"]) == ("nightly", "nightly")
    assert kfp_server.calls("UploadPipeline") == []
    upload = only(kfp_server, "UploadPipelineVersion")
    assert re.fullmatch(r"sha256-[0-9a-f]{16}", upload.query["name"])
    assert upload.body["spec"]["pipelineInfo"]["name"] == "nightly"
    (pipeline_id,) = kfp_server.pipelines
    (first_version,) = kfp_server.versions
    second = dagwright(
        "submit", NIGHTLY, "--host", kfp_server.url, "--upload", "--version-name", "v2"
    )
    assert second.exit_code == 0, second.output
    assert kfp_server.violations == []
    uploads = kfp_server.calls("UploadPipelineVersion")
    assert len(uploads) == 2
    digest = upload.query["description"]
    assert uploads[1].query == {"name": "v2", "pipelineid": pipeline_id, "description": digest}
    (second_version,) = set(kfp_server.versions) - {first_version}
    runs = [c.body for c in kfp_server.calls("RunService_CreateRun")]
    assert [r["pipeline_version_reference"] for r in runs] == [
        {"pipeline_id": pipeline_id, "pipeline_version_id": first_version},
        {"pipeline_id": pipeline_id, "pipeline_version_id": second_version},
    ]
    assert all("pipeline_spec" not in r for r in runs)
    assert "uploaded version 'v2' of pipeline 'nightly'" in second.output


def test_experiment_is_found_by_name_or_created_once(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    first = kfp_submit.submit(sdk_package, host=kfp_server.url, experiment="tuning", echo=None)
    second = kfp_submit.submit(sdk_package, host=kfp_server.url, experiment="tuning", echo=None)
    assert kfp_server.violations == []
    created = only(kfp_server, "ExperimentService_CreateExperiment").body
    assert created["display_name"] == "tuning"
    (experiment_id,) = kfp_server.experiments
    assert first.experiment_id == second.experiment_id == experiment_id
    runs = [c.body for c in kfp_server.calls("RunService_CreateRun")]
    assert [r["experiment_id"] for r in runs] == [experiment_id, experiment_id]
    filters = [
        json.loads(c.query["filter"]) for c in kfp_server.calls("ExperimentService_ListExperiments")
    ]
    assert [f["predicates"][0]["stringValue"] for f in filters] == ["tuning", "tuning"]


def test_namespace_goes_to_experiment_pipeline_and_lookups(kfp_server: KfpApiServer) -> None:
    out = dagwright(
        "submit",
        NIGHTLY,
        "--host",
        kfp_server.url,
        "--namespace",
        "team-a",
        "--experiment",
        "nightly",
        "--upload",
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    assert only(kfp_server, "ExperimentService_ListExperiments").query["namespace"] == "team-a"
    assert only(kfp_server, "ExperimentService_CreateExperiment").body["namespace"] == "team-a"
    assert only(kfp_server, "PipelineService_GetPipelineByName").query == {"namespace": "team-a"}
    assert only(kfp_server, "PipelineService_CreatePipeline").body["namespace"] == "team-a"
    # a namespace given: kfp.Client skips its healthz probe
    assert kfp_server.calls("HealthzService_GetHealthz") == []


def test_wait_polls_until_succeeded_and_summarises(kfp_server: KfpApiServer) -> None:
    out = dagwright(
        "submit", NIGHTLY, "--host", kfp_server.url, "--wait", "--poll-interval", "0.01"
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    assert len(kfp_server.calls("RunService_GetRun")) == kfp_server.running_polls + 1
    (run_id,) = kfp_server.runs
    lines = out.output.splitlines()
    changes = [line for line in lines if line.startswith(f"run {run_id}:")]
    assert changes[0] == f"run {run_id}: RUNNING"
    assert changes[1] == f"run {run_id}: SUCCEEDED"
    assert changes[2].startswith(f"run {run_id}: SUCCEEDED in ")
    assert lines[-2:] == ["  prepare  SUCCEEDED", "  report   SUCCEEDED"]


def test_wait_on_a_failed_run_exits_1_with_the_error(kfp_server: KfpApiServer) -> None:
    kfp_server.final_state = "FAILED"
    out = dagwright(
        "submit", NIGHTLY, "--host", kfp_server.url, "--wait", "--poll-interval", "0.01"
    )
    assert out.exit_code == 1, out.output
    assert kfp_server.violations == []
    assert "FAILED in " in out.output
    assert "  error: task report failed" in out.output
    assert out.output.splitlines()[-1] == "  report   FAILED"


def test_wait_gives_up_after_the_timeout(kfp_server: KfpApiServer, sdk_package: Path) -> None:
    kfp_server.running_polls = 10_000
    result = kfp_submit.submit(
        sdk_package, host=kfp_server.url, wait=True, timeout=0.3, poll_interval=0.05, echo=None
    )
    assert kfp_server.violations == []
    assert (result.state, result.finished, result.succeeded) == ("RUNNING", False, False)
    assert 2 <= len(kfp_server.calls("RunService_GetRun")) <= 10
    assert (
        result.summary(0.3)[0] == f"run {result.run_id}: still RUNNING after 0.3s; stopped waiting"
    )


def test_token_is_sent_as_a_bearer_header(kfp_server: KfpApiServer) -> None:
    kfp_server.token = "s3cret"
    out = dagwright("submit", NIGHTLY, "--host", kfp_server.url, env={"KFP_TOKEN": "s3cret"})
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    assert kfp_server.requests
    assert {r.headers.get("authorization") for r in kfp_server.requests} == {"Bearer s3cret"}
    assert {r.status for r in kfp_server.requests} == {200}


def test_without_a_token_a_service_account_token_file_is_used(
    kfp_server: KfpApiServer, sdk_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-the-pod\n")
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(token_file))
    kfp_server.token = "from-the-pod"
    kfp_submit.submit(sdk_package, host=kfp_server.url, echo=None)
    assert kfp_server.violations == []
    assert {r.headers.get("authorization") for r in kfp_server.requests} == {"Bearer from-the-pod"}


def test_a_refused_token_is_a_remote_error(kfp_server: KfpApiServer, sdk_package: Path) -> None:
    kfp_server.token = "s3cret"
    with pytest.raises(SubmitError, match="answered 401"):
        # a namespace, so that kfp.Client does not retry its healthz probe for 25 s
        kfp_submit.submit(sdk_package, host=kfp_server.url, namespace="a", token="nope", echo=None)
    out = dagwright(
        "submit", NIGHTLY, "--host", kfp_server.url, "--namespace", "a", "--token", "nope"
    )
    assert out.exit_code == 1
    assert "error: " in out.output and "401" in out.output and "Traceback" not in out.output
    assert kfp_server.calls("RunService_CreateRun") == []


def test_an_unreachable_host_is_a_remote_error(sdk_package: Path) -> None:
    with KfpApiServer() as gone:
        url = gone.url  # a port nothing listens on once this server stops
    with pytest.raises(SubmitError, match="cannot reach"):
        kfp_submit.submit(sdk_package, host=url, namespace="a", echo=None)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [({"times": "two"}, "is not a NUMBER_INTEGER"), ({"colour": "red"}, "unknown parameter")],
)
def test_wrong_arguments_are_refused_before_anything_is_sent(
    kfp_server: KfpApiServer, sdk_package: Path, arguments: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        kfp_submit.submit(sdk_package, host=kfp_server.url, arguments=arguments, echo=None)
    out = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "-p", "colour=red")
    assert out.exit_code == 2
    assert "unknown parameter 'colour'" in out.output
    assert kfp_server.requests == []


@pytest.mark.parametrize("command", [("submit",), ("schedule", "add")])
def test_an_unknown_target_exits_2_and_sends_nothing(
    kfp_server: KfpApiServer, command: tuple[str, ...]
) -> None:
    out = dagwright(*command, NIGHTLY, "--target", "airflow", "--host", kfp_server.url)
    assert out.exit_code == 2
    assert "field '--target': cannot send to 'airflow'" in out.output
    assert kfp_server.requests == []


def test_the_cli_imports_no_kfp_and_runs_as_a_module() -> None:
    code = "import sys, dagwright.cli; print('kfp' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "submit", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0, helped.stderr
    assert "--wait / --no-wait" in helped.stdout and "--pipeline-root" in helped.stdout


# --- the stand-in's contract check can fail ---------------------------------------------------


def _post(server: KfpApiServer, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_stand_in_rejects_bodies_that_break_the_swagger(kfp_server: KfpApiServer) -> None:
    status, answer = _post(
        kfp_server,
        "/apis/v2beta1/runs",
        {
            "display_name": 7,  # a string in the swagger
            "runtime_config": {"parameter": {}},  # misspelt: parameters
            "state": "RUNNING",
        },
    )
    assert status == 400 and answer["code"] == 3
    problems = "\n".join(kfp_server.violations)
    assert "body.display_name: 7 is not of type 'string'" in problems
    assert "body.runtime_config.parameter: unknown field" in problems
    assert "RunService_CreateRun" not in [
        c.operation for c in kfp_server.requests if c.status == 200
    ]
    status, _ = _post(
        kfp_server,
        "/apis/v2beta1/recurringruns",
        {
            "display_name": "x",
            "namespace": "team-a",
            "trigger": {"cron_schedule": {"cron": "0 3 * * *"}},
        },
    )
    assert status == 400
    assert "body.namespace: read-only field sent in a request" in kfp_server.violations[-1]


def test_the_stand_in_rejects_what_kfp_client_sends_unconverted(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    """kfp.Client's own default max_concurrency (an int) breaks the swagger's int64-as-string,
    and a five-field cron is not KFP's six: the reason ``schedule`` converts both."""
    client = kfp_submit.connect(kfp_server.url)
    with pytest.raises(Exception, match="400"):
        client.create_recurring_run(
            experiment_id=None,
            job_name="raw",
            cron_expression="0 0 3 * * *",
            pipeline_package_path=str(sdk_package),
            max_concurrency=1,
        )
    assert "body.max_concurrency: 1 is not of type 'string'" in kfp_server.violations[-1]
    with pytest.raises(Exception, match="400"):
        client.create_recurring_run(
            experiment_id=None,
            job_name="raw",
            cron_expression="0 3 * * *",
            pipeline_package_path=str(sdk_package),
            max_concurrency="1",
        )
    assert "is not six fields" in kfp_server.violations[-1]


def test_dagwright_submit_and_schedule_from_python(kfp_server: KfpApiServer) -> None:
    """``dagwright.submit`` / ``dagwright.schedule`` compile the pipeline object itself."""
    import nightly

    import dagwright as dw

    run = dw.submit(nightly.nightly, host=kfp_server.url, arguments={"rows": 4}, echo=None)
    assert run.run_id in kfp_server.runs
    body = only(kfp_server, "RunService_CreateRun").body
    assert body["runtime_config"]["parameters"] == {"rows": 4}
    assert sorted(body["pipeline_spec"]["root"]["dag"]["tasks"]) == ["prepare", "report"]
    dw.schedule(nightly.nightly, host=kfp_server.url, echo=None)  # the pipeline's own cron
    job = only(kfp_server, "RecurringRunService_CreateRecurringRun").body
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert kfp_server.violations == []
    with pytest.raises(ValidationError) as err:
        dw.schedule(nightly.adhoc, host=kfp_server.url, echo=None)
    assert err.value.field == "cron"
    with pytest.raises(ValidationError) as err:
        dw.submit(nightly.adhoc, target="airflow", host=kfp_server.url)
    assert err.value.field == "target"
