"""``dagwright cache``: the local cache of step outputs. ``cache explain RUN STEP`` says why a
step was, or was not, served from it (``engine/explain.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dagwright.cli.common import existing_store, reported
from dagwright.cli.options import JSON, ROOT


@click.group()
def cache() -> None:
    """The cache of step outputs: why a step was or was not served from it."""


@cache.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step")
@ROOT
@JSON
def explain(run_id: str, step: str, root: Path | None, as_json: bool) -> None:
    """Why STEP of RUN (e.g. train or train[2]) was or was not served from the cache.

    Prints the step's cache key and its parts (component digest, cache_version, each
    parameter, each input artifact's digest); for a hit, the run whose entry served it; for
    a miss, each part that differs from the nearest earlier step of the same component (the
    same task in the same pipeline first, else the latest with the component's digest or
    name), or why an entry found could not be used.
    """
    with reported():
        from dagwright.engine.explain import explain as explained

        db = existing_store(root).database()
        try:
            found = explained(db, run_id, step)
        finally:
            db.close()
        if as_json:
            click.echo(json.dumps(found, default=str))
            return
        for line in found["lines"]:
            click.echo(line)
