"""``POST /api/pipeline``: the DAG of a pipeline file sent to a real ``dagwright ui`` server,
before it runs. An IR as ``dagwright compile --target ir`` writes it and a KFP YAML kfp's
compiler writes draw; a Python file, garbage, a file over 5 MB and a POST without the UI's
header are refused with 4xx JSON, and the sent file is never run."""

from __future__ import annotations

import copy
import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kfp_pipeline import KFP_SECRET, KFP_TASKS, write_kfp_yaml
from ui_server_helpers import SECRET, Answer, Server, call, dagwright, env, start, write_pipelines

pytestmark = pytest.mark.integration

MB = 1024 * 1024


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of ``demo`` (the store the server shows) and its IR compiled as JSON and YAML."""
    folder = tmp_path_factory.mktemp("ui-pipeline-file")
    home = folder / "store"
    files = write_pipelines(folder)
    dagwright(home, "run", str(files["demo"]), "--run-id", "demo-1")
    irs = {}
    for suffix in ("json", "yaml"):
        irs[suffix] = folder / f"demo.{suffix}"
        done = subprocess.run(
            [sys.executable, "-m", "dagwright.cli", "compile", str(files["demo"]), "-t", "ir"]
            + ["-o", str(irs[suffix])],
            env=env(home),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    return {"home": home, "folder": folder, "demo": files["demo"], "irs": irs}


@pytest.fixture(scope="module")
def server(store: dict[str, Any]) -> Iterator[Server]:
    found = start(store["home"])
    yield found
    found.stop()


def send(server: Server, body: bytes, name: str | None = None, header: bool = True) -> Answer:
    query = f"?name={name}" if name else ""
    headers = {"X-Dagwright": "1"} if header else {}
    return call(f"{server.base}/api/pipeline{query}", method="POST", headers=headers, data=body)


def drawn(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.text
    assert SECRET not in answer.text and KFP_SECRET not in answer.text
    body = answer.json
    assert set(body) == {"pipeline", "graph"}
    # before it runs: no node has a status
    assert {n["status"] for n in body["graph"]["nodes"]} == {None}
    return body


def refused(answer: Answer, status: int, field: str) -> dict[str, Any]:
    assert answer.status == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "Traceback" not in answer.text
    body = answer.json
    assert set(body) == {"error", "field", "fix"} and body["field"] == field, body
    return body


def test_an_ir_draws_as_the_ir_its_run_recorded(server: Server, store: dict[str, Any]) -> None:
    recorded = call(f"{server.base}/api/pipeline?run=demo-1").json["graph"]
    for suffix, path in store["irs"].items():
        body = drawn(send(server, path.read_bytes(), f"demo.{suffix}"))
        assert body["pipeline"] == "demo"
        assert body["graph"] == recorded, suffix
        assert {n["task"] for n in body["graph"]["nodes"]} == {"make", "add"}
    # the IR holds the secret default of api_token: the graph shows no parameter value
    assert SECRET in store["irs"]["json"].read_text()


def test_a_kfp_yaml_draws_its_tasks_and_blocks_with_the_secret_masked(
    server: Server, store: dict[str, Any]
) -> None:
    path = write_kfp_yaml(store["folder"] / "small.yaml")
    assert KFP_SECRET in path.read_text()  # the If compares the api_token with it
    body = drawn(send(server, path.read_bytes(), "small.yaml"))
    assert body["pipeline"] == "small-kfp"
    nodes = body["graph"]["nodes"]
    assert {n["task"] for n in nodes if n["kind"] == "task"} == KFP_TASKS
    blocks = {n["block"]: n["label"] for n in nodes if n["kind"] == "block"}
    assert set(blocks) == {"if", "parallel_for"}
    assert blocks["if"] == "If api_token == ***"
    edges = {(e["source"], e["target"]) for e in body["graph"]["edges"]}
    assert ("double", "report") in edges


def test_a_kfp_construct_the_importer_refuses_is_its_message(
    server: Server, store: dict[str, Any]
) -> None:
    spec = yaml.safe_load(write_kfp_yaml(store["folder"] / "refused.yaml").read_text())
    changed = copy.deepcopy(spec)
    changed["deploymentSpec"]["executors"]["exec-report"] = {"resolver": {}}
    answer = send(server, yaml.safe_dump(changed).encode())
    body = refused(answer, 400, "deploymentSpec.executors.exec-report")
    assert "executor kind 'resolver'" in body["error"] and "task 'report'" in body["error"]
    assert "container component" in body["fix"]


def test_a_shape_the_importer_does_not_check_is_400_not_500(
    server: Server, store: dict[str, Any]
) -> None:
    # a hand-edited input reference the importer's shape check lets through (a KeyError
    # inside it): still the file's fault, so a 400 naming the file, never a 500
    spec = yaml.safe_load(write_kfp_yaml(store["folder"] / "edited.yaml").read_text())
    spec["root"]["dag"]["tasks"]["report"]["inputs"]["parameters"]["x"]["taskOutputParameter"] = {}
    body = refused(send(server, yaml.safe_dump(spec).encode()), 400, "body")
    assert body["error"] and "as its compiler wrote it" in body["fix"]


def test_a_python_file_is_refused_and_never_run(server: Server, store: dict[str, Any]) -> None:
    marker = store["folder"] / "ran"
    source = store["demo"].read_text() + f"\nopen({str(marker)!r}, 'w').close()\n"
    for name in (None, "demo.py"):
        body = refused(send(server, source.encode(), name), 400, "body")
        assert "Python" in body["error"]
        assert "dagwright inspect FILE --html OUT" in body["fix"]
    # a Python file that happens to parse as YAML (two lines of plain words) is Python too
    body = refused(send(server, b"import os\nimport sys\n"), 400, "body")
    assert "dagwright inspect FILE --html OUT" in body["fix"]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"key: [unclosed\n", "neither JSON nor YAML"),
        (b'{"apiVersion": "dagwright.dev/v1alpha1",', "not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"just some words", "not a dagwright IR nor a KFP pipeline"),
        (b'{"name": "x", "tasks": []}', "not a dagwright IR nor a KFP pipeline"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"a: &a [1, 2]\nb: [*a, *a]\n", "aliases"),
        (b'{"apiVersion": "dagwright.dev/v1alpha1", "kind": "Pipeline"}', "malformed IR at name"),
        (b"pipelineInfo: {name: x}\nroot: {}\n", "not a KFP pipeline"),
    ],
)
def test_garbage_is_400_json_naming_the_problem(server: Server, body: bytes, says: str) -> None:
    assert says in refused(send(server, body), 400, "body")["error"]


def test_a_one_line_body_is_text_never_a_path_the_server_reads(
    server: Server, store: dict[str, Any]
) -> None:
    # the KFP importer reads a one-line string ending in .yaml as a file: the body is data
    kfp = write_kfp_yaml(store["folder"] / "on-disk.yaml")
    body = refused(send(server, str(kfp).encode()), 400, "body")
    assert "not a dagwright IR nor a KFP pipeline" in body["error"]


def test_a_file_over_5_mb_is_413(server: Server, store: dict[str, Any]) -> None:
    big = b"# padding\n" * (5 * MB // 10 + 1)
    assert len(big) > 5 * MB
    refused(send(server, big), 413, "body")
    # sent in chunks with no Content-Length: refused as it comes
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        chunks = iter([b"# padding\n" * MB] * 6)
        connection.request(
            "POST",
            "/api/pipeline",
            body=chunks,
            headers={"X-Dagwright": "1"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["field"] == "body"
    finally:
        connection.close()
    # just under the limit is read (and is then what it is: no pipeline)
    under = b"# padding\n" * (5 * MB // 10 - 1)
    refused(send(server, under), 400, "body")
    drawn(send(server, store["irs"]["json"].read_bytes()))  # the server still answers


def test_a_post_without_the_header_is_403(server: Server, store: dict[str, Any]) -> None:
    body = refused(
        send(server, store["irs"]["json"].read_bytes(), header=False), 403, "X-Dagwright"
    )
    assert "X-Dagwright: 1" in body["error"]
