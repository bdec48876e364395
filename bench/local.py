"""The local engine against plain function calls and kfp.local, measured in the same run.

Rows: a 50-step chain and a 1 -> 200 -> 1 fan-out/fan-in of trivial steps for the Local()
(thread) and Process() (a fork of the warm server; a new interpreter with fresh=True)
runtimes; plain calls of the same functions; kfp.local's SubprocessRunner on a 5-step chain
(when kfp is installed, without its per-step pip install); a cached re-run of a 50-step chain
of 50 ms steps; a 200-wide fan-out of 100 ms steps at parallelism 50; the peak memory of a
1,000-step run.

Usage: ``python -m bench local [--quick]`` (``--quick`` skips the slow Process fan-out).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagwright
from bench import subjects


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence everything, including what subprocesses write to our stdout/stderr."""
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def timed(action: Callable[[], Any], repeats: int = 3) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(pipeline: Any, root: Path, **options: Any) -> dagwright.RunResult:
    result = dagwright.run(pipeline, root=root, echo=False, **options)
    assert result.succeeded, [(s.label, s.error) for s in result.steps if s.error]
    return result


def plain_chain(steps: int) -> int:
    x = 0
    for _ in range(steps):
        x = subjects.inc(x)
    return x


def plain_fan(width: int) -> int:
    subjects.inc(0)
    return subjects.total([subjects.inc(i) for i in range(width)])


KFP_CHAIN = """
import logging
logging.disable(logging.CRITICAL)
from kfp import dsl

@dsl.component(install_kfp_package=INSTALL)
def inc(x: int) -> int:
    return x + 1

@dsl.pipeline(name="chain")
def chain(x: int = 0) -> int:
    prev = inc(x=x)
    for _ in range(4):
        prev = inc(x=prev.output)
    return prev.output
"""


def kfp_chain_seconds(root: Path, install: bool, repeats: int = 3) -> float | None:
    """kfp.local's SubprocessRunner on a 5-step chain, or None without kfp.

    ``install`` keeps kfp's default, a ``pip install kfp`` in every step (already satisfied
    here, so no download); without it, its fastest configuration.
    """
    if importlib.util.find_spec("kfp") is None:
        return None
    name = f"kfp_subject_{int(install)}"
    path = root / f"{name}.py"
    path.write_text(KFP_CHAIN.replace("INSTALL", str(install)))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root / "kfp"))
    module.chain(x=0)  # warm up
    return timed(lambda: module.chain(x=0), repeats)


def peak_memory_mb(steps: int, root: Path) -> float:
    """Peak RSS of a fresh process that runs a chain of ``steps`` trivial steps."""
    code = (
        "import resource, dagwright\n"
        "from bench import subjects\n"
        f"r = dagwright.run(subjects.chain({steps}), root={str(root)!r}, echo=False)\n"
        "assert r.succeeded\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    here = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=here, check=True
    )
    return int(out.stdout.split()[-1]) / 1024


def measure(quick: bool, root: Path) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    chain50, chain1 = subjects.chain(50), subjects.chain(1)
    run(chain1, root)  # warm up imports
    plain50 = timed(lambda: plain_chain(50), 5)
    local50 = timed(lambda: run(chain50, root))
    local1 = timed(lambda: run(chain1, root))
    per_step = (local50 - plain50) / 50
    rows.append(("plain calls, 50-step chain", f"{plain50 * 1e3:.3f}", "-", ""))
    rows.append(("Local(), 50-step chain", f"{local50 * 1e3:.1f}", f"{per_step * 1e3:.3f}", "<= 1"))
    marginal = (local50 - local1) / 49
    rows.append(("Local(), one more step (50 vs 1)", "-", f"{marginal * 1e3:.3f}", ""))
    plain_f = timed(lambda: plain_fan(200), 5)
    local_f = timed(lambda: run(subjects.fan(200), root))
    rows.append(("plain calls, 1->200->1", f"{plain_f * 1e3:.3f}", "-", ""))
    rows.append(
        (
            "Local(), 1->200->1",
            f"{local_f * 1e3:.1f}",
            f"{(local_f - plain_f) / 202 * 1e3:.3f}",
            "<= 1",
        )
    )
    proc = subjects.Process()
    run(subjects.chain(1, proc), root)  # warm up: the fork server starts on the first step
    proc50 = timed(lambda: run(subjects.chain(50, proc), root))
    rows.append(
        ("Process(), 50-step chain", f"{proc50 * 1e3:.0f}", f"{proc50 / 50 * 1e3:.1f}", "<= 20")
    )
    rows.append(
        (
            "Process(), one step more than Local()",
            "-",
            f"{(proc50 - local50) / 50 * 1e3:.1f}",
            "the runtime's own cost",
        )
    )
    fresh50 = timed(lambda: run(subjects.chain(50, subjects.Process(fresh=True)), root), 1)
    rows.append(
        (
            "Process(fresh=True), 50-step chain",
            f"{fresh50 * 1e3:.0f}",
            f"{fresh50 / 50 * 1e3:.1f}",
            f"{fresh50 / proc50:.1f}x Process() (a new interpreter per step)",
        )
    )
    if not quick:
        proc_f = timed(lambda: run(subjects.fan(200, proc), root), 1)
        rows.append(
            ("Process(), 1->200->1", f"{proc_f * 1e3:.0f}", f"{proc_f / 202 * 1e3:.1f}", "<= 20")
        )
    for install, label in ((False, "no pip install"), (True, "default: pip per step")):
        kfp5 = kfp_chain_seconds(root, install, 1 if install else 3)
        if kfp5 is not None:
            rows.append(
                (
                    f"kfp.local 5 steps, {label}",
                    f"{kfp5 * 1e3:.0f}",
                    f"{kfp5 / 5 * 1e3:.1f}",
                    f"{kfp5 / 5 / per_step:.0f}x Local()'s ms/step",
                )
            )
    sleepy = subjects.chain(50, sleep=0.05, cache=True)
    first = timed(lambda: run(sleepy, root), 1)
    again = timed(lambda: run(sleepy, root), 1)
    rows.append(("50 x 50 ms steps, first run", f"{first * 1e3:.0f}", "-", ""))
    rows.append(
        ("same, cached re-run", f"{again * 1e3:.0f}", "-", f"{again / first:.1%} of first (<= 5%)")
    )
    fan_s = timed(lambda: run(subjects.fan(200, sleep=0.1, parallelism=50), root), 1)
    ideal = 200 / 50 * 0.1
    rows.append(
        (
            "200 x 100 ms, parallelism 50",
            f"{fan_s * 1e3:.0f}",
            "-",
            f"{fan_s / ideal:.2f}x the ideal {ideal * 1e3:.0f} ms (<= 1.2x)",
        )
    )
    memory = peak_memory_mb(1000, root / "mem")
    rows.append(("1,000-step chain, peak RSS", f"{memory:.0f} MB", "-", "< 300 MB"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench local", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the Process fan-out")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp, quiet():
        rows = measure(args.quick, Path(tmp))
        subjects.settle_lineage(tmp)
    print(f"{'case':<42} {'total ms':>10} {'ms/step':>9}  target (ms/step) or ratio")
    for name, total, step, note in rows:
        print(f"{name:<42} {total:>10} {step:>9}  {note}")


if __name__ == "__main__":
    main()
