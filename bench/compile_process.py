"""``python -m bench compile``: whole-process compiles, next to Hera and the KFP SDK.

What a user feels: each side is one new process, interpreter start-up and imports included.
The pipeline is a chain of N tasks cycling over bump/save/load (as in ``bench argo`` and
``bench kfp``), every second task also ``.after`` the one before it. Written into a temporary
folder: the pipeline file for ``dagwright compile FILE.py --target argo|kfp -o OUT``, a script
building the same workflow with Hera (``Workflow``/``DAG``/``Container``, ``w.to_yaml()``
written to a file) and one compiling the same pipeline with the KFP SDK
(``kfp.compiler.Compiler().compile``). Hera's tasks get the names dagwright gives (bump, save,
load, bump-2, ...), so that both write the same workflow. The commands run side by side, in
turn, best of N. A peer that is not installed is skipped with a note.

Targets at 1,000 tasks: Argo <= 1.0x Hera's time and <= 1.2x its bytes; KFP <= 0.2x the
SDK's time.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagwright
from bench.kfp_compile import print_table

PIPELINE = """
from typing import Any

from dagwright import Dataset, Input, Output, Pipeline, component


def bump(x: int) -> int:
    return x + 1


def save(x: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write(str(x))
    return x


def load(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return int(f.read())


TASKS = {tasks}
parts = [component(bump), component(save), component(load)]
p = Pipeline(f"chain-{{TASKS}}")
value: Any = p.param("x", int, default=0)
data: Any = None
previous: Any = None
for i in range(TASKS):
    kind = i % 3
    if kind == 0:
        task = p.add(parts[0], x=value)
    elif kind == 1:
        task = p.add(parts[1], x=value)
        data = task.outputs["data"]
    else:
        task = p.add(parts[2], data=data)
    if i % 2 and previous is not None:
        task.after(previous)
    value, previous = task.output, task
p.output("out", value)
"""

HERA = """
import sys
from typing import Any

from hera.workflows import DAG, Container, Workflow
from hera.workflows.models import Artifact, Inputs, Outputs, Parameter, ValueFrom

TASKS = {tasks}
NAMES = ["bump", "save", "load"]
image = "python:3.11-slim"


def step(name: str, ins: list[str], art_in: bool, art_out: bool) -> Container:
    return Container(
        name=name,
        image=image,
        command=["python3", "-m", "app", name],
        args=[f"--{{n}}={{{{{{{{inputs.parameters.{{n}}}}}}}}}}" for n in ins],
        inputs=Inputs(
            parameters=[Parameter(name=n) for n in ins] or None,
            artifacts=[Artifact(name="data", path="/tmp/in/data")] if art_in else None,
        ),
        outputs=Outputs(
            parameters=[Parameter(name="output", value_from=ValueFrom(path="/tmp/out"))],
            artifacts=[Artifact(name="data", path="/tmp/data")] if art_out else None,
        ),
    )


with Workflow(generate_name=f"chain-{{TASKS}}-", entrypoint="main") as w:
    templates = [
        step("bump", ["x"], False, False),
        step("save", ["x"], False, True),
        step("load", [], True, False),
    ]
    with DAG(name="main"):
        previous: Any = None
        data_task: Any = None
        for i in range(TASKS):
            kind = i % 3
            arguments: list[Any] = []
            if kind < 2:
                value = (
                    "0"
                    if previous is None
                    else f"{{{{{{{{tasks.{{previous.name}}.outputs.parameters.output}}}}}}}}"
                )
                arguments.append(Parameter(name="x", value=value))
            else:
                arguments.append(data_task.get_artifact("data").with_name("data"))
            # the task names dagwright gives: bump, save, load, bump-2, ...
            count = i // 3 + 1
            name = NAMES[kind] if count == 1 else f"{{NAMES[kind]}}-{{count}}"
            task = templates[kind](name=name, arguments=arguments)
            if previous is not None:
                previous >> task
            if kind == 1:
                data_task = task
            previous = task
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(w.to_yaml())
"""

KFP = """
import sys
from typing import Any

from kfp import compiler, dsl

TASKS = {tasks}
image = "python:3.11-slim"


@dsl.component(base_image=image)
def bump(x: int) -> int:
    return x + 1


@dsl.component(base_image=image)
def save(x: int, data: dsl.Output[dsl.Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write(str(x))
    return x


@dsl.component(base_image=image)
def load(data: dsl.Input[dsl.Dataset]) -> int:
    with open(data.path) as f:
        return int(f.read())


@dsl.pipeline(name=f"chain-{{TASKS}}")
def chain(x: int = 0) -> int:
    value: Any = x
    data: Any = None
    previous: Any = None
    for i in range(TASKS):
        kind = i % 3
        if kind == 0:
            task = bump(x=value)
            value = task.output
        elif kind == 1:
            task = save(x=value)
            value, data = task.outputs["Output"], task.outputs["data"]
        else:
            task = load(data=data)
            value = task.output
        if i % 2 and previous is not None:
            task.after(previous)
        previous = task
    return value


compiler.Compiler().compile(chain, sys.argv[1])
"""


def write_files(folder: Path, tasks: int) -> None:
    """The pipeline file and the peers' scripts for ``tasks`` tasks."""
    for name, text in (("chain", PIPELINE), ("hera_chain", HERA), ("kfp_chain", KFP)):
        (folder / f"{name}_{tasks}.py").write_text(text.format(tasks=tasks), encoding="utf-8")


def commands(folder: Path, tasks: int, baseline: str | None) -> dict[str, list[str]]:
    """The whole-process command of each case, writing ``<case>.yaml`` into ``folder``."""
    pin = f"dagwright=={dagwright.__version__}"  # timed, never run: any pin will do

    def ours(case: str, target: str) -> list[str]:
        source, out = folder / f"chain_{tasks}.py", folder / f"{case}.yaml"
        command = [sys.executable, "-m", "dagwright.cli", "compile", str(source)]
        return command + ["--target", target, "-o", str(out), "--dagwright", pin]

    cases = {
        "ours-argo": ours("ours-argo", "argo"),
        "ours-kfp": ours("ours-kfp", "kfp"),
        "hera": [sys.executable, str(folder / f"hera_chain_{tasks}.py"), "hera.yaml"],
        "kfp-sdk": [sys.executable, str(folder / f"kfp_chain_{tasks}.py"), "kfp-sdk.yaml"],
    }
    if baseline:
        cases["base-argo"] = ours("base-argo", "argo")
        cases["base-kfp"] = ours("base-kfp", "kfp")
    return cases


def installed(name: str) -> bool:
    """Whether a peer's package can be imported here."""
    return importlib.util.find_spec(name) is not None


def once(command: list[str], folder: Path, root: str) -> float:
    """Seconds the command takes, start-up included, with ``root`` on ``PYTHONPATH``; it must
    succeed."""
    env = {**os.environ, "PYTHONPATH": root, "PYTHONWARNINGS": "ignore"}
    # bytecode is cached (by the untimed first run) as an installed package has it cached
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return took


def measure(
    tasks: int, repeats: int, folder: Path, baseline: str | None = None
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Rows of the table for ``tasks`` tasks, and notes on peers skipped; ``baseline``, another
    dagwright checkout, is timed in the same rounds."""
    write_files(folder, tasks)
    cases = commands(folder, tasks, baseline)
    # the dagwright being measured is the one this bench imports, wherever it is installed
    ours_root = str(Path(dagwright.__file__).parent.parent)
    roots = {case: baseline if case.startswith("base-") else ours_root for case in cases}
    notes = []
    for case, package in (("hera", "hera"), ("kfp-sdk", "kfp")):
        if not installed(package):
            notes.append(f"{case}: {package} is not installed, skipped")
            del cases[case]
    best = dict.fromkeys(cases, float("inf"))
    for case, command in cases.items():  # a first, untimed run of each warms the caches
        once(command, folder, roots[case])
    for _ in range(repeats):  # in turn, so that a busy moment falls on every side alike
        for case, command in cases.items():
            best[case] = min(best[case], once(command, folder, roots[case]))
    size = {case: folder.joinpath(f"{case}.yaml").stat().st_size for case in cases}
    rows = []
    pairs = [("ours-argo", "hera"), ("ours-kfp", "kfp-sdk")]
    if baseline:
        pairs += [("base-argo", "hera"), ("base-kfp", "kfp-sdk")]
    for ours, peer in pairs:
        who, target = ours.split("-")
        label = f"{target} {tasks:,}" + (" base" if who == "base" else "")
        if peer not in best:
            rows.append((label, f"{best[ours]:.3f}", "-", "-", "", "", ""))
            continue
        rows.append(
            (
                f"{label} vs {peer}",
                f"{best[ours]:.3f}",
                f"{best[peer]:.3f}",
                f"{best[ours] / best[peer]:.3f}x",
                f"{size[ours]:,}",
                f"{size[peer]:,}",
                f"{size[ours] / size[peer]:.3f}x",
            )
        )
    return rows, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench compile", description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000, help="tasks in the chain")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    parser.add_argument("--baseline", help="another dagwright checkout to time in the same run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows, notes = measure(args.tasks, args.repeats, Path(tmp), args.baseline)
    header = ("case", "ours s", "peer s", "time ratio", "ours bytes", "peer bytes", "size ratio")
    print_table(header, rows)
    for note in notes:
        print(note)
    print("targets at 1,000 tasks: argo <= 1.0x Hera's time and <= 1.2x its bytes; kfp <= 0.2x")
    print("the SDK's time")


if __name__ == "__main__":
    main()
