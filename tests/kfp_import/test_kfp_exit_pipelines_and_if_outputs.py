"""KFP shapes the importer and engine once got wrong: an exit pipeline that did not run whole,
outputs of a task inside an If used outside it, and loop-item fields compared to numbers. Each
is a small pipeline written here (none of KFP's is copied), compiled with kfp, imported by
``dagwright.run`` from the YAML, run, and the values asserted.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")

from kfp import compiler, dsl  # noqa: E402
from kfp.dsl import PipelineTaskFinalStatus  # noqa: E402

import dagwright  # noqa: E402

IMAGE = "python:3.11"


def _run(pipeline: Any, tmp_path: Path, **kwargs: Any) -> Any:
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return dagwright.run(str(path), root=tmp_path / "store", echo=False, **kwargs)


@dsl.component(base_image=IMAGE)
def boom(message: str) -> str:
    raise SystemExit(f"failing on purpose: {message}")


@dsl.component(base_image=IMAGE)
def state_of(status: dict) -> str:
    return status["state"]


@dsl.component(base_image=IMAGE)
def say(text: str) -> str:
    return text


@dsl.pipeline
def notify(status: PipelineTaskFinalStatus):
    state = state_of(status=status)
    with dsl.If(state.output == "FAILED"):
        say(text="the block failed")
    say(text=state.output).set_display_name("echo-state")


@dsl.pipeline
def guarded_by_a_pipeline():
    with dsl.ExitHandler(notify()):
        boom(message="inside")


def test_an_exit_pipeline_runs_whole_after_its_block_fails(tmp_path: Path) -> None:
    result = _run(guarded_by_a_pipeline, tmp_path)
    assert result.status == "failed"
    states = {
        (s.display_name or s.task): (s.status, (s.outputs or {}).get("Output"))
        for s in result.steps
    }
    assert states["boom"][0] == "failed"
    assert states["notify-state-of"] == ("succeeded", "FAILED"), states
    # the task in the If on the exit task's output, and the one after it, both ran
    assert ("succeeded", "the block failed") in states.values(), states
    assert states["echo-state"] == ("succeeded", "FAILED"), states


# --- a loop-item field compared to a number ---------------------------------------------------


@dsl.pipeline
def item_fields(rows: list = [{"n": 1}, {"n": 3}, {"n": 5}]):  # noqa: B006 - KFP defaults
    with dsl.ParallelFor(rows) as row:
        with dsl.If(row.n > 2):
            say(text="big")


def test_a_loop_item_field_compares_to_a_number_as_a_number(tmp_path: Path) -> None:
    result = _run(item_fields, tmp_path)
    assert result.status == "succeeded", [(s.task, s.error) for s in result.steps if s.error]
    ran = sorted(s.iteration for s in result.steps if s.task == "say" and s.status == "succeeded")
    assert ran == [(1,), (2,)], [(s.task, s.iteration, s.status) for s in result.steps]


@dsl.pipeline
def item_equals(rows: list = [{"n": 2}, {"n": "2"}, {"n": 3}]):  # noqa: B006 - KFP defaults
    with dsl.ParallelFor(rows) as row:
        with dsl.If(row.n == 2):
            say(text="two")
        with dsl.If(row.n != 2):
            say(text="not two")


def test_a_loop_item_field_equals_a_number_whether_held_as_number_or_text(
    tmp_path: Path,
) -> None:
    result = _run(item_equals, tmp_path)
    assert result.status == "succeeded", [(s.task, s.error) for s in result.steps if s.error]
    said = {(s.iteration, s.outputs["Output"]) for s in result.steps if s.status == "succeeded"}
    assert said == {((0,), "two"), ((1,), "two"), ((2,), "not two")}


@dsl.pipeline
def item_text(rows: list = [{"n": "one"}]):  # noqa: B006 - KFP defaults
    with dsl.ParallelFor(rows) as row:
        with dsl.If(row.n > 2):
            say(text="big")


def test_a_condition_that_cannot_be_evaluated_fails_its_block_clearly(tmp_path: Path) -> None:
    result = _run(item_text, tmp_path)
    assert result.status == "failed"
    (block,) = [s for s in result.steps if s.task.startswith("condition")]
    assert block.status == "failed"
    assert block.error.startswith(f"block '{block.task}'"), block.error
    assert "cannot compare str 'one' > int 2" in block.error, block.error
    assert "Traceback" not in block.error and "TypeError" not in block.error
    assert [s.status for s in result.steps if s.task == "say"] == ["upstream_failed"]


# --- outputs of a task inside an If, used outside it ------------------------------------------


@dsl.component(base_image=IMAGE)
def add(a: int, b: int) -> int:
    return a + b


@dsl.component(base_image=IMAGE)
def total(nums: list) -> int:
    return sum(nums)


@dsl.pipeline
def output_from_an_if(n: int = 2) -> list:
    with dsl.If(n == 2):
        t = add(a=n, b=1)
    # KFP refuses a plain t.output here, yet compiles a Collected over no loop into the If's
    # output: the value when the branch ran
    return dsl.Collected(t.output)


def test_a_pipeline_output_from_a_task_inside_an_if_exists_when_the_branch_ran(
    tmp_path: Path,
) -> None:
    result = _run(output_from_an_if, tmp_path)
    assert result.status == "succeeded", [(s.task, s.error) for s in result.steps if s.error]
    assert result.outputs == {"Output": 3}


def test_a_pipeline_output_whose_branch_did_not_run_fails_the_run_at_its_end(
    tmp_path: Path,
) -> None:
    result = _run(output_from_an_if, tmp_path, n=5)
    assert [s.status for s in result.steps if s.task == "add"] == ["skipped"]
    assert result.status == "failed" and result.outputs == {}
    assert result.reason == "pipeline output 'Output' was not made: task 'add' did not run"
    with pytest.raises(dagwright.RunFailed, match="pipeline output 'Output' was not made"):
        _run(output_from_an_if, tmp_path, n=5, raise_on_error=True)


@dsl.pipeline
def collected_from_an_if(low: int = 3) -> int:
    with dsl.ParallelFor([1, 2, 3, 4]) as n:
        with dsl.If(n >= low):
            t = add(a=n, b=10)
    return total(nums=dsl.Collected(t.output)).output


def test_collected_over_a_producer_inside_an_if_holds_the_iterations_where_it_ran(
    tmp_path: Path,
) -> None:
    result = _run(collected_from_an_if, tmp_path)
    assert result.status == "succeeded", [(s.task, s.error) for s in result.steps if s.error]
    assert result.outputs == {"Output": 13 + 14}
    assert result.step("total").inputs["parameters"]["nums"] == [13, 14]
