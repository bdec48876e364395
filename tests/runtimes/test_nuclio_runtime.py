"""The Nuclio runtime: a real local HTTP server per served step, the NuclioFunction manifest,
the dashboard deploy of a compiled step's pod, and ``dagwright serve``.

Local serving is real: steps start ``http.server`` servers on 127.0.0.1 and the tests call them
with urllib. No Nuclio dashboard or Kubernetes runs here, so the deploy tests check the
dashboard HTTP API contract (methods, paths, headers, required JSON fields, documented states)
against a stand-in dashboard served by the test, and the manifest against the fields Nuclio's
function-configuration reference documents; its generated ``main.py`` is executed with
nuclio-sdk's own Context and Event as Nuclio's wrapper would call it.
"""

from __future__ import annotations

import ast
import base64
import json
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.errors import ValidationError
from dagwright.executor import Step, run_step
from dagwright.names import is_k8s_name
from dagwright.runtimes import Nuclio, PodStep, Session
from dagwright.runtimes.nuclio import NuclioRuntime
from dagwright.runtimes.nuclio_deploy import (
    DashboardError,
    deploy,
    function_manifest,
    function_name,
)


def _call(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """(status, headers, body) of one request; an HTTP error status is an answer too."""
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5)
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)
    return False


def _echo(context, event, greeting: str) -> str:  # type: ignore[no-untyped-def]
    context.user_data.calls = getattr(context.user_data, "calls", 0) + 1
    body = event.body.decode() if isinstance(event.body, bytes) else str(event.body)
    return f"{greeting} {body} #{context.user_data.calls}"


echo = component(runtime=Nuclio())(_echo)


@component(runtime=Nuclio())
def shapes(context, event):  # type: ignore[no-untyped-def]
    import nuclio_sdk

    if event.path == "/json":
        return {"fields": event.fields, "body": event.body, "method": event.method}
    if event.path == "/list":
        return [1, 2, 3]
    if event.path == "/bytes":
        return b"\x00\xffraw"
    if event.path == "/response":
        return nuclio_sdk.Response(
            body="a,b", headers={"X-Made-By": "handler"}, content_type="text/csv", status_code=201
        )
    if event.path == "/status":
        return 202, {"accepted": True}
    raise ValueError("no route " + event.path)


@component
def call(url: str, text: str) -> str:
    request = urllib.request.Request(url, data=text.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


@pipeline
def served(greeting: str = "hello"):  # type: ignore[no-untyped-def]
    function = echo(greeting=greeting)
    return call(url=function.output, text="world")


@pipeline
def only_shapes():  # type: ignore[no-untyped-def]
    return shapes()


@pytest.mark.integration
def test_a_downstream_step_calls_the_served_function_which_stops_with_the_run(run: Any) -> None:
    result = run(served, greeting="hi")

    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs["output"] == "hi world #1"  # bound parameter, request body, user_data
    url = result.step("echo").outputs["output"]
    assert url.startswith("http://127.0.0.1:")
    assert _refused(url)  # the run's own session closed: nothing is left listening


@pytest.mark.integration
def test_an_explicit_session_keeps_the_function_up_until_it_closes(run: Any) -> None:
    session = Session()
    try:
        result = run(served, greeting="hey", session=session)
        url = result.step("echo").outputs["output"]
        status, _, body = _call(url, b"again")
        assert (status, body) == (200, b"hey again #2")  # the same context: user_data persists
    finally:
        session.close()
    assert _refused(url)


@pytest.fixture
def shapes_url(run: Any) -> Iterator[str]:
    session = Session()
    try:
        result = run(only_shapes, session=session)
        assert result.succeeded, [s.error for s in result.steps]
        yield result.outputs["output"]
    finally:
        session.close()


@pytest.mark.integration
def test_answers_map_to_http_as_nuclio_maps_them(shapes_url: str) -> None:
    status, headers, body = _call(
        shapes_url + "/json?model=a&n=2", b'{"x": 1}', {"Content-Type": "application/json"}
    )
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "fields": {"model": "a", "n": "2"},
        "body": {"x": 1},
        "method": "POST",
    }

    status, headers, body = _call(shapes_url + "/list")
    assert (status, json.loads(body)) == (200, [1, 2, 3])

    assert _call(shapes_url + "/bytes")[2] == b"\x00\xffraw"  # bytes go out as they are

    status, headers, body = _call(shapes_url + "/response")
    assert (status, body, headers["X-Made-By"]) == (201, b"a,b", "handler")
    assert headers["Content-Type"] == "text/csv"

    status, _, body = _call(shapes_url + "/status")
    assert (status, json.loads(body)) == (202, {"accepted": True})

    status, _, body = _call(shapes_url + "/nowhere")
    assert status == 500
    assert body == b'Exception caught in handler - "ValueError: no route /nowhere"'
    # Nuclio's wrapper adds the traceback; here it goes to the log only, never to a caller
    assert b"Traceback" not in body


