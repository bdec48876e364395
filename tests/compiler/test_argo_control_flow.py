"""KFP's control flow compiled for Argo and run by the controller stand-in
(``argo_controller``) beside ``dagwright run``: OneOf as an expression choosing the branch
that ran, a final status from the ExitHandler block's phase, ``ignore_upstream_failure`` as an
enhanced ``depends``; what Argo cannot loop over is refused by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from fidelity_helpers import run_both

import dagwright
from dagwright import (
    Collected,
    Dataset,
    Elif,
    Else,
    ExitHandler,
    If,
    Input,
    OneOf,
    Output,
    ParallelFor,
    PipelineTaskFinalStatus,
    ValidationError,
    component,
    pipeline,
)


@component
def number(n: int) -> int:
    return n


@component
def word(s: str) -> str:
    return s


@component
def shout(v: str) -> str:
    return v.upper()


@component
def twice(v: int) -> int:
    return 2 * v


@component
def fails(n: int) -> int:
    raise ValueError(f"no good: {n}")


@component
def report(journal: str, status: PipelineTaskFinalStatus) -> str:
    with open(os.path.join(journal, f"status-{status.state}"), "w", encoding="utf-8") as f:
        f.write(f"{status.pipeline_task_name} {status.error_code}")
    return status.state


@component
def tidy(journal: str, v: int = -1) -> str:
    with open(os.path.join(journal, f"tidy-{v}"), "w", encoding="utf-8") as f:
        f.write("ran")
    return str(v)


@component
def write(text: str, out: Output[Dataset]) -> None:
    Path(out.path).write_text(text, encoding="utf-8")


@component
def read(d: Input[Dataset]) -> str:
    return Path(d.path).read_text(encoding="utf-8")


def manifest(pipe: Any) -> dict[str, Any]:
    return yaml.safe_load(dagwright.compile(pipe, target="argo"))


def dag(spec: dict[str, Any], name: str) -> list[dict[str, Any]]:
    template = next(t for t in spec["spec"]["templates"] if t["name"] == name)
    return list(template["dag"]["tasks"])


@pipeline
def choose(x: int = 3) -> str:
    n = number(n=x)
    with If(n.output > 5):
        big = word(s="big")
    with Elif(n.output > 2):
        mid = word(s="mid")
    with Else():
        small = word(s="small")
    return shout(v=OneOf(big.output, mid.output, small.output)).output


@pytest.mark.parametrize(("x", "chosen"), [(9, "BIG"), (3, "MID"), (1, "SMALL")])
def test_one_of_is_an_expression_choosing_the_branch_that_ran(
    tmp_path: Path, x: int, chosen: str
) -> None:
    node, ours, theirs, mine = run_both(choose, tmp_path, x=x)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": chosen}, [])
    reader = next(t for t in dag(manifest(choose), "main") if t["name"] == "shout")
    value = reader["arguments"]["parameters"][0]["value"]
    assert value.startswith("{{=tasks['condition-1'].status == 'Succeeded' ? ")


@pipeline
def inner_choice(x: int = 3) -> Any:
    with If(x > 2):
        a = number(n=x)
    with Else():
        b = number(n=0)
    return OneOf(a.output, b.output)


@component
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def outer(x: int = 3, xs: list[int] = [1, 2]) -> int:  # noqa: B006
    chosen = inner_choice(x=x)
    with ParallelFor(xs):
        doubled = twice(v=chosen.output)
    return total(xs=Collected(doubled.output)).output


@pytest.mark.parametrize("x", [5, 1])
def test_one_of_made_in_a_nested_pipeline_and_read_in_a_loop(tmp_path: Path, x: int) -> None:
    node, ours, theirs, mine = run_both(outer, tmp_path, x=x)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": 4 * (x if x > 2 else 0)}, [])
    # a DAG output takes an expression as valueFrom.expression (valueFrom.parameter names a
    # variable only: scope.go, resolveVar)
    template = next(t for t in manifest(outer)["spec"]["templates"] if t["name"] == "inner-choice")
    (out,) = template["outputs"]["parameters"]
    assert out["valueFrom"]["expression"].startswith("tasks['condition-1'].status == 'Succeeded'")


@pipeline
def guarded(journal: str, bad: bool = False) -> None:
    done = report(journal=journal)
    with ExitHandler(done):
        n = number(n=1)
        with If(bad == True):  # noqa: E712
            fails(n=7).after(n)


@pytest.mark.parametrize("bad", [False, True])
def test_the_exit_task_gets_the_blocks_final_status(tmp_path: Path, bad: bool) -> None:
    node, ours, theirs, mine = run_both(guarded, tmp_path, bad=bad)
    assert (node.phase == "Failed") == (ours.status == "failed") == bad
    state = "FAILED" if bad else "SUCCEEDED"
    assert theirs[1] == mine[1] == [f"status-{state}"]
    for side in ("argo-journal", "ours-journal"):
        text = (tmp_path / side / f"status-{state}").read_text(encoding="utf-8")
        assert text == f"exit-handler-1 {1 if bad else None}"


@pipeline
def tolerant(journal: str, n: int = 4) -> None:
    tidy(journal=journal, v=number(n=n).output).ignore_upstream_failure()
    tidy(journal=journal, v=fails(n=n).output).ignore_upstream_failure()
    tidy(journal=journal, v=twice(v=n).output).after(fails(n=5)).ignore_upstream_failure()
    number(n=6).after(fails(n=7))


def test_tolerant_tasks_depend_on_every_result_and_run_as_here(tmp_path: Path) -> None:
    tasks = {t["name"]: t for t in dag(manifest(tolerant), "main")}
    assert all("dependencies" not in t for t in tasks.values())  # never beside depends
    assert tasks["number-2"]["depends"] == "fails-3"
    assert tasks["tidy-3"]["depends"].count("Omitted") == 2
    node, ours, theirs, mine = run_both(tolerant, tmp_path)
    assert node.phase == "Failed" and ours.status == "failed"
    assert theirs[1] == mine[1] == ["tidy--1", "tidy-4", "tidy-8"]


@component
def read_into(journal: str, d: Input[Dataset]) -> str:
    text = Path(d.path).read_text(encoding="utf-8")
    with open(os.path.join(journal, f"read-{text}"), "w", encoding="utf-8") as f:
        f.write(text)
    return text


@component
def joined(xs: list[str]) -> str:
    return ",".join(xs)


@pipeline
def over_artifacts(journal: str, texts: list[str] = ["a", "b", "c"]) -> str:  # noqa: B006
    with ParallelFor(texts) as t:
        made = write(text=t)
    with ParallelFor(Collected(made.outputs["out"]), parallelism=2) as art:
        got = read_into(journal=journal, d=art)
        with If(got.output != "b"):
            again = read(d=art)
    return joined(xs=Collected(again.output)).output


def test_a_loop_over_artifacts_goes_over_their_metadata(tmp_path: Path) -> None:
    """Argo loops over parameters only: the loop goes over the Collected metadata list and
    each iteration reads the artifact its pod stored, also in a block inside the loop."""
    node, ours, theirs, mine = run_both(over_artifacts, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "a,c"}, ["read-a", "read-b", "read-c"])


def test_a_loop_over_artifacts_some_iterations_did_not_make_is_refused() -> None:
    @pipeline
    def sparse(texts: list[str] = ["a"]) -> None:  # noqa: B006
        with ParallelFor(texts) as t:
            with If(t != "b"):
                made = write(text=t)
        with ParallelFor(Collected(made.outputs["out"])) as art:
            read(d=art)

    with pytest.raises(ValidationError, match="not one Collected output made directly") as err:
        manifest(sparse)
    assert (err.value.block, err.value.field) == ("loop-2", "items")


@pipeline
def either(x: int = 1) -> str:
    with If(x > 2):
        a = write(text="from if")
    with Elif(x > 1):
        b = write(text="from elif")
    with Else():
        c = write(text="from else")
    return read(d=OneOf(a.outputs["out"], b.outputs["out"], c.outputs["out"])).output


@pytest.mark.parametrize(("x", "text"), [(3, "from if"), (2, "from elif"), (0, "from else")])
def test_one_of_over_artifacts_is_a_blocks_output_from_an_expression(
    tmp_path: Path, x: int, text: str
) -> None:
    """An argument artifact takes no expression (``validateArguments``): the chain goes in a
    block of its own whose output artifact takes ``fromExpression``."""
    node, ours, theirs, mine = run_both(either, tmp_path, x=x)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": text}, [])
    spec = manifest(either)
    block = next(t for t in spec["spec"]["templates"] if t["name"] == "condition-branches-1")
    (out,) = block["outputs"]["artifacts"]
    assert out["fromExpression"].startswith("tasks['condition-1'].status == 'Succeeded' ? ")


@component
def product(a: int, b: int) -> int:
    return a * b


@component
def shape(rows: list) -> str:
    return repr(rows)


@component
def typed_shape(rows: list[list[int]]) -> str:
    return repr(rows)


@component
def flat(values: list[int]) -> str:
    return repr(values)


@pipeline
def fan_in(outer: list[int] = [1, 2], inner: list[int] = [3, 4, 5]) -> Any:  # noqa: B006
    with ParallelFor(outer) as a:
        with ParallelFor(inner) as b:
            with If(b > 3):
                made = product(a=a, b=b)
    return {
        "untyped": shape(rows=Collected(made.output)).output,
        "typed": typed_shape(rows=Collected(made.output)).output,
        "flat": flat(values=Collected(made.output)).output,
    }


def test_collected_over_nested_loops_is_a_list_of_lists_unless_declared_flat(
    tmp_path: Path,
) -> None:
    node, ours, theirs, mine = run_both(fan_in, tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    nested = "[[4, 5], [8, 10]]"
    expected = {"untyped": nested, "typed": nested, "flat": "[4, 5, 8, 10]"}
    assert theirs == mine == (expected, [])


@component
def watch(journal: str, status: PipelineTaskFinalStatus) -> str:
    with open(os.path.join(journal, f"{status.pipeline_task_name}-{status.state}"), "w") as f:
        f.write("ran")
    return status.state


@pipeline
def watched(journal: str) -> None:
    watch(journal=journal).after(fails(n=1)).ignore_upstream_failure()


def test_a_tolerant_task_gets_its_upstream_tasks_phase(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(watched, tmp_path)
    assert node.phase == "Failed" and ours.status == "failed"
    assert theirs[1] == mine[1] == ["fails-FAILED"]


@pytest.mark.parametrize("x", [9, 1])
def test_one_of_of_an_imported_condition_branches_block(tmp_path: Path, x: int) -> None:
    """The chain inside a ``pipeline`` block of its own, as an IR imported from KFP has it:
    the OneOf leaves that block as a DAG output (``valueFrom.expression``)."""
    from dagwright.pipelines.ir import GroupIR, PipelineIR

    data = choose.build().to_dict()
    data["groups"].insert(0, GroupIR("condition-branches-1", "pipeline").to_dict())
    for group in data["groups"][1:]:
        group["parent"] = "condition-branches-1"
    node, ours, theirs, mine = run_both(PipelineIR.from_dict(data), tmp_path, x=x)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": "BIG" if x == 9 else "SMALL"}, [])


def test_the_stand_ins_ternary_skips_the_branch_it_does_not_take() -> None:
    """expr-lang compiles ``?:`` to jumps: the branch not taken is never run, so a missing
    output there is no error (a nil map lookup under it would be); a non-bool condition is."""
    from argo_expressions import replace_tags
    from govaluate_lexer import WhenError

    values = {"tasks.a.status": "Skipped", "tasks.b.status": "Succeeded"}
    values["tasks.b.outputs.parameters.x"] = "from b"
    tag = (
        "{{=tasks['a'].status == 'Succeeded' ? tasks['a'].outputs.parameters['x'].y : "
        "(tasks['b'].status == 'Succeeded' ? tasks['b'].outputs.parameters['x'] : 'none')}}"
    )
    assert replace_tags(tag, str, values) == "from b"
    values["tasks.a.status"] = "Succeeded"
    with pytest.raises(WhenError):  # now the taken branch fetches from nil
        replace_tags(tag, str, values)
    with pytest.raises(WhenError, match="non-bool"):
        replace_tags("{{=tasks['b'].status ? 1 : 2}}", str, values)
