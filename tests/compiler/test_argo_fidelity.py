"""Where Argo v4.1.2 is stricter than the stand-in used to be, compiled specs still give what
``dagwright run`` gives: loop outputs aggregated as Argo aggregates them, and argument
artifacts that must say ``optional`` themselves.

No Argo controller runs here: ``argo_controller.ArgoControllerStandIn`` models the two rules,
each test citing the upstream code it follows.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import pytest
import yaml
from argo_controller import ArgoControllerStandIn, aggregated_json_value_list
from fidelity_helpers import readme_tour, run_both

import dagwright
from dagwright import Collected, If, ParallelFor, component, pipeline
from dagwright.compiler.argo.entry import decode

pytest.importorskip("hera")


# Argo's controller (workflow/controller/operator.go, aggregatedJSONValueList and
# tryJSONUnmarshal) and its unit test TestAggregatedJsonValueList (operator_test.go): values
# are embedded as JSON only when every one is a JSON object or list. The first case is Argo's
# e2e test, which aggregates the items 1, 2, 3 to ["1","2","3"].
@pytest.mark.parametrize(
    ("values", "aggregated"),
    [
        (["1", "2", "3"], '["1","2","3"]'),
        (["foo", "bar"], '["foo","bar"]'),
        (["true", "false"], '["true","false"]'),
        (["0.5", "1.0"], '["0.5","1.0"]'),
        (['["1"]', "2"], '["[\\"1\\"]","2"]'),
        (['{"foo":"1"}', "2"], '["{\\"foo\\":\\"1\\"}","2"]'),
        (['{"a":1}', "__dagwright_skipped__"], '["{\\"a\\":1}","__dagwright_skipped__"]'),
        ([' ["1"]', '["2"] '], '[["1"],["2"]]'),
        (['{"number":"1"}', '{"number":"2"}'], '[{"number":"1"},{"number":"2"}]'),
        (['[{"foo":"apple", "bar":"pear"}]'], '[[{"bar":"pear","foo":"apple"}]]'),
        # Go reads numbers inside as float64 and writes them back in its own way
        (["[1.0, 2.5, 1e-05, 3e21]"], "[[1,2.5,0.00001,3e+21]]"),
        (["[NaN]"], '["[NaN]"]'),  # not JSON to Go: the texts are passed on
    ],
)
def test_stand_in_aggregates_loop_outputs_as_argo_aggregatedJSONValueList(  # noqa: N802
    values: list[str], aggregated: str
) -> None:
    assert aggregated_json_value_list(values) == aggregated


@pytest.mark.parametrize(
    ("text", "type_str", "value"),
    [
        ('["3","6"]', "list[int]", [3, 6]),
        ('["0.5","1.0","2"]', "list[float]", [0.5, 1.0, 2.0]),
        ('["true","false"]', "list[bool]", [True, False]),
        ('["1","null"]', "list[Optional[int]]", [1, None]),
        ('["a","null"]', "list[Optional[str]]", ["a", None]),
        ('["{\\"a\\":1}","__dagwright_skipped__"]', "list[dict]", [{"a": 1}]),
        ('[{"a":1},{"a":2}]', "list[dict]", [{"a": 1}, {"a": 2}]),
        ('["[1,2]","[3]"]', "list[list[int]]", [[1, 2], [3]]),
        ('["1","x"]', "list[str]", ["1", "x"]),
    ],
)
def test_the_pod_reads_each_aggregated_item_by_its_declared_type(
    text: str, type_str: str, value: Any
) -> None:
    assert decode(text, type_str) == value


def test_an_aggregated_item_that_is_not_the_declared_type_is_refused() -> None:
    with pytest.raises(ValueError, match="'x' is not a int"):
        decode('["1","x"]', "list[int]")


@component
def triple(x: int) -> int:
    return 3 * x


@component
def half(x: int) -> float:
    return x / 2


@component
def odd(x: int) -> bool:
    return x % 2 == 1


@component
def describe(ints: list[int], floats: list[float], bools: list[bool]) -> str:
    return f"{ints!r} {floats!r} {bools!r}"  # repr: "1" and 1 differ


@pipeline
def scalar_fan_out(xs: list[int] = [1, 2, 3]) -> str:  # noqa: B006
    with ParallelFor(xs) as x:
        tripled, halved, odds = triple(x=x), half(x=x), odd(x=x)
    return describe(
        ints=Collected(tripled.output),
        floats=Collected(halved.output),
        bools=Collected(odds.output),
    ).output


def test_a_fan_out_over_ints_floats_and_bools_gives_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(scalar_fan_out, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine
    assert theirs[0] == {"output": "[3, 6, 9] [0.5, 1.0, 1.5] [True, False, True]"}


def test_a_fan_out_over_no_items_gives_what_dagwright_run_gives(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(scalar_fan_out, tmp_path, xs=[])
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "[] [] []"}, [])


@component
def record(x: int) -> dict:
    return {"x": x, "half": x / 2}


@component
def keys(records: list[dict]) -> str:
    return repr([sorted(r.items()) for r in records])


@pipeline
def dicts_through_if(xs: list[int] = [1, 2, 3]) -> str:  # noqa: B006
    """An iteration that skips its If leaves a text mark among the dicts: Argo then passes
    every dict as text."""
    with ParallelFor(xs) as x:
        with If(x > 1):
            made = record(x=x)
    return keys(records=Collected(made.output)).output


def test_collected_dicts_with_a_skipped_iteration_give_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(dicts_through_if, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine
    assert theirs[0] == {"output": "[[('half', 1.0), ('x', 2)], [('half', 1.5), ('x', 3)]]"}


@component
def untyped(values: list) -> str:
    return repr(values)


@pipeline
def untyped_fan_out(xs: list[int] = [1, 2]) -> str:  # noqa: B006
    with ParallelFor(xs) as x:
        tripled, halved = triple(x=x), half(x=x)
    untyped(values=Collected(halved.output))
    return untyped(values=Collected(tripled.output)).output


def test_an_untyped_list_collecting_ints_gets_ints_as_dagwright_run_gives(tmp_path: Path) -> None:
    """Declared ``list``, the pod cannot tell Argo's text "3" of an int from a str output: the
    task names the Collected output's type."""
    manifest = yaml.safe_load(dagwright.compile(untyped_fan_out, target="argo"))
    main = next(t for t in manifest["spec"]["templates"] if t["name"] == "main")
    hints = sorted(
        p["value"]
        for task in main["dag"]["tasks"]
        for p in task.get("arguments", {}).get("parameters", [])
        if p["name"] == "values-items"
    )
    assert hints == ["float", "int"]
    node, ours, theirs, mine = run_both(untyped_fan_out, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "[3, 6]"}, [])


