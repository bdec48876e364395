"""A pipeline's notifications compiled for Argo (the workflow's onExit template, given
``{{workflow.status}}`` and ``{{workflow.failures}}``) and KFP (an exit task given
``PipelineTaskFinalStatus``): the specs validate, and the program they run, started as the pod
would start it, tells a real HTTP receiver how the run ended."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_validate import validate as argo_validate
from notify_receivers import http_receiver, smtp_receiver

import dagwright
from dagwright import Email, Slack, Webhook, component, pipeline
from dagwright.compiler.argo.validate import validate_manifest

__all__ = ["http_receiver", "smtp_receiver"]
ROOT = Path(__file__).resolve().parents[2]


@component
def train(n: int) -> int:
    return n * 2


def _flow(notify: list[Any], on: list[str] | None = None, link: str | None = None) -> Any:
    @pipeline(name="nightly", notify=notify, on=on, link=link)
    def nightly(n: int = 3) -> int:
        return train(n=n).output

    return nightly


def _argo(flow: Any, **options: Any) -> dict[str, Any]:
    return yaml.safe_load(
        dagwright.compile(flow, target="argo", dagwright="dagwright==0.1.0", **options)
    )


def _template(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in manifest["spec"]["templates"] if t["name"] == name)


def test_argo_exit_handler_validates_and_reads_the_workflow_status(http_receiver):
    pytest.importorskip("hera")
    email = Email("ops@example.com", "smtp.example.com:587", starttls=True, secret="smtp-login")
    flow = _flow([Webhook(http_receiver.url + "/hook"), email], on=["failed", "succeeded"])
    manifest = _argo(flow)
    validate_manifest(manifest)  # Argo's JSON schema and the strict key check
    argo_validate(manifest)  # what Argo's validate.go refuses (variables in scope included)
    spec = manifest["spec"]
    exit_template = _template(manifest, spec["onExit"])
    container = exit_template["container"]
    args = container["args"]
    assert args[args.index("--status") + 1] == "{{workflow.status}}"
    assert args[args.index("--failures") + 1] == "{{workflow.failures}}"
    assert args[args.index("--run-id") + 1] == "{{workflow.name}}"
    assert "dagwright.notifications.pod" in " ".join(container["command"])
    assert "dagwright==0.1.0" in " ".join(container["command"])  # delivered as steps are
    # the SMTP login from the Secret, never a value in the spec
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["DAGWRIGHT_SMTP_PASSWORD"] == {
        "name": "smtp-login",
        "key": "password",
        "optional": True,
    }
    assert env["DAGWRIGHT_SMTP_USER"]["key"] == "username"

    # the pod's program, run as the container runs it, with what Argo substitutes
    failures = [
        {"displayName": "train", "message": "Error (exit code 1): ValueError: no data\nmore",
         "templateName": "train", "phase": "Failed", "podName": "nightly-x-1"},
        {"displayName": "nightly-x", "message": "child 'nightly-x-1' failed",
         "templateName": "main", "phase": "Failed", "podName": "nightly-x"},
        {"displayName": "condition-1", "message": "", "templateName": "condition-1",
         "phase": "Failed", "podName": "nightly-x-2"},
    ]  # fmt: skip
    # Argo's value: the JSON list quoted as a Go string (strconv.Quote in operator.go)
    quoted = json.dumps(json.dumps(failures, separators=(",", ":")))
    given = {"{{workflow.status}}": "Failed", "{{workflow.failures}}": quoted,
             "{{workflow.name}}": "nightly-x"}  # fmt: skip
    argv = [given.get(a, a) for a in args]
    email_off = [a.replace("smtp.example.com:587", "127.0.0.1:1") for a in argv]
    out = subprocess.run(
        [sys.executable, "-m", "dagwright.notifications.pod", *email_off],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr  # the e-mail could not go: a warning, exit 0
    assert "notifier email to ops@example.com via 127.0.0.1:1 failed" in out.stderr
    [received] = http_receiver.received
    assert received.body["status"] == "failed"
    assert received.body["run_id"] == "nightly-x"
    assert received.body["failed_steps"] == [
        {"task": "train", "error": "Error (exit code 1): ValueError: no data"}
    ]


def test_argo_without_notify_has_no_exit_handler():
    pytest.importorskip("hera")

    @pipeline(name="quiet")
    def quiet(n: int = 3) -> int:
        return train(n=n).output

    assert "onExit" not in _argo(quiet)["spec"]


def test_argo_exit_handler_name_does_not_take_a_components_name():
    pytest.importorskip("hera")

    @component(name="dagwright-notify")
    def clash(n: int) -> int:
        return n

    @pipeline(notify=[Slack("https://hooks.slack.com/services/T/B/x")])
    def flow(n: int = 1) -> int:
        return clash(n=n).output

    manifest = _argo(flow)
    validate_manifest(manifest)
    names = [t["name"] for t in manifest["spec"]["templates"]]
    assert len(names) == len(set(names))
    assert manifest["spec"]["onExit"] != "dagwright-notify"


@pytest.mark.parametrize("failures", ['"null"', "null", "", "[]"])
def test_no_failures_in_any_form_argo_gives_is_no_failed_step(failures):
    from dagwright.notifications.pod import run_end
    from dagwright.pipelines.notify import checked_notification

    notification = checked_notification([Webhook("https://e.com")], ["succeeded"], None)
    assert run_end(notification, "p", "p-1", "Succeeded", failures).failed == ()


def test_pod_program_respects_on_and_never_fails(http_receiver):
    notify = json.dumps(
        {"on": ["failed"], "notifiers": [{"kind": "webhook", "url": http_receiver.url}]}
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "dagwright.notifications.pod", "--pipeline", "p"]
    ok = subprocess.run(
        [*base, "--notify", notify, "--run-id", "p-1", "--status", "Succeeded"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    broken = subprocess.run(
        [*base, "--notify", "{not json", "--run-id", "p-2", "--status", "Failed"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert ok.returncode == 0 and http_receiver.received == []  # succeeded is not asked for
    assert broken.returncode == 0 and "notifications not sent" in broken.stderr


@component
def maybe_fail(fail: bool) -> int:
    if fail:
        raise ValueError("the data is gone\nsecond line")
    return 1


@pipeline(
    name="guarded",
    notify=[Webhook("http://127.0.0.1:1/replaced-in-the-test")],
    on=["failed", "succeeded"],
    link="https://kfp.example.com/#/runs/details/{run_id}",
)
def guarded(fail: bool = False) -> int:
    return maybe_fail(fail=fail).output


def _with_receiver(flow: Any, url: str) -> Any:
    """The same pipeline, telling the test's receiver."""
    ir = flow.ir
    notify = dataclasses.replace(ir.notify, notifiers=[Webhook(url)])
    return dataclasses.replace(ir, notify=notify)


