"""``dagwright submit``, ``dagwright delete`` and the cluster side of ``dagwright schedule add
--target kfp|argo``: compile a pipeline and send it to a cluster, make it a recurring run
there, or remove what was sent.

Kubeflow Pipelines (``--target kfp``: runs and recurring runs through ``kfp.Client``) and Argo
Workflows (``--target argo``: Workflows, WorkflowTemplates and CronWorkflows through Hera's
``WorkflowsService``). A schedule's local policies (``--concurrency``, ``--catchup``,
``--timezone``) become the target's own form (``dagwright.remote.cron_policies``).
``dagwright.cli`` registers these commands. kfp and hera are imported only when a command runs.

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

from dagwright.cli.common import EXIT_FAILED, given_flag, load_target, parse_params, reported
from dagwright.cli.options import compile_options, listed, remote_options, sends_to
from dagwright.errors import ValidationError

# options handed to the remote module as they are; the rest are compile options
_REMOTE_KEYS = ("host", "namespace", "token")
_KFP_KEYS = ("experiment", "upload", "pipeline_name", "version_name")
_ARGO_KEYS = ("lint", "insecure_skip_verify")
# options that only one target reads: given for the other, they are refused, not ignored
# (compile options are refused by compile_ir itself)
_ONLY_FOR = {
    **dict.fromkeys(_KFP_KEYS + ("max_concurrency",), "kfp"),
    **dict.fromkeys(_ARGO_KEYS, "argo"),
}


def _check_target(to: str) -> None:
    """A target we send to, and no option given that only the other target reads."""
    if to not in sends_to():
        fix = "use " + listed([f"--target {name}" for name in sends_to()])
        raise ValidationError(f"cannot send to '{to}'", field="--target", fix=fix)
    for param in click.get_current_context().command.params:
        only = _ONLY_FOR.get(param.name or "")
        flag = given_flag(param.name) if only and only != to and param.name else None
        if flag:
            raise ValidationError(
                f"{flag} is for --target {only}", field=flag, fix="leave it out for " + to
            )


@contextmanager
def _compiled(
    ir: Any, to: str, params: tuple[str, ...], options: dict[str, Any]
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The compiled package in a temporary folder, and the typed arguments given."""
    from dagwright.compiler import compile_ir
    from dagwright.pipelines.arguments import bind_arguments

    given = parse_params(params)
    # only the values given: the package carries the defaults
    arguments = {k: v for k, v in bind_arguments(ir, given, as_text=True).items() if k in given}
    with tempfile.TemporaryDirectory(prefix="dagwright-submit-") as folder:
        package = Path(folder) / f"{ir.name}.yaml"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile_ir(ir, to, package, **compile_options(options))
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        yield package, arguments


@contextmanager
def _remote_errors() -> Iterator[None]:
    """A refusing or unreachable server is a short message and exit 1, not a traceback."""
    from dagwright.remote import SubmitError

    try:
        yield
    except SubmitError as exc:
        from dagwright.redact import redact_text

        click.echo(f"error: {redact_text(str(exc))}", err=True)  # no password of a --host
        sys.exit(EXIT_FAILED)


