"""``python -m bench workloads``: whole-process runs of trivial-step workloads, peers beside.

Every figure is a whole process, what a user waits for at the prompt: ``dagwright run
FILE.py:pipeline --root DIR -q`` (run as ``python -m dagwright.cli``, with this interpreter),
or ``python SCRIPT chain|fan N`` for a peer (``bench/workload_scripts.py`` says how each peer's
script is written). Workloads: a 1-step run, a chain of N trivial steps, a 1 -> N -> 1 fan
and, for dagwright, a 2,000-step chain. dagwright runs with lineage on (the default: MLflow
when it is installed) and off (``DAGWRIGHT_TRACKING=off``), and the chain again under
``Process()``. Each case gets its own store (or folder) and one untimed warm-up run, so the
table shows the steady state, not the first run's database creation; then the cases are run
in turn, repeat after repeat, so a burst of other load hits them alike; the best run counts.

Columns: the 1-step run; per extra step in the chain, ``(t_chain - t_1) / (N - 1)``; per step
in the fan, ``(t_fan - t_1) / (N + 1)``; the 2,000-step chain; the 1-step and per-step figures
as multiples of dagwright's default (lineage on), when that is above the noise.

Peers (luigi, kedro, dagster, prefect, MLRun) are measured when their interpreter can import
them: ``--peer-python PATH`` (repeatable; default this interpreter) lets them live in their own
virtualenv; the first interpreter that has a peer runs it. Missing ones are named below the
table.

Usage: ``python -m bench workloads [--repeats N] [--quick] [--only dagwright,luigi,...]
[--sizes CHAIN,FAN,LONG] [--peer-python PATH]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.workload_scripts import DAGWRIGHT, PEERS, expected

TOOLS = ("dagwright", *PEERS)
SLOW = ("dagster", "prefect", "mlrun")  # seconds to start: left out by --quick
TIMEOUT = 900.0  # seconds for one process; a stuck run becomes a note, not a hang
NOISE_MS = 0.05  # a per-step figure below this is not a denominator worth printing
ON, OFF = "dagwright, lineage on (default)", "dagwright, lineage off"
PROCESS = "dagwright, Process(), lineage on"


@dataclass
class Case:
    """One row of the table: how to run each of its workloads, and the best times seen."""

    row: str
    tool: str
    folder: Path
    env: dict[str, str]
    commands: dict[str, list[str]] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    failed: str = ""
    sync: list[str] | None = None  # the untimed command that lets background work finish
    synced: dict[str, float] = field(default_factory=dict)  # its longest wait, per workload


@dataclass
class Sizes:
    """The chain's and the fan's N, and the long chain's."""

    chain: int
    fan: int
    long: int


def base_env() -> dict[str, str]:
    """This environment without what would send a run elsewhere (a user's MLflow server, a
    DAGWRIGHT_HOME, a Dagster instance or MLRun API server) or phone home from a peer."""
    env = dict(os.environ)
    for name in ("MLFLOW_TRACKING_URI", "DAGWRIGHT_HOME", "DAGWRIGHT_TRACKING", "DAGSTER_HOME"):
        env.pop(name, None)
    env.pop("MLRUN_DBPATH", None)
    env.update(
        DO_NOT_TRACK="1",
        KEDRO_DISABLE_TELEMETRY="true",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    return env


def wait_flag() -> bool:
    """Whether ``dagwright lineage sync`` can wait for MLflow (``--wait``): then every timed
    lineage-on run is followed, untimed, by one, so a background upload does not slow the next
    case, and none is left running when the benchmark ends."""
    out = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "lineage", "sync", "--help"],
        capture_output=True,
        text=True,
        env=base_env(),
    )
    return "--wait" in out.stdout


def package_home() -> str:
    """The folder that holds the ``dagwright`` package this process imports."""
    spec = importlib.util.find_spec("dagwright")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parents[1])


