"""``dagwright ui`` over a store whose artifacts live on S3 (moto's server on 127.0.0.1): the
run page's previews and raw files are read from the location the run recorded, only for
artifacts a step recorded; a store that does not answer is a quick 502. And a ``.js`` file of
a folder artifact is never served as a script (a local store)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from ui_server_helpers import Answer, Server, call, dagwright, lower_headers, start

from dagwright.ui.security import RAW_CSP

pytestmark = pytest.mark.integration

BUCKET = "ui-artifacts"
HOSTILE = "<script>parent.document.title = 'owned'</script><p>made on s3</p>"
PIPELINE = """
from dagwright import HTML, Artifact, Dataset, Metrics, Output, component, pipeline

@component
def make(scores: Output[Metrics], rows: Output[Dataset], page: Output[HTML]) -> None:
    scores.log_metric("accuracy", 0.75)
    with open(rows.path, "w") as f:
        f.write("n,square\\n" + "".join(f"{i},{i * i}\\n" for i in range(25)))
    with open(page.path, "w") as f:
        f.write(HOSTILE)

@component
def bundle(site: Output[Artifact]) -> None:
    import os

    os.makedirs(site.path)
    with open(os.path.join(site.path, "app.js"), "w") as f:
        f.write("parent.document.title = 'owned'")

@component
def big(blob: Output[Artifact]) -> None:
    with open(blob.path, "wb") as f:
        f.truncate(50 * 2**20 + 1)  # one byte over what the UI serves from a remote store

@pipeline
def remote_demo():
    make()

@pipeline
def oversized():
    big()

@pipeline
def bundled():
    bundle()
