"""Bad inputs at the compile door: corpus constructs a target cannot run as ``dagwright run``
runs them are refused by ``dagwright compile`` (a real subprocess) with exit code 2, the
task and field named, no traceback and no output file written.

No KFP backend or Argo controller runs here: which constructs each would run otherwise is in
``tests/compiler/test_fidelity_corpus.py`` and the modules it cites.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from inputs_helpers import dagwright, snapshot

FLOWS = """
    import dagwright
    from dagwright import Collected, ExitHandler, ParallelFor, Retry, component, pipeline

    @component
    def square(x: int) -> int:
        return x * x

    @component
    def total(values: list[int]) -> int:
        return sum(values)

    @component
    def echo(text: str) -> str:
        return text

    @component
    def part(n: int, out: dagwright.Output[dagwright.Dataset]) -> None:
        open(out.path, "w").write("x" * n)

    @component(retries=Retry(limit=2, backoff=1, factor=1.5))
    def fractional() -> None:
        print("x")

    @pipeline
    def nested(rows: list[list[int]] = [[1, 2], [3]]) -> int:
        with ParallelFor(rows) as row:
            with ParallelFor(row) as x:
                sq = square(x=x)
        return total(values=Collected(sq.output)).output

    @pipeline
    def backoff() -> None:
        fractional()

    @pipeline
    def parts(xs: list[int] = [1, 2]):
        with ParallelFor(xs) as x:
            made = part(n=x)
        return Collected(made.outputs["out"])

    @pipeline
    def reads_exit() -> str:
        cleanup = echo(text="cleanup").named("cleanup")
        with ExitHandler(cleanup):
            echo(text="body").named("body")
        return echo(text=cleanup.output).named("after").output
"""

# (pipeline, target, words the message holds: the task or block, then the field)
CASES = {
    "kfp-collected-over-nested-loops": ("nested", "kfp", ("task 'total'", "field 'values'")),
    "kfp-fractional-backoff-factor": ("backoff", "kfp", ("fractional", "retries.factor")),
    "argo-fractional-backoff-factor": ("backoff", "argo", ("fractional", "retries.factor")),
    "argo-collected-artifacts-as-output": ("parts", "argo", ("field 'output output'",)),
    "argo-reading-the-exit-task": ("reads_exit", "argo", ("task 'after'", "exit hook")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_construct_for_the_target_is_refused_at_compile(tmp_path: Path, case: str) -> None:
    name, target, words = CASES[case]
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS).lstrip(), encoding="utf-8")
    before = snapshot(tmp_path)
    proc = dagwright(tmp_path, "compile", f"flows.py:{name}", "-t", target, "-o", "out.yaml")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(tmp_path) == before  # no out.yaml, no store
