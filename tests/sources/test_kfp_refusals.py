"""What the KFP importer cannot read is refused by name (the construct, the task, a fix), before
anything runs; kfp-kubernetes settings are mapped, reported or refused.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

import copy
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")
import yaml  # noqa: E402
from kfp import dsl  # noqa: E402

from dagwright.errors import ValidationError  # noqa: E402
from dagwright.sources.kfp import KfpImportWarning, import_pipeline, ir_dict  # noqa: E402

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def double(x: int) -> int:
    return 2 * x


@dsl.pipeline(name="small")
def small(x: int = 1, rows: list = [{"a": {"b": 1}}]):  # noqa: B006 - KFP takes list defaults as written
    first = double(x=x)
    with dsl.If(first.output > 1):
        double(x=first.output)
    with dsl.ParallelFor(rows) as row:
        double(x=row.a)


@pytest.fixture
def spec(compiled: Callable[[Any], Path]) -> dict[str, Any]:
    return yaml.safe_load(compiled(small).read_text())


def _refusal(data: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        import_pipeline(data)
    return caught.value


def test_the_unchanged_spec_imports(spec: dict[str, Any]) -> None:
    assert [t.name for t in import_pipeline(copy.deepcopy(spec)).tasks] == [
        "double",
        "double-2",
        "double-3",
    ]


def test_an_unknown_schema_version(spec: dict[str, Any]) -> None:
    spec["schemaVersion"] = "3.0.0"
    error = _refusal(spec)
    assert error.field == "schemaVersion" and "'3.0.0'" in error.problem
    assert "kfp 2" in (error.fix or "")


def test_a_yaml_that_is_neither_kfp_nor_ir(tmp_path: Path) -> None:
    error = _refusal({"kind": "Workflow", "spec": {}})
    assert "not a KFP pipeline" in error.problem and "pipelineInfo" in error.problem
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipelineInfo: [unclosed\n")
    assert "does not parse" in _refusal(broken).problem


def test_an_unknown_executor_kind(spec: dict[str, Any]) -> None:
    spec["deploymentSpec"]["executors"]["exec-double"] = {"resolver": {"outputArtifactQueries": {}}}
    error = _refusal(spec)
    assert error.pipeline == "small" and error.task == "double"
    assert "executor kind 'resolver'" in error.problem
    assert "container component" in (error.fix or "")


def test_a_variable_dagwright_sets_itself_for_a_step(spec: dict[str, Any]) -> None:
    # as task.set_env_variable('DAGWRIGHT_MOUNTS', ...) writes it in the container's env
    box = spec["deploymentSpec"]["executors"]["exec-double"]["container"]
    box["env"] = [{"name": "DAGWRIGHT_MOUNTS", "value": "{}"}]
    error = _refusal(spec)
    assert error.field == "env['DAGWRIGHT_MOUNTS']" and error.task == "double"
    assert "dagwright sets itself" in error.problem and error.fix


def test_a_condition_outside_the_cel_kfp_writes(spec: dict[str, Any]) -> None:
    task = spec["root"]["dag"]["tasks"]["condition-1"]
    task["triggerPolicy"]["condition"] = (
        "size(inputs.parameter_values['pipelinechannel--double-Output']) > 1"
    )
    error = _refusal(spec)
    assert error.block == "condition-1" and error.field == "triggerPolicy.condition"
    assert "size(" in error.problem and "cannot be imported" in error.problem


def test_a_field_selection_beyond_one_key_of_a_loop_item(spec: dict[str, Any]) -> None:
    loop = spec["components"]["comp-for-loop-2"]["dag"]["tasks"]["double-3"]
    loop["inputs"]["parameters"]["x"]["parameterExpressionSelector"] = (
        'parseJson(string_value)["a"]["b"]'
    )
    error = _refusal(spec)
    assert error.task == "double-3" and error.field == "x"
    assert """["a"]["b"]""" in error.problem


def test_a_pipeline_input_list_of_artifacts(spec: dict[str, Any]) -> None:
    # one root artifact is given to a run by its URI (test_kfp_root_artifacts.py); a list of
    # them cannot be one URI
    spec["root"]["inputDefinitions"]["artifacts"] = {
        "data": {
            "artifactType": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"},
            "isArtifactList": True,
        }
    }
    error = _refusal(spec)
    assert error.field == "data" and "dsl.importer" in (error.fix or "")
    assert "list of artifacts" in error.problem


def test_an_unknown_task_field_is_not_dropped(spec: dict[str, Any]) -> None:
    spec["root"]["dag"]["tasks"]["double"]["somethingNew"] = {"x": 1}
    error = _refusal(spec)
    assert error.task == "double" and error.field == "somethingNew"


def _with_platform(spec: dict[str, Any], config: dict[str, Any]) -> str:
    platform = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-double": config
    }}}}}  # fmt: skip
    return yaml.safe_dump_all([spec, platform])


def test_kubernetes_deadline_becomes_the_timeout(spec: dict[str, Any]) -> None:
    ir = import_pipeline(_with_platform(spec, {"activeDeadlineSeconds": "90"}))
    assert ir.component_of("double").timeout == 90.0


def test_the_api_form_holding_spec_and_platform_spec(spec: dict[str, Any]) -> None:
    platform = yaml.safe_load(_with_platform(spec, {"activeDeadlineSeconds": "30"}).split("---")[1])
    ir = import_pipeline({"pipeline_spec": spec, "platform_spec": platform})
    assert ir.component_of("double").timeout == 30.0


def test_kubernetes_env_from_a_secret_named_by_a_pipeline_value_is_refused_by_name(
    spec: dict[str, Any],
) -> None:
    # a Secret named as a constant is imported as a dagwright Secret (test_kfp_pod_options.py);
    # one whose name is a pipeline value is known only when the task runs
    config = {
        "secretAsEnv": [
            {"secretNameParameter": {"componentInputParameter": "secret"},
             "keyToEnv": [{"secretKey": "token", "envVar": "TOKEN"}]}
        ]
    }  # fmt: skip
    error = _refusal(_with_platform(spec, config))
    assert error.task == "double"
    assert error.field == (
        "platforms.kubernetes.deploymentSpec.executors.exec-double.secretAsEnv[0]"
        ".secretNameParameter"
    )
    assert "pipeline value" in error.problem


def test_kubernetes_scheduling_hints_are_reported_not_kept(spec: dict[str, Any]) -> None:
    # (a node selector is kept now, as the pod option node_selector: test_kfp_pod_options.py)
    toleration = {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    config = {"tolerations": [toleration], "imagePullPolicy": "Always"}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        data = ir_dict(_with_platform(spec, config))
    messages = [str(w.message) for w in seen if issubclass(w.category, KfpImportWarning)]
    assert len(messages) == 1  # the one task of that executor
    assert "imagePullPolicy, tolerations" in messages[0] and "'double'" in messages[0]
    assert "NoSchedule" not in repr(data["components"])


def test_a_file_with_a_bad_kfp_pipeline_exits_2_without_a_traceback(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    import subprocess
    import sys

    spec["schemaVersion"] = "1.0"
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "inspect", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "schemaVersion" in done.stderr and "Traceback" not in done.stderr


def test_a_pipeline_taking_a_final_status_is_run_only_as_an_exit_task(
    compiled: Callable[[Any], Path],
) -> None:
    @dsl.pipeline(name="takes-status")
    def takes_status(status: dsl.PipelineTaskFinalStatus):
        double(x=1)

    error = _refusal(compiled(takes_status))
    assert error.field == "status" and "ExitHandler" in error.problem


def test_pipeline_wide_kubernetes_settings_are_refused_by_name(spec: dict[str, Any]) -> None:
    platform = {"platforms": {"kubernetes": {"pipelineConfig": {"workspace": {"size": "1Gi"}}}}}
    error = _refusal(yaml.safe_dump_all([spec, platform]))
    assert error.field == "platforms" and "kubernetes.pipelineConfig" in error.problem


def test_the_forms_schema_2_0_0_wrote(spec: dict[str, Any]) -> None:
    task = spec["root"]["dag"]["tasks"]["double"]
    task["inputs"]["parameters"]["x"] = {"runtimeValue": {"constantValue": {"intValue": "5"}}}
    spec["components"]["comp-double"]["inputDefinitions"]["parameters"]["x"] = {"type": "INT"}
    ir = import_pipeline(spec)
    assert ir.task("double").inputs == {"x": {"constant": 5}}
    assert [(i.name, i.type) for i in ir.component_of("double").inputs] == [("x", "int")]


def test_optional_secret_and_config_map_variables_are_reported_not_kept(
    spec: dict[str, Any],
) -> None:
    # KFP runs a task whose optional Secret or ConfigMap is missing; here there are none. (An
    # optional ConfigMap or Secret volume is kept: Volume.config_map(optional=True) says it.)
    config = {
        "secretAsEnv": [
            {"secretName": "creds", "optional": True,
             "keyToEnv": [{"secretKey": "token", "envVar": "TOKEN"}]}
        ],
        "configMapAsEnv": [
            {"configMapName": "cfg", "optional": True,
             "keyToEnv": [{"configMapKey": "mode", "envVar": "MODE"}]}
        ],
    }  # fmt: skip
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        data = ir_dict(_with_platform(spec, config))
    messages = [str(w.message) for w in seen if issubclass(w.category, KfpImportWarning)]
    assert len(messages) == 1
    assert "configMapAsEnv, secretAsEnv" in messages[0] and "'double'" in messages[0]
    assert "creds" not in repr(data) and "TOKEN" not in repr(data)
    # an entry that is not optional beside them is kept, as the pod option it is
    config["secretAsEnv"].append(
        {"secretName": "other", "keyToEnv": [{"secretKey": "k", "envVar": "OTHER"}]}
    )
    data = ir_dict(_with_platform(spec, config))
    pods = {cid: c.get("pod") for cid, c in data["components"].items()}
    # exec-double is the first task's executor only (kfp gives each task its own)
    assert pods["double"] == {"secrets": [{"name": "other", "key": "k", "env": "OTHER"}]}
    assert [p for p in pods.values() if p] == [pods["double"]]


def _set(*path: str, to: Any) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        part = spec
        for key in path[:-1]:
            part = part[key]
        part[path[-1]] = to

    return change


MALFORMED = {
    "command-null": (
        _set("deploymentSpec", "executors", "exec-double", "container", "command", to=None),
        "deploymentSpec.executors.exec-double.container.command",
    ),
    "inputs-text": (
        _set("root", "dag", "tasks", "double", "inputs", to="oops"),
        "root.dag.tasks.double.inputs",
    ),
    "root-list": (_set("root", to=[1, 2]), "root"),
    "parameter-null": (
        _set("root", "inputDefinitions", "parameters", "x", to=None),
        "root.inputDefinitions.parameters.x",
    ),
    "tasks-null": (_set("root", "dag", "tasks", to=None), "root.dag.tasks"),
    "tasks-empty": (_set("root", "dag", "tasks", to={}), "root.dag.tasks"),
    "cut-short": (None, "FILE"),  # a YAML syntax error: the file ends inside a quoted string
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_kfp_yaml_is_refused_by_its_field_path(
    case: str, compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    change, field = MALFORMED[case]
    text = compiled(small).read_text()
    if change is None:
        # ends inside a quoted string wherever kfp put its first quote (the compiled text
        # varies with the environment kfp compiles in)
        text = text[: text.index("deploymentSpec:")] + 'deploymentSpec:\n  executors: "exec-'
    else:
        data = yaml.safe_load(text)
        change(data)
        text = yaml.safe_dump(data)
    path = tmp_path / "malformed.yaml"
    path.write_text(text)
    error = _refusal(path)
    assert error.field == field
    assert "compile the pipeline again with kfp.compiler" in (error.fix or "")
    assert "IR file" not in error.problem
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cli = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "run", str(path), "--root", "store", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert f"field '{field}'" in cli.stderr and "IR file" not in cli.stderr
