"""``dagwright run``, ``resume`` and ``inspect``: a pipeline run here, a recorded run
finished, a DAG printed.

A run stopped by Ctrl-C or SIGTERM is recorded ``interrupted`` and exits 130 or 143 with the
command that continues it.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import EXIT_FAILED, load_target, parse_params, reported
from dagwright.cli.options import PARAMS, ROOT, html_option, option_block

# options shared by run and resume
_engine_options = option_block(
    ROOT,
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
        "--host-containers",
        is_flag=True,
        help="Run the commands of KFP container components on this machine when neither "
        "Docker nor Podman answers (else such a run is refused).",
    ),
    click.option(
        "--install-packages",
        is_flag=True,
        help="Install the packages of KFP lightweight components that this environment "
        "lacks into the store (never into this environment) before the run starts.",
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
    click.option(
        "--wait-lineage",
        is_flag=True,
        help="Exit only once MLflow has the run's lineage; fail if it cannot get there "
        "(default: a background syncer uploads it).",
    ),
    click.option(
        "--secrets-file",
        type=click.Path(dir_okay=False),
        default=None,
        help="A .env file (NAME=value lines) with the values of the components' Secrets and "
        "ConfigMaps (default: $DAGWRIGHT_SECRETS_FILE, else the environment's variables).",
    ),
)


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


@contextmanager
def _lineage_landed(quiet: bool, waits: bool) -> Iterator[None]:
    """``--wait-lineage`` and MLflow could not take the lineage: say which runs and why, and
    exit 1 (the run itself is recorded; its lineage stays pending)."""
    if not waits:
        yield
        return
    from dagwright.lineage.tracking import SyncError

    try:
        yield
    except SyncError as exc:
        for run, why in exc.failed.items():
            click.echo(f"error: the lineage of run {run} did not reach MLflow: {why}", err=True)
        click.echo("it is kept locally; 'dagwright lineage sync --wait' sends it", err=True)
        if quiet and exc.result is not None:
            click.echo(f"{exc.result.run_id} {exc.result.status}")
        sys.exit(EXIT_FAILED)


def _check_wait(options: dict[str, Any]) -> None:
    """``--wait-lineage`` when no lineage goes to MLflow: exit 2 before the run, naming it."""
    if options["wait_lineage"]:
        from dagwright.lineage.tracking import check_wait

        check_wait(options["lineage"], options["tracking_uri"], "--wait-lineage")


def _finish_run(result: Any, quiet: bool) -> None:
    if quiet:
        click.echo(f"{result.run_id} {result.status}")
    code = 0 if result.succeeded else EXIT_FAILED
    if result.status == "cancelled" and _steps_still_running():
        # a cancelled in-process step's thread was abandoned (as on a timeout) and Python
        # would wait for it at exit; the run is recorded already, so end here
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _echo(quiet: bool, options: dict[str, Any], live: bool = True) -> Any:
    """Nothing when quiet; a live table on a terminal (unless not ``live``: a debugger's
    prompt must not be drawn over); else a line per step (CI logs). Both end with where the
    results are and the commands to look at them."""
    if quiet:
        return False
    from dagwright.engine.progress import LinePrinter, LiveView
    from dagwright.engine.report import Where
    from dagwright.store.local import default_root

    root = options.get("root")
    folder = (root if root is not None else default_root()).absolute()
    where = Where(folder, root is not None, options.get("lineage", True))
    if live and sys.stderr.isatty():
        return LiveView(where=where)
    return LinePrinter(click.echo, where)


@click.command()
@click.argument("target")
@PARAMS
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
@click.option(
    "--pdb",
    "post_mortem",
    is_flag=True,
    help="When a step run in this process raises, open pdb's post-mortem on this terminal, "
    "then go on; breakpoint() in one stops here too. Steps run one at a time, with no timeout.",
)
def run(
    target: str, params: tuple[str, ...], quiet: bool, post_mortem: bool, **options: Any
) -> None:
    """Run TARGET (FILE.py[:PIPELINE] or an IR file) here."""
    from dagwright.api import run as run_pipeline
    from dagwright.pipelines.arguments import bind_arguments
    from dagwright.runtimes.post_mortem import breakpoints_refused

    echo = _echo(quiet, options, live=not post_mortem)
    with (
        reported(),
        _stoppable(quiet, echo, options.get("root")),
        _lineage_landed(quiet, options["wait_lineage"]),
    ):
        _check_wait(options)
        if post_mortem:
            _one_at_a_time(options)
        ir = load_target(target)
        if post_mortem:
            _debugged(ir)
        arguments = bind_arguments(ir, parse_params(params), as_text=True)
        with breakpoints_refused():
            result = run_pipeline(ir, arguments, echo=echo, **options)
    _finish_run(result, quiet)


def _one_at_a_time(options: dict[str, Any]) -> None:
    """``--pdb``: one step at a time, so two prompts never share the terminal."""
    from dagwright.errors import ValidationError

    if options["parallelism"] not in (None, 1):
        raise ValidationError(
            f"--pdb runs one step at a time; --parallelism {options['parallelism']} asks for more",
            field="--parallelism",
            fix="leave out --parallelism (or give 1) with --pdb",
        )
    options["parallelism"] = 1


def _debugged(ir: Any) -> None:
    """``--pdb`` on from here; said once, before the run: the tasks it cannot stop in (their
    steps run in another process or on a cluster), and those whose timeout it lifts."""
    from dagwright.runtimes.post_mortem import enable

    enable()
    elsewhere: dict[str, list[str]] = {}
    timed: list[str] = []
    for task in ir.tasks:
        spec = ir.component_of(task)
        if spec.runtime.runs_apart(spec.injected):
            elsewhere.setdefault(spec.runtime.kind, []).append(task.name)
        elif spec.timeout is not None:
            timed.append(task.name)
    for kind, tasks in elsewhere.items():
        click.echo(
            f"note: --pdb stops only in steps run in this process; {_some(tasks)} run under "
            f"runtime '{kind}' (debug one with 'dagwright replay RUN STEP --pdb')",
            err=True,
        )
    if timed:
        click.echo(
            f"note: --pdb lifts the timeout of {_some(timed)}: a debugger session would outlast it",
            err=True,
        )


def _some(names: list[str]) -> str:
    return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")


@click.command()
@click.argument("run_id", metavar="RUN")
@_engine_options
def resume(run_id: str, quiet: bool, **options: Any) -> None:
    """Finish RUN: run again the steps that did not succeed, reuse the others."""
    from dagwright.api import resume as resume_run
    from dagwright.runtimes.post_mortem import breakpoints_refused

    echo = _echo(quiet, options)
    with (
        reported(),
        _stoppable(quiet, echo, options.get("root")),
        _lineage_landed(quiet, options["wait_lineage"]),
    ):
        _check_wait(options)
        with breakpoints_refused():
            result = resume_run(run_id, echo=echo, **options)
    _finish_run(result, quiet)


@click.command()
@click.argument("target")
@html_option("Write the DAG as one self-contained HTML page (a graph) to OUT instead.")
def inspect(target: str, html_out: Path | None) -> None:
    """Print the DAG of TARGET: parameters, tasks, inputs and outputs, blocks, edges."""
    from dagwright.pipelines.describe import describe

    with reported():
        if html_out is None:
            click.echo(describe(load_target(target)))
            return
        from dagwright.ui.notebook import pipeline_report
        from dagwright.ui.report import standalone_html
        from dagwright.writes import check_target, write_file

        check_target(html_out, "--html")
        page = standalone_html("pipeline", pipeline_report(load_target(target).to_dict()))
        write_file(html_out, page, field="--html")
        click.echo(f"wrote {html_out}")
