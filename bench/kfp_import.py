"""``python -m bench kfp-import``: KFP pipelines run here from their YAML vs on kfp.local.

The pipelines are written with kfp's DSL and compiled once with kfp (untimed): a chain of N
trivial steps (``add(a=previous, b=1)``), at two lengths, and a 1 -> N -> 1 fan (one step
makes the items, a ParallelFor runs one step per item, one step sums the Collected list).
Each is then run as a whole process, what a user waits for at the prompt:

- dagwright: ``dagwright run pipeline.yaml --root DIR -q --no-cache`` (as ``python -m
  dagwright.cli``, with this interpreter): the YAML imported and run; lineage on (the default)
  and off. ``--no-cache`` because kfp compiles every task with caching on, and the repeats
  of a case share one store;
- kfp.local: a script that loads the same YAML and runs it with
  ``SubprocessRunner(use_venv=False)``, kfp.local's fastest configuration (each step is a
  subprocess that first runs ``pip install kfp==<this version>``, found installed).

Each case gets one untimed warm-up run, then the cases are run in turn, repeat after repeat,
so a burst of other load hits them alike; the best run counts (dagwright's workloads run five
times a round, kfp.local's once: a dagwright step costs about a millisecond, so its figures
need the least disturbed of more runs). Per step is
``(t_long - t_short) / (N_long - N_short)`` in the chain, and the fixed cost is what is left of
the short chain, ``t_short - N_short * per_step``; in the fan, per step is
``(t_fan - fixed) / (N + 2)``. The ratio columns are kfp.local's figure over dagwright's.
Every run's result is checked (the chain's N, the fan's sum); a run that fails or gives
another value is named below the table instead of timed.

Usage: ``python -m bench kfp-import [--repeats N] [--quick] [--sizes SHORT,LONG,FAN]``.
"""

# no "from __future__ import annotations": kfp reads real annotation objects
import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from bench.workloads import base_env, package_home, settle, timed_process, wait_flag

TIMEOUT = 1800.0  # seconds for one process; kfp.local takes about half a second a step
DAGWRIGHT_RUNS = 5  # timed runs of each dagwright workload per round (kfp.local's: one)
ON, OFF, PEER = "dagwright, lineage on (default)", "dagwright, lineage off", "kfp.local"

KFP_LOCAL_SCRIPT = """\
import json, sys
from kfp import components, local

spec, root, result = sys.argv[1:4]
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
task = components.load_component_from_file(spec)()
with open(result, "w") as f:
    json.dump(task.output, f)
"""


@dataclass
class Sizes:
    """The two chain lengths and the fan's width."""

    short: int
    long: int
    fan: int


@dataclass
class Case:
    """One row: a command per workload, the best time of each, why it failed if it did."""

    row: str
    folder: Path
    env: dict[str, str]
    commands: dict[str, list[str]] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    failed: str = ""
    sync: list[str] | None = None  # untimed: lets a lineage-on run's MLflow upload finish


def compile_pipelines(folder: Path, sizes: Sizes) -> dict[str, Path]:
    """The benchmark's KFP pipelines compiled by kfp into ``folder``: ``short``, ``long``
    (chains) and ``fan``."""
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11")
    def add(a: int, b: int) -> int:
        return a + b

    @dsl.component(base_image="python:3.11")
    def count_to(n: int) -> list[int]:
        return list(range(1, n + 1))

    @dsl.component(base_image="python:3.11")
    def total(xs: list[int]) -> int:
        return int(sum(xs))  # kfp.local hands the Collected ints over as floats

    def chain(steps: int):  # type: ignore[no-untyped-def]
        @dsl.pipeline(name=f"chain-{steps}")
        def pipeline(x: int = 0) -> int:
            value = x
            for _ in range(steps):
                value = add(a=value, b=1).output
            return value

        return pipeline

    @dsl.pipeline(name=f"fan-{sizes.fan}")
    def fan(n: int = sizes.fan) -> int:
        items = count_to(n=n)
        with dsl.ParallelFor(items.output) as item:
            bumped = add(a=item, b=1)
        return total(xs=dsl.Collected(bumped.output)).output

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, pipeline in (
            ("short", chain(sizes.short)),
            ("long", chain(sizes.long)),
            ("fan", fan),
        ):
            paths[key] = folder / f"{key}.yaml"
            compiler.Compiler().compile(pipeline, str(paths[key]))
    return paths


def expected(key: str, sizes: Sizes) -> int:
    """What a correct run gives: a chain of N steps from 0 gives N; the fan sums 2..N+1."""
    if key == "fan":
        return sum(i + 1 for i in range(1, sizes.fan + 1))
    return sizes.short if key == "short" else sizes.long


