"""The ``dagwright`` command.

Exit codes: 0 success, 1 a run or step failed, 2 bad input (a ValidationError, a pipeline
file that does not import, a missing extra, or a usage error), as click and most CLIs do. A
reader that closes the pipe early (``| head``) changes none of them.

One module per command group: ``run`` (run, resume, inspect), ``runs`` (runs ls|show|rm|gc,
logs), ``compile`` (compile, dockerfile), ``submit`` (submit, delete, and schedule add's
cluster side), ``schedule`` (schedule add|ls|pause|resume|rm), ``cron_daemon`` (the
``scheduler`` daemon), ``lineage``, ``serve``. What they share is public in two modules:
``options`` (every option block more than one command takes, and the target names) and
``common`` (exit codes, error reporting, loading a pipeline, ``-p`` parsing, times).
"""

from __future__ import annotations

import os
import sys

import click

from dagwright.cli.common import outlive_the_reader

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dagwright")
def cli() -> None:
    """Run, inspect and compile dagwright pipelines."""


def main() -> None:
    """The console script ``dagwright``: run the command line on ``sys.argv``."""
    # as `python -m` does: modules of the project folder import, so a spec's
    # `module:function` references resolve when run from there
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    outlive_the_reader()
    cli(prog_name="dagwright")


def _register() -> None:
    # imported here, not at the top, so the package's attributes stay its modules
    from dagwright.cli.compile import compile_command, dockerfile
    from dagwright.cli.cron_daemon import scheduler
    from dagwright.cli.lineage import lineage
    from dagwright.cli.run import inspect, resume, run
    from dagwright.cli.runs import logs, runs
    from dagwright.cli.schedule import schedule
    from dagwright.cli.serve import serve
    from dagwright.cli.submit import delete, submit

    commands = (run, resume, inspect, runs, logs, compile_command, dockerfile, submit)
    for command in (*commands, schedule, scheduler, delete, lineage, serve):
        cli.add_command(command)


_register()
