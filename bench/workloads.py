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
The last column is ``import <tool>`` in a fresh interpreter, less a bare start of the same one.

Peers (luigi, kedro, dagster, prefect, MLRun) are measured when their interpreter can import
them: ``--peer-python PATH`` (repeatable; default this interpreter) lets them live in their own
virtualenv; the first interpreter that has a peer runs it. Missing ones are named below the
table.

Usage: ``python -m bench workloads [--repeats N] [--quick] [--only dagwright,luigi,...]
[--sizes CHAIN,FAN,LONG] [--peer-python PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.workload_scripts import DAGWRIGHT, PEERS, expected
from bench.workload_table import (
    OFF,
    ON,
    PROCESS,
    Case,
    Sizes,
    mlflow_note,
    rows,
    sync_note,
    targets,
)

TOOLS = ("dagwright", *PEERS)
SLOW = ("dagster", "prefect", "mlrun")  # seconds to start: left out by --quick
IMPORTED = "print('imported')"


def import_commands(python: str, module: str) -> dict[str, list[str]]:
    """``import MODULE`` in a fresh interpreter, and the same interpreter started bare: the
    import's cost is the difference."""
    return {
        "bare": [python, "-c", IMPORTED],
        "import": [python, "-c", f"import {module}; {IMPORTED}"],
    }


TIMEOUT = 900.0  # seconds for one process; a stuck run becomes a note, not a hang


def base_env() -> dict[str, str]:
    """This environment without what would send a run elsewhere (a user's MLflow server, a
    DAGWRIGHT_HOME, a Dagster instance or MLRun API server) or phone home from a peer."""
    env = dict(os.environ)
    # bytecode is written as an installed package has it (the warm-up run writes it): without
    # it a checkout compiles its sources in every timed run, and the peers' pip installs did not
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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
    shapes = {"1-step": ("chain", 1), "chain": ("chain", sizes.chain), "fan": ("fan", sizes.fan)}
    shapes["long"] = ("chain", sizes.long)
    for key in keys:
        shape, size = shapes[key]
        path = folder / f"dw_{key.replace('-', '_')}.py"
        path.write_text(DAGWRIGHT.format(runtime=runtime, shape=shape, size=size))
        case.commands[key] = [
            *(sys.executable, "-m", "dagwright.cli", "run", f"{path.name}:pipeline"),
            *("--root", "store", "-q"),
        ]
    if lineage and runtime == "Local":
        case.commands.update(import_commands(sys.executable, "dagwright"))
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
        "1-step": [python, script.name, "chain", "1"],
        "chain": [python, script.name, "chain", str(sizes.chain)],
        "fan": [python, script.name, "fan", str(sizes.fan)],
        **import_commands(python, tool),
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


def timed_process(
    case: Any, key: str, quiet: bool = False, timeout: float = TIMEOUT
) -> tuple[float, int, str, str] | None:
    """Run ``case.commands[key]`` once as a whole process: (seconds, exit code, stdout, stderr),
    or None with ``case.failed`` saying it took over ``timeout``. ``quiet`` drops its stdout."""
    started = time.perf_counter()
    # its own process group: a run that hangs, or Ctrl-C here, takes its children with it
    # (an MLflow writer, prefect's temporary server), so nothing is left running
    with subprocess.Popen(
        case.commands[key],
        cwd=case.folder,
        env=case.env,
        stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            if not isinstance(exc, subprocess.TimeoutExpired):
                raise
            case.failed = f"{key} run took over {timeout:.0f} s"
            return None
    return time.perf_counter() - started, proc.returncode, stdout or "", stderr or ""


def run_once(case: Case, key: str) -> float | None:
    """Seconds of one whole process, or None (and ``case.failed`` says why) if it failed."""
    ran = timed_process(case, key)
    if ran is None:
        return None
    seconds, code, stdout, stderr = ran
    if code != 0 or not done(case, key, stdout):
        tail = (stderr.strip() or stdout.strip() or "no output").splitlines()[-1]
        case.failed = f"{key} run failed (exit {code}): {tail[:160]}"
        return None
    if case.sync and key not in ("bare", "import"):
        sync_started = time.perf_counter()
        subprocess.run(case.sync, cwd=case.folder, env=case.env, capture_output=True)
        waited = time.perf_counter() - sync_started
        case.synced[key] = max(waited, case.synced.get(key, 0.0))
        settle()
    return seconds


def settle(limit: float = 30.0) -> None:
    """Wait until no lineage syncer process is left (Linux: read /proc): one exiting after its
    upload must not take CPU from the next timed run on a small machine."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = False
        for pid in filter(str.isdigit, os.listdir("/proc") if os.path.isdir("/proc") else []):
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    busy = busy or b"dagwright.lineage.syncer" in f.read()
        if not busy:
            return
        time.sleep(0.05)


def done(case: Case, key: str, stdout: str) -> bool:
    """Whether the run did the work: dagwright says ``succeeded``; a peer prints its result."""
    lines = stdout.strip().splitlines()
    if key in ("bare", "import"):
        return lines == ["imported"]
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


def build(args: argparse.Namespace, sizes: Sizes, root: Path) -> tuple[list[Case], list[str]]:
    """The cases to measure, and notes for the peers left out."""
    wanted = [t for t in TOOLS if t in args.only]
    notes = []
    cases: list[Case] = []
    if "dagwright" in wanted:
        keys = ("1-step", "chain", "fan") if args.quick else ("1-step", "chain", "fan", "long")
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
        "import s",
    )
    print(
        f"{args.repeats} timed runs per case (best), after one warm-up; chain {sizes.chain} "
        f"steps, fan 1 -> {sizes.fan} -> 1"
    )
    for row in (header, *rows(cases, sizes)):
        print(f"{row[0]:<34}" + "".join(f"{c:>14}" for c in row[1:]))
    for case in cases:
        if case.failed:
            print(f"{case.row}: failed, not in the table: {case.failed}")
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