def _argo_remote(remote: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """What ``dagwright.remote.argo`` takes of the command's remote options."""
    verify = not flags["insecure_skip_verify"]
    return {**remote, "lint": flags["lint"], "verify_ssl": verify, "echo": click.echo}


@click.command()
@click.argument("target")
@remote_options()
@click.option(
    "--kind",
    "argo_kind",
    type=click.Choice(["workflow", "template", "cron"]),
    default=None,
    help="Argo: create a Workflow (default), or create or update a WorkflowTemplate or a "
    "CronWorkflow (on the pipeline's own schedule).",
)
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
    remote = {k: options.pop(k) for k in _REMOTE_KEYS}
    kfp_only = {k: options.pop(k) for k in _KFP_KEYS}
    argo_flags = {k: options.pop(k) for k in _ARGO_KEYS}
    waits: dict[str, Any] = {"wait": wait, "timeout": timeout, "poll_interval": poll_interval}
    kind = options.get("argo_kind") or "workflow"
    with reported(), _remote_errors():
        _check_target(to)
        if kind != "workflow" and (wait or timeout is not None):
            raise ValidationError(
                f"--kind {kind} makes no run to wait for", field="--wait", fix="leave it out"
            )
        ir = load_target(target)
        with _compiled(ir, to, params, options) as (package, arguments):
            if to == "argo":
                from dagwright.remote import argo

                runs = waits if kind == "workflow" else {}
                result: Any = argo.send(
                    package,
                    kind,
                    arguments=arguments,
                    name=run_name,
                    **runs,
                    **_argo_remote(remote, argo_flags),
                )
            else:
                from dagwright.remote import kfp

                result = kfp.submit(
                    package,
                    arguments=arguments,
                    run_name=run_name,
                    echo=click.echo,
                    **waits,
                    **remote,
                    **kfp_only,
                )
    if wait and not getattr(result, "succeeded", True):
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("name")
@click.option("-t", "--target", "to", default="argo", show_default=True, help="Where: argo (only).")
@click.option(
    "--kind",
    type=click.Choice(["template", "cron"]),
    required=True,
    help="Delete a WorkflowTemplate or a CronWorkflow.",
)
@click.option("--host", default=None, help="argo-server URL (default: $ARGO_SERVER).")
@click.option("--namespace", default=None, help="Its namespace (default: $ARGO_NAMESPACE).")
@click.option("--token", default=None, help="Bearer token (default: $ARGO_TOKEN).")
@click.option(
    "-k", "--insecure-skip-verify", is_flag=True, help="Do not check the TLS certificate."
)
def delete(name: str, to: str, kind: str, insecure_skip_verify: bool, **remote: Any) -> None:
    """Delete the WorkflowTemplate or CronWorkflow NAME that submit or schedule made."""
    with reported(), _remote_errors():
        if to != "argo":
            raise ValidationError(
                f"cannot delete from '{to}'", field="--target", fix="use --target argo"
            )
        from dagwright.remote import argo

        remove = argo.delete_template if kind == "template" else argo.delete_cron
        remove(name, verify_ssl=not insecure_skip_verify, echo=click.echo, **remote)


def send_schedule(
    target: str,
    to: str,
    params: tuple[str, ...],
    cron: str | None,
    name: str | None,
    *,
    concurrency: str | None,
    catchup: str | None,
    max_concurrency: int | None,
    options: dict[str, Any],
) -> None:
    """Compile TARGET and make it a KFP recurring run or an Argo CronWorkflow (created, or
    updated when one of that name exists): ``dagwright schedule add --target kfp|argo``.

    The local policies become the target's own (``dagwright.remote.cron_policies``); what a
    target cannot do is refused. Given none of them, each target keeps its defaults: KFP one
    run at a time and only the newest missed run, Argo its CronWorkflow defaults. Given one,
    Argo takes the local default for the other (``allow``, ``none``); KFP, which has neither
    ``none`` nor a way to skip, keeps its own (one at a time, the newest missed run).

    Args:
        target: ``FILE.py[:PIPELINE]`` or an IR file.
        to: ``kfp`` or ``argo``.
        params: ``-p name=value`` pairs.
        cron: The expression; None takes the pipeline's own schedule.
        name: The recurring run's or CronWorkflow's name (default: the pipeline's).
        concurrency: ``allow``, ``forbid`` or ``replace``, or None.
        catchup: ``none``, ``latest`` or ``all``, or None.
        max_concurrency: KFP: runs of it that may run at once (instead of ``concurrency``).
        options: The command's remote, KFP, Argo and compile options, by parameter name.

    Raises:
        ValidationError: bad input; nothing was sent.
    """
    remote = {k: options.pop(k) for k in _REMOTE_KEYS}
    kfp_only = {k: options.pop(k) for k in _KFP_KEYS}
    argo_flags = {k: options.pop(k) for k in _ARGO_KEYS}
    with _remote_errors():
        _check_target(to)
        _one_of("concurrency", "max_concurrency")
        _one_of("concurrency", "concurrency_policy")
        _one_of("catchup", "starting_deadline_seconds")
        from dagwright.remote import argo, kfp

        check: Callable[..., str] = argo.argo_cron if to == "argo" else kfp.kfp_cron
        if cron is not None:
            check(cron, field="--cron")  # a bad --cron fails before anything is loaded
        ir = load_target(target)
        cron = cron or ir.schedule
        if not cron:
            raise ValidationError(
                f"pipeline '{ir.name}' has no schedule",
                field="--cron",
                fix="pass --cron '0 3 * * *', or write @pipeline(schedule='0 3 * * *')",
            )
        check(cron, field="--cron")
        runs: dict[str, Any] = {}
        if to == "argo":
            _argo_policy(cron, concurrency, catchup, options)
            options.update(argo_kind="cron", schedule=cron)
        else:
            runs = _kfp_policy(cron, concurrency, catchup, max_concurrency, options)
        with _compiled(ir, to, params, options) as (package, arguments):
            if to == "argo":
                argo.apply_cron(
                    package, arguments=arguments, name=name, **_argo_remote(remote, argo_flags)
                )
                return
            kfp.schedule(
                package,
                cron=cron,
                arguments=arguments,
                name=name,
                echo=click.echo,
                **runs,
                **remote,
                **kfp_only,
            )


def _one_of(new: str, old: str) -> None:
    """Refuse a local policy option given with the target's own option for the same thing."""
    first, second = given_flag(new), given_flag(old)
    if first and second:
        raise ValidationError(
            f"{first} and {second} both say it", field=second, fix="give one of them"
        )


def _kfp_policy(
    cron: str,
    concurrency: str | None,
    catchup: str | None,
    max_concurrency: int | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """``max_concurrency`` and ``catchup`` of ``kfp.schedule``."""
    timezone = options.pop("timezone", None)  # KFP has none: cron_policies checks it
    if concurrency is None and catchup is None and timezone is None:
        return {"max_concurrency": max_concurrency or 1, "catchup": False}
    from dagwright.remote.cron_policies import kfp_policy

    # what is not given stays as KFP did before: one at a time, only the newest missed run
    policy = kfp_policy(concurrency or "forbid", catchup or "latest", timezone or "UTC", cron=cron)
    return {
        "max_concurrency": max_concurrency or policy["max_concurrency"],
        "catchup": not policy["no_catchup"],
    }


def _argo_policy(
    cron: str, concurrency: str | None, catchup: str | None, options: dict[str, Any]
) -> None:
    """Argo's concurrencyPolicy, startingDeadlineSeconds and timezone, into ``options``."""
    if concurrency is None and catchup is None:
        return  # Argo's own options (or their defaults) as given
    from dagwright.remote.cron_policies import argo_policy

    # the one not given is the local default, so a schedule means the same here and on Argo
    policy = argo_policy(
        concurrency or "allow", catchup or "none", options.get("timezone"), cron=cron
    )
    for key, value in policy.items():
        if options.get(key) is None:
            options[key] = value
