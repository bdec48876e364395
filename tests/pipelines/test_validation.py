"""Every bad input is refused before anything runs, with a message naming where and how to fix.

Each case is checked three ways: building the pipeline, compiling it and running it (with
``raise_on_error=False``), and the store must stay empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import (
    Collected,
    Dataset,
    Elif,
    Else,
    ExitHandler,
    If,
    Input,
    Model,
    Output,
    ParallelFor,
    Pipeline,
    ValidationError,
    component,
    pipeline,
)
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import validate_ir

RAN: list[str] = []


@component
def make_number(n: int = 1) -> int:
    RAN.append("make_number")
    return n


@component
def make_text() -> str:
    RAN.append("make_text")
    return "x"


@component
def make_data(data: Output[Dataset]) -> None:
    RAN.append("make_data")


@component
def make_list() -> list:
    return []


@component
def take_int(x: int) -> None:
    RAN.append("take_int")


@component
def take_float(x: float) -> None:
    RAN.append("take_float")


@component
def take_model(m: Input[Model]) -> None:
    RAN.append("take_model")


def _refused(build: Callable[[], Any], store: Path, *parts: str) -> ValidationError:
    """Build, compile and run the pipeline; each must raise the same ValidationError."""
    RAN.clear()
    with pytest.raises(ValidationError) as built:
        pipe = build()
        if isinstance(pipe, PipelineIR):
            validate_ir(pipe)
        else:
            pipe.build()
    for part in parts:
        assert part in str(built.value), str(built.value)
    try:
        pipe = build()
    except ValidationError:
        return built.value  # refused while tracing: there is nothing to compile or run
    with pytest.raises(ValidationError, match=re.escape(parts[0])):
        dagwright.compile(pipe, target="ir", path=store / "x.yaml")
    with pytest.raises(ValidationError, match=re.escape(parts[0])):
        dagwright.run(pipe, root=store, raise_on_error=False, echo=False)
    assert RAN == []
    assert not store.exists(), "nothing may be written for an invalid pipeline"
    return built.value


def test_unknown_input(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x=1, y=2)

    err = _refused(
        lambda: p,
        store,
        "pipeline 'p'",
        "task 'take-int'",
        "field 'y'",
        "has no input 'y'",
        "its inputs are ['x']",
    )
    assert err.pipeline == "p" and err.task == "take-int" and err.field == "y"


def test_missing_input(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int()

    _refused(lambda: p, store, "missing input 'x' (int)", "task 'take-int'", "pass x=...")


def test_type_mismatch_between_output_and_input(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x=make_text().output)

    _refused(
        lambda: p,
        store,
        "type mismatch",
        "task 'take-int'",
        "field 'x'",
        "output 'output' of task 'make-text' is a str but input 'x' takes a int",
    )


def test_artifact_type_mismatch(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_model(m=make_data().outputs["data"])

    _refused(lambda: p, store, "type mismatch", "is a Dataset but input 'm' takes a Model")


def test_constant_of_the_wrong_type(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x="three")

    _refused(lambda: p, store, "type mismatch: 'three' is not a int", "field 'x'")


def test_int_feeds_float_but_not_the_reverse(store: Path) -> None:
    @pipeline
    def ok() -> None:
        take_float(x=make_number().output)

    ok.build()

    @component
    def make_float() -> float:
        return 1.5

    @pipeline
    def bad() -> None:
        take_int(x=make_float().output)

    _refused(lambda: bad, store, "is a float but input 'x' takes a int")


def test_cycle(store: Path) -> None:
    @pipeline
    def p() -> None:
        first = make_number()
        second = take_int(x=first.output)
        first.after(second)

    _refused(
        lambda: p,
        store,
        "tasks form a cycle",
        "make-number -> take-int -> make-number",
        "remove one of the .after",
    )


def test_duplicate_task_names(store: Path) -> None:
    @pipeline
    def p() -> None:
        make_number().named("step")
        make_text().named("step")

    _refused(lambda: p, store, "duplicate task name 'step'", "pipeline 'p'")


def test_duplicate_task_names_in_an_ir_file(store: Path) -> None:
    @pipeline
    def p() -> None:
        make_number()
        make_text()

    data = p.build().to_dict()
    data["tasks"][1]["name"] = "make-number"
    _refused(lambda: PipelineIR.from_dict(data), store, "duplicate task name 'make-number'")


def test_unsupported_annotation_of_a_pipeline_parameter(store: Path) -> None:
    @pipeline
    def p(x: set) -> None:  # type: ignore[type-arg]
        take_int(x=1)

    _refused(lambda: p, store, "parameter 'x' has an unsupported annotation", "pipeline 'p'")

    @pipeline
    def q(x) -> None:  # type: ignore[no-untyped-def]
        take_int(x=1)

    _refused(lambda: q, store, "parameter 'x' has no type hint")


def test_output_name_that_does_not_exist(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x=make_number().outputs["count"])

    _refused(lambda: p, store, "'make-number' has no output 'count'", "use one of ['output']")


def test_ambiguous_single_output(store: Path) -> None:
    @component
    def two(a: Output[Dataset], b: Output[Dataset]) -> None:
        pass

    @pipeline
    def p() -> None:
        take_int(x=two().output)

    _refused(lambda: p, store, "has several outputs, so .output is ambiguous", "['a', 'b']")


@pytest.mark.parametrize("op", ["gt", "eq"])
def test_condition_on_an_artifact(store: Path, op: str) -> None:
    @pipeline
    def p() -> None:
        data = make_data().outputs["data"]
        with If(data > 1 if op == "gt" else data == 1):
            take_int(x=1)

    _refused(
        lambda: p,
        store,
        "condition compares output 'data' of task 'make-data'",
        "of type Dataset",
        "block 'condition-1'",
        "field 'condition'",
    )


def test_ordering_a_list_is_not_comparable(store: Path) -> None:
    @pipeline
    def p(xs: list[int]) -> None:
        with If(xs > 3):
            take_int(x=1)

    _refused(lambda: p, store, "parameter 'xs', of type list[int], which cannot be ordered")


def test_condition_comparing_unrelated_types(store: Path) -> None:
    @pipeline
    def p(name: str) -> None:
        with If(make_number().output == name):
            take_int(x=1)

    _refused(lambda: p, store, "condition compares a int with a str")


def test_if_needs_a_condition(store: Path) -> None:
    @pipeline
    def p() -> None:
        with If("yes"):
            take_int(x=1)

    _refused(lambda: p, store, "If(...) takes a condition")


def test_elif_must_follow_if(store: Path) -> None:
    @pipeline
    def p(n: int) -> None:
        with If(n > 1):
            take_int(x=1)
        take_int(x=2)
        with Elif(n > 0):
            take_int(x=3)

    _refused(lambda: p, store, "elif must directly follow an If or Elif block")

    @pipeline
    def q(n: int) -> None:
        with Else():
            take_int(x=3)

    _refused(lambda: q, store, "else must directly follow")


@pytest.mark.parametrize("source", ["param", "constant", "output"])
def test_non_list_parallel_for_source(store: Path, source: str) -> None:
    @pipeline
    def p(n: int = 3) -> None:
        items: Any = {"param": n, "constant": 5, "output": make_text().output}[source]
        with ParallelFor(items) as item:
            take_int(x=item)

    _refused(lambda: p, store, "ParallelFor needs a list to loop over", "field 'items'")


def test_loop_output_used_outside_without_collected(store: Path) -> None:
    @pipeline
    def p() -> None:
        with ParallelFor([1, 2]) as item:
            inner = make_number(n=item)
        take_int(x=inner.output)

    _refused(lambda: p, store, "runs once per item of loop-1", "Collected(...)")


def test_collected_outside_any_loop(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x=Collected(make_number().output))

    _refused(lambda: p, store, "needs 'make-number' to sit in a ParallelFor")


def test_conditional_output_used_outside_its_block(store: Path) -> None:
    @pipeline
    def p(n: int) -> None:
        with If(n > 1):
            inner = make_number()
        take_int(x=inner.output)

    _refused(lambda: p, store, "runs only inside the If block condition-1")


def test_positional_arguments(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(1)

    _refused(lambda: p, store, "called with positional arguments", "take_int(x=...)")


def test_passing_a_task_instead_of_its_output(store: Path) -> None:
    @pipeline
    def p() -> None:
        take_int(x=make_number())

    _refused(lambda: p, store, "is a step, not a value; pass one of its outputs", "field 'x'")


@pytest.mark.parametrize(
    "name, becomes",
    [("My Pipeline", "my-pipeline"), ("train_model", "train-model"), ("x" * 70, "x" * 63)],
)
def test_names_that_cannot_be_kubernetes_names(store: Path, name: str, becomes: str) -> None:
    def build() -> Any:
        return pipeline(name=name)(lambda: None)

    _refused(
        build,
        store,
        f"pipeline name '{name}' cannot be a Kubernetes resource name",
        f"it would become '{becomes}'",
    )

    def builder() -> Any:
        p = Pipeline("ok")
        p.add(make_number).named(name)
        return p

    _refused(builder, store, f"task name '{name}'", f"it would become '{becomes}'")


def test_name_with_nothing_usable(store: Path) -> None:
    _refused(lambda: Pipeline("___"), store, "nothing of it is left")


def test_task_name_in_an_ir_file_is_checked(store: Path) -> None:
    @pipeline
    def p() -> None:
        make_number()

    data = p.build().to_dict()
    data["tasks"][0]["name"] = "Make_Number"
    _refused(
        lambda: PipelineIR.from_dict(data),
        store,
        "task name 'Make_Number'",
        "would become 'make-number'",
    )


def test_exit_handler_needs_a_task_from_the_same_block(store: Path) -> None:
    @pipeline
    def p(n: int) -> None:
        with If(n > 0):
            cleanup = make_number()
        with ExitHandler(cleanup):
            take_int(x=1)

    _refused(lambda: p, store, "exit task must be created in the same block")


def test_bad_schedule(store: Path) -> None:
    @pipeline(schedule="every day")
    def p() -> None:
        make_number()

    _refused(lambda: p, store, "schedule 'every day' is not a cron expression", "'0 3 * * *'")


def test_not_an_ir_file(store: Path) -> None:
    with pytest.raises(ValidationError, match="not a dagwright pipeline IR"):
        PipelineIR.from_dict({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"})


def test_bad_run_arguments(store: Path) -> None:
    @pipeline
    def p(n: int, flag: bool = False) -> None:
        take_int(x=n)

    RAN.clear()
    for kwargs, message in [
        ({}, "missing parameter 'n' (int)"),
        ({"n": 1, "m": 2}, "unknown parameter 'm'"),
        ({"n": "1"}, "'1' is not a int"),
        ({"n": 1, "flag": "yes"}, "'yes' is not a bool"),
    ]:
        with pytest.raises(ValidationError, match=re.escape(message)):
            dagwright.run(p, root=store, raise_on_error=False, echo=False, **kwargs)
    assert RAN == [] and not store.exists()


def test_validate_ir_accepts_a_sound_pipeline() -> None:
    @pipeline
    def p(n: int = 2) -> int:
        first = make_number(n=n)
        with If(first.output > 1):
            take_float(x=first.output)
        return first.output

    validate_ir(PipelineIR.from_yaml(p.build().to_yaml()))


def test_references_inside_a_literal_list(store: Path) -> None:
    @component
    def take_list(xs: list[int]) -> None:
        pass

    @pipeline
    def p(n: int) -> None:
        take_list(xs=[n, 1])

    _refused(
        lambda: p, store, "holds task outputs or parameters inside a list or dict", "field 'xs'"
    )


def test_builder_parameter_names(store: Path) -> None:
    def bad_name() -> Any:
        p = Pipeline("ok")
        p.param("my param", int)
        return p

    _refused(bad_name, store, "parameter name 'my param' is not a Python identifier")

    def twice() -> Any:
        p = Pipeline("ok")
        p.param("n", int)
        p.param("n", str)
        return p

    _refused(twice, store, "parameter 'n' is declared twice")


def test_after_takes_tasks(store: Path) -> None:
    @pipeline
    def p() -> None:
        first = make_number()
        take_int(x=1).after(first.output)

    _refused(lambda: p, store, ".after() takes tasks of this pipeline", "task 'take-int'")


def _ir_dict() -> dict:
    @pipeline
    def p(n: int = 1) -> None:
        first = make_number(n=n)
        with If(first.output > 0):
            take_int(x=first.output)

    return p.build().to_dict()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("name"), "malformed IR at name: expected a string, got None"),
        (lambda d: d["groups"][0].update(colour="red"), "unexpected keyword argument 'colour'"),
        (lambda d: d["groups"][0].update(parent="condition-1"), "is its own ancestor"),
        (lambda d: d["tasks"][1].update(group="nowhere"), "unknown block 'nowhere'"),
        (lambda d: d["params"].append(dict(d["params"][0])), "parameter 'n' is declared twice"),
        (lambda d: d["params"][0].update(default="one"), "default 'one' of parameter 'n'"),
        (lambda d: d["tasks"][0].update(component="ghost"), "unknown component 'ghost'"),
    ],
)
def test_malformed_ir_files(store: Path, edit: Callable[[dict], Any], message: str) -> None:
    data = _ir_dict()
    edit(data)
    _refused(lambda: PipelineIR.from_dict(data), store, message)


@pytest.mark.parametrize("text", ["", "- a list\n", "{unclosed: [", "42"])
def test_ir_text_that_is_not_an_ir(text: str) -> None:
    with pytest.raises(ValidationError):
        PipelineIR.from_yaml(text)


def test_cycle_through_a_block(store: Path) -> None:
    """No cycle among tasks, but the If block would have to run both before and after 'late'."""

    @pipeline
    def p(x: int = 1) -> None:
        with If(x > 0):
            inside_first = make_number(n=1)
            inside_second = make_number(n=2)
        late = take_int(x=3).after(inside_first)
        inside_second.after(late)

    _refused(lambda: p, store, "tasks form a cycle", "condition-1 -> take-int -> condition-1")


@pytest.mark.parametrize("how", ["constant", "param"])
def test_arguments_of_a_nested_pipeline_are_type_checked(store: Path, how: str) -> None:
    @pipeline
    def inner(n: int) -> None:
        with If(n > 3):
            take_int(x=1)

    @pipeline
    def outer(word: str = "abc") -> None:
        inner(n="abc" if how == "constant" else word)

    _refused(
        lambda: outer,
        store,
        "type mismatch: pipeline 'inner' takes n: int, got a str",
        "task 'inner'",
        "field 'n'",
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["tasks"][1]["inputs"].update(x=5), "tasks[1].inputs.x: expected a mapping"),
        (lambda d: d["groups"][0].update(condition="x > 0"), "groups[0].condition: expected a"),
        (lambda d: d["groups"][0]["condition"].pop("left"), "'gt' needs exactly left and right"),
        (lambda d: d["groups"][0].update(parallelism="2"), "groups[0].parallelism: expected an"),
        (lambda d: d.update(name=5), "at name: expected a string, got 5"),
        (lambda d: d["tasks"][0].update(group=["a"]), "tasks[0].group: expected a string"),
        (lambda d: d["tasks"][0].update(after="num"), "tasks[0].after: expected a list"),
        (lambda d: d["tasks"][1]["inputs"].update(x={"task": "a"}), "is not a value"),
    ],
)
def test_fields_of_the_wrong_type_in_an_ir_file(
    store: Path, edit: Callable[[dict], Any], message: str
) -> None:
    data = _ir_dict()
    edit(data)
    _refused(lambda: PipelineIR.from_dict(data), store, "malformed IR", message)


def _if_chained(item: Any) -> Any:
    return If(1 < item < 5)


@pytest.mark.parametrize(
    "mistake, message",
    [
        ("and", "combine conditions with &, | and ~"),
        ("chained", "combine conditions with &, | and ~"),
        ("in", "combine conditions with &, | and ~"),
        ("collected", "Collected takes a task output"),
        ("nested_key", "only one level of item fields can be picked"),
    ],
)
def test_tracing_mistakes_are_validation_errors(store: Path, mistake: str, message: str) -> None:
    @pipeline
    def p() -> None:
        n = make_number()
        if mistake == "and":
            If((n.output > 1) and (n.output < 5))
        elif mistake == "chained":
            _if_chained(n.output)
        elif mistake == "in":
            If(n.output in [1, 2])
        elif mistake == "collected":
            Collected(n)  # type: ignore[arg-type]
        else:
            with ParallelFor([{"a": {"b": 1}}]) as item:
                take_int(x=item["a"]["b"])

    _refused(lambda: p, store, message)


def test_a_pipeline_that_uses_itself(store: Path) -> None:
    @pipeline
    def again(n: int = 1) -> None:
        take_int(x=n)
        again(n=n)

    _refused(lambda: again, store, "pipeline 'again' uses itself as a step (again -> again)")


def test_a_nested_pipeline_called_positionally(store: Path) -> None:
    @pipeline
    def inner(n: int) -> None:
        take_int(x=n)

    @pipeline
    def outer() -> None:
        inner(3)

    _refused(lambda: outer, store, "pipeline 'inner' was called with positional arguments")


def test_collected_artifacts_do_not_feed_a_plain_list(store: Path) -> None:
    @component
    def take_list(xs: list) -> None:
        pass

    @pipeline
    def p() -> None:
        with ParallelFor([1, 2]):
            made = make_data()
        take_list(xs=Collected(made.outputs["data"]))

    _refused(lambda: p, store, "is a list[Dataset] but input 'xs' takes a list")
