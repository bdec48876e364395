"""WorkflowTemplates and CronWorkflows on Argo: ``dagwright schedule add --target argo``,
``dagwright submit --kind template|cron``, ``dagwright delete`` and ``dagwright.remote.argo``.

No Argo server can run here. These tests talk to a real HTTP stand-in on 127.0.0.1
(``argo_server.py``) that checks every request Hera's ``WorkflowsService`` sends against the
upstream Argo Workflows v4.1.2 swagger (``tests/schemas/argo-workflows-v4.1.2.swagger.json.gz``),
keeps what was created, answers 409 to the create of an existing name, 404 to unknown names,
and refuses an update without the current resourceVersion, as Kubernetes does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argo_server import ArgoServer
from click.testing import CliRunner, Result
from hera.workflows import CronWorkflow, WorkflowTemplate

import dagwright as dw
from dagwright.cli import cli
from dagwright.errors import ValidationError
from dagwright.remote import argo

NIGHTLY = str(Path(__file__).with_name("nightly.py"))


def dagwright(command: str, *args: str) -> Result:
    return CliRunner().invoke(cli, [command, *args], catch_exceptions=False)


def at(server: ArgoServer) -> tuple[str, ...]:
    return ("--target", "argo", "--host", server.url, "--namespace", "team-a")


def bodies(server: ArgoServer, operation: str) -> list[dict[str, Any]]:
    """The bodies of the calls to ``operation`` that the server took."""
    return [dict(c.body) for c in server.calls(operation) if c.status == 200]


def test_template_is_created_then_updated_with_its_resource_version(
    argo_server: ArgoServer,
) -> None:
    first = dagwright("submit", NIGHTLY + ":nightly", *at(argo_server), "--kind", "template")
    assert first.exit_code == 0, first.output
    (made,) = bodies(argo_server, "CreateWorkflowTemplate")
    assert made["template"]["metadata"] == {
        "name": "nightly",
        "namespace": "team-a",
        "labels": {"dagwright.dev/pipeline": "nightly"},
    }
    version = argo_server.templates[("team-a", "nightly")]["metadata"]["resourceVersion"]
    url = f"{argo_server.url}/workflow-templates/team-a/nightly"
    assert first.output.splitlines() == [f"created WorkflowTemplate team-a/nightly: {url}"]

    second = dagwright(
        "submit", NIGHTLY + ":nightly", *at(argo_server), "--kind", "template", "-p", "rows=7"
    )
    assert second.exit_code == 0, second.output
    assert argo_server.violations == []
    # read first (404, then 200), then create once and update once
    gets = [c.status for c in argo_server.calls("GetWorkflowTemplate")]
    assert gets == [404, 200]
    (update,) = bodies(argo_server, "UpdateWorkflowTemplate")
    assert update["template"]["metadata"]["resourceVersion"] == version
    stored = argo_server.templates[("team-a", "nightly")]
    assert stored["metadata"]["generation"] == 2
    assert stored["spec"]["arguments"]["parameters"][0] == {"name": "rows", "value": "7"}
    now = stored["metadata"]["resourceVersion"]
    assert (
        f"updated WorkflowTemplate team-a/nightly: {url} (resourceVersion {version} -> {now})"
        in (second.output)
    )


def test_schedule_creates_a_cron_workflow_with_argo_v4_schedules(argo_server: ArgoServer) -> None:
    out = dagwright(
        "schedule",
        "add",
        NIGHTLY + ":nightly",
        *at(argo_server),
        "--cron",
        "*/30 9-17 * * MON-FRI",
        "--timezone",
        "Europe/Paris",
        "--concurrency-policy",
        "Replace",
        "--starting-deadline-seconds",
        "60",
        "--lint",
        "-p",
        "label=weekday",
    )
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    assert [r.operation.split("_")[1] for r in argo_server.requests] == [
        "LintCronWorkflow",
        "GetCronWorkflow",
        "CreateCronWorkflow",
    ]
    (body,) = bodies(argo_server, "CreateCronWorkflow")
    spec = body["cronWorkflow"]["spec"]
    assert spec["schedules"] == ["*/30 9-17 * * MON-FRI"]  # five fields: Argo reads no seconds
    assert "schedule" not in spec
    assert (spec["timezone"], spec["concurrencyPolicy"]) == ("Europe/Paris", "Replace")
    assert spec["startingDeadlineSeconds"] == 60
    assert spec["workflowSpec"]["arguments"]["parameters"][1] == {
        "name": "label",
        "value": "weekday",
    }
    assert list(argo_server.crons) == [("team-a", "nightly")]
    assert "  schedules: */30 9-17 * * MON-FRI (Europe/Paris)" in out.output


def test_schedule_defaults_to_the_pipelines_cron_and_updates_an_existing_one(
    argo_server: ArgoServer,
) -> None:
    for _ in range(2):
        out = dagwright(
            "schedule", "add", NIGHTLY + ":nightly", *at(argo_server), "--name", "nightly-3am"
        )
        assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    (made,) = bodies(argo_server, "CreateCronWorkflow")
    (updated,) = bodies(argo_server, "UpdateCronWorkflow")
    assert made["cronWorkflow"]["spec"]["schedules"] == ["0 3 * * *"]  # @pipeline(schedule=...)
    assert made["cronWorkflow"]["metadata"]["name"] == "nightly-3am"
    assert updated["cronWorkflow"]["metadata"]["resourceVersion"] == "101"
    assert argo_server.crons[("team-a", "nightly-3am")]["metadata"]["resourceVersion"] == "102"
    assert "updated CronWorkflow team-a/nightly-3am" in out.output


def test_submit_kind_cron_uses_the_pipelines_schedule(argo_server: ArgoServer) -> None:
    out = dagwright("submit", NIGHTLY + ":nightly", *at(argo_server), "--kind", "cron")
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    (body,) = bodies(argo_server, "CreateCronWorkflow")
    assert body["cronWorkflow"]["spec"]["schedules"] == ["0 3 * * *"]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--cron", "0 0 3 * * *"), "field '--cron': '0 0 3 * * *' has 6 fields; Argo reads five"),
        (("--cron", "0 3 L * *"), "uses 'L'"),
        (("--timezone", "Mars/Olympus"), "Mars/Olympus"),
        (("--concurrency-policy", "Queue"), "Invalid value for '--concurrency-policy'"),
        (("--max-concurrency", "3"), "--max-concurrency is for --target kfp"),
        (("--catchup", "some"), "field '--catchup': catchup 'some' is not a policy"),
        (("--concurrency", "queue"), "field '--concurrency'"),
        (
            ("--concurrency", "allow", "--concurrency-policy", "Allow"),
            "field '--concurrency-policy': --concurrency and --concurrency-policy both say it",
        ),
        (("--replace",), "field '--replace': --replace is for --target local"),
    ],
)
def test_bad_schedules_exit_2_and_send_nothing(
    argo_server: ArgoServer, args: tuple[str, ...], problem: str
) -> None:
    out = dagwright("schedule", "add", NIGHTLY + ":nightly", *at(argo_server), *args)
    assert out.exit_code == 2, out.output
    assert problem in out.output
    assert argo_server.requests == []


def test_the_local_policies_become_argos_own(argo_server: ArgoServer) -> None:
    out = dagwright(
        "schedule",
        "add",
        NIGHTLY + ":nightly",
        *at(argo_server),
        "--concurrency",
        "allow",
        "--catchup",
        "latest",
        "--timezone",
        "Asia/Tokyo",
    )
    assert out.exit_code == 0, out.output
    assert argo_server.violations == []
    (body,) = bodies(argo_server, "CreateCronWorkflow")
    spec = body["cronWorkflow"]["spec"]
    assert (spec["concurrencyPolicy"], spec["timezone"]) == ("Allow", "Asia/Tokyo")
    # 'latest': a deadline longer than any gap between two fire times
    assert spec["startingDeadlineSeconds"] >= 366 * 24 * 3600


def test_a_catchup_alone_keeps_the_local_concurrency_default(argo_server: ArgoServer) -> None:
    """Given only --catchup, Argo gets 'allow' for the concurrency, as a local schedule would:
    the same schedule means the same on both."""
    out = dagwright("schedule", "add", NIGHTLY + ":nightly", *at(argo_server), "--catchup", "none")
    assert out.exit_code == 0, out.output
    (body,) = bodies(argo_server, "CreateCronWorkflow")
    spec = body["cronWorkflow"]["spec"]
    assert (spec["concurrencyPolicy"], spec.get("startingDeadlineSeconds", 0)) == ("Allow", 0)


def test_catchup_all_is_refused_for_argo(argo_server: ArgoServer) -> None:
    out = dagwright("schedule", "add", NIGHTLY + ":nightly", *at(argo_server), "--catchup", "all")
    assert out.exit_code == 2, out.output
    assert "field '--catchup'" in out.output
    assert argo_server.requests == []


def test_a_pipeline_without_schedule_needs_cron(argo_server: ArgoServer) -> None:
    out = dagwright("schedule", "add", NIGHTLY + ":adhoc", *at(argo_server))
    assert out.exit_code == 2
    assert "field '--cron': pipeline 'adhoc' has no schedule" in out.output
    assert argo_server.requests == []


@pytest.mark.parametrize(
    ("kind", "plural", "segment"),
    [
        ("template", "workflowtemplates", "workflow-templates"),
        ("cron", "cronworkflows", "cron-workflows"),
    ],
)
def test_delete_removes_it_and_an_unknown_name_exits_1(
    argo_server: ArgoServer, kind: str, plural: str, segment: str
) -> None:
    made = dagwright("submit", NIGHTLY + ":nightly", *at(argo_server), "--kind", kind)
    assert made.exit_code == 0, made.output
    table = argo_server.templates if kind == "template" else argo_server.crons
    assert ("team-a", "nightly") in table
    out = dagwright("delete", "nightly", *at(argo_server), "--kind", kind)
    assert out.exit_code == 0, out.output
    assert table == {}
    resource = "WorkflowTemplate" if kind == "template" else "CronWorkflow"
    assert out.output.splitlines() == [f"deleted {resource} team-a/nightly"]
    again = dagwright("delete", "nightly", *at(argo_server), "--kind", kind)
    assert again.exit_code == 1
    assert f'answered 404: {plural}.argoproj.io "nightly" not found' in again.output
    assert "Traceback" not in again.output
    (call, _) = argo_server.calls("Delete" + resource)
    assert call.path == f"/api/v1/{segment}/team-a/nightly"
    assert argo_server.violations == []


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--kind", "workflow"), "Invalid value for '--kind'"),
        (("--target", "kfp", "--kind", "cron"), "cannot delete from 'kfp'"),
        (("--kind", "cron", "--namespace", ""), "no namespace to send to"),
    ],
)
def test_delete_refuses_bad_input_with_exit_2(
    argo_server: ArgoServer, args: tuple[str, ...], problem: str
) -> None:
    where = ("--host", argo_server.url) + (() if "--namespace" in args else ("--namespace", "a"))
    out = dagwright("delete", "nightly", *where, *args)
    assert out.exit_code == 2, out.output
    assert problem in out.output
    assert argo_server.requests == []


def test_apply_functions_on_hera_manifests(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    where = {"host": argo_server.url, "namespace": "team-a", "echo": None}
    template = argo.apply_template(hera_manifest(WorkflowTemplate, name="tiny"), **where)
    assert (template.kind, template.action, template.name) == (
        "WorkflowTemplate",
        "created",
        "tiny",
    )
    cron = hera_manifest(CronWorkflow, name="tiny", schedules=["@daily"], timezone="UTC")
    first = argo.apply_cron(cron, lint=True, **where)
    second = argo.apply_cron(cron, arguments={"rows": 1}, **where)
    assert argo_server.violations == []
    assert (first.action, second.action) == ("created", "updated")
    assert (second.schedules, second.timezone) == (["@daily"], "UTC")
    assert (
        second.resource_version
        == argo_server.crons[("team-a", "tiny")]["metadata"]["resourceVersion"]
    )
    assert int(second.resource_version or 0) > int(first.resource_version or 0)
    argo.delete_template("tiny", **where)
    argo.delete_cron("tiny", **where)
    assert argo_server.templates == argo_server.crons == {}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"schedules": ["0 0 3 * * *"]}, "has 6 fields"),
        ({"schedules": ["0 3 * * *"], "timezone": "Nowhere/Land"}, "unknown time zone"),
    ],
)
def test_apply_cron_checks_the_manifests_schedule_before_sending(
    argo_server: ArgoServer,
    hera_manifest: Callable[..., Path],
    fields: dict[str, Any],
    problem: str,
) -> None:
    with pytest.raises(ValidationError, match=problem):
        argo.apply_cron(
            hera_manifest(CronWorkflow, name="c", **fields),
            host=argo_server.url,
            namespace="a",
            echo=None,
        )
    assert argo_server.requests == []


def test_dagwright_submit_and_schedule_to_argo_from_python(argo_server: ArgoServer) -> None:
    """``dagwright.submit`` / ``dagwright.schedule`` compile the pipeline object itself."""
    import nightly

    where = {"host": argo_server.url, "namespace": "team-a", "echo": None}
    run = dw.submit(nightly.nightly, target="argo", arguments={"rows": 4}, **where)
    (body,) = bodies(argo_server, "CreateWorkflow")
    assert body["workflow"]["spec"]["arguments"]["parameters"][0] == {"name": "rows", "value": "4"}
    assert ("team-a", run.name) in argo_server.workflows
    made = dw.submit(nightly.nightly, target="argo", kind="template", **where)
    assert (made.kind, made.action) == ("WorkflowTemplate", "created")
    cron = dw.schedule(
        nightly.nightly, target="argo", timezone="UTC", concurrency_policy="Allow", **where
    )
    (body,) = bodies(argo_server, "CreateCronWorkflow")
    spec = body["cronWorkflow"]["spec"]
    assert (spec["schedules"], spec["timezone"], spec["concurrencyPolicy"]) == (
        ["0 3 * * *"],
        "UTC",
        "Allow",
    )
    assert cron.schedules == ["0 3 * * *"]
    assert argo_server.violations == []
    with pytest.raises(ValidationError) as err:
        dw.schedule(nightly.adhoc, target="argo", **where)
    assert err.value.field == "cron"
    with pytest.raises(ValidationError) as err:
        dw.submit(nightly.nightly, target="argo", kind="dag", **where)
    assert err.value.field == "kind"
    with pytest.raises(ValidationError) as err:
        dw.submit(nightly.nightly, target="argo", kind="template", wait=True, **where)
    assert err.value.field == "wait"
