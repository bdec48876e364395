"""Small pipelines run for real, and the lineage they leave, for the query and CLI tests.

``build(root)`` makes three runs whose graph is known node by node:

- ``first``: ``chain(text="hi")``: make writes "hi" (artifact A), shout reads it and writes
  "HI" (B).
- ``again``: the same run again: make writes "hi" anew (same content, so the same A), shout is
  cached (``cache=True``) and links the B the first run made.
- ``fan``: another pipeline, ``fan_in(text="hi", other="yo")``: make writes "hi" (A once
  more), make-2 writes "yo" (C), combine reads both and writes D.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.engine.result import RunResult
from dagwright.lineage.graph import param_node, run_node, step_node


@component
def make(text: str, data: Output[Dataset]) -> None:
    with open(data.path, "w", encoding="utf-8") as f:
        f.write(text)


@component(cache=True)
def shout(data: Input[Dataset], loud: Output[Dataset]) -> int:
    with open(data.path, encoding="utf-8") as f:
        text = f.read().upper()
    with open(loud.path, "w", encoding="utf-8") as f:
        f.write(text)
    return len(text)


@component
def combine(a: Input[Dataset], b: Input[Dataset], both: Output[Dataset]) -> None:
    with open(a.path, encoding="utf-8") as fa, open(b.path, encoding="utf-8") as fb:
        text = fa.read() + fb.read()
    with open(both.path, "w", encoding="utf-8") as f:
        f.write(text)


@component(name="polish")
def polish_v1(data: Input[Dataset], out: Output[Dataset]) -> None:
    with open(data.path, encoding="utf-8") as f:
        text = f.read()
    with open(out.path, "w", encoding="utf-8") as f:
        f.write(text.strip())


@component(name="polish")
def polish_v2(data: Input[Dataset], out: Output[Dataset]) -> None:
    with open(data.path, encoding="utf-8") as f:
        text = f.read()
    with open(out.path, "w", encoding="utf-8") as f:
        f.write(text.strip().title())  # the edit: a second version of the same component


@pipeline
def chain(text: str = "hi") -> int:
    made = make(text=text)
    return shout(data=made.outputs["data"]).output


@pipeline
def fan_in(text: str = "hi", other: str = "yo") -> None:
    first = make(text=text)
    second = make(text=other)
    combine(a=first.outputs["data"], b=second.outputs["data"])


@pipeline(name="polishing")
def polishing_v1(text: str = "hi") -> None:
    polish_v1(data=make(text=text).outputs["data"])


@pipeline(name="polishing")
def polishing_v2(text: str = "hi") -> None:
    polish_v2(data=make(text=text).outputs["data"])


def run(pipeline: Any, root: Path, **params: Any) -> RunResult:
    result = dagwright.run(pipeline, root=root, echo=False, **params)
    assert result.succeeded, [(s.label, s.error) for s in result.steps if s.error]
    return result


def artifact(result: RunResult, task: str, output: str) -> str:
    return f"artifact:{result.step(task).outputs[output].digest}"


@dataclass
class Known:
    """The three runs and the ids of the nodes they made."""

    root: Path
    first: RunResult
    again: RunResult
    fan: RunResult

    def step(self, result: RunResult, label: str) -> str:
        return step_node(result.run_id, label)

    def run(self, result: RunResult) -> str:
        return run_node(result.run_id)

    @property
    def a(self) -> str:
        return artifact(self.first, "make", "data")

    @property
    def b(self) -> str:
        return artifact(self.first, "shout", "loud")

    @property
    def c(self) -> str:
        return artifact(self.fan, "make-2", "data")

    @property
    def d(self) -> str:
        return artifact(self.fan, "combine", "both")

    @property
    def text_hi(self) -> str:
        return param_node("text", "hi")


def build(root: Path) -> Known:
    first = run(chain, root)
    again = run(chain, root)
    assert again.step("shout").cached and not again.step("make").cached
    return Known(root, first, again, run(fan_in, root))
