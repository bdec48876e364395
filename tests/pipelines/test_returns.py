"""A pipeline returning ``task.outputs`` or a nested pipeline's ``.outputs`` (KFP's
``pipeline_in_pipeline_complex`` pattern): each field of the NamedTuple return annotation is
the output of that name, checked by name and type."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

import dagwright
from dagwright import Dataset, Model, Output, ValidationError, component, pipeline


class Stats(NamedTuple):
    total: int
    label: str


@component
def stats(n: int) -> Stats:
    return Stats(n * 2, f"n={n}")


@component
def single(n: int) -> int:
    return n + 1


@component
def make(n: int, data: Output[Dataset]) -> Stats:
    with open(data.path, "w", encoding="utf-8") as f:
        f.write(str(n))
    return Stats(n, "made")


@pipeline
def inner(n: int = 1) -> NamedTuple("Outputs", [("total", int), ("label", str)]):  # noqa: UP014
    return stats(n=n).outputs


@pipeline
def outer(n: int = 3) -> NamedTuple("Outputs", [("total", float)]):  # noqa: UP014
    return inner(n=n).outputs


def test_returned_task_outputs_map_onto_the_named_tuple_fields() -> None:
    assert inner.ir.outputs == {
        "total": {"task": "stats", "output": "total"},
        "label": {"task": "stats", "output": "label"},
    }


def test_a_nested_pipeline_outputs_pass_through_and_run(tmp_path: Path) -> None:
    # only the annotated field becomes an output; int widens to the declared float
    assert outer.ir.outputs == {"total": {"task": "inner-stats", "output": "total"}}
    result = dagwright.run(outer, {"n": 4}, echo=False, root=tmp_path)
    assert result.succeeded and result.outputs == {"total": 8}


def test_artifact_fields_are_checked_as_artifacts() -> None:
    @pipeline
    def p() -> NamedTuple("Outputs", [("data", Dataset), ("label", str)]):  # noqa: UP014
        return make(n=1).outputs

    assert set(p.ir.outputs) == {"data", "label"}

    @pipeline
    def wrong() -> NamedTuple("Outputs", [("data", Model)]):  # noqa: UP014
        return make(n=1).outputs

    with pytest.raises(ValidationError) as caught:
        wrong.build()
    assert caught.value.field == "return.data"
    assert "Model" in caught.value.problem and "Dataset" in caught.value.problem


def test_a_field_no_output_has_is_refused_naming_it() -> None:
    @pipeline
    def p() -> NamedTuple("Outputs", [("totl", int)]):  # noqa: UP014
        return stats(n=1).outputs

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "return.totl"
    assert "total" in caught.value.problem and caught.value.fix


def test_a_field_of_another_type_is_refused_with_the_fix() -> None:
    @pipeline
    def p() -> NamedTuple("Outputs", [("label", int)]):  # noqa: UP014
        return stats(n=1).outputs

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "return.label"
    assert "annotate 'label' as str" in (caught.value.fix or "")


def test_another_return_annotation_is_refused() -> None:
    @pipeline
    def p() -> int:
        return stats(n=1).outputs

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "return" and "NamedTuple" in (caught.value.fix or "")


def test_without_an_annotation_every_output_is_returned() -> None:
    @pipeline
    def p():  # type: ignore[no-untyped-def]
        return stats(n=1).outputs

    assert set(p.ir.outputs) == {"total", "label"}


def test_single_output_and_dict_returns_behave_as_before() -> None:
    @pipeline
    def one() -> int:
        return single(n=1).output

    @pipeline
    def handle() -> int:
        return single(n=1)

    @pipeline
    def mapping() -> dict:  # type: ignore[type-arg]
        task = stats(n=1)
        return {"sum": task.outputs["total"]}

    assert one.ir.outputs == handle.ir.outputs == {"output": {"task": "single", "output": "output"}}
    assert mapping.ir.outputs == {"sum": {"task": "stats", "output": "total"}}


def test_something_else_is_still_refused() -> None:
    @pipeline
    def p() -> int:
        return 3

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "return" and ".outputs" in (caught.value.fix or "")
