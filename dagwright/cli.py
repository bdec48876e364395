"""The ``dagwright`` command.

Exit codes: 0 success, 1 a run or step failed, 2 bad input (a ValidationError, a pipeline
file that does not import, a missing extra, or a usage error), as click and most CLIs do. A
reader that closes the pipe early (``| head``) changes none of them.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dagwright.cli_common import (
    EXIT_FAILED,
    ROOT,
    load_target,
    outlive_the_reader,
    parse_params,
    reported,
)
from dagwright.cli_runs import STATUSES, parse_when, pipeline_names
from dagwright.errors import ValidationError
from dagwright.redact import shown_run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dagwright")
def cli() -> None:
    """Run, inspect and compile dagwright pipelines."""


_ROOT = ROOT
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _engine_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options shared by run and resume."""
    for option in reversed(
        [
            _ROOT,
            click.option("-q", "--quiet", is_flag=True, help="Print only the run id and status."),
            click.option(
                "--keep-going", is_flag=True, help="After a failure, finish independent branches."
            ),
            click.option(
                "--parallelism",
                type=click.IntRange(min=1),
                default=None,
                help="Steps that may run at once (default 64).",
            ),
            click.option(
                "--cache/--no-cache",
                default=None,
                help="Cache every step, or none (default: as each component says).",
            ),
            click.option(
                "--allow-pickle",
                is_flag=True,
                help="Let steps unpickle values (joblib models) from a non-local store.",
            ),
            click.option(
                "--lineage/--no-lineage",
                default=True,
                help="Record the run's provenance (default: on).",
            ),
            click.option(
                "--tracking-uri",
                default=None,
                help="MLflow tracking URI for lineage (default: $MLFLOW_TRACKING_URI, else "
                "a SQLite file under the store folder).",
            ),
        ]
    ):
        command = option(command)
    return command


def _reports_on_screen(observer: Any) -> bool:
    """The live view writes its end-of-run report to the terminal the CLI's messages go to."""
    from dagwright.engine.progress import LiveView

    return isinstance(observer, LiveView)


