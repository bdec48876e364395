"""Pipelines KFP's backend would run otherwise than ``dagwright run``, refused at compile time.

Each case is a pipeline file compiled with ``dagwright compile -t kfp`` in a subprocess-free
CLI runner: exit code 2, the message names the field and a fix, no traceback, nothing written.
The backend behaviour each models is cited in ``tests/compiler/kfp_backend_checks.py``
(``backend/src/v2/compiler/argocompiler/dag.go`` for exit hooks, ``backend/src/v2/driver/
resolve.go`` for a loop that never ran); no KFP backend runs here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dagwright.cli import cli

pytest.importorskip("kfp")

_HEAD = (
    "from dagwright import Collected, Dataset, ExitHandler, Input, Output, ParallelFor\n"
    "from dagwright import component, pipeline\n\n\n"
    "@component\ndef echo(text: str) -> str:\n    return text\n\n\n"
    "@component\ndef write(name: str, part: Output[Dataset]) -> None:\n"
    "    open(part.path, 'w').write(name)\n\n\n"
    "@component\ndef join(parts: Input[list[Dataset]]) -> str:\n"
    "    return ','.join(open(p.path).read() for p in parts)\n\n\n"
    "@component\ndef read(part: Input[Dataset]) -> str:\n    return open(part.path).read()\n\n\n"
)

CASES = {
    "exit-reads-a-parameter-output": (
        "@pipeline\ndef bad() -> None:\n"
        "    made = echo(text='x').named('made')\n"
        "    cleanup = echo(text=made.output).named('cleanup')\n"
        "    with ExitHandler(cleanup):\n        echo(text='body')\n",
        "text",
        "exit task 'cleanup'",
    ),
    "exit-reads-an-artifact": (
        "@pipeline\ndef bad() -> None:\n"
        "    made = write(name='x')\n"
        "    cleanup = read(part=made.outputs['part']).named('cleanup')\n"
        "    with ExitHandler(cleanup):\n        echo(text='body')\n",
        "part",
        "exit task 'cleanup'",
    ),
    "exit-after-a-task": (
        "@pipeline\ndef bad() -> None:\n"
        "    first = echo(text='first').named('first')\n"
        "    cleanup = echo(text='bye').named('cleanup').after(first)\n"
        "    with ExitHandler(cleanup):\n        echo(text='body')\n",
        "after",
        "drop the .after()",
    ),
    "exit-task-awaited": (
        "@pipeline\ndef bad() -> str:\n"
        "    cleanup = echo(text='bye').named('cleanup')\n"
        "    with ExitHandler(cleanup):\n        echo(text='body')\n"
        "    return echo(text='last').named('last').after(cleanup).output\n",
        "exit_task",
        "end the pipeline",
    ),
    "collected-artifacts-over-no-items": (
        "@pipeline\ndef bad() -> str:\n"
        "    with ParallelFor([]) as name:\n        made = write(name=name)\n"
        "    return join(parts=Collected(made.outputs['part'])).output\n",
        "parts",
        "non-empty list",
    ),
    "pipeline-output-collected-over-no-items": (
        "@pipeline\ndef bad() -> list:\n"
        "    with ParallelFor([]) as name:\n        made = echo(text=name)\n"
        "    return Collected(made.output)\n",
        "output output",
        "a task that takes the Collected list",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_kfp_dag_is_refused_before_anything_is_written(tmp_path: Path, case: str) -> None:
    body, field, fix = CASES[case]
    source = tmp_path / "bad.py"
    source.write_text(_HEAD + body, encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(cli, ["compile", str(source), "-t", "kfp", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"field '{field}'" in result.output, result.output
    assert fix in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    # the Argo target takes what is KFP's own limit (not a waiter on an exit task)
    if case != "exit-task-awaited":
        argo = tmp_path / "argo.yaml"
        result = CliRunner().invoke(cli, ["compile", str(source), "-t", "argo", "-o", str(argo)])
        assert result.exit_code == 0, result.output