""".replace("HOSTILE", repr(HOSTILE))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """moto's S3 server with one bucket; the clients (and child processes) pointed at it, and
    artifacts of runs going to ``s3://BUCKET/team`` (``DAGWRIGHT_ARTIFACTS``)."""
    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "DAGWRIGHT_ARTIFACTS": f"s3://{BUCKET}/team",
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)  # the helpers' commands and servers inherit these
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            yield env
    finally:
        server.stop()
        # s3fs keeps one client per constructor arguments, its endpoint read when made: a
        # later test's moto server would be reached through this dead one
        s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def store(s3: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run of ``remote_demo`` whose artifacts went to S3."""
    folder = tmp_path_factory.mktemp("ui-remote")
    home = folder / "store"
    source = folder / "remote_demo.py"
    source.write_text(PIPELINE, encoding="utf-8")
    dagwright(home, "run", f"{source}:remote_demo")
    (run,) = json.loads(dagwright(home, "runs", "ls", "--json").stdout)
    shown = json.loads(dagwright(home, "runs", "show", run["run_id"], "--json").stdout)
    outputs = shown["steps"][0]["outputs"]
    assert not (home / "artifacts").exists()  # nothing kept locally: the test is of S3
    return {"home": home, "run": run["run_id"], "outputs": outputs, "source": source}


@pytest.fixture(scope="module")
def server(store: dict[str, Any]) -> Iterator[Server]:
    found = start(store["home"])
    yield found
    found.stop()


def _get(server: Server, route: str, uri: str) -> Answer:
    return call(f"{server.base}/api/artifacts/{route}?uri={quote(uri, safe='')}")


def test_the_run_recorded_its_artifacts_on_s3(store: dict[str, Any]) -> None:
    prefix = f"s3://{BUCKET}/team/{store['run']}/make/"
    assert {name: a["uri"] for name, a in store["outputs"].items()} == {
        name: prefix + name for name in ("scores", "rows", "page")
    }


def test_previews_of_s3_artifacts(server: Server, store: dict[str, Any]) -> None:
    outputs = store["outputs"]
    metrics = _get(server, "preview", outputs["scores"]["uri"])
    assert metrics.status == 200, metrics.text
    assert metrics.json == {"kind": "metrics", "rows": [["accuracy", 0.75]]}
    rows = _get(server, "preview", outputs["rows"]["uri"])
    assert rows.status == 200, rows.text
    table = rows.json
    assert table["kind"] == "dataset", table
    assert table["columns"] == ["n", "square"] and table["total_rows"] == 25
    assert table["rows"][:3] == [["0", "0"], ["1", "1"], ["2", "4"]] and len(table["rows"]) == 20
    page = _get(server, "preview", outputs["page"]["uri"])
    assert page.json["kind"] == "html"
    assert page.json["raw_url"] == "/api/artifacts/raw?uri=" + quote(
        outputs["page"]["uri"], safe=""
    )


def test_raw_bytes_of_an_s3_html_artifact_come_sandboxed(
    server: Server, store: dict[str, Any]
) -> None:
    page = call(
        server.base + _get(server, "preview", store["outputs"]["page"]["uri"]).json["raw_url"]
    )
    assert page.status == 200, page.text
    assert page.body == HOSTILE.encode()
    headers = lower_headers(page)
    assert headers["content-security-policy"] == RAW_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"].startswith("text/html")
    rows = _get(server, "raw", store["outputs"]["rows"]["uri"])
    assert rows.status == 200 and rows.text.startswith("n,square\n0,0\n")
    assert lower_headers(rows)["content-type"] == "text/plain; charset=utf-8"
    assert lower_headers(rows)["content-security-policy"] == RAW_CSP


@pytest.mark.parametrize(
    "attempt",
    [
        "{run}/make/other",  # under the run's location, recorded by no step
        "{run}/make",  # the step's folder: not an artifact either
        "{run}/make/../make/page",  # a recorded URI reached another way
        os.pardir + "/team/{run}/make/page",  # out of the location and back in
        "s3://elsewhere/team/{run}/make/page",  # another bucket
        "gs://{bucket}/team/{run}/make/page",  # another scheme
    ],
)
def test_s3_uris_no_run_recorded_are_refused(
    server: Server, store: dict[str, Any], attempt: str
) -> None:
    base = f"s3://{BUCKET}/team/"
    text = attempt.format(run=store["run"], bucket=BUCKET)
    uri = text if "://" in text else base + text
    for route in ("preview", "raw"):
        answer = _get(server, route, uri)
        assert answer.status in (403, 404), (route, uri, answer.text)
        assert answer.json["field"] == "uri"
        assert "made on s3" not in answer.text


def test_a_remote_file_over_50_mb_is_413_json(server: Server, store: dict[str, Any]) -> None:
    dagwright(store["home"], "run", f"{store['source']}:oversized")
    listed = json.loads(dagwright(store["home"], "runs", "ls", "--json").stdout)
    run_id = next(r["run_id"] for r in listed if r["pipeline"] == "oversized")
    answer = _get(server, "raw", f"s3://{BUCKET}/team/{run_id}/big/blob")
    assert answer.status == 413, answer.text[:200]
    assert answer.json["field"] == "uri" and str(50 * 2**20 + 1) in answer.json["error"]
    # recorded, then removed from the bucket: 404, not a failing store
    boto3 = pytest.importorskip("boto3")
    key = f"team/{run_id}/big/blob"
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).delete_object(
        Bucket=BUCKET, Key=key
    )
    gone = _get(server, "raw", f"s3://{BUCKET}/{key}")
    assert gone.status == 404 and gone.json["field"] == "uri", gone.text


def test_an_s3_store_that_does_not_answer_is_a_quick_502(store: dict[str, Any]) -> None:
    closed = _free_port()
    down = start(store["home"], AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed}")
    try:
        started = time.monotonic()
        answer = _get(down, "raw", store["outputs"]["page"]["uri"])
        assert answer.status == 502, answer.text
        assert answer.headers["content-type"] == "application/json"
        body = answer.json
        assert set(body) == {"error", "field", "fix"} and body["field"] == "uri"
        assert f"127.0.0.1:{closed}" in body["error"]
        assert "Traceback" not in answer.text
        preview = _get(down, "preview", store["outputs"]["rows"]["uri"])
        assert preview.status == 200
        assert preview.json["kind"] == "error" and f"127.0.0.1:{closed}" in preview.json["error"]
        # one bounded connect each, not the client's minutes of retries
        assert time.monotonic() - started < 30
    finally:
        down.stop()


def test_a_js_file_of_a_folder_artifact_is_plain_text(
    store: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGWRIGHT_ARTIFACTS")  # a local store
    home = tmp_path / "local"
    dagwright(home, "run", f"{store['source']}:bundled")
    (run,) = json.loads(dagwright(home, "runs", "ls", "--json").stdout)
    script = home / "artifacts" / run["run_id"] / "bundle" / "site" / "app.js"
    assert script.is_file()
    local = start(home)
    try:
        answer = _get(local, "raw", str(script))
    finally:
        local.stop()
    assert answer.status == 200, answer.text
    assert answer.text == "parent.document.title = 'owned'"
    headers = lower_headers(answer)
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == RAW_CSP
