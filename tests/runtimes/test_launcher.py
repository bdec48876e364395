"""The launcher that runs a resource step from a KFP pod: conditions, placeholders, the API calls.

No Kubernetes API server runs here. The launcher's calls go through the real ``kubernetes``
client to a stand-in written below: a local HTTP server that answers API discovery, keeps the
object POSTed to ``/apis/<group>/<version>/namespaces/<ns>/<plural>``, serves GETs of it with
a status that moves one scripted step per read, and records DELETEs. It checks only what it
needs to answer; what the operators do with the resource is not tested here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import dagwright
from dagwright import component, pipeline
from dagwright.errors import ValidationError
from dagwright.runtimes import Fragments, PodStep, RuntimeConfig, register_runtime
from dagwright.runtimes import launcher as ln
from dagwright.runtimes.fragments import INSTANCE, INSTANCE_LABEL
from dagwright.runtimes.resource_conditions import parse_condition

pytest.importorskip("kubernetes")
GROUP, VERSION, PLURAL = "example.com", "v1", "widgets"


class StandIn:
    """What the stand-in API server was sent, and what it answers."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.reads = 0
        self.refuse_create: int | None = None
        self.gone = False
        self.url = ""


def _handler(api: StandIn) -> type[BaseHTTPRequestHandler]:
    collection = f"/apis/{GROUP}/{VERSION}/namespaces/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == f"/apis/{GROUP}/{VERSION}":
                resource = {"namespaced": True, "kind": "Widget", "verbs": ["create", "get"]}
                self._send(
                    200,
                    {
                        "kind": "APIResourceList",
                        "groupVersion": f"{GROUP}/{VERSION}",
                        "resources": [
                            {"name": "widgets/status", "singularName": "", **resource},
                            {"name": PLURAL, "singularName": "widget", **resource},
                        ],
                    },
                )
                return
            if api.gone or not api.created or not self.path.startswith(collection):
                self._send(404, {"kind": "Status", "message": "not found", "code": 404})
                return
            obj = dict(api.created[-1])
            obj["status"] = api.statuses[min(api.reads, len(api.statuses) - 1)]
            api.reads += 1
            self._send(200, obj)

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if api.refuse_create:
                message = f'widgets.example.com is forbidden: User "x" cannot create {PLURAL}'
                self._send(api.refuse_create, {"kind": "Status", "message": message})
                return
            assert self.path == f"{collection}{body['metadata']['namespace']}/{PLURAL}"
            api.created.append(body)
            self._send(201, body)

        def do_DELETE(self) -> None:  # noqa: N802
            api.deleted.append(self.path.rsplit("/", 1)[1])
            self._send(200, {"kind": "Status", "status": "Success"})

    return Handler


@pytest.fixture
def kube() -> Iterator[StandIn]:
    api = StandIn([{}])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def _client(api: StandIn) -> Any:
    from kubernetes import client

    return client.ApiClient(client.Configuration(host=api.url))


MANIFEST = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "Widget",
    "metadata": {"name": "exec-train"},
    "spec": {
        "command": ["python3", "-m", "step", "--executor_input", "{{$}}"],
        "rows": "{{$.inputs.parameters['rows']}}",
        "run": "{{$.pipeline_job_uuid}}",
    },
}
EXECUTOR_INPUT = {
    "inputs": {"parameterValues": {"rows": 10, "name": 'a "quoted" {{name}}'}},
    "outputs": {"outputFile": "/kfp/outputs/output_metadata.json"},
}


def _argv(**extra: str) -> list[str]:
    args = {
        "--manifest": ln.encode_manifest(MANIFEST),
        "--success": "status.state == DONE",
        "--failure": "status.state in (FAILED, LOST)",
        "--executor-input": json.dumps(EXECUTOR_INPUT),
        "--namespace": "team-a",
        "--poll": "0.01",
        **extra,
    }
    argv = [item for pair in args.items() for item in pair]
    return [*argv, "--placeholder", "$.pipeline_job_uuid", "run-123"]


# conditions


@pytest.mark.parametrize(
    ("condition", "status", "holds"),
    [
        ("status.state == DONE", {"state": "DONE"}, True),
        ("status.state = DONE", {"state": "DONE"}, True),
        ("status.state == DONE", {"state": "RUNNING"}, False),
        ("status.state == DONE", {}, False),
        ("status.state != DONE", {}, True),  # a missing field differs from every value
        ("status.state in (FAILED, LOST)", {"state": "LOST"}, True),
        ("status.state notin (FAILED, LOST)", {"state": "DONE"}, True),
        ("status.failed > 0", {"failed": 2}, True),
        ("status.failed > 0", {"failed": 0}, False),
        ("status.failed > 0", {"failed": "many"}, False),
        ("status.active < 3", {"active": 2.0}, True),
        ("status.ready == true", {"ready": True}, True),
        ("status.replicas.0.phase == Up", {"replicas": [{"phase": "Up"}]}, True),
        ("status.startTime", {"startTime": "now"}, True),
        ("!status.startTime", {}, True),
        ("status.a == 1, status.b == 2", {"a": 1, "b": 2}, True),
        ("status.a == 1, status.b == 2", {"a": 1, "b": 3}, False),
    ],
)
def test_conditions_evaluate_as_argo_does(
    condition: str, status: dict[str, Any], holds: bool
) -> None:
    requirements = parse_condition(condition)
    assert all(r.holds({"status": status}) for r in requirements) is holds


