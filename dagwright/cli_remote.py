"""``dagwright submit`` and ``dagwright schedule``: compile a pipeline and send it to a cluster.

Only Kubeflow Pipelines (``--target kfp``) for now; Argo joins later. ``dagwright.cli``
registers these commands. kfp itself is imported only when a command runs.

Exit codes, as for the other commands: 0 success, 1 the run failed or the server refused or
could not be reached, 2 bad input (nothing was sent).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dagwright.cli_common import (
    EXIT_FAILED,
    compile_options,
    load_target,
    parse_params,
    reported,
    target_options,
)
from dagwright.errors import ValidationError

SENDS_TO = ("kfp",)
# options handed to dagwright.remote.kfp as they are; the rest are compile options
_REMOTE_KEYS = (
    "host",
    "namespace",
    "experiment",
    "token",
    "upload",
    "pipeline_name",
    "version_name",
)


def _remote_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options shared by submit and schedule: where to send, as whom, with what arguments."""
    options = [
        click.option(
            "-t",
            "--target",
            "kind",
            default="kfp",
            show_default=True,
            help="Where to send it: kfp (argo as it arrives).",
        ),
        click.option(
            "--host",
            default=None,
            help="KFP API endpoint, e.g. http://localhost:8080 (default: "
            "$KF_PIPELINES_ENDPOINT, else found through the kube config).",
        ),
        click.option("--namespace", default=None, help="Kubernetes namespace (multi-user KFP)."),
        click.option(
            "--experiment", default=None, help="Experiment name; created when missing (Default)."
        ),
        click.option(
            "--token",
            envvar="KFP_TOKEN",
            show_envvar=True,
            default=None,
            help="Bearer token; without one, existing kube credentials are used.",
        ),
        click.option(
            "--upload",
            is_flag=True,
            help="Upload as a pipeline (a new version if it exists) and run that version.",
        ),
        click.option("--pipeline-name", default=None, help="Pipeline name for --upload."),
        click.option(
            "--version-name", default=None, help="Version name for --upload (default: time)."
        ),
        click.option(
            "-p",
            "--param",
            "params",
            multiple=True,
            metavar="NAME=VALUE",
            help="A pipeline parameter; repeat for several.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return target_options(command)


@contextmanager
def _compiled(
    target: str, kind: str, params: tuple[str, ...], options: dict[str, Any]
) -> Iterator[tuple[Any, Path, dict[str, Any]]]:
    """The IR, its compiled package in a temporary folder, and the typed arguments given."""
    from dagwright.compiler import compile_ir
    from dagwright.pipelines.arguments import bind_arguments

    ir = load_target(target)
    given = parse_params(params)
    # only the values given: the package carries the defaults
    arguments = {k: v for k, v in bind_arguments(ir, given, as_text=True).items() if k in given}
    with tempfile.TemporaryDirectory(prefix="dagwright-submit-") as folder:
        package = Path(folder) / f"{ir.name}.yaml"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile_ir(ir, kind, package, **compile_options(options))
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        yield ir, package, arguments


def _check_kind(kind: str) -> None:
    if kind not in SENDS_TO:
        raise ValidationError(
            f"cannot send to '{kind}' yet",
            field="--target",
            fix="use --target kfp (Argo submission comes later)",
        )


@contextmanager
def _remote_errors() -> Iterator[None]:
    """A refusing or unreachable server is a short message and exit 1, not a traceback."""
    from dagwright.remote import SubmitError

    try:
        yield
    except SubmitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("target")
@_remote_options
@click.option("--run-name", default=None, help="The run's name (default: pipeline and time).")
@click.option(
    "--wait/--no-wait",
    default=False,
    help="Follow the run until it ends, then print a summary; exit 1 unless it succeeded.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="With --wait: seconds to wait at most (exit 1 if the run has not ended).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="With --wait: seconds between status checks.",
)
def submit(
    target: str,
    kind: str,
    params: tuple[str, ...],
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    **options: Any,
) -> None:
    """Compile TARGET (FILE.py[:PIPELINE] or an IR file) and start a run on the cluster."""
    from dagwright.remote import kfp

    remote = {k: options.pop(k) for k in _REMOTE_KEYS + ("run_name",)}
    with reported(), _remote_errors():
        _check_kind(kind)
        with _compiled(target, kind, params, options) as (_ir, package, arguments):
            result = kfp.submit(
                package,
                arguments=arguments,
                wait=wait,
                timeout=timeout,
                poll_interval=poll_interval,
                echo=click.echo,
                **remote,
            )
    if wait and not result.succeeded:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("target")
@_remote_options
@click.option(
    "--cron",
    default=None,
    help="Five-field cron, e.g. '0 3 * * *'; KFP gets six fields, seconds first "
    "('0 0 3 * * *'). Default: the pipeline's own schedule.",
)
@click.option("--name", default=None, help="The recurring run's name (default: the pipeline's).")
@click.option(
    "--max-concurrency",
    type=click.IntRange(1, 10),
    default=1,
    show_default=True,
    help="Runs of it that may run at once.",
)
@click.option(
    "--catchup/--no-catchup",
    default=False,
    show_default=True,
    help="Start the runs missed while KFP was behind or the schedule paused.",
)
def schedule(
    target: str,
    kind: str,
    params: tuple[str, ...],
    cron: str | None,
    name: str | None,
    max_concurrency: int,
    catchup: bool,
    **options: Any,
) -> None:
    """Compile TARGET and make it a recurring run on the cluster (KFP recurring runs)."""
    from dagwright.remote import kfp

    remote = {k: options.pop(k) for k in _REMOTE_KEYS}
    with reported(), _remote_errors():
        _check_kind(kind)
        if cron is not None:
            kfp.kfp_cron(cron, field="--cron")  # a bad --cron fails before anything is loaded
        with _compiled(target, kind, params, options) as (ir, package, arguments):
            cron = cron or ir.schedule
            if not cron:
                raise ValidationError(
                    f"pipeline '{ir.name}' has no schedule",
                    field="--cron",
                    fix="pass --cron '0 3 * * *', or write @pipeline(schedule='0 3 * * *')",
                )
            kfp.kfp_cron(cron, field="--cron")
            kfp.schedule(
                package,
                cron=cron,
                arguments=arguments,
                name=name,
                max_concurrency=max_concurrency,
                catchup=catchup,
                echo=click.echo,
                **remote,
            )