def test_kfp_exit_task_gets_the_final_status_and_runs_on_kfp_local(
    http_receiver, tmp_path, local_runner
):
    from kfp_backend_checks import assert_runs_as_compiled

    kfp_components = pytest.importorskip("kfp.components")
    spec = tmp_path / "guarded.yaml"
    dagwright.compile(_with_receiver(guarded, http_receiver.url + "/kfp"), target="kfp", path=spec)
    text = spec.read_text(encoding="utf-8")
    assert_runs_as_compiled(text)  # what KFP's backend does otherwise than kfp.local
    root = yaml.safe_load(text)["root"]["dag"]["tasks"]
    [exit_task] = [t for t in root.values() if "triggerPolicy" in t]
    assert exit_task["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    block = exit_task["inputs"]["parameters"]["status"]["taskFinalStatus"]["producerTask"]
    assert exit_task["dependentTasks"] == [block]

    loaded = kfp_components.load_component_from_file(str(spec))
    assert loaded(fail=False).outputs == {"output": 1}
    with pytest.raises(RuntimeError):  # kfp.local raises when a task fails
        loaded(fail=True)
    ok, failed = (r.body for r in http_receiver.received)
    assert ok["status"] == "succeeded" and ok["failed_steps"] == []
    assert failed["status"] == "failed"
    assert failed["pipeline"] == "guarded"
    assert failed["link"] == f"https://kfp.example.com/#/runs/details/{failed['run_id']}"
    # KFP's pipeline_job_resource_name (kfp.local names every run alike)
    assert failed["run_id"].startswith("local-pipeline")
    # KFP's final status has the pipeline's error message, not the failed steps
    assert failed["failed_steps"] == [{"task": "pipeline", "error": f"Task {block} failed."}]


def test_kfp_refuses_notify_beside_an_exit_handler_of_the_pipeline():
    from dagwright import ExitHandler

    @pipeline(name="own-exit", notify=[Webhook("https://hooks.example.com/x")])
    def own_exit(fail: bool = False) -> None:
        cleanup = maybe_fail(fail=False)
        with ExitHandler(cleanup):
            maybe_fail(fail=fail)

    with pytest.raises(dagwright.ValidationError) as caught:
        dagwright.compile(own_exit, target="kfp")
    assert caught.value.field == "notify" and "--target argo" in caught.value.fix
    validate_manifest(_argo(own_exit))  # Argo takes both


def test_kfp_email_login_comes_from_its_secret_in_the_platform_spec():
    from google.protobuf import json_format
    from kfp_platform_proto import parse_executor_config

    email = Email("ops@example.com", "smtp.example.com:587", secret="smtp-login",
                  user_env="SMTP_USER", password_env="SMTP_PASSWORD")  # fmt: skip
    text = dagwright.compile(_flow([email]), target="kfp", dagwright="dagwright==0.1.0")
    spec, platform = (d for d in yaml.safe_load_all(text) if d is not None)
    root = spec["root"]["dag"]["tasks"]
    [exit_task] = [t for t in root.values() if "triggerPolicy" in t]
    label = spec["components"][exit_task["componentRef"]["name"]]["executorLabel"]
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert list(executors) == [label]  # the exit task's executor only
    config = executors[label]
    assert json_format.MessageToDict(parse_executor_config(config)) == config  # the proto
    login = {"runtimeValue": {"constant": "smtp-login"}}  # the name, as kfp-kubernetes writes it
    assert config["secretAsEnv"] == [
        {"secretName": "smtp-login", "secretNameParameter": login,
         "keyToEnv": [{"secretKey": "username", "envVar": "SMTP_USER"}], "optional": True},
        {"secretName": "smtp-login", "secretNameParameter": login,
         "keyToEnv": [{"secretKey": "password", "envVar": "SMTP_PASSWORD"}], "optional": True},
    ]  # fmt: skip


def test_no_secret_value_reaches_either_spec(monkeypatch):
    """URLs and logins that are credentials travel as variable and Secret names only."""
    pytest.importorskip("hera")
    monkeypatch.setenv("SLACK_HOOK", "https://hooks.slack.com/services/T0/B0/s3cretT0ken")
    monkeypatch.setenv("DAGWRIGHT_SMTP_PASSWORD", "s3cret-pw")
    notify = [
        Slack(url_env="SLACK_HOOK", secret="slack-hook"),
        Email("ops@example.com", "smtp.example.com:587", secret="smtp-login"),
    ]
    flow = _flow(notify)
    argo = dagwright.compile(flow, target="argo", dagwright="dagwright==0.1.0")
    kfp = dagwright.compile(flow, target="kfp", dagwright="dagwright==0.1.0")
    for text in (argo, kfp, flow.ir.to_yaml()):
        assert "s3cretT0ken" not in text and "s3cret-pw" not in text
    container = _template(yaml.safe_load(argo), yaml.safe_load(argo)["spec"]["onExit"])
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["container"]["env"]}
    assert refs["SLACK_HOOK"] == {"name": "slack-hook", "key": "url", "optional": True}
    assert set(refs) == {"SLACK_HOOK", "DAGWRIGHT_SMTP_USER", "DAGWRIGHT_SMTP_PASSWORD"}
    platform = [d for d in yaml.safe_load_all(kfp) if d][1]
    [config] = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"].values()
    assert {e["keyToEnv"][0]["envVar"] for e in config["secretAsEnv"]} == set(refs)


