"""The sequential local engine honours data flow, If, ParallelFor, Collected and ExitHandler."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from dagwright import (
    Collected,
    Dataset,
    Elif,
    Else,
    ExitHandler,
    If,
    Input,
    Metrics,
    Model,
    Output,
    ParallelFor,
    Pipeline,
    Retry,
    RunFailed,
    component,
    pipeline,
)
from dagwright.store import RunDatabase

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


@component
def number(n: int) -> int:
    CALLS.append(f"number {n}")
    return n


@component
def double(x: int) -> int:
    return 2 * x


@component
def total(xs: list[int]) -> int:
    return sum(xs)


@component
def plus(a: int, b: int) -> int:
    return a + b


@component
def note(text: str) -> str:
    CALLS.append(text)
    return text


@component
def boom(x: int = 0) -> int:
    CALLS.append("boom")
    raise RuntimeError("it broke")


@component
def write_rows(rows: int, data: Output[Dataset]) -> None:
    with open(data.path, "w") as out:
        out.write("\n".join(str(i) for i in range(rows)))
    data.metadata["rows"] = rows


@component
def fit(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics]) -> float:
    with open(data.path) as f:
        rows = f.read().splitlines()
    with open(model.path, "w") as out:
        out.write(f"model of {len(rows)} rows from {data.metadata['rows']}")
    metrics.log_metric("rows", len(rows))
    return len(rows) / 10


def test_values_and_artifacts_flow_between_steps(run: Any, store: Path) -> None:
    @pipeline
    def p(rows: int = 4) -> float:
        data = write_rows(rows=rows)
        return fit(data=data.outputs["data"]).output

    result = run(p, rows=7)
    assert result.status == "succeeded" and result.outputs == {"output": 0.7}
    model = Path(result.run_dir) / "fit" / "model"
    assert model.read_text() == "model of 7 rows from 7"
    assert json.loads((Path(result.run_dir) / "fit" / "metrics").read_text()) == {"rows": 7.0}
    assert result.run_dir.parent.parent == store
    db = RunDatabase(store / "runs.db")
    record = db.find_run(result.run_id)
    assert record is not None
    assert record["status"] == "succeeded" and record["params"] == {"rows": 7}
    steps = db.steps(result.run_id)
    assert [s["task"] for s in steps] == ["write-rows", "fit"]
    written = steps[0]["outputs"]["data"]
    assert written["metadata"] == {"rows": 7} and written["type"] == "Dataset"
    assert written["digest"] == hashlib.sha256(b"0\n1\n2\n3\n4\n5\n6").hexdigest()
    assert steps[1]["outputs"]["output"] == 0.7


@pytest.mark.parametrize("n, branch", [(20, "big"), (7, "mid"), (1, "small")])
def test_if_elif_else_runs_exactly_one_branch(run: Any, n: int, branch: str) -> None:
    @pipeline
    def p(n: int) -> None:
        x = number(n=n)
        with If(x.output > 10):
            note(text="big").named("big")
        with Elif(x.output > 5):
            note(text="mid").named("mid")
        with Else():
            note(text="small").named("small")

    result = run(p, n=n)
    assert CALLS == [f"number {n}", branch]
    statuses = {name: result.step(name).status for name in ("big", "mid", "small")}
    assert statuses == {b: ("succeeded" if b == branch else "skipped") for b in statuses}


def test_condition_on_a_parameter_and_boolean_operators(run: Any) -> None:
    @pipeline
    def p(flag: bool, n: int) -> None:
        with If(flag & ((number(n=n).output >= 3) | ~(n != 0))):
            note(text="yes")

    run(p, flag=True, n=3)
    run(p, flag=True, n=0)
    run(p, flag=True, n=2)
    run(p, flag=False, n=3)
    assert [c for c in CALLS if c == "yes"] == ["yes", "yes"]


def test_parallel_for_over_each_source_and_collected(run: Any) -> None:
    @component
    def make_list(n: int) -> list[int]:
        return list(range(n))

    class Totals(NamedTuple):
        literal: int
        param: int
        output: int
        keyed: int

    @pipeline
    def p(xs: list[int] = [1, 2, 3]) -> Totals:  # noqa: B006
        with ParallelFor([10, 20]) as a:
            d1 = double(x=a)
        with ParallelFor(xs, parallelism=2) as b:
            d2 = double(x=b)
        with ParallelFor(make_list(n=4).output) as c:
            d3 = double(x=c)
        with ParallelFor([{"v": 5}, {"v": 6}]) as row:
            d4 = double(x=row["v"])
        return Totals(
            total(xs=Collected(d1.output)).output,
            total(xs=Collected(d2.output)).output,
            total(xs=Collected(d3.output)).output,
            total(xs=Collected(d4.output)).output,
        )

    result = run(p, xs=[4, 5])
    assert result.outputs == {"literal": 60, "param": 18, "output": 12, "keyed": 22}
    assert [s.label for s in result.steps if s.task == "double-2"] == ["double-2[0]", "double-2[1]"]


def test_collected_can_feed_a_pipeline_output(run: Any) -> None:
    @pipeline
    def p() -> list[int]:
        with ParallelFor([1, 2, 3]) as x:
            d = double(x=x)
        return Collected(d.output)

    assert run(p).outputs == {"output": [2, 4, 6]}


def test_nested_loops_and_conditions_inside_a_loop(run: Any) -> None:
    @pipeline
    def p() -> list[int]:
        with ParallelFor([1, 2]) as outer:
            with ParallelFor([10, 20]) as inner:
                s = plus(a=outer, b=inner)
                with If(s.output > 15):
                    kept = double(x=s.output)
            per_outer = total(xs=Collected(kept.output))
        return Collected(per_outer.output)

    result = run(p)
    assert result.outputs == {"output": [2 * 21, 2 * 22]}
    assert result.step("double", (0, 0)).status == "skipped"
    assert result.step("double", (1, 1)).status == "succeeded"


def test_artifacts_inside_a_loop_get_their_own_paths(run: Any) -> None:
    @pipeline
    def p() -> list[float]:
        with ParallelFor([1, 2]) as rows:
            f = fit(data=write_rows(rows=rows).outputs["data"])
        return Collected(f.output)

    result = run(p)
    assert result.outputs == {"output": [0.1, 0.2]}
    assert (result.run_dir / "write-rows" / "1" / "data").read_text() == "0\n1"


def test_failure_marks_downstream_and_keeps_independent_work(run: Any) -> None:
    @pipeline
    def p() -> int:
        broken = boom()
        double(x=broken.output)
        return number(n=1).output

    result = run(p, keep_going=True)
    assert result.status == "failed" and result.outputs == {}
    assert result.step("boom").status == "failed"
    assert result.step("boom").error == "RuntimeError: it broke"
    assert "Traceback" in (result.step("boom").traceback or "")
    assert result.step("double").status == "upstream_failed"
    assert result.step("number").status == "succeeded"
    with pytest.raises(RunFailed, match="failed at step 'boom': RuntimeError: it broke") as info:
        run(p, raise_on_error=True)
    assert info.value.result.status == "failed"  # type: ignore[attr-defined]


def test_exit_handler_runs_after_a_failure(run: Any) -> None:
    @pipeline
    def p() -> None:
        cleanup = note(text="cleanup")
        with ExitHandler(cleanup):
            after_boom = number(n=2).after(boom())
            assert after_boom is not None

    result = run(p)
    assert CALLS == ["boom", "cleanup"]
    assert result.status == "failed"
    assert result.step("note").status == "succeeded"
    assert result.step("number").status == "upstream_failed"


def test_what_follows_an_exit_task_runs_too_after_a_failure(run: Any) -> None:
    # KFP runs an exit pipeline whole; imported, its later tasks follow the IR's exit task
    @pipeline
    def p() -> None:
        cleanup = note(text="cleanup")
        with ExitHandler(cleanup):
            boom()
        with If(cleanup.output == "cleanup"):
            note(text="then").after(cleanup)

    result = run(p)
    assert result.status == "failed"
    assert CALLS == ["boom", "cleanup", "then"]
    assert result.step("note").status == "succeeded"


def test_a_pipeline_output_from_inside_an_if_is_there_when_its_branch_ran(run: Any) -> None:
    @pipeline
    def p(n: int) -> int:
        with If(n > 1):
            made = number(n=n)
        return made.output

    assert run(p, n=4).outputs == {"output": 4}
    skipped = run(p, n=0)
    assert skipped.status == "failed" and skipped.outputs == {}
    assert skipped.step("number").status == "skipped"
    assert skipped.reason == "pipeline output 'output' was not made: task 'number' did not run"
    with pytest.raises(RunFailed, match="failed: pipeline output 'output' was not made"):
        run(p, n=0, raise_on_error=True)


def test_retries_until_success(run: Any, tmp_path: Path) -> None:
    counter = tmp_path / "count"

    @component(retries=Retry(limit=3, backoff=0.01))
    def flaky(path: str) -> int:
        seen = int(open(path).read()) if __import__("os").path.exists(path) else 0
        open(path, "w").write(str(seen + 1))
        if seen < 2:
            raise ValueError(f"attempt {seen + 1}")
        return seen + 1

    @pipeline
    def p(path: str) -> int:
        return flaky(path=path).output

    result = run(p, path=str(counter))
    assert result.outputs == {"output": 3}
    assert result.step("flaky").attempts == 3 and result.step("flaky").error is None


def test_retries_exhausted(run: Any) -> None:
    @component(retries=2)
    def always_fails() -> None:
        CALLS.append("try")
        raise ValueError("no")

    @pipeline
    def p() -> None:
        always_fails()

    result = run(p)
    assert CALLS == ["try", "try", "try"] and result.step("always-fails").attempts == 3


def test_a_wrong_return_type_fails_the_step(run: Any) -> None:
    @component
    def liar() -> int:
        return "seven"  # type: ignore[return-value]

    @pipeline
    def p() -> int:
        return liar().output

    result = run(p)
    assert result.step("liar").error == (
        "TypeError: component 'liar' returned 'seven' for output 'output', which is declared int"
    )


def test_a_pipeline_step_runs_inside_another(run: Any) -> None:
    @pipeline
    def inner(n: int) -> int:
        return double(x=number(n=n).output).output

    @pipeline
    def outer(n: int = 2) -> int:
        first = inner(n=n)
        return inner(n=first.output).output

    assert run(outer).outputs == {"output": 8}


def test_builder_pipeline_runs(run: Any) -> None:
    p = Pipeline("built")
    n = p.param("n", int)
    d = p.add(double, x=n)
    p.output("doubled", d.output)
    assert run(p, n=21).outputs == {"doubled": 42}


def test_echo_prints_each_step_and_outputs(store: Path) -> None:
    import dagwright

    @pipeline
    def p() -> int:
        return number(n=1).output

    lines: list[str] = []
    result = dagwright.run(p, root=store, echo=lines.append)
    assert lines[0] == f"run {result.run_id} of pipeline 'p'"
    assert "✓ number" in lines[1] and "succeeded" in lines[1]
    assert lines[2].startswith(f"run {result.run_id} succeeded: 1 succeeded in ")
    assert lines[3] == "  output output = 1"


def test_live_view_shows_counts_and_the_summary(store: Path) -> None:
    import io

    from rich.console import Console

    import dagwright
    from dagwright.engine.progress import LiveView

    @pipeline
    def p() -> int:
        boom()
        return number(n=1).output

    out = io.StringIO()
    view = LiveView(Console(file=out, force_terminal=True, width=100))
    result = dagwright.run(p, root=store, echo=view, keep_going=True)
    text = out.getvalue()
    assert "✗ boom" in text and "RuntimeError: it broke" in text
    assert f"run {result.run_id} failed: 1 succeeded, 1 failed in " in text
    assert view.counts == {"succeeded": 1, "failed": 1}


def test_arguments_dict_for_names_that_clash_with_options(run: Any) -> None:
    @pipeline
    def p(root: str) -> str:
        return note(text=root).output

    assert run(p, {"root": "abc"}).outputs == {"output": "abc"}


def test_a_condition_that_cannot_be_evaluated_fails_its_block(run: Any, store: Path) -> None:
    @component
    def maybe() -> int | None:
        return None

    @component
    def maybe_list() -> list[int] | None:
        return None

    @pipeline
    def p() -> None:
        with If(maybe().output > 3):
            note(text="never")
        with ParallelFor(maybe_list().output) as x:
            double(x=x)
        note(text="independent")

    result = run(p, keep_going=True)
    assert result.status == "failed"
    assert result.step("condition-1").error == (
        "block 'condition-1', field 'condition': its condition cannot compare NoneType None > "
        "int 3. Fix: compare values of one type (cast the value where the condition is written)"
    )
    assert result.step("loop-1").error == "TypeError: 'NoneType' object is not iterable"
    assert result.step("note").status == "upstream_failed"
    assert result.step("double").status == "upstream_failed"
    assert result.step("note-2").status == "succeeded"
    assert RunDatabase(store / "runs.db").find_run(result.run_id)["status"] == "failed"


def test_collected_artifacts_feed_an_input_list_of_datasets(run: Any) -> None:
    @component
    def read_all(parts: Input[list[Dataset]]) -> list[str]:
        return [open(p.path).read() for p in parts]

    @pipeline
    def p() -> list[str]:
        with ParallelFor([1, 2]) as rows:
            written = write_rows(rows=rows)
        return read_all(parts=Collected(written.outputs["data"])).output

    assert run(p).outputs == {"output": ["0", "0\n1"]}
