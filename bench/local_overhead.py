"""Local-run overhead: dagwright's in-process engine against kfp.local in the same run.

Measures, for a chain of trivial ``x + 1`` steps:
- the cost of one more step (from chains of 1 and N steps, median of repeats), and
- the whole-process cost of a 1-step pipeline (``python script.py``, import to exit).

The peer is kfp.local's SubprocessRunner without a per-step pip install
(``install_kfp_package=False``, ``use_venv=False``): its fastest configuration.

Usage: ``python bench/local_overhead.py [--steps 20] [--repeats 3]`` (needs ``pip install kfp``).
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
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

DAGWRIGHT = """
import sys, dagwright
from dagwright import Pipeline, component

@component
def inc(x: int) -> int:
    return x + 1

def chain(n):
    p = Pipeline("chain")
    prev = p.param("x", int, default=0)
    for _ in range(n):
        prev = p.add(inc, x=prev).output
    p.output("out", prev)
    return p

def run(n, root):
    result = dagwright.run(chain(n), root=root, echo=False)
    assert result.outputs["out"] == n, result.outputs
"""

KFP = """
import logging, sys
logging.disable(logging.CRITICAL)
from kfp import dsl, local

@dsl.component(install_kfp_package=False)
def inc(x: int) -> int:
    return x + 1

def chain(n):
    @dsl.pipeline(name="chain")
    def p(x: int = 0) -> int:
        prev = inc(x=x)
        for _ in range(n - 1):
            prev = inc(x=prev.output)
        return prev.output
    return p

def run(n, root):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
    task = chain(n)(x=0)
    assert task.output == n, task.output
"""


def _load(code: str, root: Path) -> ModuleType:
    """Import the subject from a real file: components read their own source."""
    path = root / "subject.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(f"subject_{root.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the subject, including what its subprocesses write to our stdout/stderr."""
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


def per_step_ms(code: str, steps: int, repeats: int, root: Path) -> float:
    """Cost of one more step: (t(steps) - t(1)) / (steps - 1), medians over repeats."""
    run = _load(code, root).run
    run(1, str(root / "warmup"))
    times = {}
    for n in (1, steps):
        samples = []
        for i in range(repeats):
            started = time.perf_counter()
            run(n, str(root / f"{n}-{i}"))
            samples.append(time.perf_counter() - started)
        times[n] = statistics.median(samples)
    return (times[steps] - times[1]) / (steps - 1) * 1000


def process_ms(code: str, repeats: int, root: Path) -> float:
    """Wall time of a fresh interpreter that imports, runs a 1-step pipeline and exits."""
    script = root / "one_step.py"
    script.write_text(code + f"\nrun(1, {str(root / 'proc')!r})\n")
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(script)], check=True, capture_output=True, cwd=root)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import kfp  # noqa: F401
    except ImportError:
        sys.exit("the peer needs kfp: pip install kfp")
    warnings.simplefilter("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, code in (("dagwright (in-process)", DAGWRIGHT), ("kfp.local (subprocess)", KFP)):
            root = Path(tmp) / name.split()[0]
            root.mkdir()
            with _quiet():
                step = per_step_ms(code, args.steps, args.repeats, root)
                proc = process_ms(code, args.repeats, root)
            rows.append((name, step, proc))
    (_, ours_step, ours_proc), (_, peer_step, peer_proc) = rows
    print(f"chain of {args.steps} trivial steps, median of {args.repeats}")
    print(f"{'system':<24} {'ms per extra step':>18} {'ms, 1-step process':>20}")
    for name, step, proc in rows:
        print(f"{name:<24} {step:>18.2f} {proc:>20.0f}")
    ratio = "kfp.local / dagwright"
    print(f"{ratio:<24} {peer_step / ours_step:>17.0f}x {peer_proc / ours_proc:>19.1f}x")


if __name__ == "__main__":
    main()
