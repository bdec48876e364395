"""The ``dagwright`` command.

Exit codes: 0 success, 1 a run or step failed, or (``replay``, ``verify``) an output differs
from the one it is compared with, 2 bad input (a ValidationError, a pipeline file that does
not import, a missing extra, or a usage error), as click, ``diff``/``cmp`` (1 differs, 2
trouble) and pytest (1 a test failed) do; 128 + the signal's number when stopped by one: 130
Ctrl-C, 143 SIGTERM (a run stopped so is recorded interrupted). A reader that closes the
pipe early (``| head``) changes none of them.

One module per command group, imported when one of its commands is used (``COMMANDS``):
``run`` (run, resume, inspect), ``runs`` (runs ls|show|rm|gc, logs), ``replay`` (one
recorded step run again), ``compile`` (compile, dockerfile), ``submit`` (submit, delete,
and schedule add's cluster side), ``pipelines`` (pipelines versions: a KFP pipeline's
uploaded versions), ``schedule`` (schedule add|ls|pause|resume|rm), ``cache`` (cache
explain), ``cron_daemon`` (the ``scheduler`` daemon), ``lineage``, ``serve``, ``ui`` (the
web UI), ``verify`` (a run here against kfp.local). What they share is public in two
modules: ``options`` (every option block more than one command takes, and the target names)
and ``common`` (exit codes, error reporting, loading a pipeline, ``-p`` parsing, times).
"""

from __future__ import annotations

import os
import sys

import click

from dagwright.cli.common import outlive_the_reader
from dagwright.cli.lazy import Lazy, LazyGroup

__all__ = ["cli", "main"]

# every command: its module, imported only when the command is used (a run loads no compiler
# or target), and the first paragraph of its help, which `dagwright --help` shortens
COMMANDS = {
    "run": Lazy("dagwright.cli.run", "run", "Run TARGET (FILE.py[:PIPELINE] or an IR file) here."),
    "resume": Lazy(
        "dagwright.cli.run",
        "resume",
        "Finish RUN: run again the steps that did not succeed, reuse the others.",
    ),
    "inspect": Lazy(
        "dagwright.cli.run",
        "inspect",
        "Print the DAG of TARGET: parameters, tasks, inputs and outputs, blocks, edges.",
    ),
    "runs": Lazy("dagwright.cli.runs", "runs", "List, show and remove recorded runs."),
    "logs": Lazy(
        "dagwright.cli.runs",
        "logs",
        "What the steps of RUN printed (only STEP's when given, e.g. train or train[2]).",
    ),
    "replay": Lazy(
        "dagwright.cli.replay",
        "replay",
        "Run STEP of RUN again here, from its recorded inputs, and compare its outputs.",
    ),
    "cache": Lazy(
        "dagwright.cli.cache",
        "cache",
        "The cache of step outputs: why a step was or was not served from it.",
    ),
    "compile": Lazy(
        "dagwright.cli.compile",
        "compile_command",
        "Compile TARGET (FILE.py[:PIPELINE] or an IR file) for a target.",
    ),
    "dockerfile": Lazy(
        "dagwright.cli.compile",
        "dockerfile",
        "Write a Dockerfile for an image that runs TARGET's steps with --code image.",
    ),
    "submit": Lazy(
        "dagwright.cli.submit",
        "submit",
        "Compile TARGET (FILE.py[:PIPELINE] or an IR file) and start a run on the cluster.",
    ),
    "schedule": Lazy(
        "dagwright.cli.schedule",
        "schedule",
        "Run pipelines on a cron schedule: here (dagwright scheduler), on KFP or on Argo.",
    ),
    "scheduler": Lazy(
        "dagwright.cli.cron_daemon",
        "scheduler",
        "Start the runs of the store's schedules when due, until SIGTERM or Ctrl-C.",
    ),
    "pipelines": Lazy(
        "dagwright.cli.pipelines",
        "pipelines",
        "Pipelines uploaded to a cluster: their versions.",
    ),
    "delete": Lazy(
        "dagwright.cli.submit",
        "delete",
        "Delete the WorkflowTemplate or CronWorkflow NAME that submit or schedule made.",
    ),
    "lineage": Lazy(
        "dagwright.cli.lineage",
        "lineage",
        "Where runs and artifacts came from and what they fed (W3C PROV graphs).",
    ),
    "serve": Lazy(
        "dagwright.cli.serve",
        "serve",
        "Run TARGET (FILE.py[:PIPELINE]) and serve its functions until SIGINT or SIGTERM.",
    ),
    "verify": Lazy(
        "dagwright.cli.verify",
        "verify",
        "Run TARGET (FILE.py[:PIPELINE]) here and its compiled KFP spec under kfp.local.",
    ),
    "ui": Lazy(
        "dagwright.cli.ui",
        "ui",
        "Serve a web UI of the store's runs, graphs, logs, artifacts, lineage and schedules.",
    ),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
