"""What the KFP target writes, construct by construct.

No KFP backend runs here: each spec is read back with the KFP SDK's own loader
(``load_component_from_file`` and the PipelineSpec protobuf parser), and test_kfp_local.py runs
the same specs with kfp.local.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import pytest
import yaml
from click.testing import CliRunner
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright import ParallelFor, component, pipeline
from dagwright.cli import cli
from dagwright.compiler import kfp as kfp_target
from dagwright.errors import ValidationError

pytest.importorskip("kfp")
ROOT = Path(__file__).resolve().parents[2]


def spec_of(p: Any, **options: Any) -> dict[str, Any]:
    text = dagwright.compile(p, target="kfp", **options)
    assert_runs_as_compiled(text)  # as KFP's backend runs it, not only kfp.local
    return yaml.safe_load(text)


def executor(spec: dict[str, Any], component_name: str) -> dict[str, Any]:
    label = spec["components"][component_name]["executorLabel"]
    return spec["deploymentSpec"]["executors"][label]["container"]


@pytest.mark.parametrize("name", ["typed_params", "branches", "loop_over_output", "nested"])
def test_every_spec_parses_as_the_official_pipeline_spec_message(name: str) -> None:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    data = spec_of(getattr(corpus, name))
    message = json_format.ParseDict(data, pipeline_spec_pb2.PipelineSpec())  # unknown keys raise
    assert message.schema_version == "2.1.0"
    assert json_format.MessageToDict(message) == data


def test_every_corpus_spec_loads_with_the_kfp_sdk(tmp_path: Path) -> None:
    from kfp import components

    for name in ("typed_params", "artifact_types", "exit_handler", "options", "value_files"):
        path = tmp_path / f"{name}.yaml"
        dagwright.compile(getattr(corpus, name), target="kfp", path=path)
        assert_runs_as_compiled(path.read_text(encoding="utf-8"))
        loaded = components.load_component_from_file(str(path))
        assert loaded.name == name.replace("_", "-")


def test_typed_parameters_and_pipeline_defaults() -> None:
    spec = spec_of(corpus.typed_params)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {k: v["parameterType"] for k, v in params.items()} == {
        "word": "STRING",
        "count": "NUMBER_INTEGER",
        "ratio": "NUMBER_DOUBLE",
        "flag": "BOOLEAN",
        "tags": "LIST",
        "limits": "STRUCT",
    }
    assert params["tags"]["defaultValue"] == ["b", "a"]
    assert params["limits"] == {
        "defaultValue": {"a": 1.0, "b": 2.0},
        "isOptional": True,
        "parameterType": "STRUCT",
    }
    inputs = spec["components"]["comp-describe"]["inputDefinitions"]["parameters"]
    assert inputs["maybe"] == {"isOptional": True, "parameterType": "NUMBER_INTEGER"}


def test_artifacts_use_kfp_system_types() -> None:
    spec = spec_of(corpus.artifact_types)
    outputs = spec["components"]["comp-make-all"]["outputDefinitions"]["artifacts"]
    assert {k: v["artifactType"]["schemaTitle"] for k, v in outputs.items()} == {
        "data": "system.Dataset",
        "model": "system.Model",
        "metrics": "system.Metrics",
        "page": "system.HTML",
        "notes": "system.Markdown",
        "blob": "system.Artifact",
    }
    read = spec["root"]["dag"]["tasks"]["read-all"]["inputs"]["artifacts"]["metrics"]
    assert read == {
        "taskOutputArtifact": {"outputArtifactKey": "metrics", "producerTask": "make-all"}
    }
    frame = spec_of(corpus.value_files)["components"]["comp-frame"]["outputDefinitions"]
    assert frame["artifacts"]["Output"]["artifactType"]["schemaTitle"] == "system.Dataset"


def test_if_elif_else_become_trigger_conditions_over_block_inputs() -> None:
    tasks = spec_of(corpus.branches)["root"]["dag"]["tasks"]
    score = "int(inputs.parameter_values['pipelinechannel--score-Output'])"
    assert tasks["condition-1"]["triggerPolicy"]["condition"] == f"{score} > 25"
    assert tasks["condition-2"]["triggerPolicy"]["condition"] == f"!({score} > 25) && {score} == 20"
    assert tasks["condition-3"]["triggerPolicy"]["condition"] == (
        f"!({score} > 25 || {score} == 20)"
    )
    n = "int(inputs.parameter_values['pipelinechannel--n'])"
    assert tasks["condition-4"]["triggerPolicy"]["condition"] == f"{score} >= 10 && {n} != 5"
    assert tasks["condition-1"]["inputs"]["parameters"]["pipelinechannel--score-Output"] == {
        "taskOutputParameter": {"outputParameterKey": "Output", "producerTask": "score"}
    }


def test_int_compared_with_float_is_promoted_and_strings_are_quoted() -> None:
    from dagwright.compiler.kfp import cel

    def resolve(value: dict[str, Any], want: str) -> str:
        return "x"

    def render(expr: dict[str, Any]) -> str:
        return cel.render(expr, resolve, lambda value: "int")

    ref = {"param": "x"}
    assert render({"op": "gt", "left": ref, "right": {"constant": 0.5}}) == (
        "double(int(inputs.parameter_values['x'])) > 0.5"
    )
    assert render({"op": "eq", "left": {"constant": 'it\'s "a"\n'}, "right": ref}) == (
        '"it\'s \\"a\\"\\n" == int(inputs.parameter_values[\'x\'])'
    )
    assert render({"op": "ne", "left": ref, "right": {"constant": None}}) == (
        "inputs.parameter_values['x'] != null"
    )
    assert render({"constant": True}) == "true"
    with pytest.raises(ValidationError, match="CEL cannot write"):
        render({"op": "lt", "left": ref, "right": {"constant": float("inf")}})


def test_parallel_for_becomes_an_iterator_with_its_parallelism() -> None:
    spec = spec_of(corpus.loop_over_param)
    # over a parameter, the loop runs inside the If branch of its items not being empty
    loop = spec["components"]["comp-loop-1-items"]["dag"]["tasks"]["loop-1"]
    assert loop["parameterIterator"] == {
        "itemInput": "pipelinechannel--loop-1-loop-item",
        "items": {"inputParameter": "pipelinechannel--xs"},
    }
    assert loop["iteratorPolicy"] == {"parallelismLimit": 2}
    inner = spec["components"]["comp-loop-1"]
    assert inner["dag"]["tasks"]["square"]["inputs"]["parameters"]["x"] == {
        "componentInputParameter": "pipelinechannel--loop-1-loop-item"
    }

    @component
    def show(x: int) -> None:
        print(x)

    @pipeline
    def literal() -> None:
        with ParallelFor([{"a": 1}, {"a": 2}]) as item:
            show(x=item["a"])

    spec = spec_of(literal)
    assert spec["root"]["dag"]["tasks"]["loop-1"]["parameterIterator"]["items"] == {
        "raw": '[{"a": 1}, {"a": 2}]'
    }
    x = spec["components"]["comp-loop-1"]["dag"]["tasks"]["show"]["inputs"]["parameters"]["x"]
    assert x["parameterExpressionSelector"] == 'parseJson(string_value)["a"]'


def test_collected_values_leave_the_loop_as_lists() -> None:
    spec = spec_of(corpus.loop_over_param)
    loop = spec["components"]["comp-loop-1"]
    assert loop["outputDefinitions"]["parameters"]["pipelinechannel--square-Output"] == {
        "parameterType": "LIST"
    }
    assert loop["dag"]["outputs"]["parameters"]["pipelinechannel--square-Output"] == {
        "valueFromParameter": {"outputParameterKey": "Output", "producerSubtask": "square"}
    }
    total = spec["root"]["dag"]["tasks"]["total"]
    assert total["inputs"]["parameters"]["values"]["taskOutputParameter"] == {
        "outputParameterKey": "pipelinechannel--square-Output",
        "producerTask": "loop-1-collected",  # the loop's list, or [] (compiler/kfp/guards.py)
    }
    assert total["dependentTasks"] == ["loop-1-collected"]
    parts = spec_of(corpus.loop_over_output)["components"]["comp-loop-1"]
    part = parts["outputDefinitions"]["artifacts"]["pipelinechannel--write-part--part"]
    assert part["isArtifactList"] is True
    assert parts["dag"]["outputs"]["artifacts"]["pipelinechannel--write-part--part"] == {
        "artifactSelectors": [{"outputArtifactKey": "part", "producerSubtask": "write-part"}]
    }


def test_exit_handler_task_runs_after_the_block_whatever_happened() -> None:
    tasks = spec_of(corpus.exit_handler)["root"]["dag"]["tasks"]
    assert tasks["cleanup"]["dependentTasks"] == ["exit-handler-1"]
    assert tasks["cleanup"]["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert "triggerPolicy" not in tasks["exit-handler-1"]


def test_after_becomes_dependent_tasks() -> None:
    tasks = spec_of(corpus.ordering)["root"]["dag"]["tasks"]
    assert tasks["second"]["dependentTasks"] == ["first"]
    assert tasks["count-marks"]["dependentTasks"] == ["second"]
    assert "dependentTasks" not in tasks["first"]


def test_retries_and_caching_are_task_policies() -> None:
    task = spec_of(corpus.retried)["root"]["dag"]["tasks"]["flaky"]
    assert task["retryPolicy"] == {
        "backoffDuration": "0s",
        "backoffFactor": 2.0,
        "backoffMaxDuration": "3600s",  # left out, KFP's backend would retry within 0s
        "maxRetryCount": 2,
    }
    assert "cachingOptions" not in task  # off, as for the SDK's {}

    @component(retries=dagwright.Retry(limit=3, backoff=1.5, factor=3, max_backoff=60))
    def slow() -> None:
        print("x")

    @pipeline
    def p() -> None:
        slow()

    assert spec_of(p)["root"]["dag"]["tasks"]["slow"]["retryPolicy"] == {
        "backoffDuration": "2s",  # whole seconds, as the backend passes them
        "backoffFactor": 3.0,
        "backoffMaxDuration": "3626s",  # an hour plus the waits 2 + 6 + 18
        "maxRetryCount": 3,
    }
    options_task = spec_of(corpus.options)["root"]["dag"]["tasks"]["greet-env"]
    assert options_task["cachingOptions"] == {"enableCache": True}


def test_resources_env_image_and_packages_reach_the_container() -> None:
    box = executor(spec_of(corpus.options), "comp-greet-env")
    assert box["image"] == "python:3.11-slim"
    assert box["env"] == [{"name": "GREETING", "value": "hello"}]
    assert box["resources"] == {
        "cpuLimit": 1.0,
        "cpuRequest": 0.1,
        "memoryLimit": 0.268435456,
        "memoryRequest": 0.067108864,
        "resourceCpuLimit": "1",
        "resourceCpuRequest": "100m",
        "resourceMemoryLimit": "256Mi",
        "resourceMemoryRequest": "64Mi",
    }
    install = box["command"][2]
    check, pip = install.split("||")
    assert '"pyyaml"' in check and " pyyaml " in pip
    assert "dagwright==" in install and "kfp==" in install

    @component(gpu=2)
    def train() -> None:
        print("x")

    @pipeline
    def p() -> None:
        train()

    accelerator = executor(spec_of(p), "comp-train")["resources"]["accelerator"]
    assert accelerator == {
        "count": "2",
        "resourceCount": "2",
        "resourceType": "nvidia.com/gpu",
        "type": "nvidia.com/gpu",
    }


def test_nested_pipeline_is_a_dag_component_with_outputs() -> None:
    spec = spec_of(corpus.nested)
    group = spec["root"]["dag"]["tasks"]["inner-stats"]
    inner = spec["components"][group["componentRef"]["name"]]
    # named as the KFP SDK names a pipeline's outputs: no pipelinechannel-- prefix
    assert inner["dag"]["outputs"]["parameters"] == {
        "bounds-low": {
            "valueFromParameter": {
                "outputParameterKey": "low",
                "producerSubtask": "inner-stats-bounds",
            }
        },
        "bounds-high": {
            "valueFromParameter": {
                "outputParameterKey": "high",
                "producerSubtask": "inner-stats-bounds",
            }
        },
    }
    spread = spec["root"]["dag"]["tasks"]["spread"]
    assert spread["inputs"]["parameters"]["low"]["taskOutputParameter"] == {
        "outputParameterKey": "bounds-low",
        "producerTask": "inner-stats",
    }
    assert spec["root"]["outputDefinitions"]["parameters"]["output"] == {
        "parameterType": "NUMBER_INTEGER"
    }


def test_tasks_of_one_component_share_one_component_and_one_executor() -> None:
    @component
    def inc(x: int) -> int:
        return x + 1

    @pipeline
    def chain(n: int = 0) -> int:
        value = inc(x=n)
        for _ in range(49):
            value = inc(x=value.output)
        return value.output

    spec = spec_of(chain)
    assert len(spec["root"]["dag"]["tasks"]) == 50
    assert list(spec["components"]) == ["comp-inc"]
    assert list(spec["deploymentSpec"]["executors"]) == ["exec-inc"]


def test_the_step_module_carries_the_component_and_its_digest() -> None:
    box = executor(spec_of(corpus.retried), "comp-flaky")
    module = box["command"][-1]
    assert module.startswith("from dagwright.compiler.kfp.entry import entry\n")
    assert corpus.flaky.spec.digest in module
    assert "def flaky(journal: str) -> int:" in module  # inline: the source travels
    assert box["args"] == ["--executor_input", "{{$}}", "--function_to_execute", "flaky"]


def test_image_delivery_carries_an_import_reference_instead_of_source() -> None:
    spec = spec_of(corpus.retried, code="image", image="registry.example/project:1")
    box = executor(spec, "comp-flaky")
    assert box["image"] == "registry.example/project:1"
    assert box["command"][:2] == ["sh", "-ec"]  # nothing to install: the image has it
    assert "def flaky" not in box["command"][-1]
    assert '"module":"kfp_corpus"' in box["command"][-1]


def test_image_delivery_needs_an_image_and_a_module() -> None:
    with pytest.raises(ValidationError, match="needs one") as err:
        spec_of(corpus.retried, code="image")
    assert err.value.field == "image"
    ir = dagwright.api.to_ir(corpus.retried)
    for spec in ir.components.values():
        spec.module = None
    with pytest.raises(ValidationError, match="script") as err:
        dagwright.compile(ir, target="kfp", code="image", image="x")
    assert err.value.field == "module"


def test_unknown_option_and_delivery_mode_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        spec_of(corpus.retried, colour="blue")
    assert err.value.field == "colour"
    with pytest.raises(ValidationError) as err:
        spec_of(corpus.retried, code="zip")
    assert err.value.field == "code"


def test_index_url_and_dagwright_requirement_reach_the_install_line() -> None:
    box = executor(
        spec_of(
            corpus.retried,
            index_url="https://pypi.example/simple",
            dagwright="https://files.example/dagwright-0.1.0-py3-none-any.whl",
        ),
        "comp-flaky",
    )
    install = box["command"][2]
    assert "--index-url https://pypi.example/simple" in install
    assert "https://files.example/dagwright-0.1.0-py3-none-any.whl" in install
    assert '["dagwright", "kfp"]' in install  # the check skips pip when both are present


def test_large_spec_warns_and_fails_under_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kfp_target, "SIZE_LIMIT", 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec_of(corpus.retried)
    assert any(issubclass(w.category, kfp_target.SpecSizeWarning) for w in caught)
    with pytest.raises(ValidationError, match="1.5 MiB") as err:
        spec_of(corpus.retried, strict=True)
    assert err.value.field == "size"


def test_cli_compiles_a_file_and_a_saved_ir_to_the_same_spec(tmp_path: Path) -> None:
    runner = CliRunner()
    example = str(ROOT / "examples" / "iris_training.py")
    direct, ir_file, via_ir = tmp_path / "a.yaml", tmp_path / "ir.yaml", tmp_path / "b.yaml"
    for args in (
        [example, "--target", "kfp", "-o", str(direct)],
        [example, "--target", "ir", "-o", str(ir_file)],
        [str(ir_file), "--target", "kfp", "-o", str(via_ir)],
    ):
        result = runner.invoke(cli, ["compile", *args])
        assert result.exit_code == 0, result.output
    assert direct.read_text() == via_ir.read_text()
    assert yaml.safe_load(direct.read_text())["pipelineInfo"]["name"] == "iris-training"


def test_cli_strict_size_failure_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kfp_target, "SIZE_LIMIT", 1000)
    out = tmp_path / "spec.yaml"
    example = str(ROOT / "examples" / "iris_training.py")
    result = CliRunner().invoke(cli, ["compile", example, "-t", "kfp", "--strict", "-o", str(out)])
    assert result.exit_code == 2
    assert "1.5 MiB" in result.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["compile", example, "-t", "kfp", "-o", str(out)])
    assert result.exit_code == 0
    assert "warning:" in result.output and out.exists()