@pytest.mark.integration
def test_a_port_in_use_fails_the_step_naming_the_port(run: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pinned = component(runtime=Nuclio(port=port))(_echo)

        @pipeline
        def clash():  # type: ignore[no-untyped-def]
            return pinned(greeting="x")

        result = run(clash)
    assert not result.succeeded
    error = result.step("echo").error
    assert "field 'port'" in error and str(port) in error


@pytest.mark.integration
def test_a_function_with_an_output_artifact_is_refused(run: Any) -> None:
    def writes(context, event, out: Output[Dataset]) -> None:  # type: ignore[no-untyped-def]
        pass

    writer = component(runtime=Nuclio())(writes)

    @pipeline
    def bad():  # type: ignore[no-untyped-def]
        writer()

    result = run(bad)
    assert "field 'out'" in result.step("writes").error


def test_a_handler_without_event_is_refused_at_decoration() -> None:
    def lacks(context, greeting: str) -> str:  # type: ignore[no-untyped-def]
        return greeting

    with pytest.raises(ValidationError) as info:
        component(runtime=Nuclio())(lacks)
    assert info.value.field == "event"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"port": -1}, "port"),
        ({"port": 70000}, "port"),
        ({"min_replicas": -1}, "min_replicas"),
        ({"min_replicas": 3, "max_replicas": 2}, "max_replicas"),
        ({"dashboard": "nuclio-dashboard:8070"}, "dashboard"),
        ({"project": "My Project"}, "project"),
        ({"namespace": ""}, "namespace"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Nuclio(**settings)
    assert info.value.field == field and info.value.fix


def _decoded(manifest: dict[str, Any]) -> str:
    return base64.b64decode(manifest["spec"]["build"]["functionSourceCode"]).decode()


def test_the_nuclio_function_manifest_has_the_documented_fields() -> None:
    config = Nuclio(min_replicas=1, max_replicas=4, project="ml", namespace="serving")
    pod = PodStep(name="serve-model", image="registry/project:1", command=["x"], env={"A": "b"})
    manifest = NuclioRuntime().fragments(config, pod).resource
    assert manifest is not None

    assert (manifest["apiVersion"], manifest["kind"]) == ("nuclio.io/v1beta1", "NuclioFunction")
    assert manifest["metadata"] == {
        "name": "serve-model",
        "namespace": "serving",
        "labels": {"nuclio.io/project-name": "ml"},
    }
    spec = manifest["spec"]
    assert (spec["handler"], spec["runtime"]) == ("main:handler", "python:3.11")
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 4)
    assert spec["env"] == [{"name": "A", "value": "b"}]
    assert spec["triggers"]["http"]["kind"] == "http"
    build = spec["build"]
    assert (build["codeEntryType"], build["baseImage"]) == ("sourceCode", "registry/project:1")
    assert build["commands"][0].startswith("pip install dagwright==")
    source = _decoded(manifest)
    compile(source, "main.py", "exec")  # valid Python, whose handler is main:handler
    assert "DAGWRIGHT_STEP" in source  # the pod's step is known only there


def test_the_generated_main_runs_under_nuclio_sdk_as_the_wrapper_calls_it() -> None:
    import nuclio_sdk

    step = Step(component=echo.spec, task="echo", parameters={"greeting": "bonjour"})
    manifest = function_manifest(Nuclio(), name="echo", image=None, env={}, step=step)
    assert "baseImage" not in manifest["spec"]["build"]  # Nuclio's default for the runtime

    namespace: dict[str, Any] = {}
    exec(compile(_decoded(manifest), "main.py", "exec"), namespace)
    context = nuclio_sdk.Context(nuclio_sdk.Logger(10), nuclio_sdk.Platform("local"))
    namespace["init_context"](context)
    answer = namespace["handler"](context, nuclio_sdk.Event(body=b"monde"))
    assert answer == "bonjour monde #1"


