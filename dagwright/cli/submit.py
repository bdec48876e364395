"""``dagwright submit``, ``dagwright delete`` and the cluster side of ``dagwright schedule add
--target kfp|argo``: compile a pipeline and send it to a cluster, make it a recurring run
there, or remove what was sent.

Each target that sends (``dagwright.targets.sending()``: Kubeflow Pipelines, Argo Workflows,
installed ones) brings its client, the options only it reads and how the command's flags
become its client's keywords; a schedule's local policies (``--concurrency``, ``--catchup``,
``--timezone``) become the target's own form through its ``cron_policy``. ``dagwright.cli``
registers these commands. kfp and hera are imported only when a command runs.

Exit codes, as for the other commands: 0 success, 1 the run failed or the server refused or
could not be reached, 2 bad input (nothing was sent).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import (
    EXIT_FAILED,
    given_flag,
    load_target,
    parse_params,
    remote_errors,
    reported,
)
from dagwright.cli.options import (
    check_policy_options,
    command_compile_options,
    compile_options,
    deletes_from,
    flag_name,
    listed,
    only_for,
    own_options,
    remote_options,
    sends_to,
)
from dagwright.errors import ValidationError
from dagwright.targets import Target

# options handed to every client; the rest are compile options or one target's own
_REMOTE_KEYS = ("host", "namespace", "token")


def _check_target(to: str) -> Target:
    """A target we send to, and no option given that only another target reads."""
    from dagwright import targets

    if to not in sends_to():
        fix = "use " + listed([f"--target {where}" for where in sends_to()])
        raise ValidationError(f"cannot send to '{to}'", field="--target", fix=fix)
    for param in click.get_current_context().command.params:
        readers = only_for().get(param.name or "", ())
        flag = given_flag(param.name) if readers and to not in readers and param.name else None
        if flag:
            said = listed([f"--target {reader}" for reader in readers])
            raise ValidationError(f"{flag} is for {said}", field=flag, fix="leave it out for " + to)
    return targets.get(to)


def _flags(target: Target, options: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """The remote flags for ``target``: where and as whom, ``flags``, and its own options
    (every target's own are taken out of ``options``, which keeps the compile options)."""
    own = {k: options.pop(k) for k in only_for() if k in options}
    mine = {k: v for k, v in own.items() if k in target.cli.remote}
    return {**{k: options.pop(k) for k in _REMOTE_KEYS}, **flags, **mine}


def _keywords(
    target: Target, command: str, flags: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """The flags as the target's client takes them."""
    convert = target.cli.remote_keywords
    return convert(command, flags, options) if convert else dict(flags)


def _check_delivery(target: Target, compiling: dict[str, Any], flags: dict[str, Any]) -> None:
    """Before anything is loaded or sent: pods that would install a dagwright that is not this
    code are refused (compile only warns; see ``compiler/delivery.py``)."""
    from dagwright.compiler.delivery import check_sendable

    check_sendable(target.cli.compile, compiling, python=False, remote=flags)


@contextmanager
def _compiled(
    ir: Any, to: str, params: tuple[str, ...], options: dict[str, Any]
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The compiled package in a temporary folder, and the typed arguments given."""
    from dagwright import targets
    from dagwright.compiler import compile_ir
    from dagwright.pipelines.arguments import bind_arguments

    given = parse_params(params)
    # only the values given: the package carries the defaults
    arguments = {k: v for k, v in bind_arguments(ir, given, as_text=True).items() if k in given}
    with tempfile.TemporaryDirectory(prefix="dagwright-submit-") as folder:
        package = Path(folder) / f"{ir.name}{targets.get(to).suffix}"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile_ir(ir, to, package, **compile_options(options))
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        yield package, arguments


@click.command()
@click.argument("target")
@remote_options()
@own_options("submit")
@click.option(
    "--run-name",
    default=None,
    help="The run's name (KFP default: pipeline and time; Argo: the server completes "
    "generateName), or the WorkflowTemplate's or CronWorkflow's name.",
)
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
    to: str,
    params: tuple[str, ...],
    run_name: str | None,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    **options: Any,
) -> None:
    """Compile TARGET (FILE.py[:PIPELINE] or an IR file) and start a run on the cluster."""
    waits: dict[str, Any] = {"wait": wait, "timeout": timeout, "poll_interval": poll_interval}
    with reported(), remote_errors():
        found = _check_target(to)
        assert found.client is not None  # sends_to() lists targets with a client
        flags = _flags(found, options, run_name=run_name, echo=click.echo, **waits)
        command_compile_options(options)
        compiling = compile_options(options)
        _check_delivery(found, compiling, flags)
        remote = _keywords(found, "submit", flags, compiling)
        found.client.submit_options(compiling, remote)
        ir = load_target(target)
        with _compiled(ir, to, params, compiling) as (package, arguments):
            result = found.client.submit(package, arguments=arguments, **remote)
    if wait and not getattr(result, "succeeded", True):
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("name")
@click.option(
    "-t",
    "--target",
    "to",
    default=deletes_from()[0],
    show_default=True,
    help=f"Where: {listed(deletes_from())}{' (only)' if len(deletes_from()) == 1 else ''}.",
)
@own_options("delete")
def delete(name: str, to: str, **options: Any) -> None:
    """Delete the WorkflowTemplate or CronWorkflow NAME that submit or schedule made."""
    from dagwright import targets

    with reported(), remote_errors():
        if to not in deletes_from():
            fix = "use " + listed([f"--target {where}" for where in deletes_from()])
            raise ValidationError(f"cannot delete from '{to}'", field="--target", fix=fix)
        found = targets.get(to)
        assert found.client is not None and found.client.delete is not None
        mine = (
            {flag_name(option) for option in found.cli.flags("delete")}
            if found.cli.flags
            else set()
        )
        for key in sorted(set(options) - mine):
            flag = given_flag(key)
            if flag:
                raise ValidationError(
                    f"{flag} is not for --target {to}", field=flag, fix="leave it out for " + to
                )
        flags = {k: v for k, v in options.items() if k in mine and k != "kind"}
        kind = options.get("kind")
        found.client.delete(
            name, kind, **_keywords(found, "delete", {**flags, "echo": click.echo}, {})
        )


def send_schedule(
    target: str,
    to: str,
    params: tuple[str, ...],
    cron: str | None,
    name: str | None,
    *,
    concurrency: str | None,
    catchup: str | None,
    options: dict[str, Any],
) -> None:
    """Compile TARGET and make it a recurring run on a cluster target (a KFP recurring run, an
    Argo CronWorkflow created or updated when one of that name exists): ``dagwright schedule
    add --target kfp|argo``.

    The local policies become the target's own (its ``cron_policy``); what a target cannot do
    is refused. Given none of them, each target keeps its defaults: KFP one run at a time and
    only the newest missed run, Argo its CronWorkflow defaults. Given one, Argo takes the local
    default for the other (``allow``, ``none``); KFP, which has neither ``none`` nor a way to
    skip, keeps its own (one at a time, the newest missed run).

    Args:
        target: ``FILE.py[:PIPELINE]`` or an IR file.
        to: A target that sends (``kfp``, ``argo``...).
        params: ``-p name=value`` pairs.
        cron: The expression; None takes the pipeline's own schedule.
        name: The recurring run's or CronWorkflow's name (default: the pipeline's).
        concurrency: ``allow``, ``forbid`` or ``replace``, or None.
        catchup: ``none``, ``latest`` or ``all``, or None.
        options: The command's remote, target and compile options, by parameter name.

    Raises:
        ValidationError: bad input; nothing was sent.
    """
    with remote_errors():
        found = _check_target(to)
        client = found.client
        assert client is not None  # sends_to() lists targets with a client
        check_policy_options(concurrency, catchup, options)
        if cron is not None:
            client.check_cron(cron, field="--cron")  # a bad --cron fails before loading
        ir = load_target(target)
        cron = cron or ir.schedule
        if not cron:
            raise ValidationError(
                f"pipeline '{ir.name}' has no schedule",
                field="--cron",
                fix="pass --cron '0 3 * * *', or write @pipeline(schedule='0 3 * * *')",
            )
        client.check_cron(cron, field="--cron")
        flags = _flags(found, options, name=name, echo=click.echo)
        compiling = compile_options(options)
        _check_delivery(found, compiling, flags)
        remote = _keywords(found, "schedule", flags, compiling)
        if found.cron_policy is not None:
            found.cron_policy(cron, concurrency, catchup, compiling, remote)
        elif concurrency is not None or catchup is not None:
            flag = "--concurrency" if concurrency is not None else "--catchup"
            raise ValidationError(
                f"the {to} target takes no schedule policies", field=flag, fix="leave it out"
            )
        client.schedule_options(cron, compiling, remote)
        with _compiled(ir, to, params, compiling) as (package, arguments):
            client.schedule(package, cron=cron, arguments=arguments, **remote)