def dagwright_case(row: str, folder: Path, specs: dict[str, Path], lineage: bool) -> Case:
    folder.mkdir()
    env = base_env()
    # the runs start in their own folder: they import the dagwright this benchmark imports
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_home(), env.get("PYTHONPATH")]))
    if not lineage:
        env["DAGWRIGHT_TRACKING"] = "off"
    case = Case(row, folder, env)
    for key, spec in specs.items():
        case.commands[key] = [
            *(sys.executable, "-m", "dagwright.cli", "run", str(spec)),
            *("--root", "store", "-q", "--no-cache"),
        ]
    if lineage and wait_flag():
        case.sync = [sys.executable, "-m", "dagwright.cli", "lineage", "sync", "--wait"]
        case.sync += ["--root", "store"]
    return case


def kfp_local_case(folder: Path, specs: dict[str, Path]) -> Case:
    folder.mkdir()
    script = folder / "kfp_local_run.py"
    script.write_text(KFP_LOCAL_SCRIPT)
    case = Case(PEER, folder, base_env())
    for key, spec in specs.items():
        case.commands[key] = [sys.executable, script.name, str(spec), "root", f"{key}.json"]
    return case


def dagwright_result(case: Case, run_id: str) -> object:
    """The pipeline's output of a finished dagwright run, from ``dagwright runs show``."""
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagwright.cli",
            "runs",
            "show",
            run_id,
            "--json",
            "--root",
            "store",
        ],
        cwd=case.folder,
        env=case.env,
        capture_output=True,
        text=True,
    )
    outputs = json.loads(shown.stdout).get("outputs", {}) if shown.returncode == 0 else {}
    return outputs.get("Output")


def run_once(case: Case, key: str, sizes: Sizes, check: bool) -> float | None:
    """Seconds of one whole process, or None (and ``case.failed`` says why) if it failed or,
    when ``check``, gave another result than a correct run."""
    peer = case.row == PEER
    ran = timed_process(case, key, quiet=peer, timeout=TIMEOUT)  # kfp.local logs every step
    if ran is None:
        return None
    seconds, code, stdout, stderr = ran
    lines = stdout.strip().splitlines()
    ok = code == 0 and (peer or (bool(lines) and lines[-1].endswith(" succeeded")))
    if not ok:
        tail = (stderr.strip() or stdout.strip() or "no output").splitlines()[-1]
        case.failed = f"{key} run failed (exit {code}): {tail[:160]}"
        return None
    if check:
        if peer:
            got = json.loads((case.folder / f"{key}.json").read_text())
        else:
            got = dagwright_result(case, lines[-1].split()[0])
        if got != expected(key, sizes):
            case.failed = f"{key} run gave {got!r}, expected {expected(key, sizes)!r}"
            return None
    if case.sync:
        subprocess.run(case.sync, cwd=case.folder, env=case.env, capture_output=True)
        settle()
    return seconds


def measure(cases: list[Case], sizes: Sizes, repeats: int, dagwright_runs: int) -> None:
    """One untimed warm-up run of every workload (its result checked), then ``repeats``
    rounds; keep the best. In each round a dagwright workload runs ``dagwright_runs`` times:
    its steps cost about a millisecond, so its per-step figure is a difference of whole-process
    times that a burst of other load can swamp, and its runs are cheap."""
    for round_ in range(repeats + 1):
        what = f"timed round {round_} of {repeats}" if round_ else "warm-up round"
        print(f"bench kfp-import: {what}", file=sys.stderr, flush=True)
        for case in cases:
            times = 1 if round_ == 0 or case.row == PEER else dagwright_runs
            for key in case.commands:
                for _ in range(times):
                    if case.failed:
                        break
                    seconds = run_once(case, key, sizes, check=round_ == 0)
                    if seconds is not None and round_ > 0:
                        case.best[key] = min(seconds, case.best.get(key, seconds))


@dataclass
class Figures:
    """A case's fixed cost (s) and per-step costs (ms) in the chain and the fan."""

    fixed: float | None
    chain_step: float | None
    fan_step: float | None


def figures(case: Case, sizes: Sizes) -> Figures:
    best = case.best
    if "short" not in best or "long" not in best:
        return Figures(None, None, None)
    step = (best["long"] - best["short"]) / (sizes.long - sizes.short)
    fixed = best["short"] - sizes.short * step
    fan = (best["fan"] - fixed) / (sizes.fan + 2) if "fan" in best else None
    return Figures(fixed, step * 1e3, None if fan is None else fan * 1e3)


def ratio(theirs: float | None, ours: float | None) -> str:
    if theirs is None or ours is None or theirs <= 0 or ours <= 0:
        return "-"  # a negative difference is noise: nothing to divide by
    shown = theirs / ours
    return f"{shown:.2f}x" if shown < 10 else f"{shown:.0f}x"


