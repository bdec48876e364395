"""The IR values and fields KFP's control flow brought (OneOf, final status,
ignore_upstream_failure) are refused when misused, before anything runs, naming the task and
the input; and they survive the IR's round trip."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import (
    Elif,
    Else,
    ExitHandler,
    If,
    OneOf,
    ParallelFor,
    PipelineTaskFinalStatus,
    ValidationError,
    component,
    pipeline,
)
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import validate_ir


@component
def number(n: int = 1) -> int:
    return n


@component
def word(s: str = "") -> str:
    return s


@component
def take_int(x: int) -> int:
    return x


@component
def take_default(x: int = 0) -> int:
    return x


@component
def report(status: PipelineTaskFinalStatus) -> str:
    return status.state


def _refused(pipe: Any, store: Path, *parts: str) -> ValidationError:
    """Building and running the pipeline both raise; nothing is written."""
    with pytest.raises(ValidationError) as built:
        pipe.build() if hasattr(pipe, "build") else validate_ir(pipe)
    for part in parts:
        assert part in str(built.value), str(built.value)
    with pytest.raises(ValidationError, match=re.escape(parts[0])):
        dagwright.run(pipe, root=store, echo=False)
    assert not store.exists()
    return built.value


def test_one_of_is_traced_into_the_ir_and_read_back() -> None:
    @pipeline
    def p(x: int = 1) -> int:
        with If(x > 1):
            a = number(n=1)
        with Else():
            b = number(n=2)
        return take_int(x=OneOf(a.output, b.output)).output

    ir = p.build()
    value = {
        "one_of": [{"task": "number", "output": "output"}, {"task": "number-2", "output": "output"}]
    }
    assert ir.task("take-int").inputs["x"] == value
    assert PipelineIR.from_yaml(ir.to_yaml()).task("take-int").inputs["x"] == value


def test_one_of_member_outside_a_branch(store: Path) -> None:
    @pipeline
    def p(x: int = 1) -> None:
        a = number(n=1)
        with If(x > 1):
            b = number(n=2)
        take_int(x=OneOf(a.output, b.output))

    err = _refused(p, store, "OneOf member 'number'", "directly inside an If, Elif or Else")
    assert (err.task, err.field) == ("take-int", "x")


def test_one_of_without_an_else(store: Path) -> None:
    @pipeline
    def p(x: int = 1) -> None:
        with If(x > 1):
            a = number(n=1)
        with Elif(x > 0):
            b = number(n=2)
        take_int(x=OneOf(a.output, b.output))

    err = _refused(p, store, "has no Else", "end the chain with an Else")
    assert (err.task, err.field) == ("take-int", "x")


def test_one_of_over_two_chains(store: Path) -> None:
    @pipeline
    def p(x: int = 1) -> None:
        with If(x > 1):
            a = number(n=1)
        with Else():
            number(n=3)
        with If(x > 2):
            number(n=4)
        with Else():
            b = number(n=2)
        take_int(x=OneOf(a.output, b.output))

    _refused(p, store, "different If/Elif/Else chains", "task 'take-int'")


def test_one_of_twice_the_same_branch(store: Path) -> None:
    @pipeline
    def p(x: int = 1) -> None:
        with If(x > 1):
            a = number(n=1)
            b = number(n=2)
        with Else():
            number(n=3)
        take_int(x=OneOf(a.output, b.output))

    _refused(p, store, "sit in the same branch condition-1")


def test_one_of_of_different_types(store: Path) -> None:
    @pipeline
    def p(x: int = 1) -> None:
        with If(x > 1):
            a = number(n=1)
        with Else():
            b = word(s="two")
        take_int(x=OneOf(a.output, b.output))

    _refused(p, store, "different types (int and str)")


def test_one_of_used_inside_a_branch(store: Path) -> None:
    @pipeline
    def p(x: int = 1) -> None:
        with If(x > 1):
            a = number(n=1)
        with Else():
            b = number(n=2)
            take_int(x=OneOf(a.output, b.output))

    _refused(p, store, "OneOf member 'number-2'")


def test_one_of_takes_only_task_outputs() -> None:
    @pipeline
    def p(x: int = 1) -> None:
        take_int(x=OneOf(x))

    with pytest.raises(ValidationError, match="OneOf takes task outputs"):
        p.build()


def test_one_of_inside_a_loop_is_a_list_there(store: Path) -> None:
    @pipeline
    def p(xs: list[int] = [1]) -> None:  # noqa: B006
        with ParallelFor(xs) as x:
            with If(x > 1):
                a = number(n=1)
            with Else():
                b = number(n=2)
        take_int(x=OneOf(a.output, b.output))

    _refused(p, store, "OneOf member 'number'")


def test_the_exit_tasks_final_status_is_filled_by_the_exit_handler() -> None:
    @pipeline
    def p() -> None:
        done = report()
        with ExitHandler(done):
            number(n=1)

    ir = p.build()
    assert ir.task("report").inputs == {"status": {"final_status": "exit-handler-1"}}
    assert PipelineIR.from_json(ir.to_json()).task("report").inputs["status"] == {
        "final_status": "exit-handler-1"
    }


def test_a_final_status_outside_an_exit_task(store: Path) -> None:
    @pipeline
    def p() -> None:
        report()

    err = _refused(p, store, "input 'status' is a PipelineTaskFinalStatus, given only")
    assert (err.task, err.field) == ("report", "status")


def test_a_final_status_cannot_be_passed(store: Path) -> None:
    @pipeline
    def p() -> None:
        report(status={"state": "SUCCEEDED"})

    err = _refused(p, store, "which the pipeline fills; it cannot be passed")
    assert (err.task, err.field) == ("report", "status")


def _ir_with(edit: Any) -> PipelineIR:
    @pipeline
    def p() -> None:
        done = report()
        with ExitHandler(done):
            number(n=1)
        take_default(x=1)

    data = p.build().to_dict()
    edit(data)
    return PipelineIR.from_dict(data)


def test_a_final_status_of_a_block_whose_exit_task_it_is_not(store: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["components"]["report"]["inputs"].append(
            {"name": "other", "type": "PipelineTaskFinalStatus"}
        )
        del data["components"]["report"]["digest"]
        data["tasks"][0]["inputs"]["other"] = {"final_status": "number"}

    err = _refused(_ir_with(edit), store, "takes the final status of 'number', which is neither")
    assert (err.task, err.field) == ("report", "other")


def test_a_final_status_given_to_a_parameter_of_another_type(store: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["tasks"][-1]["inputs"]["x"] = {"final_status": "exit-handler-1"}

    err = _refused(_ir_with(edit), store, "input 'x' (int) cannot take a final status")
    assert (err.task, err.field) == ("take-default", "x")


def test_a_final_status_given_to_another_task_of_the_block(store: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        component = data["components"][data["tasks"][-1]["component"]]
        component["inputs"][0]["type"] = "PipelineTaskFinalStatus"
        del component["inputs"][0]["default"], component["digest"]
        data["tasks"][-1]["inputs"]["x"] = {"final_status": "exit-handler-1"}

    err = _refused(_ir_with(edit), store, "but the task is not its exit task")
    assert (err.task, err.field) == ("take-default", "x")


def test_ignore_upstream_failure_needs_defaults_for_task_outputs(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x=number(n=1).output).ignore_upstream_failure()

    err = _refused(p, store, "input 'x' (from 'number') has no default", "give 'x' a default")
    assert (err.task, err.field) == ("take-int", "x")


def test_ignore_upstream_failure_is_kept_in_the_ir() -> None:
    @pipeline
    def p() -> None:
        take_default(x=number(n=1).output).ignore_upstream_failure()
        take_int(x=3)

    ir = p.build()
    assert ir.to_dict()["tasks"][1]["ignore_upstream_failure"] is True
    assert "ignore_upstream_failure" not in ir.to_dict()["tasks"][2]
    assert PipelineIR.from_yaml(ir.to_yaml()).task("take-default").ignore_upstream_failure


def test_a_tolerant_task_with_a_final_status_needs_exactly_one_upstream() -> None:
    @pipeline
    def p() -> None:
        report().ignore_upstream_failure()

    with pytest.raises(ValidationError, match="it has 0 \\(none\\)") as err:
        p.build()
    assert (err.value.task, err.value.field) == ("report", "status")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("inputs", "x"), {"one_of": "number"}, "inputs.x.one_of: expected a list"),
        (("inputs", "x"), {"one_of": []}, "inputs.x.one_of: needs at least one value"),
        (("inputs", "x"), {"one_of": [{"task": 1, "output": "o"}]}, "one_of[0].task"),
        (("inputs", "x"), {"final_status": 3}, "inputs.x.final_status: expected a string"),
        (("ignore_upstream_failure",), "yes", "ignore_upstream_failure: expected true or false"),
    ],
)
def test_malformed_new_values_are_refused_with_their_path(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    @pipeline
    def p() -> None:
        take_int(x=1)

    data = p.build().to_dict()
    target = data["tasks"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError, match=re.escape(message)):
        PipelineIR.from_dict(data)


def test_inspect_shows_the_new_values() -> None:
    from dagwright.pipelines.describe import describe

    @pipeline
    def p(x: int = 1) -> None:
        done = report()
        with ExitHandler(done):
            with If(x > 1):
                a = number(n=1)
            with Else():
                b = number(n=2)
            take_default(x=OneOf(a.output, b.output)).ignore_upstream_failure()

    text = describe(p.build())
    assert "in  status <- final status of exit-handler-1" in text
    assert "in  x <- OneOf(number.output, number-2.output)" in text
    assert "take-default (take-default)  in exit-handler-1  (runs whatever its upstream did)" in (
        text
    )
