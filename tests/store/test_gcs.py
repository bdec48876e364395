"""Artifacts on Google Cloud Storage through gcp-storage-emulator's real server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.runtimes import Local, Process


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
