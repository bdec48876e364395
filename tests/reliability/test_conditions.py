"""Bad conditions for a target: a condition that Argo or KFP could not evaluate as ``dagwright
run`` does is refused by ``dagwright compile`` with exit 2, a message naming the block and the
field and giving the fix, no traceback, and no spec written.

Why each is refused (see dagwright/compiler/argo/when.py and dagwright/compiler/kfp/cel.py):
two values without a type reach a pod and a condition as text, so both targets would compare
texts ("10" > "9" is false); Argo's expressions hold 64-bit integers; neither target writes a
non-finite float; None has no order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inputs_helpers import dagwright

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "from dagwright import If, ParallelFor, component, pipeline\n\n\n"
    "@component\ndef show(x: int) -> int:\n    return x\n\n\n"
    "@component\ndef maybe() -> int | None:\n    return None\n\n\n"
)
BODIES = {
    "untyped-fields": (
        "@pipeline\ndef bad() -> None:\n"
        "    with ParallelFor([{'a': 10, 'b': 9}]) as item:\n"
        "        with If(item['a'] > item['b']):\n"
        "            show(x=1)\n",
        "condition-1",
    ),
    "untyped-items": (
        "@pipeline\ndef bad(xs: list = [10], ys: list = [9]) -> None:\n"
        "    with ParallelFor(xs) as a:\n"
        "        with ParallelFor(ys) as b:\n"
        "            with If(a > b):\n"
        "                show(x=1)\n",
        "condition-1",
    ),
    "huge-int": (
        "@pipeline\ndef bad(n: int = 1) -> None:\n    with If(n > 2**70):\n        show(x=1)\n",
        "condition-1",
    ),
    "nan": (
        "@pipeline\ndef bad(x: float = 1.0) -> None:\n"
        "    with If(x < float('nan')):\n"
        "        show(x=1)\n",
        "condition-1",
    ),
    "infinity": (
        "@pipeline\ndef bad(x: float = 1.0) -> None:\n"
        "    with If(x < float('inf')):\n"
        "        show(x=1)\n",
        "condition-1",
    ),
    "none-ordered": (
        "@pipeline\ndef bad() -> None:\n"
        "    m = maybe()\n"
        "    with If(m.output < None):\n"
        "        show(x=1)\n",
        "condition-1",
    ),
}
CASES = [
    ("untyped-fields", "argo"),
    ("untyped-fields", "kfp"),
    ("untyped-items", "argo"),
    ("untyped-items", "kfp"),
    ("huge-int", "argo"),
    ("nan", "argo"),
    ("nan", "kfp"),
    ("infinity", "argo"),
    ("infinity", "kfp"),
    ("none-ordered", "argo"),
]


@pytest.mark.parametrize(("case", "target"), CASES, ids=[f"{c}-{t}" for c, t in CASES])
def test_bad_condition_for_a_target_is_refused_before_anything_is_written(
    case: str, target: str, tmp_path: Path
) -> None:
    body, block = BODIES[case]
    source = tmp_path / "bad.py"
    source.write_text(HEADER + body, encoding="utf-8")
    out = tmp_path / "spec.yaml"
    before = sorted(p.name for p in tmp_path.iterdir())
    result = dagwright(tmp_path, "compile", str(source), "-t", target, "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert f"block '{block}'" in result.stderr and "field 'condition'" in result.stderr
    assert "Fix:" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == before
