"""``dagwright lineage``: upstream, downstream, show, diff and sync of recorded provenance."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dagwright.cli.common import EXIT_FAILED, reported
from dagwright.cli.options import JSON, ROOT, output
from dagwright.errors import ValidationError

if TYPE_CHECKING:
    from dagwright.lineage.query import LineageDiff, Reached

_DEPTH = click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Only nodes at most N edges away (a step and what it made are 1 apart).",
)


@click.group()
def lineage() -> None:
    """Where runs and artifacts came from and what they fed (W3C PROV graphs).

    NAME is a run id or prefix, RUN/TASK or RUN/TASK[i], an artifact's digest (8+ hex
    digits) or path, or a node id such as artifact:<sha256>.
    """


@lineage.command()
@click.argument("name", metavar="NAME")
@_DEPTH
@JSON
@ROOT
def upstream(name: str, depth: int | None, as_json: bool, root: Path | None) -> None:
    """What NAME came from: the step that made it, what that step used, and so on."""
    from dagwright import lineage as api

    with reported():
        _print_reached(name, api.upstream(name, depth, root), as_json, "upstream")


@lineage.command()
@click.argument("name", metavar="NAME")
@_DEPTH
@JSON
@ROOT
def downstream(name: str, depth: int | None, as_json: bool, root: Path | None) -> None:
    """What NAME fed: the steps that used it, what they made, and so on."""
    from dagwright import lineage as api

    with reported():
        _print_reached(name, api.downstream(name, depth, root), as_json, "downstream")


def _print_reached(name: str, found: list[Reached], as_json: bool, direction: str) -> None:
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in found], default=str))
        return
    if not found:
        click.echo(f"nothing {direction} of {name}")
        return
    rows = [(str(r.distance), r.kind, r.name, _detail(r)) for r in found]
    _table(("DIST", "KIND", "NAME", "DETAIL"), rows)


def _detail(r: Reached) -> str:
    a = r.attrs
    if r.kind == "step":
        cached = ", cached" if a.get("cached") else ""
        return f"{a.get('component')} {a.get('status')}{cached}"
    if r.kind == "artifact":
        uris = a.get("uris") or []
        more = f" (+{len(uris) - 1} more)" if len(uris) > 1 else ""
        return f"{a.get('type')} {uris[0] if uris else ''}{more}"
    if r.kind == "run":
        return f"{a.get('pipeline')} {a.get('status')}"
    return ""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns as the other commands print them (the last one unpadded)."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


@lineage.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "dot", "png"]),
    default="json",
    show_default=True,
    help="Node-link JSON, Graphviz DOT text, or a PNG drawn by Graphviz's dot.",
)
@output("Write to FILE instead of stdout.")
@ROOT
def show(run_id: str, fmt: str, output: Path | None, root: Path | None) -> None:
    """The provenance graph of RUN: its steps, parameters and artifacts."""
    from dagwright import lineage as api

    with reported():
        if fmt == "png" and output is None and sys.stdout.isatty():
            raise ValidationError(
                "a PNG is not for the terminal", field="--output", fix="add -o FILE.png"
            )
        from dagwright.writes import check_target, write_file

        if output is not None:
            check_target(output, "--output")
        shown = api.show(run_id, fmt, root)
        if output is not None:
            write_file(output, shown, field="--output")
            click.echo(f"wrote {output}", err=True)
        elif isinstance(shown, bytes):
            sys.stdout.buffer.write(shown)
        else:
            click.echo(shown, nl=not shown.endswith("\n"))


@lineage.command()
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@JSON
@ROOT
def diff(run_a: str, run_b: str, as_json: bool, root: Path | None) -> None:
    """What changed from RUN_A to RUN_B: parameters, code digests, step inputs, steps."""
    from dagwright import lineage as api

    with reported():
        found = api.diff(run_a, run_b, root)
        if as_json:
            click.echo(json.dumps(found.to_dict()))
        else:
            _print_diff(found)


def _print_diff(d: LineageDiff) -> None:
    click.echo(f"{d.run_a} -> {d.run_b}")
    if d.same:
        click.echo("same parameters, code and inputs, same steps")
        return
    rows = [("parameter", p.name, _value(p.before), _value(p.after)) for p in d.params]
    rows += [("code", c.name, _value(c.before, 12), _value(c.after, 12)) for c in d.components]
    for i in d.inputs:
        if i.removed or i.added:
            removed = ", ".join(x[:12] for x in i.removed) or "-"
            rows.append(("input", i.step, removed, ", ".join(x[:12] for x in i.added) or "-"))
        rows += [
            ("input", f"{i.step}.{p.name}", _value(p.before), _value(p.after)) for p in i.params
        ]
    rows += [("step", label, "ran", "-") for label in d.only_in_a]
    rows += [("step", label, "-", "ran") for label in d.only_in_b]
    _table(("CHANGED", "NAME", "RUN_A", "RUN_B"), rows)


def _value(text: str | None, keep: int = 40) -> str:
    if text is None:
        return "-"
    return text if len(text) <= keep else text[: keep - 1] + "…"


@lineage.command()
@click.argument("run_id", metavar="[RUN]", required=False)
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else a SQLite file in the store).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Upload now and exit when MLflow has the runs; fail, naming them, if it cannot.",
)
@ROOT
def sync(run_id: str | None, tracking_uri: str | None, wait: bool, root: Path | None) -> None:
    """Send the lineage of RUN (default: every run not sent yet) to MLflow.

    Without --wait a background syncer sends it ('dagwright runs show RUN' says when it is
    there); --wait sends it here and waits for MLflow, for CI.
    """
    from dagwright.lineage import tracking
    from dagwright.lineage.store import folder_of

    with reported():
        try:
            synced = tracking.sync(folder_of(root).parent, tracking_uri, run_id, wait=wait)
        except tracking.SyncError as exc:  # MLflow's fault, not the user's: no traceback
            for name in exc.synced:
                click.echo(name)
            for name, why in exc.failed.items():
                click.echo(
                    f"error: the lineage of run {name} did not reach MLflow: {why}", err=True
                )
            click.echo("it is kept locally; run 'dagwright lineage sync --wait' again", err=True)
            sys.exit(EXIT_FAILED)
        for name in synced:
            click.echo(name)
        if wait:
            click.echo(f"synced {len(synced)} run(s)", err=True)
        else:
            click.echo(
                f"sending {len(synced)} run(s) in the background; "
                "'dagwright runs show RUN' says when MLflow has them",
                err=True,
            )
