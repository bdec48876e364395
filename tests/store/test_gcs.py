"""Artifacts on Google Cloud Storage through gcp-storage-emulator's real server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.runtimes import Local, Process

_ENV = {
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # else gcsfs first probes over gRPC for 60 s
    "FSSPEC_GCS_TOKEN": "anon",
    "FSSPEC_GCS_PROJECT": "test",
}


@pytest.fixture(scope="module")
def gcs_bucket() -> Iterator[str]:
    emulator = pytest.importorskip("gcp_storage_emulator.server")
    pytest.importorskip("gcsfs")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket="arts")
    server.start()
    env = {**_ENV, "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield "arts"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@component
def write(text: str, out: Output[Dataset]) -> None:
    with open(out.path, "w") as f:
        f.write(text * 2)


@component
def read(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read()


@pytest.mark.integration
@pytest.mark.parametrize("runtime", [Local(), Process()], ids=["local", "process"])
def test_gcs_store_through_the_emulator(gcs_bucket: str, store: Path, runtime: Any) -> None:
    import gcsfs

    writer, reader = (component(runtime=runtime)(c.func) for c in (write, read))

    @pipeline
    def p(text: str = "ab") -> str:
        return reader(data=writer(text=text).outputs["out"]).output

    url = f"gs://{gcs_bucket}/{type(runtime).__name__.lower()}"
    result = dagwright.run(p, root=store, artifacts=url, echo=False)
    assert result.status == "succeeded", [s.error for s in result.steps]
    assert result.outputs == {"output": "abab"}
    key = f"{gcs_bucket}/{type(runtime).__name__.lower()}/{result.run_id}/write/out"
    assert gcsfs.GCSFileSystem().cat(key) == b"abab"
