"""``dagwright serve``: run a pipeline here and keep its served functions (Nuclio) up.

Exit codes: 0 when stopped by SIGTERM (an orderly stop, as a supervisor asks for it) or when
the pipeline serves no function (it returns at once), 130 when stopped by Ctrl-C (SIGINT, the
shell's 128 + 2), 1 when the run failed (nothing is left serving), 2 bad input.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    StopSignals,
    load_target,
    parse_params,
    reported,
)
from dagwright.cli.options import PARAMS, ROOT

_SIZE = re.compile(r"(\d+)\s*([kmg]?)(i?)b?", re.IGNORECASE)


class ByteSize(click.ParamType):
    """A number of bytes, bare or with a unit: ``1048576``, ``512KiB``, ``10MiB``, ``1MB``."""

    name = "BYTES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The size in bytes; a size that is not positive fails as click's usage errors do."""
        if isinstance(value, int):
            return value
        found = _SIZE.fullmatch(str(value).strip())
        if not found or int(found[1]) == 0:
            self.fail(
                f"{value!r} is not a positive size; write bytes or a unit, e.g. 1048576 or 10MiB",
                param,
                ctx,
            )
        number, unit, binary = found.groups()
        base = 1024 if binary or not unit else 1000
        return int(number) * base ** " KMG".index((unit or " ").upper())


def served_urls(ir: Any, result: Any) -> list[tuple[str, str]]:
    """``(step label, URL)`` of each step of the run whose runtime serves a function."""
    found = []
    for record in result.steps:
        if ir.component_of(record.task).runtime.serves and record.outputs:
            found.append((record.label, str(record.outputs.get("output"))))
    return found


@click.command()
@click.argument("target")
@PARAMS
@ROOT
@click.option(
    "--max-body",
    type=ByteSize(),
    default="10MiB",
    show_default=True,
    help="Largest request body a function accepts, in bytes or with a unit (512KiB, 1MB); "
    "a larger one gets 413 unread.",
)
def serve(target: str, params: tuple[str, ...], root: Path | None, max_body: int) -> None:
    """Run TARGET (FILE.py[:PIPELINE]) and serve its functions until SIGINT or SIGTERM.

    Prints one line per served function, ``STEP URL``, once the run has finished. A request
    whose JSON body does not parse gets 400, one over --max-body 413, each with a short
    ``{"error": ...}`` and never a traceback.
    """
    from dagwright.api import run as run_pipeline
    from dagwright.pipelines.arguments import bind_arguments
    from dagwright.runtimes.session import Session

    stop = StopSignals()

    # SIGTERM's handler is installed before the run, so a stop asked for during it ends serve
    # once the run returns; SIGINT keeps raising KeyboardInterrupt until then, which stops the
    # run itself (Ctrl-C on a long first step must not wait for it)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even where it was ignored
    session = Session(max_body=max_body)
    try:
        try:
            with reported():
                ir = load_target(target)
                arguments = bind_arguments(ir, parse_params(params), as_text=True)
                result = run_pipeline(
                    ir,
                    arguments,
                    root=root,
                    session=session,
                    echo=lambda line: click.echo(line, err=True),
                )
        except KeyboardInterrupt:
            click.echo("interrupted; the run was stopped", err=True)
            session.close()
            sys.stdout.flush()
            sys.stderr.flush()
            # a step's thread cannot be stopped, and a normal exit would wait for it
            os._exit(EXIT_INTERRUPTED)
        signal.signal(signal.SIGINT, stop)
        if not result.succeeded:
            click.echo(f"run {result.run_id} {result.status}", err=True)
            sys.exit(EXIT_FAILED)
        urls = served_urls(ir, result)
        if not urls:
            click.echo(f"pipeline '{ir.name}' serves no function; nothing to keep up", err=True)
            sys.exit(0)
        for label, url in urls:
            click.echo(f"{label} {url}")
        sys.stdout.flush()
        while not stop.stopped.wait(0.5):
            pass
    finally:
        session.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(stop.exit_code())
