"""``assert_succeeded`` and ``assert_steps`` on any run's result: what they compare, and the
steps they show when a test fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dagwright import DagwrightError, If, ParallelFor, component, pipeline
from dagwright.errors import UsageError
from dagwright.testing import StepsMismatch, assert_steps, assert_succeeded


@component
def numbers(n: int) -> list[int]:
    return list(range(n))


@component
def square(x: int) -> int:
    import sys

    print(f"squaring {x}", file=sys.stderr)
    if x == 2:
        raise ValueError(f"cannot square {x}")
    return x * x


@component(cache=True)
def note(text: str) -> str:
    return text


@pipeline
def flow(n: int = 2, loud: bool = False) -> str:
    with ParallelFor(numbers(n=n).output) as x:
        square(x=x)
    with If(loud == True):  # noqa: E712 - a condition on a parameter, traced
        note(text="loud")
    return note(text="done").output


Run = Callable[..., Any]


def test_a_run_as_expected_passes(run: Run) -> None:
    result = run(flow)
    assert_succeeded(result)
    assert_steps(result, ran=["numbers", "square", "note-2"], skipped=["note"], failed=[])
    again = run(flow)
    assert_steps(again, ran=["numbers", "square"], cached=["note-2"], skipped=["note"])


def test_a_failed_run_shows_each_step_its_error_and_stderr(run: Run) -> None:
    result = run(flow, n=3)
    with pytest.raises(StepsMismatch) as caught:
        assert_succeeded(result)
    text = str(caught.value)
    assert isinstance(caught.value, AssertionError) and isinstance(caught.value, DagwrightError)
    lines = text.splitlines()
    assert lines[0] == "the run did not succeed"
    assert lines[1] == f"run {result.run_id} of pipeline 'flow': failed"
    failed = next(i for i, line in enumerate(lines) if "square[2]" in line)
    assert lines[failed].split() == ["square[2]", "failed", "ValueError:", "cannot", "square", "2"]
    assert lines[failed + 1].strip() == "| squaring 2"
    assert not lines[failed + 2].strip().startswith("|")  # its stderr was that one line
    assert any(line.split()[:2] == ["square[0]", "succeeded"] for line in lines)


def test_each_differing_set_is_named_with_what_is_missing_and_extra(run: Run) -> None:
    result = run(flow, n=1)
    with pytest.raises(StepsMismatch) as caught:
        assert_steps(result, ran=["numbers", "square", "note"], skipped=[])
    first, second = str(caught.value).splitlines()[:2]
    assert first == "ran: missing [note]; not expected [note-2] (got [numbers, square, note-2])"
    assert second == "skipped: not expected [note] (got [note])"


def test_helpers_misused_say_how(run: Run) -> None:
    result = run(flow, n=1)
    with pytest.raises(UsageError, match="mocked= is known only of a run_with_mocks result"):
        assert_steps(result, mocked=[])
    with pytest.raises(UsageError, match="takes a list of task names, not the string 'numbers'"):
        assert_steps(result, ran="numbers")