@pytest.mark.parametrize(
    "bad",
    ["status.x >= 3", "status.x > 1.5", "a in (b", "a in (b, )", "a == b c", "a, , b", "== x"],
)
def test_bad_conditions_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_condition(bad, "failure_condition")
    assert caught.value.field == "failure_condition"
    assert caught.value.fix


def test_an_empty_condition_has_no_requirements() -> None:
    assert parse_condition(None) == parse_condition("  ") == []
    assert str(parse_condition("status.s in (A, B)")[0]) == "status.s in (A, B)"


# placeholders


def test_the_manifest_travels_without_braces_kfp_would_substitute() -> None:
    encoded = ln.encode_manifest({"a": ["{{$}}", "{{{x}}}", "\\{{y"]})
    assert "{{" not in encoded
    assert json.loads(encoded) == {"a": ["{{$}}", "{{{x}}}", "\\{{y"]}


def test_substitution_fills_executor_input_parameters_and_passed_values() -> None:
    filled = ln.substitute(MANIFEST, EXECUTOR_INPUT, {"$.pipeline_job_uuid": "run-123"})
    assert json.loads(filled["spec"]["command"][-1]) == EXECUTOR_INPUT
    assert filled["spec"]["rows"] == "10"
    assert filled["spec"]["run"] == "run-123"
    assert ln.placeholders_in(MANIFEST) == ["$.pipeline_job_uuid"]
    # a value is not searched again for placeholders
    text = ln.substitute("{{$.inputs.parameters['name']}}", EXECUTOR_INPUT, {})
    assert text == 'a "quoted" {{name}}'
    assert ln.substitute("{{$.unknown}} {{x}}", EXECUTOR_INPUT, {}) == "{{$.unknown}} {{x}}"
    with pytest.raises(ln.LauncherError, match="parameter 'missing'"):
        ln.substitute("{{$.inputs.parameters['missing']}}", EXECUTOR_INPUT, {})


# against the stand-in API


def test_success_creates_the_resource_owned_by_the_pod(
    kube: StandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ln.POD_NAME_ENV, "train-pod-1")
    monkeypatch.setenv(ln.POD_UID_ENV, "0f1e2d3c-aaaa-bbbb-cccc-000000000000")
    kube.statuses = [{}, {"state": "RUNNING"}, {"state": "DONE"}]
    assert ln.main(_argv(), api_client=_client(kube)) == 0
    (body,) = kube.created
    assert body["metadata"]["name"] == "exec-train-0f1e2d3c"
    assert body["metadata"]["namespace"] == "team-a"
    assert body["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": "train-pod-1",
            "uid": "0f1e2d3c-aaaa-bbbb-cccc-000000000000",
        }
    ]
    assert json.loads(body["spec"]["command"][-1]) == EXECUTOR_INPUT
    assert body["spec"]["rows"] == "10" and body["spec"]["run"] == "run-123"
    assert kube.reads == 3 and kube.deleted == []
    out = capsys.readouterr().out
    assert 'status: {"state":"RUNNING"}' in out and "succeeded" in out


