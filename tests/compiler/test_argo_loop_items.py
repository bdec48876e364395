"""Loop items, names and values Argo v4.1.2 would alter: compiled specs give what ``dagwright
run`` gives under the stricter stand-in.

No Argo controller runs here: ``argo_controller.ArgoControllerStandIn`` models Argo's
rendering of ``{{item}}`` (workflow/controller/operator.go ``processItem``,
pkg/apis/workflow/v1alpha1/item.go ``Item.String``), its validation (workflow/validate/
validate.go) and its substitution of variables inside values (workflow/common/util.go
``SubstituteParams``); ``test_argo_rules.py`` shows each model on hand-written specs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn
from test_argo_controller import run_both

import dagwright
from dagwright import Collected, If, Input, Output, ParallelFor, component, pipeline
from dagwright.components.artifacts import Dataset
from dagwright.errors import ValidationError

pytest.importorskip("hera")


def manifest(p: Any) -> dict[str, Any]:
    return yaml.safe_load(dagwright.compile(p, target="argo"))


def args_of(spec: dict[str, Any], template: str) -> list[str]:
    return next(t for t in spec["spec"]["templates"] if t["name"] == template)["container"]["args"]


@component
def shout(word: str) -> str:
    return f"{word}!"


@component
def joined2(a: list[str], b: list[str]) -> str:
    return "|".join(a + b)


@component
def pair(a: str, b: str) -> str:
    return f"{a}|{b}"


@component
def names_of() -> list[dict]:
    return [{"name": "café", "n": 1}, {"name": "naïve", "n": 2}]


@pipeline
def non_ascii_items() -> str:
    """Dicts with non-ASCII text, from a constant (withItems) and from an output (withParam,
    whose JSON Python writes with ``\\u00e9``: ``{{item.name}}`` would hand that on)."""
    with ParallelFor([{"name": "café", "n": 1}, {"name": "Größe", "n": 2}]) as item:
        fixed = shout(word=item["name"])
    with ParallelFor(names_of().output) as made:
        given = shout(word=made["name"])
    return joined2(a=Collected(fixed.output), b=Collected(given.output)).output


def test_a_non_ascii_dict_item_reaches_the_pod_unescaped(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(non_ascii_items, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "café!|Größe!|café!|naïve!"}, [])


def test_a_task_takes_the_whole_item_and_picks_the_key_in_the_pod() -> None:
    spec = manifest(non_ascii_items)
    body = next(t for t in spec["spec"]["templates"] if t["name"] == "loop-1-body")
    task = body["dag"]["tasks"][0]
    params = {p["name"]: p["value"] for p in task["arguments"]["parameters"]}
    assert params["word"] == "{{inputs.parameters.loop-1-item}}"
    assert params["dagwright-read"] == '{"word":{"item":"dict","key":"name"}}'
    assert "{{item.name}}" not in yaml.safe_dump(spec)


@component
def quoted() -> list[str]:
    return ['say "hi"', "back\\slash", "tab\there\nnewline", "ünï", "{{workflow.name}}"]


@pipeline
def string_items() -> str:
    """Strings with quotes, backslashes, control characters and braces, as constant items
    and as an output's items."""
    with ParallelFor(['say "hi"', "C:\\temp\\", "two\nlines", "bell\x07"]) as word:
        fixed = shout(word=word)
    with ParallelFor(quoted().output) as made:
        given = shout(word=made)
    return joined2(a=Collected(fixed.output), b=Collected(given.output)).output