class _Dashboard(BaseHTTPRequestHandler):
    """A stand-in Nuclio dashboard: records each request, answers as the API documents."""

    server: Any

    def _reply(self, status: int, body: Any = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append((self.command, self.path, self.headers, body))  # any case
        return body

    def do_GET(self) -> None:
        self._record()
        name = self.path.rsplit("/", 1)[-1]
        if name not in self.server.functions:
            self._reply(404, {"error": "not found"})
            return
        states = self.server.states
        state = states.pop(0) if len(states) > 1 else states[0]
        status = {"state": state, **({"message": "no such image"} if state == "error" else {})}
        if state == "ready":
            status["internalInvocationUrls"] = [f"nuclio-{name}.nuclio.svc.cluster.local:8080"]
        self._reply(200, {**self.server.functions[name], "status": status})

    def do_POST(self) -> None:
        body = self._record()
        self.server.functions[body["metadata"]["name"]] = body
        self._reply(202)

    def do_PUT(self) -> None:
        body = self._record()
        self.server.functions[body["metadata"]["name"]] = body
        self._reply(202)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _StandIn(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Dashboard)
        self.requests: list[tuple[str, str, Any, Any]] = []
        self.functions: dict[str, Any] = {}
        self.states = ["building", "ready"]  # what successive GETs report, the last repeated
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.mark.integration
@pytest.mark.parametrize("name", ["content-type", "CONTENT-TYPE", "Content-type"])
def test_a_json_body_is_decoded_whatever_the_header_names_case(shapes_url: str, name: str) -> None:
    import http.client

    url = urlsplit(shapes_url + "/json")
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        connection.request("POST", url.path, b'{"x": 1}', {name: "application/json"})
        answer = connection.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["body"] == {"x": 1}  # decoded, not bytes
    finally:
        connection.close()


@pytest.fixture
def dashboard() -> Iterator[_StandIn]:
    server = _StandIn()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _pod_step(dashboard_url: str) -> Step:
    config = Nuclio(dashboard=dashboard_url, project="ml", namespace="serving")
    spec = component(runtime=config)(_echo).spec
    return Step(component=spec, task="echo", parameters={"greeting": "hi"})


def test_a_compiled_step_deploys_through_the_dashboard_and_outputs_the_url(
    dashboard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dagwright.runtimes.nuclio_deploy.POLL_SECONDS", 0.01)
    outcome = run_step(_pod_step(dashboard.url))  # no provided objects: as in a pod
    name = function_name(_pod_step(dashboard.url))
    assert name.startswith("echo-")

    assert outcome.values == {"output": f"http://nuclio-{name}.nuclio.svc.cluster.local:8080"}
    methods = [(method, path) for method, path, _, _ in dashboard.requests]
    assert methods[:2] == [("GET", f"/api/functions/{name}"), ("POST", "/api/functions")]
    assert set(methods[2:]) == {("GET", f"/api/functions/{name}")}  # polled until ready
    _, _, headers, body = dashboard.requests[1]
    assert headers["Content-Type"] == "application/json"
    assert headers["x-nuclio-project-name"] == "ml"
    assert all(h["x-nuclio-function-namespace"] == "serving" for _, _, h, _ in dashboard.requests)
    assert body["metadata"]["name"] == name
    assert body["metadata"]["labels"] == {"nuclio.io/project-name": "ml"}
    assert (body["spec"]["handler"], body["spec"]["runtime"]) == ("main:handler", "python:3.11")
    literal = [n for n in ast.walk(ast.parse(_decoded(body))) if isinstance(n, ast.Constant)]
    carried = json.loads(str(literal[-1].value))  # the step description, inline in main.py
    assert carried["parameters"] == {"greeting": "hi"}
    assert "def _echo(context, event" in carried["component"]["source"]


def test_an_existing_function_is_updated_with_put(dashboard: Any) -> None:
    name = function_name(_pod_step(dashboard.url))
    dashboard.functions[name] = {"metadata": {"name": name}, "spec": {}}
    dashboard.states[:] = ["ready"]
    deploy(_pod_step(dashboard.url), poll=0.01)
    assert ("PUT", f"/api/functions/{name}") in [(m, p) for m, p, _, _ in dashboard.requests]


def test_function_names_differ_per_inputs_and_task_and_fit_63_characters() -> None:
    spec = component(runtime=Nuclio())(_echo).spec
    one = function_name(Step(component=spec, task="echo", parameters={"greeting": "hi"}))
    assert one == function_name(Step(component=spec, task="echo", parameters={"greeting": "hi"}))
    iteration = function_name(Step(component=spec, task="echo", parameters={"greeting": "yo"}))
    other = function_name(Step(component=spec, task="echo-2", parameters={"greeting": "hi"}))
    assert len({one, iteration, other}) == 3
    long = function_name(Step(component=spec, task="x" * 100, parameters={"greeting": "hi"}))
    assert is_k8s_name(long) and len(long) == 63


def test_the_install_command_quotes_each_requirement() -> None:
    """Unquoted, ``pip install pandas>=2`` redirects pip's output to a file named ``=2``."""
    spec = component(runtime=Nuclio(), packages=["pandas>=2", "scikit-learn<2,>=1.3"])(_echo).spec
    manifest = function_manifest(
        Nuclio(), name="echo", image=None, env={}, step=Step(component=spec, task="echo")
    )
    (command,) = manifest["spec"]["build"]["commands"]
    words = shlex.split(command)
    assert words[:2] == ["pip", "install"]
    assert words[3:] == ["pandas>=2", "scikit-learn<2,>=1.3"]
    assert "'pandas>=2'" in command


def test_an_error_state_fails_the_step_with_the_dashboards_message(dashboard: Any) -> None:
    dashboard.states[:] = ["building", "error"]
    with pytest.raises(DashboardError, match="failed to deploy: no such image"):
        deploy(_pod_step(dashboard.url), poll=0.01)


def test_a_function_never_ready_times_out(dashboard: Any) -> None:
    dashboard.states[:] = ["building"]
    with pytest.raises(TimeoutError, match="not ready within"):
        deploy(_pod_step(dashboard.url), poll=0.01, timeout=0.2)


def test_an_artifact_only_this_pod_can_read_is_refused(tmp_path: Path) -> None:
    def reads(context, event, data: Input[Dataset]) -> str:  # type: ignore[no-untyped-def]
        return data.path

    spec = component(runtime=Nuclio())(reads).spec
    artifact = {"type": "Dataset", "name": "data", "uri": str(tmp_path / "data.csv")}
    step = Step(component=spec, task="reads", artifacts={"data": artifact})
    with pytest.raises(ValidationError) as info:
        deploy(step)
    assert info.value.field == "data"


PIPELINE_FILE = """
from dagwright import component, pipeline
from dagwright.runtimes import Nuclio


@component(runtime=Nuclio())
def hello(context, event, name: str) -> str:
    return "hello " + name


@component
def broken() -> int:
    raise RuntimeError("no")


@pipeline
def ok(name: str = "x"):
    hello(name=name)


@pipeline
def bad():
    broken()


@component
def sleeper() -> str:
    import time

    time.sleep(30)
    return "late"


@pipeline
def long():
    hello(name=sleeper().output)


@component
def pass_through(x: int) -> int:
    return x


@pipeline
def plain():
    pass_through(x=1)
"""


def _serve(tmp_path: Path, target: str, *params: str) -> subprocess.Popen[str]:
    (tmp_path / "funcs.py").write_text(PIPELINE_FILE)
    command = [sys.executable, "-m", "dagwright.cli", "serve", f"funcs.py:{target}"]
    command += [arg for p in params for arg in ("-p", p)] + ["--root", str(tmp_path / "store")]
    return subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _first_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert box and box[0], f"no URL printed; stderr: {proc.stderr.read() if proc.poll() else ''}"  # type: ignore[union-attr]
    return box[0]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("stop", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_serve_keeps_the_function_up_until_signalled(
    tmp_path: Path, stop: signal.Signals, code: int
) -> None:
    proc = _serve(tmp_path, "ok", "name=ann")
    try:
        label, url = _first_line(proc).split()
        assert label == "hello"
        assert _call(url)[::2] == (200, b"hello ann")
        proc.send_signal(stop)
        assert proc.wait(timeout=30) == code
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _refused(url)


@pytest.mark.integration
def test_ctrl_c_during_the_run_stops_it_and_serve_exits_130(tmp_path: Path) -> None:
    """Before the fix SIGINT only set a flag, and serve waited for the 30 s step."""
    proc = _serve(tmp_path, "long")
    try:
        time.sleep(5)  # the pipeline loaded and its first step started
        assert proc.poll() is None, "serve ended before the step ran"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 130
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.integration
def test_serve_exits_1_without_blocking_when_the_run_fails(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "bad")
    try:
        assert proc.wait(timeout=60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "failed" in proc.stderr.read()  # type: ignore[union-attr]


def test_serve_is_a_registered_command() -> None:
    import click

    from dagwright.cli import cli

    assert "serve" in cli.list_commands(click.Context(cli))
    assert cli.get_command(click.Context(cli), "serve").name == "serve"


@pytest.mark.integration
def test_serve_returns_at_once_when_nothing_is_served(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "plain")
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "serves no function" in proc.stderr.read()  # type: ignore[union-attr]
