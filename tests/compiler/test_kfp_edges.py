"""The KFP mapping at its edges, and a consistency check of every spec the tests compile.

No KFP backend runs here: ``kfp_checks.problems`` checks that each reference resolves where
KFP's backend looks (DAG inputs and sibling outputs, with matching types), and kfp.local runs
the edge cases it can run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import kfp_edge_cases as edges
import pytest
import yaml
from kfp_backend_checks import assert_runs_as_compiled
from kfp_checks import problems

import dagwright
from dagwright import Collected, ParallelFor, component, pipeline
from dagwright.compiler.delivery import CodeDelivery
from dagwright.errors import ValidationError

kfp_local = pytest.importorskip("kfp.local")
kfp_components = pytest.importorskip("kfp.components")

PIPELINES = {
    name: obj
    for module in (corpus, edges)
    for name, obj in vars(module).items()
    # exit_reads_a_sibling is refused for KFP (see test_kfp_backend.py)
    if hasattr(obj, "build") and name not in ("inner_stats", "prep_pipe", "exit_reads_a_sibling")
}


def spec_of(p: Any, **options: Any) -> dict[str, Any]:
    text = dagwright.compile(p, target="kfp", **options)
    assert_runs_as_compiled(text)  # as KFP's backend runs it, not only kfp.local
    return yaml.safe_load(text)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_reference_in_the_spec_resolves(name: str) -> None:
    assert problems(spec_of(PIPELINES[name])) == []


def test_the_consistency_check_finds_what_is_broken() -> None:
    spec = spec_of(corpus.loop_over_param)
    del spec["root"]["dag"]["tasks"]["total"]["dependentTasks"]
    spec["components"]["comp-loop-1"]["inputDefinitions"]["parameters"].pop("pipelinechannel--xs")
    spec["components"]["comp-square"]["executorLabel"] = "exec-gone"
    found = problems(spec)
    assert any("without depending" in p for p in found)
    assert any("pipelinechannel--xs" in p for p in found)
    assert any("exec-gone" in p for p in found)


# explicit_none is left out: kfp.local fails on an unset Optional input (the SDK's specs too)
@pytest.mark.parametrize("name", ["name_clash", "untyped_nested", "empty_block"])
def test_edge_case_runs_on_kfp_local_like_dagwright_run(
    name: str, tmp_path: Path, local_runner: Path
) -> None:
    spec = tmp_path / f"{name}.yaml"
    dagwright.compile(PIPELINES[name], target="kfp", path=spec)
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    outputs = kfp_components.load_component_from_file(str(spec))().outputs
    ours = dagwright.run(PIPELINES[name], echo=False, root=tmp_path / "store")
    assert ours.succeeded
    assert outputs == ours.outputs


def test_a_block_id_equal_to_a_component_id_keeps_executors_apart() -> None:
    spec = spec_of(edges.name_clash)
    assert spec["components"]["comp-prep"]["executorLabel"] == "exec-prep"
    assert "comp-prep-2" in spec["components"]  # the nested pipeline's DAG
    assert set(spec["deploymentSpec"]["executors"]) == {"exec-prep"}


def test_untyped_items_take_their_readers_type_in_nested_blocks() -> None:
    spec = spec_of(edges.untyped_nested)
    loop = spec["components"]["comp-loop-1"]["inputDefinitions"]["parameters"]
    block = spec["components"]["comp-condition-1"]["inputDefinitions"]["parameters"]
    assert loop["pipelinechannel--loop-1-loop-item"]["parameterType"] == "NUMBER_INTEGER"
    assert block["pipelinechannel--loop-1-loop-item"]["parameterType"] == "NUMBER_INTEGER"


def test_a_condition_on_an_item_field_compares_numbers_as_numbers() -> None:
    spec = spec_of(edges.field_condition)
    loop = spec["components"]["comp-loop-1"]
    condition = loop["dag"]["tasks"]["condition-1"]
    name = "pipelinechannel--loop-1-loop-item-subvar-b"
    assert condition["triggerPolicy"]["condition"] == f"inputs.parameter_values['{name}'] > 2.0"
    assert condition["inputs"]["parameters"][name] == {
        "componentInputParameter": "pipelinechannel--loop-1-loop-item",
        "parameterExpressionSelector": 'parseJson(string_value)["b"]',
    }
    block = spec["components"]["comp-condition-1"]["inputDefinitions"]["parameters"]
    assert block[name] == {"parameterType": "NUMBER_DOUBLE"}


def test_a_condition_fixed_when_built_is_a_literal() -> None:
    tasks = spec_of(edges.fixed_condition)["root"]["dag"]["tasks"]
    assert tasks["condition-1"]["triggerPolicy"]["condition"] == "true"


def test_an_explicit_none_is_left_out_or_refused() -> None:
    task = spec_of(edges.explicit_none)["root"]["dag"]["tasks"]["maybe"]
    assert set(task["inputs"]["parameters"]) == {"x"}

    @component
    def needs(x: int | None = 3) -> int:
        return x or 0

    @pipeline
    def p() -> int:
        return needs(x=None).output

    with pytest.raises(ValidationError, match="None") as err:
        spec_of(p)
    assert (err.value.task, err.value.field) == ("needs", "x")


def test_refused_outputs_optional_values_and_untasked_pipeline_outputs() -> None:
    @component
    def sometimes(x: int) -> int | None:
        return x or None

    @pipeline
    def optional_output(x: int = 1) -> int | None:
        return sometimes(x=x).output

    with pytest.raises(ValidationError, match="may be None") as err:
        spec_of(optional_output)
    assert err.value.field == "output"

    @pipeline
    def passthrough(n: int = 3) -> dict:
        return {"n": n, "sq": edges.square(x=n).output}

    with pytest.raises(ValidationError, match="only from tasks") as err:
        spec_of(passthrough)
    assert err.value.field == "output n"


def test_collected_over_nested_loops_is_refused() -> None:
    @component
    def add(a: int, b: int) -> int:
        return a + b

    @pipeline
    def nested_loops(xs: list[int] = [1, 2], ys: list[int] = [10, 20]) -> int:  # noqa: B006
        with ParallelFor(xs) as x, ParallelFor(ys) as y:
            a = add(a=x, b=y)
        return edges.total(values=Collected(a.output)).output

    with pytest.raises(ValidationError, match="nested ParallelFor") as err:
        spec_of(nested_loops)
    assert (err.value.task, err.value.field) == ("total", "values")


def test_extra_packages_are_kept_beside_the_kfp_pin() -> None:
    from dagwright.compiler import kfp as kfp_target
    from dagwright.pipelines.ir import PipelineIR

    ir: PipelineIR = dagwright.api.to_ir(corpus.retried)
    options = kfp_target.KfpOptions(delivery=CodeDelivery(extra_packages=("requests==2.32.0",)))
    text = kfp_target.to_yaml(kfp_target.build(ir, options))
    install = yaml.safe_load(text)["deploymentSpec"]["executors"]["exec-flaky"]["container"]
    line = install["command"][2]
    assert "requests==2.32.0" in line and "kfp==" in line


def test_an_empty_block_is_left_out() -> None:
    spec = spec_of(edges.empty_block)
    assert sorted(spec["root"]["dag"]["tasks"]) == ["prep", "square"]
    assert "comp-condition-1" not in spec["components"]