def test_argo_workflow_run_by_the_stand_in_tells_how_it_ended(http_receiver, tmp_path):
    """The compiled workflow run end to end by the controller stand-in (its steps and then its
    onExit template as local processes), once succeeding and once failing."""
    pytest.importorskip("hera")
    from argo_controller import ArgoControllerStandIn

    flow = _with_receiver(guarded, http_receiver.url + "/argo")
    manifest = _argo(flow)
    for fail in ("false", "true"):
        stand_in = ArgoControllerStandIn(manifest, tmp_path / fail)
        node = stand_in.run({"fail": fail})
        assert node.phase == ("Failed" if fail == "true" else "Succeeded")
        assert stand_in.exit_node is not None and stand_in.exit_node.phase == "Succeeded"
    ok, failed = (r.body for r in http_receiver.received)
    assert ok["status"] == "succeeded" and ok["failed_steps"] == []
    assert failed["status"] == "failed"
    assert failed["run_id"] == stand_in.name
    assert failed["link"] == f"https://kfp.example.com/#/runs/details/{stand_in.name}"
    [step] = failed["failed_steps"]
    assert step["task"].startswith("maybe-fail") and step["error"] == "Error (exit code 1)"


def test_kfp_warns_that_a_cancelled_run_is_not_notified_and_argo_does_not():
    """KFP's cancel terminates the run (its workflow's deadline set to 0), which fails the exit
    task: ``on=["cancelled"]`` is warned of when compiling for KFP, naming the field and Argo,
    where ``runs cancel`` stops the workflow and the exit handler runs
    (``test_argo_notify_cancel.py``)."""
    import warnings

    from dagwright.compiler.kfp.notify import CancelNotWarning

    wants_cancel = _flow([Webhook("https://hooks.example.com/x")], on=["cancelled", "failed"])
    with pytest.warns(CancelNotWarning) as caught:
        dagwright.compile(wants_cancel, target="kfp")
    [warned] = [w for w in caught if w.category is CancelNotWarning]
    text = str(warned.message)
    for said in ("field 'notify'", "on=['cancelled']", "--target kfp", "terminat", "--target argo"):
        assert said in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", CancelNotWarning)
        dagwright.compile(
            _flow([Webhook("https://hooks.example.com/x")], on=["failed"]), target="kfp"
        )
        _argo(wants_cancel)
