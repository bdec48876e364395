"""Pipelines whose steps the ``dagwright replay`` and ``run --pdb`` tests run again: an
artifact made by a Process step, a ParallelFor whose third iteration raises, a gathering step
after it; nested loops over a step's output; a step with a timeout that raises; a step that
calls ``breakpoint()``; a step that reads a Secret; an artifact kept in memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SOURCE = """
from dagwright import Collected, Dataset, Input, Output, ParallelFor, Secret, component, pipeline
from dagwright.runtimes import Process


@component(runtime=Process())
def make(n: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write("x" * n)
    return n * 2


@component
def use(data: Input[Dataset], k: int, debug: bool = False) -> str:
    text = open(data.path).read()
    print(f"use read {len(text)} characters")
    if debug:
        breakpoint()
    if k == 3:
        marker_local = f"k={k}:{len(text)}"
        raise ValueError("k may not be 3")
    return text[:k]


@component
def total(xs: list) -> int:
    return len(xs)


@pipeline
def demo(n: int = 4):
    m = make(n=n)
    with ParallelFor([1, 2, 3]) as k:
        u = use(data=m.outputs["data"], k=k)
    total(xs=Collected(u.output))


@component
def rows(n: int) -> list:
    return [{"a": i, "b": i * 10} for i in range(n)]


@component
def add(a: int, b: int, c: int) -> int:
    return a + b + c


@pipeline
def nested(n: int = 2):
    made = rows(n=n)
    with ParallelFor(made.output) as row:
        with ParallelFor([1, 2, 3]) as c:
            add(a=row.a, b=row.b, c=c)


@component(timeout=1)
def hasty(x: int) -> int:
    doubled = x * 2
    raise RuntimeError(f"gave up on {doubled}")


@pipeline
def timed(x: int = 21):
    hasty(x=x)


@component
def keep(data: Output[Dataset]) -> None:
    with open(data.path, "w") as f:
        f.write("kept")


@component
def read(data: Input[Dataset]) -> str:
    return open(data.path).read()


@pipeline
def in_memory():
    read(data=keep().outputs["data"])


@component
def pause(x: int) -> int:
    y = x * 7
    breakpoint()
    print(f"after the breakpoint y={y}")
    return y


@pipeline
def paused(x: int = 6):
    pause(x=x)


@component(secrets=[Secret("api", "token", env="API_TOKEN")])
def call(word: str, api_key: str = "") -> str:
    return f"{word}:{len(os.environ['API_TOKEN'])}:{len(api_key)}"


@pipeline
def with_secret(word: str = "hi", api_key: str = ""):
    call(word=word, api_key=api_key)
"""


def write(folder: Path) -> Path:
    """The pipeline file ``folder/replayed.py``."""
    path = folder / "replayed.py"
    path.write_text("import os\n" + textwrap.dedent(SOURCE), encoding="utf-8")
    return path


def dagwright(
    folder: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``python -m dagwright.cli ARGS`` in ``folder``, the store at ``folder/home``."""
    repo = str(Path(__file__).resolve().parents[1])
    scratch = folder / "tmp"  # replay's scratch folders land here, removed with the test's
    scratch.mkdir(exist_ok=True)
    full = {
        **os.environ,
        "DAGWRIGHT_HOME": str(folder / "home"),
        "PYTHONPATH": repo,
        "TMPDIR": str(scratch),
    }
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=folder,
        env={**full, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_id(proc: subprocess.CompletedProcess[str]) -> str:
    """The run id ``run -q`` printed."""
    return proc.stdout.split()[0]
