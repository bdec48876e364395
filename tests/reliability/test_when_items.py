"""Bad conditions on loop items and untyped values: refused by ``dagwright compile`` with
exit 2, a message naming the block and the field, a fix, no traceback, no spec written.

Why (see dagwright/compiler/argo/when.py, dagwright/compiler/kfp/cel.py): Argo fills
``{{item}}`` with the item's JSON, a string's escapes kept (``processItem`` in Argo's
workflow/controller/operator.go, ``Item.String`` in pkg/apis/workflow/v1alpha1/item.go), so an
item string that may hold an escape cannot be ordered nor compared with another run-time text;
an untyped value reaches both targets as text (KFP's driver converts it to the STRING input,
``normalizeResolvedParameterValue`` in backend/src/v2/driver/resolver/parameters.go), so it
would equal a string where ``dagwright run`` finds a number.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inputs_helpers import dagwright

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "from dagwright import If, ParallelFor, component, pipeline\n\n\n"
    "@component\ndef show(x: int) -> int:\n    return x\n\n\n"
    "@component\ndef word() -> str:\n    return 'a'\n\n\n"
    "@component\ndef words() -> list[str]:\n    return ['a', 'b\"c']\n\n\n"
    "@component\ndef anything() -> list:\n    return [5]\n\n\n"
)
BODIES = {
    "escaped-item-ordered": (
        "@pipeline\ndef bad() -> None:\n"
        "    with ParallelFor(['a\"b', 'c']) as s:\n"
        "        with If(s < 'b'):\n"
        "            show(x=1)\n"
    ),
    "computed-item-ordered": (
        "@pipeline\ndef bad() -> None:\n"
        "    with ParallelFor(words().output) as s:\n"
        "        with If(s >= 'b'):\n"
        "            show(x=1)\n"
    ),
    "computed-item-against-output": (
        "@pipeline\ndef bad() -> None:\n"
        "    w = word()\n"
        "    with ParallelFor(words().output) as s:\n"
        "        with If(s == w.output):\n"
        "            show(x=1)\n"
    ),
    "escaped-field-against-output": (
        "@pipeline\ndef bad() -> None:\n"
        "    w = word()\n"
        "    with ParallelFor([{'k': 'q\"x'}]) as it:\n"
        "        with If(it['k'] != w.output):\n"
        "            show(x=1)\n"
    ),
    "untyped-item-against-text": (
        "@pipeline\ndef bad() -> None:\n"
        "    with ParallelFor(anything().output) as x:\n"
        "        with If(x == '5'):\n"
        "            show(x=1)\n"
    ),
    "mixed-literal-items-against-text": (
        "@pipeline\ndef bad() -> None:\n"
        "    with ParallelFor([5, '5']) as x:\n"
        "        with If(x == '5'):\n"
        "            show(x=1)\n"
    ),
}
CASES = [
    ("escaped-item-ordered", "argo"),
    ("computed-item-ordered", "argo"),
    ("computed-item-against-output", "argo"),
    ("escaped-field-against-output", "argo"),
    ("untyped-item-against-text", "argo"),
    ("untyped-item-against-text", "kfp"),
    ("mixed-literal-items-against-text", "argo"),
    ("mixed-literal-items-against-text", "kfp"),
]


@pytest.mark.parametrize(("case", "target"), CASES, ids=[f"{c}-{t}" for c, t in CASES])
def test_bad_item_condition_is_refused_before_anything_is_written(
    case: str, target: str, tmp_path: Path
) -> None:
    source = tmp_path / "bad.py"
    source.write_text(HEADER + BODIES[case], encoding="utf-8")
    out = tmp_path / "spec.yaml"
    before = sorted(p.name for p in tmp_path.iterdir())
    result = dagwright(tmp_path, "compile", str(source), "-t", target, "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert "block 'condition-1'" in result.stderr and "field 'condition'" in result.stderr
    assert "Fix:" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == before
