"""KFP's task methods and ``dagwright.importer`` on the KFP target: a task's settings compile
as the same ``@component`` options do (per-task fields where KFP has them), the display name
is KFP's ``taskInfo.name``, and an importer is KFP's own importer executor, as the KFP SDK
writes it; kfp.local runs both as ``dagwright run`` does."""

# no `from __future__ import annotations`: kfp.dsl reads its components' hints as classes
from pathlib import Path
from typing import Any

import pytest
from kfp_backend_runs import checked_spec, on_kfp_local

import dagwright
from dagwright import Dataset, Input, Retry, component, pipeline

pytest.importorskip("kfp")
pytestmark = pytest.mark.usefixtures("local_runner")  # kfp.local set up (conftest.py)


def scale(x: int) -> int:
    return x * 2


def _only(spec: dict[str, Any], task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A task of the root DAG and its executor."""
    found = spec["root"]["dag"]["tasks"][task]
    comp = spec["components"][found["componentRef"]["name"]]
    return found, spec["deploymentSpec"]["executors"][comp["executorLabel"]]


def test_task_methods_compile_as_the_same_component_options() -> None:
    plain = component(scale)
    same = component(
        retries=Retry(limit=2, backoff=30.0, factor=3.0),
        cpu="250m",
        cpu_limit="1",
        memory="128Mi",
        memory_limit="1Gi",
        env={"MODE": "fast"},
        cache=True,
    )(scale)

    @pipeline
    def by_task() -> int:
        task = plain(x=1).set_retry(2, "30s", 3.0).set_cpu_request("250m").set_cpu_limit("1")
        task.set_memory_request("128Mi").set_memory_limit("1Gi").set_env_variable("MODE", "fast")
        return task.set_caching_options(True).output

    @pipeline
    def by_component() -> int:
        return same(x=1).output

    ours, theirs = _only(checked_spec(by_task), "scale"), _only(checked_spec(by_component), "scale")
    assert ours[1] == theirs[1]  # the executor: container, env, resources, the carried spec
    for key in ("retryPolicy", "cachingOptions", "taskInfo", "inputs"):
        assert ours[0][key] == theirs[0][key]
    assert ours[0]["retryPolicy"]["maxRetryCount"] == 2
    assert ours[0]["retryPolicy"]["backoffDuration"] == "30s"
    assert ours[0]["cachingOptions"] == {"enableCache": True}


def test_kfp_sdk_writes_the_same_task_fields(tmp_path: Path) -> None:
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11")
    def kfp_scale(x: int) -> int:
        return x * 2

    @dsl.pipeline
    def kfp_pipeline() -> None:
        kfp_scale(x=1).set_retry(2, "30s", 3.0).set_display_name("Scale it")

    path = tmp_path / "kfp.yaml"
    compiler.Compiler().compile(kfp_pipeline, str(path))
    import yaml

    sdk_task = yaml.safe_load(path.read_text())["root"]["dag"]["tasks"]["kfp-scale"]
    plain = component(scale, name="kfp-scale")

    @pipeline
    def ours() -> None:
        plain(x=1).set_retry(2, "30s", 3.0).set_display_name("Scale it")

    task, _ = _only(checked_spec(ours), "kfp-scale")
    assert task["taskInfo"] == sdk_task["taskInfo"] == {"name": "Scale it"}
    for key in ("maxRetryCount", "backoffDuration", "backoffFactor"):
        assert task["retryPolicy"][key] == sdk_task["retryPolicy"][key]
    # the window is longer on purpose: it also covers the waits (compiler/kfp/policy.py)
    assert task["retryPolicy"]["backoffMaxDuration"] != "0s"


def test_the_display_name_leaves_the_task_key_and_the_lineage_name() -> None:
    plain = component(scale)

    @pipeline
    def named() -> int:
        first = plain(x=1).set_display_name("First, shown")
        return plain(x=first.output).output

    spec = checked_spec(named, tracking_uri="http://127.0.0.1:5000")
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["scale"]["taskInfo"] == {"name": "First, shown"}
    assert tasks["scale-2"]["taskInfo"] == {"name": "scale-2"}
    assert tasks["scale-2"]["inputs"]["parameters"]["x"]["taskOutputParameter"] == {
        "outputParameterKey": "Output",
        "producerTask": "scale",
    }
    # the pod records lineage under the task's name, not the name people see
    given = tasks["scale"]["inputs"]["parameters"]["dagwright-task"]["runtimeValue"]
    assert given == {"constant": "scale"}
    assert tasks["scale-2"]["inputs"]["parameters"]["dagwright-task"]["runtimeValue"] == {
        "constant": "{{$.pipeline_task_name}}"
    }


@component
def read(data: Input[Dataset]) -> str:
    with open(data.path, encoding="utf-8") as f:
        return f"{f.read()}|{data.metadata.get('stage')}"


@pipeline
def imported(uri: str) -> str:
    found = dagwright.importer(uri, Dataset, metadata={"stage": "prod"}, reimport=True)
    return read(data=found.output).output


def test_the_importer_is_the_kfp_sdks_importer_executor(tmp_path: Path) -> None:
    import yaml
    from kfp import compiler, dsl

    @dsl.pipeline
    def kfp_imported(uri: str) -> None:
        dsl.importer(
            artifact_uri=uri, artifact_class=dsl.Dataset, metadata={"stage": "prod"}, reimport=True
        )

    path = tmp_path / "kfp.yaml"
    compiler.Compiler().compile(kfp_imported, str(path))
    sdk = yaml.safe_load(path.read_text())
    ours = checked_spec(imported)
    assert (
        ours["deploymentSpec"]["executors"]["exec-importer"]
        == (sdk["deploymentSpec"]["executors"]["exec-importer"])
    )
    for side in ("inputDefinitions", "outputDefinitions"):
        assert ours["components"]["comp-importer"][side] == sdk["components"]["comp-importer"][side]
    sdk_task = sdk["root"]["dag"]["tasks"]["importer"]
    assert ours["root"]["dag"]["tasks"]["importer"]["inputs"] == sdk_task["inputs"]


def test_the_importer_spec_matches_its_golden_file() -> None:
    """As ``test_kfp_golden.py`` keeps the corpus's specs (rewritten the same way)."""
    import os

    from test_kfp_golden import GOLDEN, normalised

    text = normalised(dagwright.compile(imported, target="kfp"))
    golden = GOLDEN / "imported.yaml"
    if os.environ.get("DAGWRIGHT_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@component
def stage() -> str:
    return "prod"


@component
def metadata_of(data: Input[Dataset]) -> str:
    import json

    return json.dumps(data.metadata, sort_keys=True)


@pipeline
def tagged(uri: str, version: int = 3) -> str:
    found = dagwright.importer(uri, metadata={"version": version, "stage": stage().output})
    return metadata_of(data=found.output).output


def test_metadata_from_pipeline_values_compiles_as_the_kfp_sdk_does(tmp_path: Path) -> None:
    import yaml
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11")
    def kfp_stage() -> str:
        return "prod"

    @dsl.pipeline
    def kfp_tagged(uri: str, version: int = 3) -> None:
        dsl.importer(
            artifact_uri=uri,
            artifact_class=dsl.Dataset,
            metadata={"version": version, "stage": kfp_stage().output},
        )

    path = tmp_path / "kfp.yaml"
    compiler.Compiler().compile(kfp_tagged, str(path))
    sdk = yaml.safe_load(path.read_text())
    ours = checked_spec(tagged)
    executor = "exec-importer"
    assert (
        ours["deploymentSpec"]["executors"][executor]
        == (sdk["deploymentSpec"]["executors"][executor])
    )
    assert (
        ours["components"]["comp-importer"]["inputDefinitions"]
        == (sdk["components"]["comp-importer"]["inputDefinitions"])
    )
    given = ours["root"]["dag"]["tasks"]["importer"]["inputs"]["parameters"]
    assert given["metadata"] == {"componentInputParameter": "version"}
    assert given["metadata-2"]["taskOutputParameter"]["producerTask"] == "stage"


def test_kfp_local_fills_the_metadata_as_dagwright_run_does(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("x", encoding="utf-8")
    theirs = on_kfp_local(tagged, tmp_path / "kfp", uri=str(data))
    ours = dagwright.run(tagged, {"uri": str(data)}, echo=False, root=tmp_path / "store")
    assert dict(theirs) == ours.outputs == {"output": '{"stage": "prod", "version": "3"}'}


def test_an_importer_with_a_constant_uri_passes_it_as_the_task_input() -> None:
    @pipeline
    def fixed() -> str:
        return read(data=dagwright.importer("gs://bucket/rows.csv").output).output

    task, executor = _only(checked_spec(fixed), "importer")
    assert task["inputs"]["parameters"]["uri"] == {
        "runtimeValue": {"constant": "gs://bucket/rows.csv"}
    }
    assert executor["importer"]["artifactUri"] == {"runtimeParameter": "uri"}
    assert "cachingOptions" not in task and "reimport" not in executor["importer"]


def test_an_importer_records_no_lineage_inputs() -> None:
    spec = checked_spec(imported, tracking_uri="http://127.0.0.1:5000")
    assert set(spec["components"]["comp-importer"]["inputDefinitions"]["parameters"]) == {"uri"}
    assert set(spec["root"]["dag"]["tasks"]["importer"]["inputs"]["parameters"]) == {"uri"}


def test_kfp_local_runs_the_compiled_importer_as_dagwright_run_does(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    theirs = on_kfp_local(imported, tmp_path / "kfp", uri=str(data))
    ours = dagwright.run(imported, {"uri": str(data)}, echo=False, root=tmp_path / "store")
    assert dict(theirs) == ours.outputs == {"output": "a,b\n1,2\n|prod"}
