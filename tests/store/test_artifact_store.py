"""Artifacts at fsspec URLs: memory:// in this process, and S3 through moto's real server."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import Dataset, Input, Output, ValidationError, component, pipeline
from dagwright.runtimes import Dask, Horovod, Job, Local, Process, Spark
from dagwright.store import LocalStore


def _pipeline(runtime: Any) -> Any:
    @component(runtime=runtime)
    def write(text: str, out: Output[Dataset]) -> None:
        import os

        os.makedirs(out.path)
        for name in ("a.txt", "b.txt"):
            with open(os.path.join(out.path, name), "w") as f:
                f.write(f"{name}:{text}")

    @component(runtime=runtime, cache=True)
    def read(data: Input[Dataset], copy: Output[Dataset]) -> str:
        import os

        parts = sorted(open(os.path.join(data.path, n)).read() for n in os.listdir(data.path))
        with open(copy.path, "w") as f:
            f.write("|".join(parts))
        return "|".join(parts)

    @pipeline
    def roundtrip(text: str = "hi") -> str:
        return read(data=write(text=text).outputs["out"]).outputs["output"]

    return roundtrip


def test_memory_store_keeps_artifacts_in_this_process(store: Path) -> None:
    import fsspec

    url = f"memory://dagwright-{uuid.uuid4().hex[:8]}"
    result = dagwright.run(_pipeline(Local()), root=store, artifacts=url, echo=False)
    assert result.outputs == {"output": "a.txt:hi|b.txt:hi"}
    copy = result.step("read").outputs["copy"]
    assert copy.uri == f"{url}/{result.run_id}/read/copy"
    fs = fsspec.filesystem("memory")
    assert fs.cat(copy.uri) == b"a.txt:hi|b.txt:hi"
    assert copy.digest == hashlib.sha256(b"a.txt:hi|b.txt:hi").hexdigest()
    assert not [p for p in fs.find(url) if ".partial-" in p]
    again = dagwright.run(_pipeline(Local()), root=store, artifacts=url, echo=False)
    assert again.step("read").cached and again.outputs == result.outputs


@pytest.mark.parametrize(
    "runtime",
    [Process(), Job(), Horovod(np=2), Dask(workers=1)],
    ids=["process", "job", "horovod", "dask-worker"],
)
def test_memory_store_refuses_steps_that_run_in_another_process(store: Path, runtime: Any) -> None:
    with pytest.raises(ValidationError, match="memory:// artifact store is only visible") as info:
        dagwright.run(_pipeline(runtime), root=store, artifacts="memory://x", echo=False)
    assert info.value.field == "runtime" and runtime.kind in str(info.value)
    assert not (store / "runs.db").exists()  # refused before anything was recorded


def test_memory_store_takes_a_dask_step_that_holds_the_client() -> None:
    assert not Dask().runs_apart(["client"]) and Dask().runs_apart([])
    assert not Spark().runs_apart(["spark"]) and not Local().runs_apart([])


@pytest.mark.integration
@pytest.mark.parametrize("runtime", [Local(), Process()], ids=["local", "process"])
def test_s3_store_through_moto(s3_endpoint: str, store: Path, runtime: Any) -> None:
    import boto3
    import s3fs

    bucket = f"arts-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/team"
    result = dagwright.run(_pipeline(runtime), root=store, artifacts=url, echo=False)
    assert result.status == "succeeded", [s.error for s in result.steps]
    assert result.outputs == {"output": "a.txt:hi|b.txt:hi"}
    assert result.run_dir is None and result.artifacts == f"{url}/{result.run_id}"
    fs = s3fs.S3FileSystem()
    keys = sorted(fs.find(f"{bucket}/team"))
    assert keys == [
        f"{bucket}/team/{result.run_id}/read/copy",
        f"{bucket}/team/{result.run_id}/write/out/a.txt",
        f"{bucket}/team/{result.run_id}/write/out/b.txt",
    ]
    written = result.step("write").outputs["out"]
    assert written.uri == f"{url}/{result.run_id}/write/out" and written.digest


def test_artifact_keys_cannot_leave_the_store() -> None:
    store = LocalStore("somewhere")
    # outside: hostile input
    for run_id, task in (("../../etc", "t"), ("run", "../x"), ("run", "a/b"), ("..", "t")):
        with pytest.raises(ValidationError, match="cannot be part of an artifact key"):
            store.artifact_uri(run_id, task, (), "out")
    assert store.artifact_uri("run-1", "task", (0, 2), "out").endswith("/run-1/task/0.2/out")