def number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def rows(cases: list[Case], sizes: Sizes) -> list[tuple[str, ...]]:
    """The table's rows: each case's seconds and derived figures, with kfp.local's per-step
    figures as multiples of the case's (kfp.local's own row shows 1x)."""
    peer = next((c for c in cases if c.row == PEER and not c.failed), None)
    theirs = figures(peer, sizes) if peer else Figures(None, None, None)
    table: list[tuple[str, ...]] = []
    for case in cases:
        if case.failed:
            continue
        mine = figures(case, sizes)
        table.append(
            (
                case.row,
                number(case.best.get("short"), 2),
                number(case.best.get("long"), 2),
                number(case.best.get("fan"), 2),
                number(mine.fixed, 2),
                number(mine.chain_step, 2),
                number(mine.fan_step, 2),
                ratio(theirs.chain_step, mine.chain_step),
                ratio(theirs.fan_step, mine.fan_step),
            )
        )
    return table


def header(sizes: Sizes) -> tuple[str, ...]:
    return (
        "case",
        f"{sizes.short}-chain s",
        f"{sizes.long}-chain s",
        f"fan-{sizes.fan} s",
        "fixed s",
        "chain ms/step",
        "fan ms/step",
        "chain kfp/x",
        "fan kfp/x",
    )


def targets(cases: list[Case], sizes: Sizes) -> list[str]:
    """The issue's target, per step >= 100x faster than kfp.local, with this run's figures."""
    peer = next((c for c in cases if c.row == PEER and not c.failed), None)
    ours = next((c for c in cases if c.row == ON and not c.failed), None)
    if peer is None or ours is None:
        return ["  per step >= 100x kfp.local: not measured"]
    theirs, mine = figures(peer, sizes), figures(ours, sizes)
    lines = []
    for label, a, b in (
        ("chain", theirs.chain_step, mine.chain_step),
        ("fan", theirs.fan_step, mine.fan_step),
    ):
        if a is None or b is None or a <= 0:
            lines.append(f"  {label}: per step >= 100x kfp.local: not measured")
        elif b <= 0:
            lines.append(f"  {label}: per step >= 100x kfp.local: met (dagwright below noise)")
        else:
            verdict = "met" if a / b >= 100 else "MISSED"
            lines.append(f"  {label}: per step >= 100x kfp.local: {a / b:.0f}x {verdict}")
    return lines


def print_table(table_header: tuple[str, ...], table: list[tuple[str, ...]]) -> None:
    for row in (table_header, *table):
        print(f"{row[0]:<34}" + "".join(f"{c:>14}" for c in row[1:]))


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, Sizes]:
    parser = argparse.ArgumentParser(prog="python -m bench kfp-import", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (best)")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (5,20,20) and one timed run of each"
    )
    parser.add_argument(
        "--sizes", default=None, help="SHORT,LONG,FAN: the two chains and the fan's width"
    )
    args = parser.parse_args(argv)
    text = args.sizes or ("5,20,20" if args.quick else "10,50,100")
    if args.quick and "--repeats" not in (argv or []):
        args.repeats = 1
    try:
        short, long, fan = (int(n) for n in text.split(","))
    except ValueError:
        parser.error(f"--sizes: {text!r} is not SHORT,LONG,FAN, e.g. 10,50,100")
    if short < 1 or long <= short or fan < 1 or args.repeats < 1:
        parser.error("--sizes: 1 <= SHORT < LONG and FAN >= 1; --repeats >= 1")
    return args, Sizes(short, long, fan)


def main(argv: list[str] | None = None) -> None:
    args, sizes = parse(argv)
    with tempfile.TemporaryDirectory(prefix="bench-kfp-import-") as tmp:
        root = Path(tmp)
        specs = compile_pipelines(root / "specs", sizes)
        cases = [
            dagwright_case(ON, root / "dw-on", specs, lineage=True),
            dagwright_case(OFF, root / "dw-off", specs, lineage=False),
            kfp_local_case(root / "kfp-local", specs),
        ]
        dagwright_runs = 1 if args.quick else DAGWRIGHT_RUNS
        measure(cases, sizes, args.repeats, dagwright_runs)
    print(
        f"{args.repeats} timed rounds (best; dagwright runs {dagwright_runs} times a round), "
        f"after one checked warm-up; chains of "
        f"{sizes.short} and {sizes.long} steps, fan 1 -> {sizes.fan} -> 1; whole processes"
    )
    print_table(header(sizes), rows(cases, sizes))
    for case in cases:
        if case.failed:
            print(f"{case.row}: failed, not in the table: {case.failed}")
    print("kfp.local: SubprocessRunner(use_venv=False), its fastest configuration")
    print("kfp/x: kfp.local's per-step figure over this row's; '-' where either is below noise")
    print("targets (issue 17):")
    for line in targets(cases, sizes):
        print(line + (" (--quick)" if args.quick else ""))


if __name__ == "__main__":
    main()
