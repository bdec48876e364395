"""``python -m bench argo``: compile large pipelines to Argo, next to Hera building the same.

Both sides build the workflow from scratch and write the YAML file: a chain of N tasks cycling
over three container templates (an int step, a step that writes an artifact, one that reads
it), each task passing its output on. dagwright's time includes tracing, validation against
Argo's JSON schema and the strict key check. Targets: <= 1.0x Hera's time; the 1,000-task spec
under 1 MiB; 5,000 tasks in <= 5.5x dagwright's 1,000-task time.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path
from typing import Any

import dagwright
from bench.kfp_compile import chain, print_table, timed


def ours(tasks: int, path: Path) -> None:
    # the spec is timed, never run: pin the requirement, whatever this install is
    pin = f"dagwright=={dagwright.__version__}"
    dagwright.compile(chain(tasks), target="argo", path=path, dagwright=pin)


def hera(tasks: int, path: Path) -> None:
    """The same chain written directly with Hera's Workflow/DAG/Container API."""
    from hera.workflows import DAG, Container, Workflow
    from hera.workflows.models import Artifact, Inputs, Outputs, Parameter, ValueFrom

    image = "python:3.11-slim"

    def step(name: str, ins: list[str], art_in: bool, art_out: bool) -> Container:
        return Container(
            name=name,
            image=image,
            command=["python3", "-m", "app", name],
            args=[f"--{n}={{{{inputs.parameters.{n}}}}}" for n in ins],
            inputs=Inputs(
                parameters=[Parameter(name=n) for n in ins] or None,
                artifacts=[Artifact(name="data", path="/tmp/in/data")] if art_in else None,
            ),
            outputs=Outputs(
                parameters=[Parameter(name="output", value_from=ValueFrom(path="/tmp/out"))],
                artifacts=[Artifact(name="data", path="/tmp/data")] if art_out else None,
            ),
        )

    with Workflow(generate_name=f"chain-{tasks}-", entrypoint="main") as w:
        templates = [
            step("bump", ["x"], False, False),
            step("save", ["x"], False, True),
            step("load", [], True, False),
        ]
        with DAG(name="main"):
            previous: Any = None
            data_task: Any = None
            for i in range(tasks):
                kind = i % 3
                args: dict[str, Any] = {}
                if kind < 2:
                    args["x"] = (
                        "0"
                        if previous is None
                        else f"{{{{tasks.{previous.name}.outputs.parameters.output}}}}"
                    )
                arguments = [Parameter(name=k, value=v) for k, v in args.items()]
                if kind == 2:
                    arguments.append(data_task.get_artifact("data").with_name("data"))
                task = templates[kind](name=f"t{i}", arguments=arguments)
                if previous is not None:
                    previous >> task
                if kind == 1:
                    data_task = task
                previous = task
    path.write_text(w.to_yaml(), encoding="utf-8")


def measure(sizes: list[int], repeats: int, folder: Path) -> list[tuple[str, ...]]:
    ours(10, folder / "warm.yaml")
    hera(10, folder / "warm-hera.yaml")
    own_times = {}
    for n in sizes:
        own_times[n] = timed(lambda n=n: ours(n, folder / f"ours-{n}.yaml"), repeats)  # type: ignore[misc]
    rows: list[tuple[str, ...]] = []
    for n in sizes:
        peer = timed(lambda n=n: hera(n, folder / f"hera-{n}.yaml"), repeats)  # type: ignore[misc]
        own_bytes = (folder / f"ours-{n}.yaml").stat().st_size
        peer_bytes = (folder / f"hera-{n}.yaml").stat().st_size
        rows.append(
            (
                f"{n:,} tasks",
                f"{own_times[n]:.2f}",
                f"{peer:.2f}",
                f"{own_times[n] / peer:.2f}x",
                f"{own_bytes / 2**20:.3f}",
                f"{peer_bytes / 2**20:.3f}",
            )
        )
    if len(own_times) > 1:
        small, large = min(own_times), max(own_times)
        ratio = own_times[large] / own_times[small]
        rows.append((f"{large:,} vs {small:,} tasks (ours)", "", "", f"{ratio:.2f}x", "", ""))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench argo", description=__doc__)
    parser.add_argument("--sizes", default="1000,5000", help="task counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure([int(s) for s in args.sizes.split(",")], args.repeats, Path(tmp))
    print_table(("case", "ours s", "Hera s", "time ratio", "ours MiB", "Hera MiB"), rows)
    print("targets: <= 1.0x Hera's time; 1,000-task spec < 1 MiB; 5,000 <= 5.5x 1,000 (ours)")


if __name__ == "__main__":
    main()
