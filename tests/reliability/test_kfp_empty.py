"""Collected artifacts over a loop whose items are known only at run time, refused for KFP
where the compiler cannot give the reader ``[]`` when the items turn out empty.

KFP's driver (``backend/src/v2/driver/resolve.go``, ``resolveUpstreamArtifacts``) collects a
loop's artifacts only after an iteration, and picks the last of a DAG output's
``artifactSelectors`` whichever branch ran (``GetProducerTask``), so the compiler moves a task
that collects artifacts into the branch that runs when the items are not empty and runs a copy
of it, given ``[]``, in the other (``dagwright/compiler/kfp/guards.py``). Each case here is a
shape that cannot take that route: compiled with ``dagwright compile -t kfp`` through the CLI,
exit code 2, the message names the field and a fix, no traceback, nothing written; Argo, which
gives such a reader ``[]`` itself, compiles it (a Collected artifact as a pipeline output
aside, which Argo refuses too). No KFP backend runs here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dagwright.cli import cli

pytest.importorskip("kfp")

_HEAD = (
    "from dagwright import Collected, Dataset, If, Input, Output, ParallelFor\n"
    "from dagwright import component, pipeline\n\n\n"
    "@component\ndef names(n: int) -> list[str]:\n    return [str(i) for i in range(n)]\n\n\n"
    "@component\ndef write(name: str, part: Output[Dataset]) -> None:\n"
    "    open(part.path, 'w').write(name)\n\n\n"
    "@component\ndef join(parts: Input[list[Dataset]]) -> str:\n"
    "    return ','.join(open(p.path).read() for p in parts)\n\n\n"
    "@component\ndef both(a: Input[list[Dataset]], b: Input[list[Dataset]]) -> int:\n"
    "    return len(a) + len(b)\n\n\n"
    "@component\ndef bundle(parts: Input[list[Dataset]], out: Output[Dataset]) -> None:\n"
    "    open(out.path, 'w').write(str(len(parts)))\n\n\n"
    "@component\ndef read(part: Input[Dataset]) -> str:\n    return open(part.path).read()\n\n\n"
)

CASES = {
    "collector-in-another-block": (
        "@pipeline\ndef bad(n: int = 2, go: bool = True) -> None:\n"
        "    with ParallelFor(names(n=n).output) as name:\n        made = write(name=name)\n"
        "    with If(go == True):\n"
        "        join(parts=Collected(made.outputs['part']))\n",
        "join",
        "parts",
        "block that holds the ParallelFor",
    ),
    "collector-over-two-computed-loops": (
        "@pipeline\ndef bad(n: int = 2) -> int:\n"
        "    with ParallelFor(names(n=n).output) as name:\n        a = write(name=name)\n"
        "    with ParallelFor(names(n=n).output) as name:\n        b = write(name=name)\n"
        "    return both(a=Collected(a.outputs['part']), b=Collected(b.outputs['part'])).output\n",
        "both",
        "b",
        "in a task of its own",
    ),
    "collector-artifact-read-further-on": (
        "@pipeline\ndef bad(n: int = 2) -> str:\n"
        "    with ParallelFor(names(n=n).output) as name:\n        made = write(name=name)\n"
        "    bundled = bundle(parts=Collected(made.outputs['part']))\n"
        "    return read(part=bundled.outputs['out']).output\n",
        "read",
        "part",
        "return parameters only",
    ),
    "pipeline-output-collected-artifacts": (
        "@pipeline\ndef bad(n: int = 2) -> list:\n"
        "    with ParallelFor(names(n=n).output) as name:\n        made = write(name=name)\n"
        "    return Collected(made.outputs['part'])\n",
        None,
        "output output",
        "a task that takes the Collected list",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_collected_artifacts_over_computed_items_are_refused_for_kfp(
    tmp_path: Path, case: str
) -> None:
    body, task, field, fix = CASES[case]
    source = tmp_path / "bad.py"
    source.write_text(_HEAD + body, encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(cli, ["compile", str(source), "-t", "kfp", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"field '{field}'" in result.output, result.output
    if task is not None:
        assert f"task '{task}'" in result.output, result.output
    assert fix in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    if task is None:
        return  # a pipeline output: Argo cannot output a Collected artifact either
    argo = tmp_path / "argo.yaml"
    result = CliRunner().invoke(cli, ["compile", str(source), "-t", "argo", "-o", str(argo)])
    assert result.exit_code == 0, result.output
