"""The parallel scheduler: concurrency limits, fail fast or keep going, runtimes, timeouts,
captured output and atomic artifacts."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from dagwright import Dataset, Input, Output, ParallelFor, component, pipeline
from dagwright.runtimes import Local, Process

ACTIVE = {"now": 0, "peak": 0}
LOCK = threading.Lock()
BARRIER: dict[str, threading.Barrier] = {}


@pytest.fixture(autouse=True)
def _reset() -> None:
    ACTIVE.update(now=0, peak=0)


@component
def busy(i: int, seconds: float = 0.05) -> int:
    with LOCK:
        ACTIVE["now"] += 1
        ACTIVE["peak"] = max(ACTIVE["peak"], ACTIVE["now"])
    time.sleep(seconds)
    with LOCK:
        ACTIVE["now"] -= 1
    return i


@component
def meet(i: int) -> int:
    BARRIER["b"].wait(timeout=5)  # breaks unless this many steps run at the same time
    return i


def test_independent_steps_run_at_the_same_time(run: Any) -> None:
    BARRIER["b"] = threading.Barrier(3)

    @pipeline
    def p() -> None:
        for i in range(3):
            meet(i=i)

    assert run(p).status == "succeeded"


def test_global_parallelism_limits_concurrency(run: Any) -> None:
    @pipeline
    def p() -> None:
        for i in range(6):
            busy(i=i)

    assert run(p, parallelism=2).status == "succeeded"
    assert ACTIVE["peak"] == 2


def test_parallel_for_parallelism_limits_iterations(run: Any) -> None:
    @pipeline
    def p() -> None:
        with ParallelFor(list(range(8)), parallelism=3) as i:
            busy(i=i)

    assert run(p).status == "succeeded"
    assert ACTIVE["peak"] == 3


@component
def fail() -> int:
    raise RuntimeError("first failure")


@component
def slow_number(n: int) -> int:
    time.sleep(0.3)
    return n


@pipeline
def branches() -> None:
    fail()
    first = slow_number(n=1)
    slow_number(n=2).after(first)


def test_fail_fast_cancels_steps_not_started(run: Any) -> None:
    result = run(branches)
    assert result.status == "failed"
    assert result.step("fail").status == "failed"
    assert result.step("slow-number").status == "succeeded"  # already running: it finishes
    assert result.step("slow-number-2").status == "cancelled"


def test_keep_going_finishes_independent_branches(run: Any) -> None:
    result = run(branches, keep_going=True)
    assert result.status == "failed"
    assert result.step("slow-number-2").status == "succeeded"


class Pair(NamedTuple):
    pid: int
    text: str


@component
def write_text(text: str, out: Output[Dataset]) -> int:
    with open(out.path, "w") as f:
        f.write(text)
    out.metadata["length"] = len(text)
    return os.getpid()


@component
def read_text(data: Input[Dataset]) -> Pair:
    with open(data.path) as f:
        return Pair(os.getpid(), f.read() + f" ({data.metadata['length']})")


def _pipeline_with(runtime: Any) -> Any:
    writer = component(runtime=runtime)(write_text.func)
    reader = component(runtime=runtime)(read_text.func)

    @pipeline
    def p(text: str = "hello") -> Pair:
        written = writer(text=text)
        pair = reader(data=written.outputs["out"])
        return Pair(pair.outputs["pid"], pair.outputs["text"])

    return p


@pytest.mark.integration
def test_process_runtime_gives_the_same_results_as_local(run: Any) -> None:
    local = run(_pipeline_with(Local()))
    process = run(_pipeline_with(Process()))
    assert local.outputs["text"] == process.outputs["text"] == "hello (5)"
    assert local.outputs["pid"] == os.getpid()
    assert process.outputs["pid"] != os.getpid()
    assert process.step("write-text").outputs["out"].digest == hashlib.sha256(b"hello").hexdigest()


@pytest.mark.integration
def test_a_process_step_past_its_timeout_is_killed(run: Any, tmp_path: Path) -> None:
    marker = tmp_path / "finished"

    @component(runtime=Process(), timeout=0.5)
    def sleepy(path: str) -> None:
        import time

        time.sleep(2)
        open(path, "w").close()

    @pipeline
    def p(path: str) -> None:
        sleepy(path=path)

    result = run(p, path=str(marker))
    assert result.step("sleepy").error == (
        "TimeoutError: step 'sleepy' did not finish within 0.5 s and was killed"
    )
    time.sleep(2.5)
    assert not marker.exists()


def test_a_local_step_past_its_timeout_fails(run: Any) -> None:
    @component(timeout=0.2)
    def sleepy() -> None:
        time.sleep(2)

    @pipeline
    def p() -> None:
        sleepy()

    error = run(p).step("sleepy").error
    assert error.startswith("TimeoutError: step 'sleepy' did not finish within 0.2 s")


@component
def chatty(word: str) -> None:
    import sys

    for _ in range(50):
        print(word)
        print(f"err {word}", file=sys.stderr)
        time.sleep(0.001)


def test_each_step_keeps_its_own_output(run: Any) -> None:
    @pipeline
    def p() -> None:
        chatty(word="alpha")
        chatty(word="beta")

    result = run(p)
    assert set(result.step("chatty").stdout.split()) == {"alpha"}
    assert set(result.step("chatty-2").stdout.split()) == {"beta"}
    assert result.step("chatty").stderr.count("err alpha") == 50


@pytest.mark.parametrize("runtime", [Local(), Process()], ids=["local", "process"])
def test_a_failed_step_leaves_no_partial_artifact(run: Any, runtime: Any) -> None:
    @component(runtime=runtime)
    def half(out: Output[Dataset]) -> None:
        with open(out.path, "w") as f:
            f.write("half")
        raise RuntimeError("stopped halfway")

    @pipeline
    def p() -> None:
        half()

    result = run(p)
    assert result.step("half").status == "failed"
    folder = result.run_dir / "half"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_fail_fast_cancels_steps_queued_for_a_worker(run: Any) -> None:
    @pipeline
    def p() -> None:
        fail()
        for i in range(3):
            busy(i=i)

    result = run(p, parallelism=1)
    assert [result.step(t).status for t in ("busy", "busy-2", "busy-3")] == ["cancelled"] * 3


def test_a_step_calling_sys_exit_fails(run: Any) -> None:
    @component
    def quits() -> None:
        import sys

        sys.exit(3)

    @pipeline
    def p() -> None:
        quits()

    result = run(p)
    assert result.status == "failed" and result.step("quits").error == "SystemExit: 3"


def test_a_local_step_finishing_after_its_timeout_publishes_nothing(run: Any) -> None:
    @component(timeout=0.2)
    def late(out: Output[Dataset]) -> None:
        time.sleep(0.5)
        with open(out.path, "w") as f:
            f.write("too late")

    @pipeline
    def p() -> None:
        late()

    result = run(p)
    assert result.step("late").status == "failed"
    time.sleep(0.8)
    folder = result.run_dir / "late"
    assert not folder.exists() or list(folder.iterdir()) == []