def test_failure_exits_1_naming_the_condition_and_keeps_the_resource(
    kube: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.statuses = [{"state": "RUNNING"}, {"state": "FAILED"}]
    assert ln.main(_argv(), api_client=_client(kube)) == 1
    err = capsys.readouterr().err
    assert "failure condition 'status.state in (FAILED, LOST)' holds" in err
    assert "(status.state is 'FAILED')" in err
    assert kube.deleted == []
    assert not kube.created[0]["metadata"].get("ownerReferences")  # no pod env here


def test_timeout_deletes_the_resource_and_exits_1(
    kube: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.statuses = [{"state": "RUNNING"}]
    assert ln.main(_argv(**{"--timeout": "0.2"}), api_client=_client(kube)) == 1
    assert "within the step's timeout of 0.2s" in capsys.readouterr().err
    assert kube.deleted == [kube.created[0]["metadata"]["name"]]
    assert kube.reads >= 2


def test_a_refused_create_and_a_vanished_resource_fail_clearly(
    kube: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.refuse_create = 403
    assert ln.main(_argv(), api_client=_client(kube)) == 1
    assert "could not create Widget team-a/exec-train-" in capsys.readouterr().err
    kube.refuse_create = None
    kube.gone = True
    assert ln.main(_argv(), api_client=_client(kube)) == 1
    assert "was deleted while the step waited" in capsys.readouterr().err


def test_an_unreachable_api_server_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from kubernetes import client

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = client.Configuration(host=f"http://127.0.0.1:{port}")
    config.retries = 0
    assert ln.main(_argv(), api_client=client.ApiClient(config)) == 1
    assert "the Kubernetes API did not answer" in capsys.readouterr().err


def test_bad_arguments_exit_2_before_any_call(
    kube: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ln.main(_argv(**{"--success": "status.x >= 1"}), api_client=_client(kube)) == 2
    assert "success_condition" in capsys.readouterr().err
    assert kube.created == []


def test_references_to_the_resource_itself_follow_its_new_name(
    kube: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selector of the resource's own pods (as the DaskJob's scheduler Service has) names
    the resource as created, not as compiled."""
    monkeypatch.setenv(ln.POD_NAME_ENV, "train-pod-1")
    monkeypatch.setenv(ln.POD_UID_ENV, "0f1e2d3c-aaaa-bbbb-cccc-000000000000")
    manifest = {
        **MANIFEST,
        "metadata": {"name": "exec-train", "labels": {INSTANCE_LABEL: INSTANCE}},
        "spec": {**MANIFEST["spec"], "selector": {INSTANCE_LABEL: INSTANCE, "keep": "x"}},
    }
    argv = _argv(**{"--manifest": ln.encode_manifest(manifest)})
    kube.statuses = [{"state": "DONE"}]
    assert ln.main(argv, api_client=_client(kube)) == 0
    (body,) = kube.created
    assert body["metadata"]["name"] == "exec-train-0f1e2d3c"
    assert body["metadata"]["labels"] == {INSTANCE_LABEL: "exec-train-0f1e2d3c"}
    assert body["spec"]["selector"] == {INSTANCE_LABEL: "exec-train-0f1e2d3c", "keep": "x"}


def test_no_success_condition_means_done_once_created(kube: StandIn) -> None:
    assert ln.main(_argv(**{"--success": "", "--failure": ""}), api_client=_client(kube)) == 0
    assert len(kube.created) == 1


# what the KFP compiler wrote, run as KFP would


class Gadget(RuntimeConfig):
    kind = "test-launcher-gadget"


class _GadgetRuntime:
    def run(self, step: Any, timeout: float | None, session: Any) -> Any:
        raise NotImplementedError

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        manifest = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "metadata": {"name": pod.name},
            "spec": {"command": pod.command, "image": pod.image},
        }
        return Fragments(resource=manifest, success_condition="status.state == DONE")

    def in_pod(self, config: RuntimeConfig) -> Any:
        raise NotImplementedError


register_runtime(Gadget, _GadgetRuntime())


@component(runtime=Gadget())
def crunch(rows: int) -> None:
    print(rows)


@pipeline
def crunching(rows: int = 5) -> None:
    crunch(rows=rows)


def test_the_compiled_launcher_runs_after_kfp_fills_its_placeholders(kube: StandIn) -> None:
    """KFP's own placeholder code (kfp.local's, as the backend's launcher does) fills the
    compiled args; the launcher then creates the resource with the step's command intact. The
    run's ids come as input parameters, as the driver (``backend/src/v2/driver/resolve.go``)
    fills them from the constants ``{{$.pipeline_job_uuid}}`` and ``{{$.pipeline_task_name}}``;
    nothing in the args depends on a placeholder only kfp.local fills."""
    import yaml
    from kfp.local import placeholder_utils

    spec = yaml.safe_load_all(
        dagwright.compile(crunching, target="kfp", tracking_uri="http://mlflow:5000")
    )
    box = next(spec)["deploymentSpec"]["executors"]["exec-crunch"]["container"]
    ids = {"dagwright-run": "job-42", "dagwright-task": "crunch", "dagwright-task-id": "9"}
    executor_input = {
        "inputs": {"parameterValues": {"rows": 7, **ids}},
        "outputs": {"outputFile": "/kfp/outputs/output_metadata.json"},
    }
    args = placeholder_utils.replace_placeholders(
        box["args"], executor_input, "crunching-run", "crunch", "gs://bucket/root", "other-id"
    )
    assert "other-id" not in " ".join(args)  # no run placeholder left for the launcher to fill
    kube.statuses = [{"state": "DONE"}]
    assert ln.main([*args, "--namespace", "ns", "--poll", "0.01"], api_client=_client(kube)) == 0
    command = kube.created[0]["spec"]["command"]
    filled = json.loads(command[command.index("--executor_input") + 1])
    assert filled["inputs"]["parameterValues"] == {"rows": 7, **ids}
    assert command[command.index("--dagwright-run") + 1] == "job-42"
    assert command[command.index("--dagwright-task") + 1] == "crunch@9"
    assert "def crunch" in " ".join(command)  # the inline module the resource's pod runs