def dagwright_case(
    row: str, folder: Path, sizes: Sizes, runtime: str, lineage: bool, keys: tuple[str, ...]
) -> Case:
    folder.mkdir()
    env = base_env()
    # the runs start in their own folder: they import the dagwright this benchmark imports
    # (the checkout it runs from), not whichever one is installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_home(), env.get("PYTHONPATH")]))
    if not lineage:
        env["DAGWRIGHT_TRACKING"] = "off"
    case = Case(row, "dagwright", folder, env)
    shapes = {"one": ("chain", 1), "chain": ("chain", sizes.chain), "fan": ("fan", sizes.fan)}
    shapes["long"] = ("chain", sizes.long)
    for key in keys:
        shape, size = shapes[key]
        path = folder / f"dw_{key}.py"
        path.write_text(DAGWRIGHT.format(runtime=runtime, shape=shape, size=size))
        case.commands[key] = [
            *(sys.executable, "-m", "dagwright.cli", "run", f"{path.name}:pipeline"),
            *("--root", "store", "-q"),
        ]
    if lineage and wait_flag():
        case.sync = [sys.executable, "-m", "dagwright.cli", "lineage", "sync", "--wait"]
        case.sync += ["--root", "store"]
    return case


def peer_case(tool: str, python: str, folder: Path, sizes: Sizes) -> Case:
    folder.mkdir()
    script = folder / f"{tool}_workload.py"
    script.write_text(PEERS[tool][1])
    env = base_env()
    env["PREFECT_HOME"] = str(folder / "prefect-home")  # its own temporary server and database
    label = f"{tool}" + (" (no run records)" if tool == "luigi" else "")
    case = Case(label, tool, folder, env)
    case.commands = {
        "one": [python, script.name, "chain", "1"],
        "chain": [python, script.name, "chain", str(sizes.chain)],
        "fan": [python, script.name, "fan", str(sizes.fan)],
    }
    return case


def find_peers(pythons: list[str], wanted: list[str]) -> tuple[dict[str, str], list[str]]:
    """Each wanted peer's interpreter (the first of ``pythons`` that can import it) and a
    note for each one that none can."""
    where: dict[str, str] = {}
    for python in pythons:
        modules = [PEERS[t][0] for t in wanted if t not in where]
        probe = "import importlib.util as u, sys\n"
        probe += "print(' '.join(m for m in sys.argv[1:] if u.find_spec(m)))"
        out = subprocess.run(
            [python, "-c", probe, *modules], capture_output=True, text=True, env=base_env()
        )
        found = set(out.stdout.split())
        where.update({t: python for t in wanted if PEERS[t][0] in found and t not in where})
    notes = [f"{t}: not installed (pip install {t}), skipped" for t in wanted if t not in where]
    return where, notes


