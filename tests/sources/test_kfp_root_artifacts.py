"""A KFP pipeline that takes artifacts as its own inputs (``def p(data: Input[Dataset])``): each
is given to a run as a path or a URI, imported by a synthetic importer task (dagwright's
built-in importer) whose ``uri`` is a ``str`` parameter of the input's name."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")
import yaml  # noqa: E402
from kfp import dsl  # noqa: E402
from kfp.dsl import Dataset, Input, Model  # noqa: E402

import dagwright  # noqa: E402
from dagwright.errors import ValidationError  # noqa: E402
from dagwright.loader import load_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@dsl.component
def count_lines(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.read().splitlines())


@dsl.component
def describe(data: Input[Dataset], extra: str) -> str:
    return f"{type(data).__name__}:{extra}:{sorted(data.metadata)}"


@dsl.pipeline
def reads_a_dataset(data: Input[Dataset], extra: str = "x") -> int:
    describe(data=data, extra=extra)
    return count_lines(data=data).output


@dsl.component
def model_size(model: Input[Model]) -> str:
    with open(model.path) as f:
        return f"{type(model).__name__}:{len(f.read())}"


@dsl.pipeline
def scores(model: Input[Model]) -> str:
    return model_size(model=model).output


@dsl.pipeline
def passes_a_model_inward(model: Input[Model]) -> str:
    return scores(model=model).output


@dsl.component
def count_all(items: Input[list[Dataset]]) -> int:
    return len(items)


@dsl.pipeline
def takes_a_list(items: Input[list[Dataset]]) -> int:
    return count_all(items=items).output


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env["DAGWRIGHT_TRACKING"] = "off"
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_a_root_dataset_becomes_a_str_parameter_and_one_importer(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(reads_a_dataset)
    params = {p["name"]: p for p in data["params"]}
    assert params["data"] == {"name": "data", "type": "str"}
    importers = [t for t in data["tasks"] if "importer" in data["components"][t["component"]]]
    assert len(importers) == 1
    (task,) = importers
    assert task["inputs"] == {"uri": {"param": "data"}}
    component = data["components"][task["component"]]
    assert component["importer"] == {"type": "Dataset", "metadata": {}, "reimport": False}
    readers = {t["name"]: t["inputs"]["data"] for t in data["tasks"] if "data" in t["inputs"]}
    # every task that read the root artifact reads the importer's output
    assert readers == {
        "count-lines": {"task": task["name"], "output": "artifact"},
        "describe": {"task": task["name"], "output": "artifact"},
    }


def test_a_root_dataset_given_as_a_local_file_runs(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    source = tmp_path / "rows.csv"
    source.write_text("a\nb\nc\n")
    result = dagwright.run(
        str(compiled(reads_a_dataset)), data=str(source), root=str(tmp_path / "store")
    )
    assert result.status == "succeeded"
    assert result.outputs == {"Output": 3}


def test_a_missing_root_artifact_is_the_usual_missing_parameter(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.run(str(compiled(reads_a_dataset)), root=str(tmp_path / "store"))
    assert caught.value.field == "data"
    assert "missing parameter 'data'" in caught.value.problem


def test_a_root_artifact_at_no_readable_uri_is_refused_before_the_run(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.run(
            str(compiled(reads_a_dataset)),
            data="hdfs://cluster/rows.csv",
            root=str(tmp_path / "store"),
        )
    assert "hdfs://" in caught.value.problem
    assert not (tmp_path / "store").exists()  # refused before anything is stored


def test_a_model_passed_into_a_nested_pipeline_runs_with_its_class(
    tmp_path: Path, compiled: Callable[[Any], Path], imported: Callable[[Any], dict[str, Any]]
) -> None:
    data = imported(passes_a_model_inward)
    (importer,) = [t for t in data["tasks"] if "importer" in data["components"][t["component"]]]
    assert data["components"][importer["component"]]["importer"]["type"] == "Model"
    inner = next(t for t in data["tasks"] if t["name"].endswith("model-size"))
    assert inner["inputs"]["model"] == {"task": importer["name"], "output": "artifact"}
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"12345")
    result = dagwright.run(
        str(compiled(passes_a_model_inward)),
        model=str(weights),
        root=str(tmp_path / "store"),
    )
    assert result.status == "succeeded"
    # the KFP step got a Model (its class from the KFP definition), reading the file given
    assert result.outputs == {"Output": "Model:5"}


def test_a_list_of_root_artifacts_is_refused_by_name(compiled: Callable[[Any], Path]) -> None:
    with pytest.raises(ValidationError) as caught:
        load_pipeline(str(compiled(takes_a_list)))
    assert caught.value.field == "items"
    assert "list of artifacts" in caught.value.problem


def test_the_cli_gives_a_root_artifact_with_p(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    path = compiled(reads_a_dataset)
    (tmp_path / "rows.csv").write_text("1\n2\n")
    done = _cli("run", str(path), "-p", "data=rows.csv", "--root", "store", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[0]
    shown = _cli("runs", "show", run_id, "--root", "store", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["outputs"] == {"Output": 2}
    # a relative path is made absolute, so the record says which file was read
    importer = next(s for s in record["steps"] if s["task"] == "import-data")
    assert importer["status"] == "succeeded"
    artifact = importer["outputs"]["artifact"]
    assert artifact["uri"] == str(tmp_path / "rows.csv")
    assert artifact["type"] == "Dataset" and artifact["metadata"] == {}
    done = _cli("run", str(path), "--root", "store", "-q", cwd=tmp_path)
    assert done.returncode == 2
    assert "missing parameter 'data'" in done.stderr
    assert "Traceback" not in done.stderr


def test_compiling_to_argo_refuses_the_importer_by_name(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    path = compiled(reads_a_dataset)
    wheel = "dagwright @ https://example.invalid/dagwright-0.1.0-py3-none-any.whl"
    done = _cli(
        "compile", str(path), "--target", "argo", "--dagwright", wheel, "-o", "wf.yaml",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "importer 'import-data'" in done.stderr and '{"param": "data"}' in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "wf.yaml").exists()
    # the IR target keeps it: the parameter and the importer task
    done = _cli("compile", str(path), "--target", "ir", "-o", "p.ir.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load((tmp_path / "p.ir.yaml").read_text())
    assert {"name": "data", "type": "str"} in written["params"]


@dsl.component
def import_data(data: Input[Dataset]) -> int:
    return len(open(data.path).read())


@dsl.pipeline
def has_a_task_named_like_the_importer(data: Input[Dataset]) -> int:
    return import_data(data=data).output


def test_the_importer_takes_another_name_beside_a_task_of_its_name(
    tmp_path: Path, compiled: Callable[[Any], Path], imported: Callable[[Any], dict[str, Any]]
) -> None:
    data = imported(has_a_task_named_like_the_importer)
    names = [t["name"] for t in data["tasks"]]
    assert sorted(names) == ["import-data", "import-data-2"]
    reader = next(t for t in data["tasks"] if t["name"] == "import-data")
    assert reader["inputs"]["data"] == {"task": "import-data-2", "output": "artifact"}
    (tmp_path / "four.txt").write_text("four")
    result = dagwright.run(
        str(compiled(has_a_task_named_like_the_importer)),
        data=str(tmp_path / "four.txt"),
        root=str(tmp_path / "store"),
    )
    assert result.outputs == {"Output": 4}


def test_compiling_to_kfp_gives_a_str_parameter_read_by_kfps_importer(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    # what KFP's backend refuses at the root (an input artifact) it runs this way
    path = compiled(reads_a_dataset)
    wheel = "dagwright @ https://example.invalid/dagwright-0.1.0-py3-none-any.whl"
    done = _cli(
        "compile", str(path), "--target", "kfp", "--dagwright", wheel, "-o", "p.kfp.yaml",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((tmp_path / "p.kfp.yaml").read_text())
    assert spec["root"]["inputDefinitions"]["parameters"]["data"] == {"parameterType": "STRING"}
    assert "artifacts" not in spec["root"]["inputDefinitions"]
    task = spec["root"]["dag"]["tasks"]["import-data"]
    assert task["inputs"]["parameters"]["uri"] == {"componentInputParameter": "data"}
    executor = next(
        e["importer"] for e in spec["deploymentSpec"]["executors"].values() if "importer" in e
    )
    assert executor["artifactUri"] == {"runtimeParameter": "uri"}
    assert executor["typeSchema"]["schemaTitle"] == "system.Dataset"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, the clients pointed at it through the environment."""
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    import s3fs

    try:
        yield endpoint
    finally:
        server.stop()
        # s3fs keeps one client per constructor arguments, the endpoint read from the
        # environment when it was made: a later moto server's tests would reach this dead one
        s3fs.S3FileSystem.clear_instance_cache()