@contextmanager
def _stoppable(quiet: bool, observer: Any = None, root: Path | None = None) -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does (the engine records it ``interrupted``); either
    exits 128 + the signal's number (130, 143) with the command that continues the run. A
    second Ctrl-C meanwhile is ignored, and any way out first stops a live display, so what is
    printed next lands on a clean screen with the cursor back."""
    import faulthandler

    from dagwright.engine import interrupt

    if not faulthandler.is_enabled():  # a crash in a step's C code shows the Python frames
        faulthandler.enable()
    previous = None
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        previous = signal.signal(signal.SIGINT, _first_interrupt)
    try:
        with interrupt.on_sigterm():
            yield
    except KeyboardInterrupt as exc:
        _close(observer)
        run_id = getattr(exc, "run_id", None)
        if run_id is None:
            click.echo(f"\n{interrupt.reason(exc)}", err=True)
        elif _reports_on_screen(observer):  # its report, just above, says how to resume
            click.echo(f"\nrun {run_id} interrupted ({interrupt.reason(exc)})", err=True)
        else:
            click.echo(
                f"\nrun {run_id} interrupted ({interrupt.reason(exc)}); continue it with:", err=True
            )
            given = ["--root", str(root)] if root is not None else []
            click.echo(f"  {shlex.join(['dagwright', 'resume', run_id, *given])}", err=True)
            if quiet:
                click.echo(f"{run_id} interrupted")
        code = interrupt.exit_code(exc)
        if _steps_still_running():
            # a Local step's thread cannot be stopped and Python would wait for it at exit;
            # the run is recorded already, so end here
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        sys.exit(code)
    except BaseException:
        _close(observer)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _first_interrupt(signum: int, frame: Any) -> None:
    # a second Ctrl-C must not cut short the engine recording the run as interrupted
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _close(observer: Any) -> None:
    """Stop a live display the run did not end (it is left running when the engine fails)."""
    if hasattr(observer, "close"):
        observer.close()


def _steps_still_running(grace: float = 1.0) -> bool:
    import threading
    import time

    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread.name.startswith("dagwright_") and not thread.daemon:
            thread.join(max(deadline - time.monotonic(), 0))  # idle workers end at once
            if thread.is_alive():
                return True
    return False


def _finish_run(result: Any, quiet: bool) -> None:
    if quiet:
        click.echo(f"{result.run_id} {result.status}")
    sys.exit(0 if result.succeeded else EXIT_FAILED)


def _echo(quiet: bool, options: dict[str, Any]) -> Any:
    """Nothing when quiet; a live table on a terminal; else a line per step (CI logs). Both
    end with where the results are and the commands to look at them."""
    if quiet:
        return False
    from dagwright.engine.progress import LinePrinter, LiveView
    from dagwright.engine.report import Where
    from dagwright.store.local import default_root

    root = options.get("root")
    folder = (root if root is not None else default_root()).absolute()
    where = Where(folder, root is not None, options.get("lineage", True))
    if sys.stderr.isatty():
        return LiveView(where=where)
    return LinePrinter(click.echo, where)


@cli.command()
@click.argument("target")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A pipeline parameter; repeat for several.",
)
@click.option(
    "--store",
    "artifacts",
    default=None,
    metavar="URL",
    help="Where artifacts go: a folder or an fsspec URL (s3://bucket/prefix, gs://, memory://).",
)
@click.option(
    "--run-id",
    default=None,
    help="The new run's id (default: <pipeline>-<time>-<random>); an existing one is refused.",
)
@_engine_options
def run(target: str, params: tuple[str, ...], quiet: bool, **options: Any) -> None:
    """Run TARGET (FILE.py[:PIPELINE] or an IR file) here."""
    from dagwright.api import run as run_pipeline
    from dagwright.pipelines.arguments import bind_arguments

    echo = _echo(quiet, options)
    with reported(), _stoppable(quiet, echo, options.get("root")):
        ir = load_target(target)
        arguments = bind_arguments(ir, parse_params(params), as_text=True)
        result = run_pipeline(ir, arguments, echo=echo, **options)
    _finish_run(result, quiet)


@cli.command()
@click.argument("run_id", metavar="RUN")
@_engine_options
def resume(run_id: str, quiet: bool, **options: Any) -> None:
    """Finish RUN: run again the steps that did not succeed, reuse the others."""
    from dagwright.api import resume as resume_run

    echo = _echo(quiet, options)
    with reported(), _stoppable(quiet, echo, options.get("root")):
        result = resume_run(run_id, echo=echo, **options)
    _finish_run(result, quiet)


@cli.command()
@click.argument("target")
def inspect(target: str) -> None:
    """Print the DAG of TARGET: parameters, tasks, inputs and outputs, blocks, edges."""
    from dagwright.pipelines.describe import describe

    with reported():
        click.echo(describe(load_target(target)))


def _database(root: Path | None) -> Any:
    from dagwright.cli_runs import store_database

    return store_database(root)[1]


def _when(stamp: float | None) -> str:
    import datetime

    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _took(row: dict[str, Any]) -> str:
    if row.get("started") is None or row.get("ended") is None:
        return "-"
    # a run's duration counts only the time it ran (a resumed run's earlier spans added up)
    seconds = row["duration"] if row.get("duration") is not None else row["ended"] - row["started"]
    return f"{seconds:.3f}s"


@cli.group()
def runs() -> None:
    """List, show and remove recorded runs."""


@runs.command(name="ls")
@_ROOT
@_JSON
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--pipeline",
    default=None,
    help="Only runs of this pipeline (its name, or the name of its @pipeline function).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only runs with this status; repeat for several.",
)
@click.option(
    "--since",
    default=None,
    metavar="WHEN",
    help="Only runs started since: a duration before now (2h, 7d) or a date (2026-11-30).",
)
def runs_ls(
    root: Path | None,
    as_json: bool,
    limit: int,
    pipeline: str | None,
    statuses: tuple[str, ...],
    since: str | None,
) -> None:
    """The most recent runs, newest first."""
    with reported():
        start = parse_when(since, "--since") if since is not None else None
        rows = _database(root).runs(limit, pipeline_names(pipeline), status=statuses, since=start)
        if as_json:
            from dagwright.redact import listed_run

            click.echo(json.dumps([listed_run(r) for r in rows]))
            return
        click.echo(f"{'RUN':<44} {'STATUS':<11} {'STARTED':<20} {'DURATION':>9}")
        for r in rows:
            click.echo(
                f"{r['run_id']:<44} {r['status']:<11} {_when(r['started']):<20} {_took(r):>9}"
            )


@runs.command(name="show")
@click.argument("run_id", metavar="RUN")
@_ROOT
@_JSON
def runs_show(run_id: str, root: Path | None, as_json: bool) -> None:
    """One run: parameters, outputs and every step (RUN may be an unambiguous prefix)."""
    with reported():
        db = _database(root)
        found, steps = shown_run(db.find_run(run_id), db.steps)
        if as_json:
            found.pop("ir")
            click.echo(json.dumps({**found, "steps": steps}))
            return
        reason = f" ({found['reason']})" if found.get("reason") else ""
        click.echo(
            f"run {found['run_id']} ({found['pipeline']}): {found['status']}{reason}, "
            f"started {_when(found['started'])}, took {_took(found)}"
        )
        click.echo(f"params  {json.dumps(found['params'])}")
        click.echo(f"outputs {json.dumps(found['outputs'])}")
        click.echo(f"{'STEP':<36} {'STATUS':<16} {'TRIES':>5} {'DURATION':>9}  ERROR")
        for step in steps:
            label = step["task"] + (f"[{step['iteration']}]" if step["iteration"] else "")
            label += " (cached)" if step["cached"] else ""
            error = (step["error"] or step.get("note") or "").strip()
            error = error.splitlines()[0] if error else ""
            click.echo(
                f"{label:<36} {step['status']:<16} {step['attempts']:>5} {_took(step):>9}  {error}"
            )


@cli.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", required=False)
@_ROOT
@_JSON
def logs(run_id: str, step: str | None, root: Path | None, as_json: bool) -> None:
    """What the steps of RUN printed (only STEP's when given, e.g. train or train[2])."""
    with reported():
        db = _database(root)
        found, rows = shown_run(db.find_run(run_id), db.steps)
        if step is not None:
            wanted = step.replace(",", ".")  # progress lines print train[0,1]
            rows = [r for r in rows if wanted in (r["task"], f"{r['task']}[{r['iteration']}]")]
            if not rows:
                raise ValidationError(f"run '{found['run_id']}' has no step '{step}'", field="STEP")
        if as_json:
            keys = ("task", "iteration", "status", "stdout", "stderr", "traceback")
            click.echo(json.dumps([{k: r[k] for k in keys} for r in rows]))
            return
        for r in rows:
            label = r["task"] + (f"[{r['iteration']}]" if r["iteration"] else "")
            click.echo(f"==> {label} ({r['status']}) <==")
            for text in (r["stdout"], r["stderr"], r["traceback"]):
                if text:
                    click.echo(text.rstrip("\n"))


def main() -> None:
    # as `python -m` does: modules of the project folder import, so a spec's
    # `module:function` references resolve when run from there
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    outlive_the_reader()
    cli(prog_name="dagwright")


def _register() -> None:
    from dagwright.cli_compile import compile_command, dockerfile
    from dagwright.cli_lineage import lineage
    from dagwright.cli_remote import delete, submit
    from dagwright.cli_runs import runs_gc, runs_rm
    from dagwright.cli_schedule import schedule, scheduler
    from dagwright.cli_serve import serve

    commands = (compile_command, dockerfile, submit, schedule, scheduler, delete, lineage, serve)
    for command in commands:
        cli.add_command(command)
    runs.add_command(runs_rm)
    runs.add_command(runs_gc)


_register()

if __name__ == "__main__":
    main()