def test_the_readme_fan_out_gives_what_dagwright_run_gives(tmp_path: Path) -> None:
    tour = readme_tour(tmp_path)
    node, ours, theirs, mine = run_both(tour.fan_out, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": 9}, [])


def test_a_collected_artifact_over_an_empty_loop_gives_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(corpus.loop_over_output, tmp_path, n=0)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": ""}, [])


def test_optional_only_on_the_template_does_not_save_an_empty_collected_artifact(
    tmp_path: Path,
) -> None:
    """Argo's ProcessArgs (workflow/common/util.go) replaces a template's input artifact by
    the task's argument, keeping only path, mode and recurseMode: ``optional`` must be on the
    argument. Without it the consumer's pod fails, though the template still says optional."""
    manifest = yaml.safe_load(dagwright.compile(corpus.loop_over_output, target="argo"))
    join = next(t for t in manifest["spec"]["templates"] if t["name"] == "join-parts")
    assert [a.get("optional") for a in join["inputs"]["artifacts"]] == [True]
    stripped = copy.deepcopy(manifest)
    for template in stripped["spec"]["templates"]:
        for task in template.get("dag", {}).get("tasks", []):
            for argument in task.get("arguments", {}).get("artifacts", []):
                argument.pop("optional", None)
    empty = {"n": "0"}
    assert ArgoControllerStandIn(stripped, tmp_path / "stripped").run(empty).phase == "Failed"
    node = ArgoControllerStandIn(manifest, tmp_path / "compiled").run(empty)
    assert node.phase == "Succeeded"
    assert node.params == {"output": ""}
