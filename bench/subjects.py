"""The pipelines the benchmarks run: trivial or sleeping steps in a chain or a fan-out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dagwright import Collected, ParallelFor, Pipeline, component
from dagwright.runtimes import Local, Process


def inc(x: int) -> int:
    return x + 1


def nap(x: int, seconds: float) -> int:
    time.sleep(seconds)
    return x + 1


def total(xs: list[int]) -> int:
    return sum(xs)


def make(runtime: Any = None, cache: bool = False) -> dict[str, Any]:
    runtime = runtime or Local()
    return {
        "inc": component(runtime=runtime, cache=cache)(inc),
        "nap": component(runtime=runtime, cache=cache)(nap),
        "total": component(runtime=runtime, cache=cache)(total),
    }


def chain(steps: int, runtime: Any = None, sleep: float = 0.0, cache: bool = False) -> Pipeline:
    parts = make(runtime, cache)
    p = Pipeline(f"chain-{steps}")
    prev: Any = p.param("x", int, default=0)
    for _ in range(steps):
        task = p.add(parts["nap"], x=prev, seconds=sleep) if sleep else p.add(parts["inc"], x=prev)
        prev = task.output
    p.output("out", prev)
    return p


def fan(
    width: int, runtime: Any = None, sleep: float = 0.0, parallelism: int | None = None
) -> Pipeline:
    parts = make(runtime)
    p = Pipeline(f"fan-{width}")
    start = p.add(parts["inc"], x=0)
    with p, ParallelFor(list(range(width)), parallelism=parallelism) as i:
        inner = p.add(parts["nap"], x=i, seconds=sleep) if sleep else p.add(parts["inc"], x=i)
    done = p.add(parts["total"], xs=Collected(inner.output)).after(start)
    p.output("out", done.output)
    return p


__all__ = ["Process", "chain", "fan", "inc"]


def settle_lineage(root: Any) -> None:
    """Wait for the background uploads of runs made under ``root`` (MLflow lineage on by
    default), so the temporary store can be removed without a syncer writing into it."""
    from dagwright.lineage import tracking

    if tracking.mlflow_installed() and (Path(root) / "lineage").is_dir():
        tracking.sync(Path(root), wait=True)