def test_string_items_with_quotes_and_backslashes_arrive_as_written(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(string_items, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine
    assert theirs[0]["output"].startswith('say "hi"!|C:\\temp\\!|two\nlines!|bell\x07!|')


@component
def pick(value: int) -> int:
    return value * 10


@component
def total(values: list[int]) -> int:
    return sum(values)


@pipeline
def spaced_keys() -> int:
    """A key with a space read by a task and by a condition (``{{item.my key}}``, whose
    parameter name Argo would refuse as such)."""
    items = [{"my key": 1, "n.b": 5}, {"my key": 2, "n.b": 6}, {"my key": 3, "n.b": 7}]
    with ParallelFor(items) as item:
        with If(item["my key"] > 1):
            made = pick(value=item["n.b"])
    return total(values=Collected(made.output)).output


def test_dict_item_keys_with_spaces_give_what_dagwright_run_gives(tmp_path: Path) -> None:
    spec = manifest(spaced_keys)
    names = [
        p["name"]
        for t in spec["spec"]["templates"]
        for p in t.get("inputs", {}).get("parameters", [])
    ]
    assert "loop-1-item" in names
    spaced = [n for n in names if n.startswith("loop-1-item-my_key-")]
    assert len(spaced) == 1 and len(spaced[0]) == len("loop-1-item-my_key-") + 8
    node, ours, theirs, mine = run_both(spaced_keys, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": 130}, [])


def test_a_key_argo_cannot_name_in_a_condition_is_refused_with_the_field() -> None:
    @pipeline
    def braced() -> None:
        with ParallelFor([{"a}": 1}]) as item, If(item["a}"] > 0):
            pick(value=1)

    with pytest.raises(ValidationError, match="cannot name") as err:
        manifest(braced)
    assert err.value.field == "key" and "braces" in (err.value.fix or "")


@component(name="3d-render")
def render(x: int) -> int:
    return x + 1


@pipeline
def digit_task(x: int = 1) -> int:
    first = render(x=x)
    return render(x=first.output).output


def test_a_task_named_with_a_leading_digit_runs_as_dagwright_run(tmp_path: Path) -> None:
    spec = manifest(digit_task)
    main = next(t for t in spec["spec"]["templates"] if t["name"] == "main")
    tasks = {t["name"]: t for t in main["dag"]["tasks"]}
    assert set(tasks) == {"t-3d-render", "t-3d-render-2"}
    assert tasks["t-3d-render-2"]["dependencies"] == ["t-3d-render"]
    params = {p["name"]: p["value"] for p in tasks["t-3d-render-2"]["arguments"]["parameters"]}
    assert params["x"] == "{{tasks.t-3d-render.outputs.parameters.output}}"
    assert "dagwright-task" not in params  # no artifact to store, no lineage: no pod reads it
    tracked = yaml.safe_load(
        dagwright.compile(digit_task, target="argo", tracking_uri="http://127.0.0.1:5000")
    )
    main = next(t for t in tracked["spec"]["templates"] if t["name"] == "main")
    task = next(t for t in main["dag"]["tasks"] if t["name"] == "t-3d-render-2")
    params = {p["name"]: p["value"] for p in task["arguments"]["parameters"]}
    assert params["dagwright-task"] == "3d-render-2"  # lineage: dagwright's name
    node, ours, theirs, mine = run_both(digit_task, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": 3}, [])


@component
def braces_out(word: str) -> str:
    return "made {{workflow.name}} " + word


@component
def echo(text: str, suffix: str = "{{workflow.name}}") -> str:
    return text + "|" + suffix


@pipeline
def braced_values() -> str:
    """``{{workflow.name}}`` in a constant, a component default, an output and loop items:
    Argo would substitute each; the pod gets them as written."""
    made = braces_out(word="{{pod.name}}")
    with ParallelFor(["{{workflow.name}}", "dagwright-b64:not-mine"]) as word:
        looped = echo(text=word)
    return pair(a=made.output, b=joined2(a=Collected(looped.output), b=[]).output).output


def test_values_holding_workflow_variables_reach_the_pod_unchanged(tmp_path: Path) -> None:
    spec = yaml.safe_dump(manifest(braced_values))
    assert "{{workflow.name}} " not in spec and "{{pod.name}}\n" not in spec
    node, ours, theirs, mine = run_both(braced_values, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine
    assert theirs[0]["output"] == (
        "made {{workflow.name}} {{pod.name}}|{{workflow.name}}|{{workflow.name}}"
        "|dagwright-b64:not-mine|{{workflow.name}}"
    )


def test_a_parameter_default_argo_would_alter_is_refused_with_the_field() -> None:
    @pipeline
    def defaulted(text: str = "bell\x07") -> str:
        return echo(text=text).output

    with pytest.raises(ValidationError, match="would alter") as err:
        manifest(defaulted)
    assert err.value.field == "parameter text"


# Collected over nested loops


@component
def product(a: int, b: int) -> int:
    return a * b


@component
def as_record(a: int, b: int) -> dict:
    return {"a": a, "b": b, "name": f"{a}×{b}"}


@component
def show_ints(values: list[int]) -> str:
    return repr(values)


@component
def show_dicts(records: list[dict]) -> str:
    return repr(records)


@pipeline
def nested(outer: list[int] = [1, 2], inner: list[int] = [3, 4, 5]) -> str:  # noqa: B006
    with ParallelFor(outer) as a:
        with ParallelFor(inner) as b:
            ints = product(a=a, b=b)
            with If(b > 3):
                dicts = as_record(a=a, b=b)
    return pair(
        a=show_ints(values=Collected(ints.output)).output,
        b=show_dicts(records=Collected(dicts.output)).output,
    ).output


@pytest.mark.parametrize(
    "arguments",
    [{}, {"outer": [], "inner": [1]}, {"outer": [1, 2], "inner": []}, {"inner": [1, 2]}],
    ids=["full", "no-outer", "no-inner", "all-skipped"],
)
def test_collected_over_nested_loops_gives_the_flat_list_dagwright_run_gives(
    tmp_path: Path, arguments: dict[str, Any]
) -> None:
    node, ours, theirs, mine = run_both(nested, tmp_path, **arguments)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine
    if not arguments:
        ints, dicts = theirs[0]["output"].split("|")
        assert ints == "[3, 4, 5, 6, 8, 10]"
        assert dicts.startswith("[{'a': 1, 'b': 4, 'name': '1×4'}")


@component
def part(a: int, b: int, out: Output[Dataset]) -> None:
    Path(out.path).write_text(f"{a}.{b}", encoding="utf-8")


@component
def glue(parts: Input[list[Dataset]]) -> str:
    return ",".join(Path(p.path).read_text(encoding="utf-8") for p in parts)


@pipeline
def nested_artifacts(outer: list[int] = [1, 2], inner: list[int] = [7, 8]) -> str:  # noqa: B006
    with ParallelFor(outer) as a, ParallelFor(inner) as b:
        made = part(a=a, b=b)
    return glue(parts=Collected(made.outputs["out"])).output


def test_collected_artifacts_over_nested_loops_give_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(nested_artifacts, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "1.7,1.8,2.7,2.8"}, [])


def test_kfp_still_refuses_collected_over_nested_loops_with_the_field() -> None:
    """KFP's DAG driver makes one list per loop it leaves, a list of lists that no KFP
    input declares; the KFP target refuses the construct (kfp/dag.py) where Argo's pod
    flattens it."""
    with pytest.raises(ValidationError, match="nested ParallelFor") as err:
        dagwright.compile(nested, target="kfp")
    assert (err.value.task, err.value.field) == ("show-ints", "values")


def test_a_pipeline_output_collected_over_nested_loops_is_refused_for_argo() -> None:
    @pipeline
    def flat(xs: list[int] = [1], ys: list[int] = [2]) -> Any:  # noqa: B006
        with ParallelFor(xs) as a, ParallelFor(ys) as b:
            made = product(a=a, b=b)
        return Collected(made.output)

    with pytest.raises(ValidationError, match="nested loops") as err:
        manifest(flat)
    assert err.value.field == "output output"


def test_the_stand_in_refuses_what_the_old_item_parameters_did(tmp_path: Path) -> None:
    """The spec as dagwright compiled it before: a key with a space in a parameter name."""
    spec = manifest(spaced_keys)
    for template in spec["spec"]["templates"]:
        for p in template.get("inputs", {}).get("parameters", []):
            if p["name"].startswith("loop-1-item-my_key"):
                p["name"] = "loop-1-item-my key"
    from argo_values import ArgoRejected

    with pytest.raises(ArgoRejected, match="'loop-1-item-my key' is invalid"):
        ArgoControllerStandIn(spec, tmp_path)


@pipeline
def loop_over_a_key() -> str:
    """An inner loop over a key of the outer item (Argo's ``{{item.xs}}``), its values
    collected over both loops."""
    with ParallelFor([{"xs": [1, 2], "tag": "a"}, {"xs": [3], "tag": "b"}]) as row:
        with ParallelFor(row["xs"]) as x:
            made = product(a=x, b=10)
    return show_ints(values=Collected(made.output)).output


def test_an_inner_loop_over_a_key_of_the_outer_item_gives_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(loop_over_a_key, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "[10, 20, 30]"}, [])


@pipeline
def braced_keys() -> int:
    """Keys Argo could never name in ``{{item.<key>}}``, read by tasks: the pod picks them."""
    with ParallelFor([{"{{k}}": 1, "a}b": 2}, {"{{k}}": 3, "a}b": 4}]) as item:
        made = product(a=item["{{k}}"], b=item["a}b"])
    return total(values=Collected(made.output)).output


def test_keys_with_braces_read_by_tasks_give_what_dagwright_run_gives(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(braced_keys, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": 14}, [])


@component
def marks(x: int) -> str:
    return ["__dagwright_skipped__", "dagwright-b64:eA==", "plain"][x]


@pipeline
def mark_outputs() -> str:
    """Outputs that look like dagwright's own marks are still the outputs."""
    with ParallelFor([0, 1, 2]) as x:
        made = marks(x=x)
    return joined2(a=Collected(made.output), b=[]).output


def test_outputs_that_look_like_dagwrights_marks_give_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(mark_outputs, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "__dagwright_skipped__|dagwright-b64:eA==|plain"}, [])


def test_a_name_from_an_ir_file_argo_refuses_is_refused_with_the_field() -> None:
    """Names dagwright makes are written safe; a name an IR file gives is the user's own."""
    from dagwright.pipelines.ir import PipelineIR

    data = dagwright.api.to_ir(digit_task).to_dict()
    data["outputs"] = {"my output": data["outputs"]["output"]}
    with pytest.raises(ValidationError, match="not a name Argo takes") as err:
        dagwright.compile(PipelineIR.from_dict(data), target="argo")
    assert err.value.field == "output my output" and "letters, digits" in (err.value.fix or "")


@pipeline
def nested_through_if(outer: list[int] = [1, 2, 3], inner: list[int] = [5, 6]) -> str:  # noqa: B006
    """An If between the loops: an outer iteration that skips it leaves a mark, not a list."""
    with ParallelFor(outer) as a:
        with If(a != 2):
            with ParallelFor(inner) as b:
                made = product(a=a, b=b)
    return show_ints(values=Collected(made.output)).output


def test_collected_over_loops_with_an_if_between_gives_what_dagwright_run_gives(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(nested_through_if, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "[5, 6, 15, 18]"}, [])


def test_a_pod_writes_text_so_that_argos_item_key_renders_it_unescaped() -> None:
    """A condition reads ``{{item.name}}``, which Argo fills with the value's JSON without
    unescaping it (a ``when`` sees ``caf\\u00e9`` if the producer wrote that): the pod writes
    JSON text as UTF-8."""
    from argo_values import item_scope, raw_elements

    from dagwright.compiler.argo.values import encode

    rendered = [item_scope(raw) for raw in raw_elements(encode(names_of.func()))]
    assert [r["item.name"] for r in rendered] == ["café", "naïve"]


@pytest.mark.parametrize(
    "flow", [non_ascii_items, string_items, spaced_keys, digit_task, braced_values, braced_keys]
)
def test_the_same_pipelines_compile_for_kfp_as_its_backend_runs_them(flow: Any) -> None:
    """The other target: each spec passes the checks of what KFP's backend does differently
    from kfp.local (kfp_backend_checks)."""
    from kfp_backend_checks import assert_runs_as_compiled

    assert_runs_as_compiled(dagwright.compile(flow, target="kfp"))


@component
def upto(n: int) -> list[int]:
    return list(range(n))


@component
def ident(x: int) -> int:
    return x


@component
def shape(rows: list) -> str:
    return repr(rows)


@pipeline
def ragged(outer: list[int] = [2, 0, 1]) -> str:  # noqa: B006
    with ParallelFor(outer) as n:
        with ParallelFor(upto(n=n).output) as i:
            got = ident(x=i)
        with If(n != 1):
            with ParallelFor(upto(n=n).output) as j:
                kept = ident(x=j)
    return pair(
        a=shape(rows=Collected(got.output)).output,
        b=shape(rows=Collected(kept.output)).output,
    ).output


def test_a_nested_collected_keeps_an_empty_list_per_outer_iteration_as_dagwright_run_does(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(ragged, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert mine[0]["output"] == "[[0, 1], [], [0]]|[[0, 1], [], []]"
    assert theirs == mine
