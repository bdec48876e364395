"""A pipeline's notifications compiled for Argo (the workflow's onExit template, given
``{{workflow.status}}`` and ``{{workflow.failures}}``) and KFP (an exit task given
``PipelineTaskFinalStatus``): the specs validate, and the program they run, started as the pod
would start it, tells a real HTTP receiver how the run ended."""

from __future__ import annotations

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
    ]  # fmt: skip
    given = {"{{workflow.status}}": "Failed", "{{workflow.failures}}": json.dumps(failures),
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
