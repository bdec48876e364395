"""Loop items, names and values Argo would alter (issue 14): bad pipelines compiled for Argo
or KFP by the real ``dagwright`` command exit 2 naming the field and the fix, without a
traceback and without writing the output; and faults in what an Argo pod is handed make the
pod (``python -m dagwright.compiler.argo.entry``, a real subprocess) fail naming the input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from inputs_helpers import dagwright, snapshot

pytestmark = pytest.mark.integration

HEADER = """
from dagwright import Collected, If, ParallelFor, component, pipeline

@component
def show(v: str) -> str:
    return v

@component
def add(a: int, b: int) -> int:
    return a + b

@component
def total(values: list[int]) -> int:
    return sum(values)
"""

# name -> (target, body of the @pipeline function 'flow', what the message must say)
BAD = {
    "param-default-with-braces": (
        "argo",
        "def flow(greeting: str = 'Hello {{workflow.name}}'):\n    show(v=greeting)",
        ("field 'parameter greeting'", "would alter", "as a constant argument"),
    ),
    "param-default-with-a-control-character": (
        "argo",
        "def flow(greeting: str = 'bell\\x07'):\n    show(v=greeting)",
        ("field 'parameter greeting'", "control character"),
    ),
    "param-default-with-dagwrights-mark": (
        "argo",
        "def flow(greeting: str = 'dagwright-b64:aGk='):\n    show(v=greeting)",
        ("field 'parameter greeting'", "dagwright's mark"),
    ),
    "list-param-default-with-braces": (
        "argo",
        "def flow(xs: list[str] = ['{{pod.name}}']):\n"
        "    with ParallelFor(xs) as x:\n        show(v=x)",
        ("field 'parameter xs'", "would alter"),
    ),
    "condition-on-a-key-with-a-brace": (
        "argo",
        "def flow():\n    with ParallelFor([{'a}': 1}]) as item:\n"
        "        with If(item['a}'] > 0):\n            show(v='x')",
        ("field 'key'", "cannot name", "Fix: use keys without braces"),
    ),
    "condition-on-a-key-with-surrounding-spaces": (
        "argo",
        "def flow():\n    with ParallelFor([{' a': 1}]) as item:\n"
        "        with If(item[' a'] > 0):\n            show(v='x')",
        ("field 'key'", "cannot name"),
    ),
    "nested-loop-over-a-key-with-braces": (
        "argo",
        "def flow():\n    with ParallelFor([{'{{xs}}': [1]}]) as item:\n"
        "        with ParallelFor(item['{{xs}}']) as x:\n            add(a=x, b=1)",
        ("field 'key'", "cannot name"),
    ),
    "two-keys-one-parameter-name": (
        "argo",
        "def flow():\n    k = 'my_key-' + __import__('hashlib').sha256(b'my key').hexdigest()[:8]\n"
        "    with ParallelFor([{'my key': 1, k: 2}]) as item:\n"
        "        with If(item['my key'] > 0):\n"
        "            with If(item[k] > 0):\n                show(v='x')",
        ("field 'key'", "share the parameter name", "Fix: rename the item key"),
    ),
    "pipeline-output-collected-over-nested-loops": (
        "argo",
        "def flow(xs: list[int] = [1], ys: list[int] = [2]):\n"
        "    with ParallelFor(xs) as a, ParallelFor(ys) as b:\n        made = add(a=a, b=b)\n"
        "    return Collected(made.output)",
        ("field 'output output'", "nested loops", "Fix: return the output of a task"),
    ),
    "kfp-collected-over-nested-loops": (
        "kfp",
        "def flow(xs: list[int] = [1], ys: list[int] = [2]):\n"
        "    with ParallelFor(xs) as a, ParallelFor(ys) as b:\n        made = add(a=a, b=b)\n"
        "    total(values=Collected(made.output))",
        ("field 'values'", "nested ParallelFor", "collect inside the outer loop"),
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_argo_item_or_value_exits_2_naming_the_field(tmp_path: Path, name: str) -> None:
    target, body, says = BAD[name]
    folder = tmp_path / "project"
    folder.mkdir()
    text = textwrap.dedent(HEADER) + "\n@pipeline\n" + body + "\n"
    (folder / "bad.py").write_text(text, encoding="utf-8")
    before = snapshot(folder)
    proc = dagwright(folder, "compile", "bad.py", "--target", target, "-o", "out.yaml")
    assert proc.returncode == 2, proc.stderr
    for words in says:
        assert words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(folder) == before, "something was written"


# faults in what an Argo pod is handed: the pod exits 1 naming the step and the input

COMPONENT = {
    "name": "pick",
    "inputs": [{"name": "x", "type": "int"}],
    "outputs": [{"name": "output", "type": "int"}],
}


def _pod(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    from dagwright import component
    from dagwright.compiler.delivery import CodeDelivery

    @component
    def pick(x: int) -> int:
        return x

    spec = CodeDelivery().carried_spec(pick.spec)
    command = [sys.executable, "-m", "dagwright.compiler.argo.entry"]
    command += ["--component", json.dumps(spec.to_dict()), "--digest", spec.digest, *args]
    command += ["--output-param", f"output={tmp_path / 'out'}"]
    env = {**os.environ, "DAGWRIGHT_TRACKING": "off"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


FAULTS = {
    "item-without-the-key": (
        ["--param", 'x={"other":1}', "--read", '{"x":{"item":"dict","key":"k"}}'],
        "has no key 'k'",
    ),
    "item-text-not-an-int": (
        ["--param", "x=abc", "--read", '{"x":{"item":"int"}}'],
        "is not a int",
    ),
    "protected-text-corrupted": (["--param", "x=dagwright-b64:%%%"], "input 'x'"),
    "nested-aggregate-not-a-list": (
        ["--param", 'x=["1"]', "--read", '{"x":{"depth":2}}'],
        "input 'x'",
    ),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_an_argo_pod_handed_a_bad_text_fails_naming_the_input(
    tmp_path: Path, name: str
) -> None:
    args, says = FAULTS[name]
    proc = _pod(tmp_path, *args)
    assert proc.returncode == 1, proc.stderr
    assert "dagwright: step 'pick': input 'x'" in proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
