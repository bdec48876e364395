"""``python -m bench runtimes``: what scaling one step out costs and buys, peers in the same run.

Rows:
- a CPU-bound map of 200 items (pure-Python arithmetic, ~30 ms each) inside ONE step that
  declares ``client`` and runs ``client.gather(client.map(work, items))``, under
  ``Dask(workers=2)`` against ``Dask(workers=1)`` (one thread per worker). Target: >= 1.6x
  faster with 2 workers on 2 cores. The map is timed inside the step; the run's wall time,
  cluster start and close included, is shown beside it.
- the fixed cost per run of the Dask runtime: a 1-step pipeline under ``Dask(workers=2)`` (the
  step runs on a worker) against the same step under ``Local()``.
- the same for Spark: a 1-step pipeline whose step runs ``spark.range(10).count()`` under
  ``Spark(executors=2)`` against a step returning 10 under ``Local()``; "n/a" when the Spark
  runtime cannot run here.

Usage: ``python -m bench runtimes [--repeats N] [--items N]``.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagwright
from bench.kfp_compile import print_table
from bench.local import quiet
from dagwright import Pipeline, component
from dagwright.runtimes import Dask, Local, RuntimeConfig

LOOPS = 700_000  # about 30 ms of pure-Python arithmetic per item on an idle 2-core machine


def work(i: int) -> int:
    """One CPU-bound item: holds the GIL the whole time, so only processes run it in parallel."""
    total = 0
    for k in range(LOOPS):
        total += (k * i) % 7
    return total


def mapped(client: Any, items: int) -> float:
    """The benchmark's step: map ``work`` over the items on the cluster; the map's seconds."""
    started = time.perf_counter()
    results = client.gather(client.map(work, range(items), pure=False))
    assert len(results) == items
    return time.perf_counter() - started


def one(x: int = 1) -> int:
    return x + 1


def count(spark: Any) -> int:
    return int(spark.range(10).count())


def ten() -> int:
    return 10


def run(
    root: Path, func: Callable[..., Any], runtime: RuntimeConfig, **args: Any
) -> tuple[Any, float]:
    """Run a 1-step pipeline of ``func`` under ``runtime``; its output and wall seconds."""
    p = Pipeline(f"bench-{func.__name__}")
    p.output("out", p.add(component(runtime=runtime)(func), **args).output)
    started = time.perf_counter()
    with quiet():  # cluster logs on start and close
        result = dagwright.run(p, root=root, echo=False, lineage=False)
    seconds = time.perf_counter() - started
    if not result.succeeded:
        raise RuntimeError("; ".join(s.error or "" for s in result.steps if s.error))
    return result.outputs["out"], seconds


def median_run(
    root: Path, func: Callable[..., Any], runtime: RuntimeConfig, repeats: int
) -> tuple[float, float]:
    """The first run's seconds (it may start what later runs of the process reuse, such as
    Spark's JVM) and the median of all runs."""
    times = [run(root, func, runtime)[1] for _ in range(repeats)]
    return times[0], statistics.median(times)


def row(case: str, ours: float, peer: str, theirs: float) -> tuple[str, ...]:
    ratio = ours / theirs
    shown = f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x"
    return (case, f"{ours:.3f}", peer, f"{theirs:.3f}", f"{ours - theirs:+.3f}", shown)


def measure(items: int, repeats: int, root: Path) -> tuple[list[tuple[str, ...]], list[str]]:
    """The table's rows and the lines printed under it."""
    started = time.perf_counter()
    work(3)
    per_item = time.perf_counter() - started
    notes = [f"work(): {per_item * 1000:.0f} ms per item, measured here in one call"]
    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(repeats):  # interleaved, so a burst of other load hits both sides alike
        for workers in runs:
            config = Dask(workers=workers, threads_per_worker=1)
            runs[workers].append(run(root, mapped, config, items=items))
    (map1, run1), (map2, run2) = (tuple(map(min, zip(*runs[w], strict=True))) for w in (1, 2))
    rows = [
        row(f"map {items} items (the map)", map2, "workers=1", map1),
        row(f"map {items} items (whole run)", run2, "workers=1", run1),
    ]
    notes.append(
        f"speed-up of Dask(workers=2) over workers=1 on the map: {map1 / map2:.2f}x "
        "(target >= 1.6x on 2 cores)"
    )
    first, dask = median_run(root, one, Dask(workers=2), repeats)
    rows.append(row("Dask(workers=2), 1 step", dask, "Local()", local_run(root, one, repeats)))
    notes.append(
        f"Dask(workers=2), 1 step: first run {first:.3f} s, median of {repeats} runs {dask:.3f} s"
    )
    spark, reason = spark_config()
    if spark is None:
        notes.append(f"1-step run, Spark(executors=2): n/a (spark runtime not available: {reason})")
        return rows, notes
    try:
        first, sparked = median_run(root, count, spark, repeats)
    except Exception as exc:  # a runtime being written elsewhere may not run yet
        notes.append(f"1-step run, Spark(executors=2): n/a (spark run failed: {exc})")
        return rows, notes
    rows.append(
        row("Spark(executors=2), 1 step", sparked, "Local()", local_run(root, ten, repeats))
    )
    notes.append(
        f"Spark(executors=2), 1 step: first run {first:.3f} s (JVM start), "
        f"median of {repeats} runs {sparked:.3f} s"
    )
    return rows, notes


def local_run(root: Path, func: Callable[..., Any], repeats: int) -> float:
    return median_run(root, func, Local(), max(repeats, 5))[1]


def spark_config() -> tuple[RuntimeConfig | None, str]:
    """``Spark(executors=2)`` when its runtime imports here, else None and why not."""
    from dagwright.runtimes import Spark

    config = Spark(executors=2)
    module, _, name = config.implementation.partition(":")
    try:
        getattr(importlib.import_module(module), name)
    except Exception as exc:  # missing module, pyspark or Java: the row says which
        return None, f"{type(exc).__name__}: {exc}"
    return config, ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench runtimes", description=__doc__)
    parser.add_argument("--items", type=int, default=200, help="items in the CPU-bound map")
    parser.add_argument("--repeats", type=int, default=3, help="runs per row (best or median)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        rows, notes = measure(args.items, args.repeats, Path(tmp))
    header = ("case", "ours s", "peer", "peer s", "ours - peer", "ours/peer")
    print_table(header, rows)
    for note in notes:
        print(note)
