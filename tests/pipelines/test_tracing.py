"""@pipeline tracing and the Pipeline builder produce the IR the design describes."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from dagwright import (
    Collected,
    Dataset,
    Elif,
    Else,
    ExitHandler,
    If,
    Input,
    Output,
    ParallelFor,
    Pipeline,
    ValidationError,
    component,
    pipeline,
)
from dagwright.pipelines.context import current_builder


class Pair(NamedTuple):
    low: int
    high: int


@component
def produce(n: int = 1) -> int:
    return n


@component
def bounds(n: int) -> Pair:
    return Pair(n - 1, n + 1)


@component
def write(data: Output[Dataset]) -> None:
    pass


@component
def read(data: Input[Dataset], scale: float = 1.0) -> float:
    return scale


def test_tasks_outputs_and_edges() -> None:
    @pipeline
    def p(n: int = 3, scale: float = 2.0) -> float:
        """Doc summary.

        Args:
            n: How many.
        """
        a = produce(n=n)
        b = bounds(n=a.output)
        w = write().after(b)
        r = read(data=w.outputs["data"], scale=scale)
        return r.output

    ir = p.build()
    assert ir.name == "p" and ir.description == "Doc summary."
    assert [(x.name, x.type, x.default, x.description) for x in ir.params] == [
        ("n", "int", 3, "How many."),
        ("scale", "float", 2.0, ""),
    ]
    assert [t.name for t in ir.tasks] == ["produce", "bounds", "write", "read"]
    assert ir.task("bounds").inputs == {"n": {"task": "produce", "output": "output"}}
    assert ir.task("write").after == ["bounds"]
    assert ir.task("read").inputs == {
        "data": {"task": "write", "output": "data"},
        "scale": {"param": "scale"},
    }
    assert ir.outputs == {"output": {"task": "read", "output": "output"}}
    assert current_builder() is None


def test_named_tuple_fields_are_outputs_and_pipeline_outputs() -> None:
    class Out(NamedTuple):
        low: int
        high: int

    @pipeline
    def p() -> Out:
        b = bounds(n=5)
        return Out(b.outputs["low"], b.outputs["high"])

    assert p.build().outputs == {
        "low": {"task": "bounds", "output": "low"},
        "high": {"task": "bounds", "output": "high"},
    }


def test_components_are_stored_once_and_task_names_are_unique() -> None:
    @pipeline
    def p() -> None:
        for _ in range(3):
            produce()

    ir = p.build()
    assert [t.name for t in ir.tasks] == ["produce", "produce-2", "produce-3"]
    assert list(ir.components) == ["produce"]
    assert {t.component for t in ir.tasks} == {"produce"}


def test_two_components_with_one_name_get_distinct_ids() -> None:
    def one() -> None:
        pass

    first = component(name="step")(one)

    def other(x: int = 1) -> None:
        pass

    second = component(name="step")(other)

    @pipeline
    def p() -> None:
        first()
        second()

    ir = p.build()
    assert list(ir.components) == ["step", f"step-{second.digest[:8]}"]


def test_if_elif_else_store_the_full_condition() -> None:
    @pipeline
    def p(n: int) -> None:
        a = produce(n=n)
        with If(a.output > 10):
            produce(n=1)
        with Elif((a.output > 5) & ~(a.output == 7)):
            produce(n=2)
        with Else():
            produce(n=3)

    ir = p.build()
    big = {"op": "gt", "left": {"task": "produce", "output": "output"}, "right": {"constant": 10}}
    mid = {
        "op": "and",
        "args": [
            {"op": "gt", "left": {"task": "produce", "output": "output"}, "right": {"constant": 5}},
            {
                "op": "not",
                "arg": {
                    "op": "eq",
                    "left": {"task": "produce", "output": "output"},
                    "right": {"constant": 7},
                },
            },
        ],
    }
    g1, g2, g3 = ir.groups
    assert (g1.branch, g1.condition) == ("if", big)
    assert (g2.branch, g2.condition) == (
        "elif",
        {"op": "and", "args": [{"op": "not", "arg": big}, mid]},
    )
    assert (g3.branch, g3.condition) == (
        "else",
        {"op": "not", "arg": {"op": "or", "args": [big, mid]}},
    )
    assert [t.group for t in ir.tasks] == [None, "condition-1", "condition-2", "condition-3"]


def test_parallel_for_over_literal_param_and_output_with_collected() -> None:
    @component
    def numbers() -> list[int]:
        return [1, 2]

    @component
    def total(xs: list[int]) -> int:
        return sum(xs)

    @pipeline
    def p(ids: list[int] = [1, 2]) -> int:  # noqa: B006
        with ParallelFor([{"a": 1}, {"a": 2}], parallelism=2) as row:
            produce(n=row["a"])
        with ParallelFor(ids) as i:
            produce(n=i)
        with ParallelFor(numbers().output) as x:
            doubled = produce(n=x)
        return total(xs=Collected(doubled.output)).output

    ir = p.build()
    loops = [g for g in ir.groups if g.kind == "loop"]
    assert [(g.items, g.parallelism) for g in loops] == [
        ({"constant": [{"a": 1}, {"a": 2}]}, 2),
        ({"param": "ids"}, None),
        ({"task": "numbers", "output": "output"}, None),
    ]
    assert ir.task("produce").inputs == {"n": {"loop_item": "loop-1", "key": "a"}}
    assert ir.task("total").inputs == {
        "xs": {"collected": {"task": "produce-3", "output": "output"}}
    }


def test_exit_handler_records_the_exit_task() -> None:
    @pipeline
    def p() -> None:
        cleanup = produce(n=0).named("cleanup")
        with ExitHandler(cleanup):
            produce(n=1)

    ir = p.build()
    (group,) = ir.groups
    assert (group.kind, group.exit_task) == ("exit_handler", "cleanup")
    assert ir.task("produce").group == group.id and ir.task("cleanup").group is None


def test_a_pipeline_used_as_a_step_of_another() -> None:
    @pipeline
    def inner(n: int, scale: float = 1.0) -> float:
        w = write().after(produce(n=n))
        return read(data=w.outputs["data"], scale=scale).output

    @pipeline
    def outer(n: int = 4) -> float:
        first = inner(n=n)
        second = inner(n=1, scale=2.0)
        produce(n=n).after(first, second)
        return first.output

    ir = outer.build()
    assert [g.id for g in ir.groups] == ["inner", "inner-2"]
    assert [t.name for t in ir.tasks if t.group == "inner"] == [
        "inner-write",
        "inner-produce",
        "inner-read",
    ]
    assert ir.task("inner-produce").inputs == {"n": {"param": "n"}}
    assert ir.task("inner-2-read").inputs["scale"] == {"constant": 2.0}
    assert set(ir.task("produce").after) == {
        "inner-produce",
        "inner-write",
        "inner-read",
        "inner-2-produce",
        "inner-2-write",
        "inner-2-read",
    }
    assert ir.outputs == {"output": {"task": "inner-read", "output": "output"}}
    with pytest.raises(TypeError, match="dagwright.run"):
        inner(n=1)


def test_decorator_free_builder() -> None:
    p = Pipeline("built", description="by hand")
    n = p.param("n", int, default=2, description="count")
    first = p.add(produce, n=n)
    with p:
        with If(first.output > 1):
            p.add(bounds, n=first.output).named("wide")
        with ParallelFor([1, 2, 3]) as i:
            produce(n=i)
    p.output("result", first.output)
    ir = p.build()
    assert ir.name == "built" and ir.description == "by hand"
    assert [(x.name, x.type, x.default) for x in ir.params] == [("n", "int", 2)]
    assert [t.name for t in ir.tasks] == ["produce", "wide", "produce-2"]
    assert ir.task("wide").group == "condition-1"
    assert ir.outputs == {"result": {"task": "produce", "output": "output"}}


def test_control_flow_outside_a_pipeline_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="only be used inside"):
        ParallelFor([1])


def test_failed_build_is_not_cached() -> None:
    calls = []

    @pipeline
    def p() -> None:
        calls.append(1)
        produce(x=1)

    for _ in range(2):
        with pytest.raises(ValidationError):
            p.build()
    assert len(calls) == 2


def test_a_reference_taken_before_renaming_follows_the_task() -> None:
    @pipeline
    def p() -> int:
        task = produce(n=1)
        kept = task.output
        task.named("first")
        return bounds(n=kept).outputs["low"]

    assert p.build().task("bounds").inputs == {"n": {"task": "first", "output": "output"}}


def test_renaming_a_task_already_used_is_refused() -> None:
    @pipeline
    def p() -> None:
        task = produce(n=1)
        with If(task.output > 0):
            produce(n=2)
        task.named("late")

    with pytest.raises(ValidationError, match="cannot be renamed to 'late': it is already used"):
        p.build()


def test_a_pipeline_step_can_wait_for_a_task() -> None:
    @pipeline
    def inner(n: int) -> int:
        return produce(n=n).output

    @pipeline
    def outer() -> None:
        first = produce(n=0).named("first")
        inner(n=1).after(first)

    ir = outer.build()
    assert ir.task("inner-produce").after == ["first"]


def test_generated_names_stay_kubernetes_names() -> None:
    @component(name="a-component-with-a-really-quite-long-name-for-its-job-xx")
    def long_named() -> int:
        return 1

    @pipeline(name="feature-engineering-pipeline")
    def inner() -> int:
        return long_named().output

    @pipeline
    def outer() -> None:
        inner()
        inner()

    names = [t.name for t in outer.build().tasks]
    assert all(len(n) <= 63 for n in names) and len(set(names)) == 2
    assert names[0].startswith("feature-engineering-pipeline-a-component-with")