def run_once(case: Case, key: str) -> float | None:
    """Seconds of one whole process, or None (and ``case.failed`` says why) if it failed."""
    started = time.perf_counter()
    try:
        out = subprocess.run(
            case.commands[key],
            cwd=case.folder,
            env=case.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        case.failed = f"{key} run took over {TIMEOUT:.0f} s"
        return None
    seconds = time.perf_counter() - started
    if out.returncode != 0 or not done(case, key, out.stdout):
        tail = (out.stderr.strip() or out.stdout.strip() or "no output").splitlines()[-1]
        case.failed = f"{key} run failed (exit {out.returncode}): {tail[:160]}"
        return None
    if case.sync:
        sync_started = time.perf_counter()
        subprocess.run(case.sync, cwd=case.folder, env=case.env, capture_output=True)
        waited = time.perf_counter() - sync_started
        case.synced[key] = max(waited, case.synced.get(key, 0.0))
    return seconds


def done(case: Case, key: str, stdout: str) -> bool:
    """Whether the run did the work: dagwright says ``succeeded``; a peer prints its result."""
    lines = stdout.strip().splitlines()
    if case.tool == "dagwright":
        return bool(lines) and lines[-1].endswith(" succeeded")
    shape, size = case.commands[key][2], int(case.commands[key][3])
    return bool(lines) and lines[-1] == f"result {expected(case.tool, shape, size)}"


def measure(cases: list[Case], repeats: int) -> None:
    """One untimed warm-up run of every workload, then ``repeats`` rounds; keep the best."""
    for round_ in range(repeats + 1):
        what = f"timed round {round_} of {repeats}" if round_ else "warm-up round"
        print(f"bench workloads: {what}", file=sys.stderr, flush=True)  # a full run takes minutes
        for case in cases:
            for key in case.commands:
                if case.failed:
                    break
                seconds = run_once(case, key)
                if seconds is not None and round_ > 0:
                    case.best[key] = min(seconds, case.best.get(key, seconds))


def per_step_ms(case: Case, key: str, extra_steps: int) -> float | None:
    if key not in case.best or "one" not in case.best:
        return None
    return (case.best[key] - case.best["one"]) / extra_steps * 1e3


def ratio(value: float | None, reference: float | None, floor: float) -> str:
    if value is None or reference is None or value < 0 or reference < floor:
        return "-"  # a negative per-step figure is noise: the chain ran as fast as one step
    shown = value / reference
    return f"{shown:.2f}x" if shown < 10 else f"{shown:.0f}x"


def rows(cases: list[Case], sizes: Sizes) -> list[tuple[str, ...]]:
    reference = next((c for c in cases if c.row == ON and not c.failed), None)
    ref_one = reference.best.get("one") if reference else None
    ref_step = per_step_ms(reference, "chain", sizes.chain - 1) if reference else None
    table: list[tuple[str, ...]] = []
    for case in cases:
        if case.failed:
            continue
        one = case.best.get("one")
        step = per_step_ms(case, "chain", sizes.chain - 1)
        fan = per_step_ms(case, "fan", sizes.fan + 1)
        long = case.best.get("long")
        table.append(
            (
                case.row,
                "-" if one is None else f"{one:.2f}",
                "-" if step is None else f"{step:.2f}",
                "-" if fan is None else f"{fan:.2f}",
                "-" if long is None else f"{long:.2f}",
                ratio(one, ref_one, 1e-3),
                ratio(step, ref_step, NOISE_MS),
            )
        )
    return table


def targets(cases: list[Case], sizes: Sizes) -> list[str]:
    """The issue's targets, each with this run's figure and whether it is met."""
    by_row = {c.row: c for c in cases if not c.failed}
    lines = []

    def check(label: str, value: float | None, limit: float, unit: str) -> None:
        if value is None:
            lines.append(f"  {label} <= {limit:g}{unit}: not measured")
            return
        verdict = "met" if value <= limit else "MISSED"
        verdict += " (below noise)" if value < 0 else ""
        lines.append(f"  {label} <= {limit:g}{unit}: {value:.2f}{unit} {verdict}")

    for row, one_limit, step_limit in ((ON, 0.30, 0.5), (OFF, 0.25, 0.3)):
        case = by_row.get(row)
        name = "lineage on" if row == ON else "lineage off"
        check(f"{name}, 1-step run", case.best.get("one") if case else None, one_limit, " s")
        step = per_step_ms(case, "chain", sizes.chain - 1) if case else None
        check(f"{name}, per extra step", step, step_limit, " ms")
    on, off = by_row.get(ON), by_row.get(OFF)
    if on and off and "long" in on.best and "long" in off.best:
        check(f"{sizes.long:,}-step chain, on / off", on.best["long"] / off.best["long"], 1.5, "x")
    else:
        lines.append(f"  {sizes.long:,}-step chain, on / off <= 1.5x: not measured")
    process = by_row.get(PROCESS)
    step = per_step_ms(process, "chain", sizes.chain - 1) if process else None
    check("Process(), per extra step", step, 20.0, " ms")
    local = per_step_ms(on, "chain", sizes.chain - 1) if on else None
    if step is not None and local is not None:
        lines.append(
            f"  (Process() vs Local(), lineage on, {sizes.chain}-step chain: {step:.2f} vs "
            f"{local:.2f} ms per extra step)"
        )
    return lines


def build(args: argparse.Namespace, sizes: Sizes, root: Path) -> tuple[list[Case], list[str]]:
    """The cases to measure, and notes for the peers left out."""
    wanted = [t for t in TOOLS if t in args.only]
    notes = []
    cases: list[Case] = []
    if "dagwright" in wanted:
        keys = ("one", "chain", "fan") if args.quick else ("one", "chain", "fan", "long")
        cases.append(dagwright_case(ON, root / "dw-on", sizes, "Local", True, keys))
        cases.append(dagwright_case(OFF, root / "dw-off", sizes, "Local", False, keys))
        cases.append(dagwright_case(PROCESS, root / "dw-process", sizes, "Process", True, keys[:2]))
    peers = [t for t in wanted if t != "dagwright"]
    if args.quick:
        notes += [f"{t}: skipped (--quick)" for t in peers if t in SLOW]
        peers = [t for t in peers if t not in SLOW]
    where, missing = find_peers(args.peer_python or [sys.executable], peers)
    notes += missing
    cases += [peer_case(t, where[t], root / t, sizes) for t in peers if t in where]
    return cases, notes


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, Sizes]:
    parser = argparse.ArgumentParser(prog="python -m bench workloads", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (best)")
    parser.add_argument("--quick", action="store_true", help="no 2,000-step chain, no slow peers")
    parser.add_argument("--only", default=",".join(TOOLS), help="tools, comma-separated")
    parser.add_argument(
        "--sizes",
        default="50,100,2000",
        help="CHAIN,FAN,LONG: steps in the chain, the fan, the long chain",
    )
    parser.add_argument(
        "--peer-python",
        action="append",
        metavar="PATH",
        help="an interpreter for the peers (repeatable; default: this one)",
    )
    args = parser.parse_args(argv)
    args.only = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = [t for t in args.only if t not in TOOLS]
    if unknown or not args.only:
        parser.error(f"--only: unknown tool {', '.join(unknown)!r}; choose from {','.join(TOOLS)}")
    try:
        chain, fan, long = (int(n) for n in args.sizes.split(","))
    except ValueError:
        parser.error(f"--sizes: {args.sizes!r} is not CHAIN,FAN,LONG, e.g. 50,100,2000")
    if min(chain, fan, long) < 2 or args.repeats < 1:
        parser.error("--sizes: each size must be >= 2, and --repeats >= 1")
    for i, python in enumerate(args.peer_python or []):
        found = shutil.which(python)
        if found is None:
            parser.error(f"--peer-python: {python} is not an executable interpreter")
        args.peer_python[i] = found
    return args, Sizes(chain, fan, long)


def sync_note(cases: list[Case], sizes: Sizes) -> str:
    """How long MLflow took to get a lineage-on run's lineage after the run had returned."""
    on = next((c for c in cases if c.row == ON), None)
    if on is None or on.sync is None:
        return "lineage on: runs return once MLflow has their lineage (no 'lineage sync --wait')"
    names = {"one": "1-step", "chain": f"{sizes.chain}-step", "fan": "fan"}
    names["long"] = f"{sizes.long:,}-step"
    waits = ", ".join(f"{names[k]} {on.synced[k]:.2f} s" for k in on.commands if k in on.synced)
    return f"lineage on: 'lineage sync --wait' after a run returned waited at most: {waits}"


def mlflow_note() -> str:
    """What "lineage on" meant in this run: MLflow is only used when it is installed."""
    if importlib.util.find_spec("mlflow") is None:
        return (
            "lineage on: mlflow is not installed here, so lineage stayed local (pip install mlflow)"
        )
    return "lineage on: mlflow is installed here, so runs recorded lineage to MLflow (SQLite store)"


def main(argv: list[str] | None = None) -> None:
    args, sizes = parse(argv)
    with tempfile.TemporaryDirectory(prefix="bench-workloads-") as tmp:
        cases, notes = build(args, sizes, Path(tmp))
        measure(cases, args.repeats)
    header = (
        "case",
        "1-step s",
        "chain ms/step",
        "fan ms/step",
        f"{sizes.long:,}-step s",
        "1-step x dw",
        "step x dw",
    )
    print(
        f"{args.repeats} timed runs per case (best), after one warm-up; chain {sizes.chain} "
        f"steps, fan 1 -> {sizes.fan} -> 1"
    )
    for row in (header, *rows(cases, sizes)):
        print(f"{row[0]:<34}" + "".join(f"{c:>14}" for c in row[1:]))
    for case in cases:
        if case.failed:
            print(f"{case.tool}: failed, not in the table: {case.failed}")
    for note in notes:
        print(note)
    if "dagwright" in args.only:
        print(mlflow_note())
        print(sync_note(cases, sizes))
    print("x dw: a multiple of dagwright's default (lineage on); '-' where either is below noise")
    if "dagwright" in args.only:
        print("targets (issue 16):")
        for line in targets(cases, sizes):
            print(line + (" (--quick)" if line.endswith("not measured") and args.quick else ""))