def test_a_root_dataset_given_as_an_s3_uri_is_read_from_s3(
    tmp_path: Path, compiled: Callable[[Any], Path], s3_endpoint: str
) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="inputs")
    client.put_object(Bucket="inputs", Key="rows.csv", Body=b"a\nb\nc\nd\n")
    result = dagwright.run(
        str(compiled(reads_a_dataset)), data="s3://inputs/rows.csv", root=str(tmp_path / "store")
    )
    assert result.status == "succeeded", [s.error for s in result.steps]
    assert result.outputs == {"Output": 4}


@dsl.component
def lines_times(data: Input[Dataset], times: int) -> int:
    with open(data.path) as f:
        return len(f.read().splitlines()) * times


@dsl.pipeline
def reads_it_in_a_loop_and_an_if(data: Input[Dataset], go: bool = True) -> list[int]:
    with dsl.If(go == True):  # noqa: E712 (KFP's condition syntax)
        count_lines(data=data)
    with dsl.ParallelFor([1, 2]) as times:
        counted = lines_times(data=data, times=times)
    return dsl.Collected(counted.output)


def test_tasks_in_a_loop_and_an_if_read_the_one_import(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    (tmp_path / "rows.csv").write_text("a\nb\nc\n")
    result = dagwright.run(
        str(compiled(reads_it_in_a_loop_and_an_if)),
        data=str(tmp_path / "rows.csv"),
        root=str(tmp_path / "store"),
    )
    assert result.status == "succeeded", [s.error for s in result.steps]
    assert result.outputs == {"Output": [3, 6]}
    ran = [s.task for s in result.steps if s.status == "succeeded"]
    assert ran.count("import-data") == 1 and "count-lines" in ran


@dsl.component
def where_is(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f"{data.uri}|{len(f.read().splitlines())}"


@dsl.container_component
def where_is_in_a_container(data: Input[Dataset], said: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="python:3.11",
        command=["sh", "-c", 'printf "%s|%s" "$0" "$(wc -l < "$1")" > "$2"'],
        args=[data.uri, data.path, said],
    )


@dsl.pipeline
def uri_and_path(data: Input[Dataset]) -> str:
    where_is(data=data).set_display_name("in-process")
    where_is(data=data).set_env_variable("APART", "1").set_display_name("apart")
    return where_is_in_a_container(data=data).outputs["said"]


def test_a_remote_input_keeps_its_uri_and_reads_from_its_local_copy(
    tmp_path: Path, compiled: Callable[[Any], Path], s3_endpoint: str
) -> None:
    """As on KFP's backend (its launcher keeps the URI and mounts the file), a component
    reading ``.uri`` gets ``s3://...`` and ``.path`` is a local copy: in this process, in a
    process of its own (a component setting env) and in a container command on the host.
    Before, the URI was the local copy's path, so a component handing ``.uri`` to a cloud
    service (or printing it) saw a temporary file."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="inputs")
    client.put_object(Bucket="inputs", Key="rows.csv", Body=b"a\nb\nc\n")
    result = dagwright.run(
        str(compiled(uri_and_path)),
        data="s3://inputs/rows.csv",
        root=str(tmp_path / "store"),
        host_containers=True,
    )
    assert result.status == "succeeded", [s.error for s in result.steps]
    assert result.step("where-is").outputs["Output"] == "s3://inputs/rows.csv|3"
    assert result.step("where-is-2").outputs["Output"] == "s3://inputs/rows.csv|3"
    assert result.outputs == {"Output": "s3://inputs/rows.csv|3"}
