"""Assertions on a run for tests: ``assert_succeeded`` and ``assert_steps``, whose failure
shows the run's steps with their status, error and the tail of their stderr."""

from __future__ import annotations

from collections.abc import Iterable

from dagwright.engine.report import step_rows
from dagwright.engine.result import FAILED, SKIPPED, RunResult, StepRecord
from dagwright.errors import DagwrightError, UsageError
from dagwright.redact import scrub, secret_values
from dagwright.testing.result import MockedRun, cached, ran, tasks_with

STDERR_LINES = 8  # of each step's stderr, the last ones: where an error's story usually ends


class StepsMismatch(DagwrightError, AssertionError):
    """A run did not end, or did not run its steps, as a test expected (an AssertionError,
    so pytest reports it as a failed assertion)."""


def assert_succeeded(result: RunResult) -> None:
    """Fail the test unless the run succeeded, showing its steps."""
    __tracebackhide__ = True  # pytest shows the test's line, not this one
    if not result.succeeded:
        raise StepsMismatch(f"the run did not succeed\n{steps_table(result)}")


def assert_steps(
    result: RunResult,
    *,
    ran: Iterable[str] | None = None,
    skipped: Iterable[str] | None = None,
    failed: Iterable[str] | None = None,
    cached: Iterable[str] | None = None,
    mocked: Iterable[str] | None = None,
) -> None:
    """Fail the test unless exactly these tasks ran, were skipped, failed, came from the
    cache or ran a mock (each given set compared, in any order; task names, one for all the
    iterations of a loop), showing the run's steps.

    Raises:
        StepsMismatch: naming each set that differs, what is missing and what is not expected.
        UsageError: ``mocked`` asked of a result that is not a ``run_with_mocks`` one.
    """
    __tracebackhide__ = True
    wanted = {"ran": ran, "skipped": skipped, "failed": failed, "cached": cached, "mocked": mocked}
    if mocked is not None and not isinstance(result, MockedRun):
        raise UsageError("mocked= is known only of a run_with_mocks result (a MockedRun)")
    found = _sets(result)
    problems = []
    for name, expected in wanted.items():
        if expected is None:
            continue
        if isinstance(expected, str):
            raise UsageError(f"{name}= takes a list of task names, not the string {expected!r}")
        expected = list(expected)
        missing = [t for t in expected if t not in found[name]]
        extra = [t for t in found[name] if t not in expected]
        if missing or extra:
            said = [f"missing {_names(missing)}"] if missing else []
            said += [f"not expected {_names(extra)}"] if extra else []
            problems.append(f"{name}: {'; '.join(said)} (got {_names(found[name])})")
    if problems:
        raise StepsMismatch("\n".join(problems) + "\n" + steps_table(result))


def steps_table(result: RunResult) -> str:
    """The run's steps, one a line: label, status (and whether a mock ran), the first line of
    its error; under each, the last lines of its stderr."""
    mocked = set(result.mocked) if isinstance(result, MockedRun) else set()
    head = f"run {result.run_id} of pipeline '{result.pipeline}': {result.status}"
    if result.reason:
        head += f" ({result.reason})"
    rows = step_rows(result.steps)
    width = max([len("step"), *(len(r[0]) for r in rows)])
    lines = [head, f"  {'step':<{width}}  {'status':<16} error"]
    for record, (label, status, _, error) in zip(result.steps, rows, strict=True):
        if record.task in mocked and record.status not in (SKIPPED,):
            status += " (mock)"
        lines.append(f"  {label:<{width}}  {status:<16} {error}".rstrip())
        lines += [f"  {'':<{width}}  | {line}" for line in _stderr_tail(record)]
    if not result.steps:
        lines.append("  (no steps ran)")
    return "\n".join(lines)


def _stderr_tail(record: StepRecord) -> list[str]:
    text = scrub(record.stderr, secret_values((record.inputs or {}).get("parameters")))
    return (text or "").rstrip().splitlines()[-STDERR_LINES:]


def _sets(result: RunResult) -> dict[str, list[str]]:
    return {
        "ran": ran(result),
        "skipped": tasks_with(result, SKIPPED),
        "failed": tasks_with(result, FAILED),
        "cached": cached(result),
        "mocked": list(result.mocked) if isinstance(result, MockedRun) else [],
    }


def _names(tasks: list[str]) -> str:
    return "[" + ", ".join(tasks) + "]"
