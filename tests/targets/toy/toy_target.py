"""A toy target, installed from its own dist-info (``toy_target-1.0.dist-info``), as a package
providing a target would be: it writes a pipeline as a short JSON document and "sends" it to a
folder standing in for a cluster (``folder=``, or ``$TOY_CLUSTER``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.targets import Client, CliOptions, Target, refuse_options


@dataclass
class Sent:
    """What the stand-in cluster hands back: where the spec went."""

    path: Path
    succeeded: bool = True


def write(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """The pipeline's name, its tasks in order and the ``greeting`` option, as JSON."""
    refuse_options("toy", {k: v for k, v in options.items() if k != "greeting"})
    document = {
        "toy": ir.name,
        "tasks": [t.name for t in ir.tasks],
        "greeting": options.get("greeting"),
    }
    return json.dumps(document, sort_keys=True) + "\n"


def _cluster(folder: str | Path | None) -> Path:
    where = folder or os.environ.get("TOY_CLUSTER")
    if not where:
        raise ValidationError("no toy cluster", field="folder", fix="pass folder= or TOY_CLUSTER")
    return Path(where)


def _send(spec: Path, folder: str | Path | None, record: dict[str, Any]) -> Sent:
    cluster = _cluster(folder)
    cluster.mkdir(parents=True, exist_ok=True)
    assert spec.suffix == ".json", spec  # the file is named with the target's suffix
    document = json.loads(spec.read_text(encoding="utf-8"))
    name = record.get("name") or document["toy"]
    out = cluster / f"{name}.json"
    out.write_text(json.dumps({**record, "spec": document}, sort_keys=True), encoding="utf-8")
    return Sent(out)


def submit(
    spec: Path,
    *,
    arguments: dict[str, Any] | None = None,
    folder: str | Path | None = None,
    run_name: str | None = None,
    **_: Any,
) -> Sent:
    """A "run": the spec and arguments written to the cluster folder."""
    return _send(spec, folder, {"kind": "run", "arguments": arguments or {}, "name": run_name})


def schedule(
    spec: Path,
    *,
    cron: str,
    arguments: dict[str, Any] | None = None,
    folder: str | Path | None = None,
    name: str | None = None,
    **_: Any,
) -> Sent:
    """A "schedule": the same, with its cron."""
    record = {"kind": "schedule", "cron": cron, "arguments": arguments or {}, "name": name}
    return _send(spec, folder, record)


def check_cron(cron: str, *, field: str = "cron") -> str:
    """Five fields only."""
    if len(cron.split()) != 5:
        raise ValidationError(f"'{cron}' is not five fields", field=field, fix="write five")
    return cron


def flags(where: str) -> list[Any]:
    """Its own command-line options: ``--greeting`` (compile), ``--folder`` (submit, schedule)."""
    import click

    if where == "compile":
        return [click.option("--greeting", default=None, help="Toy: a word for the spec.")]
    if where == "send":
        return [click.option("--folder", default=None, help="Toy: the cluster's folder.")]
    return []


TARGET = Target(
    name="toy",
    write=write,
    description="a toy target (JSON to a folder)",
    client=Client(submit=submit, schedule=schedule, check_cron=check_cron),
    cli=CliOptions(compile=("greeting",), remote=("folder",), flags=flags),
    suffix=".json",
)


def make_quiet_target() -> Target:
    """The factory form of an entry point: a target that only writes."""
    return Target(name="toy-quiet", write=write, description="a toy that sends nothing")
