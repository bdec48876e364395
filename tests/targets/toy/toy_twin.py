"""A second toy target from another distribution (``toy_twin-1.0.dist-info``) that declares a
flag the toy target declares too, ``--folder``: each target that reads a shared flag may be
given it. It writes as the toy target does and marks what it sends as its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toy_target import Sent, _send, check_cron, write

from dagwright.targets import Client, CliOptions, Target


def submit(
    spec: Path,
    *,
    arguments: dict[str, Any] | None = None,
    folder: str | Path | None = None,
    run_name: str | None = None,
    **_: Any,
) -> Sent:
    """A "run" of the twin: the spec and arguments written to the cluster folder."""
    record = {"kind": "twin-run", "arguments": arguments or {}, "name": run_name}
    return _send(spec, folder, record)


def schedule(spec: Path, *, cron: str, folder: str | Path | None = None, **_: Any) -> Sent:
    """A "schedule" of the twin."""
    return _send(spec, folder, {"kind": "twin-schedule", "cron": cron})


def flags(where: str) -> list[Any]:
    """``--folder`` (submit, schedule), as the toy target has it."""
    import click

    if where == "send":
        return [click.option("--folder", default=None, help="Toy twin: the cluster's folder.")]
    return []


TARGET = Target(
    name="toy-twin",
    write=write,
    description="the toy target's twin (JSON to a folder)",
    client=Client(submit=submit, schedule=schedule, check_cron=check_cron),
    cli=CliOptions(remote=("folder",), flags=flags),
    suffix=".json",
)
