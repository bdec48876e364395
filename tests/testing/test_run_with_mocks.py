"""``dagwright.testing.run_with_mocks``: components replaced by mocks, checked before anything
runs, running in this process, never cached; inside loops, conditions and nested pipelines."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple
from unittest.mock import Mock, create_autospec

import pytest

import dagwright
from dagwright import (
    Collected,
    Dataset,
    ExitHandler,
    If,
    Input,
    Output,
    ParallelFor,
    PipelineTaskFinalStatus,
    component,
    pipeline,
)
from dagwright.errors import RunFailed, ValidationError
from dagwright.runtimes import Process
from dagwright.testing import MockedRun, run_with_mocks, use_store


@component
def load(n: int) -> list[int]:
    return list(range(n))


@component(runtime=Process())
def train(x: int, lr: float = 0.1) -> float:
    raise RuntimeError("the real training must not run in these tests")


@component
def total(scores: list[float]) -> float:
    return sum(scores)


@component
def publish(score: float) -> str:
    return f"published {score}"


@pipeline
def flow(n: int = 3, threshold: float = 100.0) -> float:
    items = load(n=n).output
    with ParallelFor(items) as x:
        scored = train(x=x)
    summed = total(scores=Collected(scored.output))
    with If(summed.output > threshold):
        publish(score=summed.output)
    return summed.output


def test_a_mock_runs_in_every_loop_iteration_in_this_process(tmp_path: Path) -> None:
    """train is a Process() step: its mock still runs here, so a Mock counts its calls."""
    calls = Mock()

    def fake_train(x: int, lr: float = 0.5) -> float:
        calls(x, lr, os.getpid())
        return x * 10.0

    result = run_with_mocks(flow, mocks={"train": fake_train}, n=3, root=tmp_path)
    assert isinstance(result, MockedRun) and result.succeeded
    assert result.outputs == {"output": 30.0}
    assert sorted(c.args for c in calls.call_args_list) == [(i, 0.5, os.getpid()) for i in range(3)]
    assert result.mocked == ["train"]
    assert result.ran == ["load", "train", "total"]
    assert result.skipped == ["publish"]  # 30 is not above 100
    assert result.step_outputs["train[2]"] == {"output": 20.0}
    assert result.outputs_of("train", (1,)) == {"output": 10.0}


def test_a_mock_inside_a_condition_and_the_component_object_as_key(tmp_path: Path) -> None:
    published = Mock(return_value="sent")
    result = run_with_mocks(
        flow,
        mocks={train: lambda x, lr=0.0: 50.0, publish: published},
        threshold=10.0,
        root=tmp_path,
    )
    assert result.succeeded, result.steps
    assert result.mocked == ["train", "publish"]
    assert published.call_args.kwargs == {"score": 150.0}
    assert result.step_outputs["publish"] == {"output": "sent"}


def test_one_component_used_by_several_tasks_and_in_a_nested_pipeline(tmp_path: Path) -> None:
    @component
    def add(a: float, b: float, c: float) -> float:
        return a + b + c

    @pipeline
    def inner(n: int) -> float:
        return train(x=n).output

    @pipeline
    def outer(n: int = 2) -> float:
        first = train(x=n)
        second = train(x=n).set_retry(2)  # a per-task variant of the component
        nested = inner(n=n)
        return add(a=first.output, b=second.output, c=nested.output).output

    seen: list[int] = []

    def fake(x: int, lr: float = 0.0) -> float:
        seen.append(x)
        return 1.0

    result = run_with_mocks(outer, mocks={"train": fake}, root=tmp_path)
    assert result.succeeded, result.steps
    tasks = {t.name for t in outer.build().tasks if t.component.startswith("train")}
    assert len(tasks) == 3 and set(result.mocked) == tasks
    assert seen == [2, 2, 2] and result.outputs == {"output": 3.0}
    by_object = run_with_mocks(outer, mocks={train: fake}, root=tmp_path)
    assert set(by_object.mocked) == tasks and len(seen) == 6


def test_steps_of_scale_out_runtimes_run_their_mocks_here(tmp_path: Path) -> None:
    """Spark, Dask, Nuclio and Job steps (nothing of which runs here) take their mocks in this
    process; the objects their runtimes inject (spark, client, context) are no inputs."""
    from dagwright.runtimes import Dask, Job, Nuclio, Spark

    @component(runtime=Spark())
    def aggregate(spark, n: int) -> int:  # type: ignore[no-untyped-def]
        return int(spark.range(n).count())

    @component(runtime=Dask(address="tcp://127.0.0.1:9"))
    def crunch(client, n: int) -> int:  # type: ignore[no-untyped-def]
        return n

    @component(runtime=Nuclio())
    def serve(context, event):  # type: ignore[no-untyped-def]
        return "served"

    @component(runtime=Job(image="busybox"))
    def batch(n: int) -> int:
        return n

    @pipeline
    def scaled(n: int = 3) -> int:
        serve()
        return batch(n=crunch(n=aggregate(n=n).output).output).output

    pids = Mock()

    def fake_aggregate(n: int) -> int:
        pids(os.getpid())
        return n + 1

    mocks = {
        "aggregate": fake_aggregate,
        "crunch": lambda n: n * 2,
        "serve": lambda: "http://127.0.0.1:9/fake",
        "batch": lambda n: n,
    }
    result = run_with_mocks(scaled, mocks=mocks, root=tmp_path)
    assert result.succeeded, [(s.task, s.error) for s in result.steps]
    assert result.outputs == {"output": 8}
    assert sorted(result.mocked) == ["aggregate", "batch", "crunch", "serve"]
    pids.assert_called_once_with(os.getpid())
    error = _refused(scaled, {"aggregate": lambda spark, n: n}, tmp_path / "refused")
    assert error.field == "spark" and "does not have" in error.problem


def test_an_exit_task_and_a_step_inside_its_block(tmp_path: Path) -> None:
    @component
    def cleanup(status: PipelineTaskFinalStatus) -> str:
        raise RuntimeError("the real cleanup")

    @pipeline
    def guarded(n: int = 1) -> list[int]:
        with ExitHandler(cleanup()):
            made = load(n=n)
        return made.output

    states: list[str] = []

    def fake_cleanup(status: PipelineTaskFinalStatus) -> str:
        states.append(status.state)
        return "cleaned"

    broken = Mock(side_effect=OSError("no data"))
    mocks = {"cleanup": fake_cleanup, "load": broken}
    result = run_with_mocks(guarded, mocks=mocks, root=tmp_path)
    assert result.status == "failed" and result.failed == ["load"]
    assert states == ["FAILED"] and set(result.mocked) == {"cleanup", "load"}
    assert result.step("load").error == "OSError: no data"


def test_a_task_name_mocks_that_task_only(tmp_path: Path) -> None:
    @pipeline
    def twice(n: int = 3) -> list[int]:
        load(n=n)
        return load(n=n).output

    assert [t.name for t in twice.build().tasks] == ["load", "load-2"]
    mock = Mock(return_value=[7])
    result = run_with_mocks(twice, mocks={"load-2": mock}, root=tmp_path)
    assert result.succeeded and result.outputs == {"output": [7]}
    assert result.mocked == ["load-2"] and result.outputs_of("load") == {"output": [0, 1, 2]}
    assert mock.call_count == 1


def test_a_component_as_mock_and_an_output_artifact(tmp_path: Path) -> None:
    @component
    def make(rows: int, data: Output[Dataset]) -> None:
        raise RuntimeError("heavy")

    @component
    def count(data: Input[Dataset]) -> int:
        return len(Path(data.path).read_text().splitlines())

    @component
    def fake_make(rows: int, data: Output[Dataset]) -> None:
        Path(data.path).write_text("row\n" * rows)

    @pipeline
    def files(rows: int = 4) -> int:
        return count(data=make(rows=rows).outputs["data"]).output

    result = run_with_mocks(files, mocks={make: fake_make}, root=tmp_path)
    assert result.outputs == {"output": 4}
    assert result.mocked == ["make"]


def test_the_pipeline_itself_is_left_as_it_was(tmp_path: Path) -> None:
    before = flow.build().to_dict()
    run_with_mocks(flow, mocks={"train": lambda x, lr=0.1: 1.0}, root=tmp_path)
    assert flow.build().to_dict() == before
    real = dagwright.run(flow, echo=False, root=tmp_path, lineage=False)
    assert real.step("train", (0,)).status == "failed"
    assert "must not run" in (real.step("train", (0,)).error or "")


@pytest.mark.filterwarnings("ignore::dagwright.components.decorator.ComponentSourceWarning")
def test_a_mocked_step_is_never_cached(tmp_path: Path) -> None:
    """Two runs with the cache on for every step: load and total come from the cache the
    second time; the mock runs both times, and the cache table has no entry of it. A
    component defined here (its source reads a name of this test) runs as it is."""
    calls = Mock(return_value=1.0)
    offset = 100

    @component
    def load(n: int) -> list[int]:
        return [offset + i for i in range(n)]

    @pipeline
    def flow(n: int = 2) -> float:
        with ParallelFor(load(n=n).output) as x:
            scored = train(x=x)
        return total(scores=Collected(scored.output)).output

    def fake(x: int, lr: float = 0.1) -> float:
        return calls(x)  # type: ignore[no-any-return]

    first = run_with_mocks(flow, mocks={"train": fake}, n=2, cache=True, root=tmp_path)
    second = run_with_mocks(flow, mocks={"train": fake}, n=2, cache=True, root=tmp_path)
    assert first.cached == [] and first.succeeded
    assert second.cached == ["load", "total"]
    assert second.ran == ["train"] and calls.call_count == 4
    assert sorted(c.args for c in calls.call_args_list) == [(100,), (100,), (101,), (101,)]
    with sqlite3.connect(tmp_path / "runs.db") as db:
        cached_tasks = {row[0] for row in db.execute("SELECT task FROM cache")}
    assert cached_tasks == {"load", "total"}


def test_without_a_root_the_store_is_removed_after(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_with_mocks(flow, mocks={"train": lambda x, lr=0.1: 1.0})
    assert result.succeeded and result.run_dir is not None
    assert not result.run_dir.exists()
    assert not result.run_dir.parent.parent.exists()  # the whole temporary store


def test_use_store_is_where_runs_go_and_is_undone(tmp_path: Path) -> None:
    old = os.environ.get("DAGWRIGHT_HOME")
    with use_store(tmp_path / "s") as root:
        assert os.environ["DAGWRIGHT_HOME"] == str(root)
        result = run_with_mocks(flow, mocks={"train": lambda x, lr=0.1: 1.0})
        assert result.run_dir is not None and result.run_dir.is_relative_to(root)
    assert os.environ.get("DAGWRIGHT_HOME") == old
    assert (tmp_path / "s" / "runs.db").is_file()


def test_a_failing_mock_is_a_failed_step_and_raise_on_error_carries_the_mocked_run() -> None:
    def broken(x: int, lr: float = 0.1) -> float:
        raise ValueError("mock says no")

    with pytest.raises(RunFailed, match="mock says no") as caught:
        run_with_mocks(flow, mocks={"train": broken}, raise_on_error=True)
    assert isinstance(caught.value.result, MockedRun)
    assert caught.value.result.failed == ["train"]


# --- checked before anything runs --------------------------------------------------------------


class Pair(NamedTuple):
    low: int
    high: int


@component
def split(x: int) -> Pair:
    return Pair(x, x)


@pipeline
def pairs(x: int = 1) -> int:
    return split(x=x).outputs["low"]


def _refused(pipe: object, mocks: dict[object, object], store: Path) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        run_with_mocks(pipe, mocks=mocks, root=store)
    assert not (store / "runs.db").exists()  # nothing ran, nothing was written
    return caught.value


@pytest.mark.parametrize(
    ("mock", "field", "said", "fix"),
    [
        (lambda lr=0.1: 1.0, "x", "does not take input 'x'", "add the parameter 'x: int'"),
        (lambda x, lr, y: 1.0, "lr", "input 'lr' has no default", "lr: float = 0.1"),
        (
            lambda x, y, lr=0.1: 1.0,
            "y",
            "takes 'y', which component 'train' does not have",
            "or give it a default",
        ),
    ],
)
def test_a_mock_taking_other_inputs_is_refused(
    tmp_path: Path, mock: object, field: str, said: str, fix: str
) -> None:
    error = _refused(flow, {"train": mock}, tmp_path)
    assert error.field == field and said in error.problem and fix in (error.fix or "")
    assert "mock '<lambda>' of component 'train'" in error.problem
    assert error.pipeline == "flow"


def test_annotations_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    def wrong_in(x: str, lr: float = 0.1) -> float:
        return 1.0

    def wrong_out(x: int, lr: float = 0.1) -> str:
        return ""

    def artifact_for_value(x: Input[Dataset], lr: float = 0.1) -> float:
        return 1.0

    def low_only(x: int) -> int:
        return x

    error = _refused(flow, {"train": wrong_in}, tmp_path)
    assert (error.field, error.fix) == ("x", "annotate it 'x: int'")
    assert "mock 'wrong_in'" in error.problem and "annotated str" in error.problem
    error = _refused(flow, {"train": wrong_out}, tmp_path)
    assert error.field == "return" and "a str, but the component's is a float" in error.problem
    assert error.fix == "annotate its return -> float"
    error = _refused(flow, {"train": artifact_for_value}, tmp_path)
    assert error.field == "x" and "Input[Dataset]" in error.problem
    error = _refused(pairs, {"split": low_only}, tmp_path)
    assert error.field == "return" and "a NamedTuple (low: int, high: int)" in error.problem


def test_a_compatible_annotation_and_a_keyword_catch_all_are_taken(tmp_path: Path) -> None:
    def wider(x: float, lr: float = 0.1) -> int:  # an int fits a float, both ways here
        return 3

    result = run_with_mocks(flow, mocks={"train": wider}, n=1, root=tmp_path)
    assert result.outputs == {"output": 3.0}
    loose = Mock(return_value=Pair(4, 5))  # a Mock takes anything: checked when it runs
    result = run_with_mocks(pairs, mocks={"split": loose}, root=tmp_path)
    assert result.outputs == {"output": 4} and loose.call_args.kwargs == {"x": 1}

    def claims_nothing(x: Any, lr: Any = 0.1) -> Any:
        return 2.0

    autospec = create_autospec(train.func, return_value=0.5)
    specced = Mock(spec=train.func, return_value=0.25)
    for mock, total_of_one in ((claims_nothing, 2.0), (autospec, 0.5), (specced, 0.25)):
        result = run_with_mocks(flow, mocks={"train": mock}, n=1, root=tmp_path)
        assert result.outputs == {"output": total_of_one}
    error = _refused(flow, {"train": create_autospec(lambda y: 1.0)}, tmp_path / "refused")
    assert error.field == "x" and "does not take input 'x'" in error.problem


def test_an_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    error = _refused(flow, {"trian": lambda x: 1.0}, tmp_path)
    assert error.field == "mocks"
    assert "'trian' is not in the pipeline (its components are load, publish, total, train)" in (
        error.problem
    )

    @component
    def elsewhere(x: int) -> int:
        return x

    error = _refused(flow, {elsewhere: lambda x: 1}, tmp_path)
    assert "component 'elsewhere' is not in the pipeline" in error.problem
    error = _refused(flow, {"train": 3}, tmp_path)
    assert "is a int, not a function" in error.problem


def test_a_task_mocked_twice_is_refused(tmp_path: Path) -> None:
    error = _refused(flow, {"train": lambda x, lr=0.1: 1.0, train: lambda x, lr=0.1: 2.0}, tmp_path)
    assert "is mocked twice" in error.problem and error.field == "mocks"


def test_a_component_imported_from_kfp_is_mocked_as_the_function_it_was(tmp_path: Path) -> None:
    """KFP names a single return value ``Output``: the mock returns it as the function did."""
    pytest.importorskip("kfp")
    from kfp_sums import sums

    def fake_add(a: int, b: int) -> int:
        return 40

    result = run_with_mocks(sums, mocks={"add": fake_add}, root=tmp_path)
    assert result.succeeded, [(s.task, s.error) for s in result.steps]
    assert result.outputs == {"Output": 80} and result.mocked == ["add"]

    def wrong(a: int, b: int) -> str:
        return "40"

    error = _refused(sums, {"add": wrong}, tmp_path / "refused")
    assert error.field == "return" and error.fix == "annotate its return -> int"


def test_a_mock_is_let_go_when_its_run_returns(tmp_path: Path) -> None:
    """A test suite's mocks (and all their closures hold) do not pile up in the process."""
    import gc
    import weakref

    def fake(x: int, lr: float = 0.1) -> float:
        return 1.0

    held = weakref.ref(fake)
    assert run_with_mocks(flow, mocks={"train": fake}, root=tmp_path).outputs == {"output": 3.0}
    del fake
    gc.collect()
    assert held() is None
