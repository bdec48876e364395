"""A remote store that does not answer (a port on 127.0.0.1 nothing listens on) fails the step
that reads from it within seconds, naming the URI and the cause, instead of s3fs's and gcsfs's
minutes of retries; and a cached entry whose artifact lives there is not reused (the step runs
again) rather than raising out of ``dagwright.run``. Each run is a real subprocess, bounded by
a timeout far above the few seconds expected, so a hang fails the test instead of stalling it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

READS = """
import sys
import dagwright
from dagwright import Dataset, Input, component, pipeline

@component
def size(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.read())

@pipeline
def reads(uri: str) -> int:
    return size(data=dagwright.importer(uri).output).output

r = dagwright.run(reads, uri=sys.argv[1], root=sys.argv[2], echo=False)
print("RESULT", r.status, r.step("size").error)
"""

IMPORTS_ONLY = """
import sys
from kfp import compiler, dsl
from kfp.dsl import Dataset
import dagwright

@dsl.pipeline
def imports_only(uri: str):
    dsl.importer(artifact_uri=uri, artifact_class=Dataset)

compiler.Compiler().compile(imports_only, sys.argv[2] + ".yaml")
for _ in range(2):
    r = dagwright.run(sys.argv[2] + ".yaml", uri=sys.argv[1], root=sys.argv[2], echo=False)
    print("RESULT", r.status, r.step("importer").cached)
"""

BOUND = 120  # seconds; the store is refused at once, so a run takes a few seconds


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(store: str, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "FSSPEC_")) and not k.lower().endswith("_proxy")
    }
    env.pop("STORAGE_EMULATOR_HOST", None)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    endpoint = f"http://127.0.0.1:{port}"
    if store == "s3":
        # the endpoint as s3fs's client_kwargs, through fsspec's configuration
        env["FSSPEC_S3"] = json.dumps(
            {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": endpoint}}
        )
    else:
        env.update(
            STORAGE_EMULATOR_HOST=endpoint,
            FSSPEC_GCS_TOKEN="anon",
            FSSPEC_GCS_PROJECT="test",
            GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false",
        )
    return env


def _run(script: str, tmp_path: Path, store: str, port: int) -> list[str]:
    path = tmp_path / "script.py"
    path.write_text(script)
    uri = f"{store}://bucket/data.csv"
    done = subprocess.run(
        [sys.executable, str(path), uri, str(tmp_path / "store")],
        env=_environment(store, port),
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]


@pytest.mark.parametrize("store", ["s3", "gs"])
def test_an_input_on_an_unreachable_store_fails_the_step_at_once(
    tmp_path: Path, store: str
) -> None:
    pytest.importorskip("s3fs" if store == "s3" else "gcsfs")
    port = _closed_port()
    (line,) = _run(READS, tmp_path, store, port)
    assert line.startswith("RESULT failed StoreUnreachable: "), line
    assert f"{store}://bucket/data.csv" in line
    assert f"127.0.0.1:{port}" in line
    assert "refused" in line.lower()


@pytest.mark.parametrize("store", ["s3", "gs"])
def test_a_cached_artifact_on_an_unreachable_store_is_not_reused(
    tmp_path: Path, store: str
) -> None:
    pytest.importorskip("kfp.dsl")
    pytest.importorskip("s3fs" if store == "s3" else "gcsfs")
    # a KFP importer is cached by default and needs no network to run: the second run finds
    # the first one's entry, cannot check its artifact, and runs the importer again
    lines = _run(IMPORTS_ONLY, tmp_path, store, _closed_port())
    assert lines == ["RESULT succeeded False", "RESULT succeeded False"]


def test_a_store_behind_a_proxy_is_left_to_its_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where only a proxy reaches the network, a direct connect proves nothing: the check
    stands aside, and the client (which honours HTTPS_PROXY) decides."""
    pytest.importorskip("s3fs")
    from fsspec.core import url_to_fs

    from dagwright.errors import StoreUnreachable
    from dagwright.store import remote

    port = _closed_port()
    fs, _ = url_to_fs("s3://bucket/x", client_kwargs={"endpoint_url": f"http://127.0.0.1:{port}"})
    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{port}"):
        remote.reachable(fs, "s3://bucket/x")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    remote.reachable(fs, "s3://bucket/x")  # no error: the proxy is the client's business
