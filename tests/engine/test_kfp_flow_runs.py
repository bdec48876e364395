"""The engine runs the control flow KFP brought into the IR: OneOf, a PipelineTaskFinalStatus
given to an exit task, tasks that ignore upstream failures and loops over artifacts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

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
def fails(n: int) -> int:
    raise ValueError(f"no good: {n}")


@component
def write(text: str, out: Output[Dataset]) -> None:
    Path(out.path).write_text(text, encoding="utf-8")


@component
def read(d: Input[Dataset]) -> str:
    return Path(d.path).read_text(encoding="utf-8")


@component
def joined(xs: list[str]) -> str:
    return ",".join(xs)


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
def test_one_of_is_the_output_of_the_branch_that_ran(run: Any, x: int, chosen: str) -> None:
    result = run(choose, x=x)
    assert result.outputs == {"output": chosen}
    ran = {s.task for s in result.steps if s.status == "succeeded"}
    assert len(ran & {"word", "word-2", "word-3"}) == 1


def test_the_cache_key_and_the_record_use_the_chosen_value(run: Any) -> None:
    first = run(choose, x=3, cache=True)
    consumer = next(s for s in first.steps if s.task == "shout")
    assert consumer.inputs["parameters"] == {"v": "mid"}
    again = run(choose, x=4, cache=True)  # the same branch: the same value, a cache hit
    assert next(s for s in again.steps if s.task == "shout").cached
    other = run(choose, x=1, cache=True)  # another branch: another value, no hit
    shouted = next(s for s in other.steps if s.task == "shout")
    assert not shouted.cached and shouted.outputs == {"output": "SMALL"}


@pipeline
def choose_artifact(x: int = 3) -> str:
    with If(x > 2):
        a = write(text="from if")
    with Else():
        b = write(text="from else")
    return read(d=OneOf(a.outputs["out"], b.outputs["out"])).output


@pytest.mark.parametrize(("x", "text"), [(3, "from if"), (0, "from else")])
def test_one_of_artifacts_gives_the_artifact_that_was_made(run: Any, x: int, text: str) -> None:
    result = run(choose_artifact, x=x)
    assert result.outputs == {"output": text}
    reader = next(s for s in result.steps if s.task == "read")
    made = next(s for s in result.steps if s.task.startswith("write") and s.status == "succeeded")
    assert reader.inputs["artifacts"]["d"]["uri"] == made.outputs["out"].uri


@pipeline
def chosen_branch_fails(x: int = 3) -> str:
    with If(x > 2):
        a = fails(n=x)
    with Else():
        b = number(n=x)
    return shout(v=word(s="x").output).after(number(n=OneOf(a.output, b.output))).output


def test_a_failed_chosen_branch_leaves_its_consumer_upstream_failed(run: Any) -> None:
    result = run(chosen_branch_fails, x=3)
    status = {s.task: s.status for s in result.steps}
    assert result.status == "failed"
    assert status["fails"] == "failed" and status["number-2"] == "upstream_failed"


@component
def report(status: PipelineTaskFinalStatus, tag: str = "") -> str:
    assert isinstance(status, PipelineTaskFinalStatus)
    return "|".join(
        str(v)
        for v in (
            status.state,
            status.pipeline_task_name,
            status.pipeline_job_resource_name,
            status.error_code,
            status.error_message,
        )
    )


@pipeline
def guarded(bad: bool = False) -> None:
    done = report(tag="end")
    with ExitHandler(done):
        n = number(n=1)
        with If(bad == True):  # noqa: E712
            fails(n=7).after(n)


def test_the_exit_task_gets_succeeded_when_its_block_succeeded(run: Any) -> None:
    result = run(guarded)
    assert result.status == "succeeded"
    exit_step = next(s for s in result.steps if s.task == "report")
    assert exit_step.outputs == {"output": f"SUCCEEDED|exit-handler-1|{result.run_id}|None|None"}
    assert exit_step.inputs["parameters"]["status"] == {
        "state": "SUCCEEDED",
        "pipelineJobResourceName": result.run_id,
        "pipelineTaskName": "exit-handler-1",
        "error": {},
    }


def test_the_exit_task_gets_failed_with_the_first_failure_message(run: Any) -> None:
    result = run(guarded, bad=True)
    assert result.status == "failed"
    exit_step = next(s for s in result.steps if s.task == "report")
    state, name, _, code, message = exit_step.outputs["output"].split("|")
    assert (state, name, code) == ("FAILED", "exit-handler-1", "1")
    assert message == "fails: ValueError: no good: 7"


@component
def tidy(v: int = -1) -> str:
    return f"tidy {v}"


@component
def slow_ok(n: int) -> int:
    import time

    time.sleep(0.3)
    return n


@pipeline
def tolerant(n: int = 4, ok: bool = False) -> None:
    with If(ok == True):  # noqa: E712
        a = number(n=n)
    with Else():
        a2 = fails(n=n)
    tidy(v=slow_ok(n=n).output).after(a, a2).ignore_upstream_failure()
    tidy(v=fails(n=n).output).ignore_upstream_failure()


def test_a_task_ignoring_upstream_failures_runs_with_its_defaults(run: Any) -> None:
    result = run(tolerant)
    outputs = {s.task: (s.status, s.outputs) for s in result.steps}
    assert result.status == "failed"  # a task failed: the run did
    assert outputs["tidy-2"] == ("succeeded", {"output": "tidy -1"})  # its upstream failed
    # waits for a failed If block and a slow step, and takes the step's value; fail-fast
    # cancels nothing it waits for, and it is not cancelled either
    assert outputs["tidy"] == ("succeeded", {"output": "tidy 4"})


def test_a_task_ignoring_upstream_failures_runs_normally_when_nothing_fails(run: Any) -> None:
    @pipeline
    def fine(n: int = 5) -> str:
        return tidy(v=number(n=n).output).ignore_upstream_failure().output

    assert run(fine).outputs == {"output": "tidy 5"}


@component
def status_of(status: PipelineTaskFinalStatus, v: int = 0) -> str:
    return f"{status.pipeline_task_name} {status.state} {v}"


def test_a_tolerant_task_gets_the_final_status_of_its_one_upstream_task(run: Any) -> None:
    @pipeline
    def watched(n: int = 2) -> str:
        made = fails(n=n)
        return status_of(v=made.output).ignore_upstream_failure().output

    ir = watched.build()
    assert ir.task("status-of").inputs["status"] == {"final_status": "fails"}
    result = run(watched)
    step = next(s for s in result.steps if s.task == "status-of")
    assert step.outputs == {"output": "fails FAILED 0"}


@pipeline
def artifact_loop(texts: list[str] = ["a", "b", "c"]) -> str:  # noqa: B006
    with ParallelFor(texts) as t:
        made = write(text=t)
    with ParallelFor(Collected(made.outputs["out"]), parallelism=2) as art:
        got = read(d=art)
    return joined(xs=Collected(got.output)).output


def test_a_loop_over_collected_artifacts_gives_one_artifact_per_item(run: Any) -> None:
    result = run(artifact_loop)
    assert result.outputs == {"output": "a,b,c"}
    reads = [s for s in result.steps if s.task == "read"]
    assert [s.inputs["artifacts"]["d"]["type"] for s in reads] == ["Dataset"] * 3


@pipeline
def makes_many(texts: list[str] = ["x", "y"]) -> Any:  # noqa: B006
    with ParallelFor(texts) as t:
        made = write(text=t)
    return Collected(made.outputs["out"])


@pipeline
def loops_over_inner() -> str:
    inner = makes_many(texts=["p", "q", "r"])
    with ParallelFor(inner.output) as art:
        got = read(d=art)
    return joined(xs=Collected(got.output)).output


def test_a_loop_over_a_nested_pipelines_list_of_artifacts(run: Any) -> None:
    assert run(loops_over_inner).outputs == {"output": "p,q,r"}


@component
def product(a: int, b: int) -> int:
    return a * b


@component
def shape(rows: list) -> str:
    return repr(rows)


@component
def flat(values: list[int]) -> str:
    return repr(values)


@pipeline
def fan_in(outer: list[int] = [1, 2, 3], inner: list[int] = [3, 4]) -> Any:  # noqa: B006
    with ParallelFor(outer) as a:
        with ParallelFor(inner) as b:
            with If(a != 2):
                made = product(a=a, b=b)
    return {
        "nested": shape(rows=Collected(made.output)).output,
        "flat": flat(values=Collected(made.output)).output,
        "whole": Collected(made.output),
    }


def test_collected_over_nested_loops_is_a_list_per_loop_unless_read_as_flat(run: Any) -> None:
    result = run(fan_in)
    assert result.outputs == {
        "nested": "[[3, 4], [], [9, 12]]",  # the middle iteration's If was false
        "flat": "[3, 4, 9, 12]",
        "whole": [[3, 4], [], [9, 12]],
    }


def test_a_nested_collected_of_another_item_type_is_refused(run: Any) -> None:
    from dagwright import ValidationError

    @component
    def words(values: list[str]) -> str:
        return ",".join(values)

    @pipeline
    def mismatched(outer: list[int] = [1]) -> None:  # noqa: B006
        with ParallelFor(outer) as a, ParallelFor(outer) as b:
            made = product(a=a, b=b)
        words(values=Collected(made.output))

    with pytest.raises(ValidationError, match=r"is a list\[int\] but input 'values'"):
        mismatched.build()


def test_the_lineage_of_a_one_of_reader_is_the_branch_that_ran(run: Any, store: Path) -> None:
    import dagwright.lineage as lineage

    result = run(choose_artifact, x=0)
    found = lineage.upstream(f"step:{result.run_id}/read", root=store)
    steps = {r.id for r in found if r.kind == "step"}
    assert steps == {f"step:{result.run_id}/write-2"}  # the Else branch's writer, only


@component
def noted(status: PipelineTaskFinalStatus, i: int = 0) -> str:
    return f"{i}:{status.state}"


@pipeline
def per_item(items: list[int] = [1, 2, 3]) -> list:  # noqa: B006
    with ParallelFor(items) as i:
        done = noted(i=i)
        with ExitHandler(done):
            with If(i == 2):
                fails(n=i)
            number(n=i)
    return Collected(done.output)


def test_each_iterations_exit_task_gets_its_own_blocks_status(run: Any) -> None:
    result = run(per_item, keep_going=True)
    exits = sorted(s.outputs["output"] for s in result.steps if s.task == "noted")
    assert exits == ["1:SUCCEEDED", "2:FAILED", "3:SUCCEEDED"]


@component
def flag_fails(flag: str) -> int:
    if os.path.exists(flag):
        raise RuntimeError("flag is set")
    return 7


@pipeline
def resumable(flag: str) -> str:
    done = noted()
    with ExitHandler(done):
        number(n=1)
        flag_fails(flag=flag)
    return done.output


def test_resume_runs_the_exit_task_again_with_the_blocks_new_end(
    run: Any, store: Path, tmp_path: Path
) -> None:
    import dagwright

    flag = tmp_path / "flag"
    flag.touch()
    failed = run(resumable, flag=str(flag))
    assert failed.status == "failed" and failed.step("noted").outputs == {"output": "0:FAILED"}
    flag.unlink()
    resumed = dagwright.resume(failed.run_id, root=store, echo=False)
    assert resumed.status == "succeeded" and resumed.outputs == {"output": "0:SUCCEEDED"}
    assert resumed.step("number").reused and not resumed.step("noted").reused


@component
def upto(n: int) -> list[int]:
    return list(range(n))


@component
def ident(x: int) -> int:
    return x


@pipeline
def ragged(outer: list[int] = [2, 0, 1]) -> list:  # noqa: B006
    with ParallelFor(outer) as n:
        with ParallelFor(upto(n=n).output) as i:
            got = ident(x=i)
    return Collected(got.output)


@pipeline
def ragged_three(outer: list[int] = [1, 2]) -> list:  # noqa: B006
    with ParallelFor(outer) as a:
        with If(a == 1):
            with ParallelFor(upto(n=a).output) as i:
                with ParallelFor(upto(n=2).output) as j:
                    got = product(a=i, b=j)
        with If(a == 2):
            with ParallelFor(upto(n=0).output) as i2:
                with ParallelFor([1]) as j2:
                    got2 = product(a=i2, b=j2)
    return {"if": Collected(got.output), "empty": Collected(got2.output)}


def test_an_inner_loop_with_no_items_keeps_its_outer_iterations_empty_list(run: Any) -> None:
    # KFP's shape: one list per outer iteration, in order, empty when the inner loop had none
    assert run(ragged).outputs == {"output": [[0, 1], [], [0]]}


def test_a_block_that_never_reached_two_inner_loops_keeps_an_empty_list(run: Any) -> None:
    assert run(ragged_three).outputs == {"if": [[[0, 0]], []], "empty": [[], []]}
