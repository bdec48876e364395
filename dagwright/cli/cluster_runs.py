"""``dagwright runs ls|show|logs|cancel|retry --target kfp|argo``: the runs a cluster keeps
(KFP runs, Argo Workflows), through the target's run manager (``Client.runs``).

``dagwright.cli.runs`` calls these when ``--target`` is given; the store's own options
(``--root``, ``--pipeline``...) are refused then, and the cluster's (``--host``...) without
it. Exit codes as for ``submit``: 1 when the server refuses or cannot be reached, 2 for bad
input (an unknown target, a run that cannot be cancelled or retried).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from dagwright.cli.common import given_flag, remote_errors, when
from dagwright.errors import ValidationError

# the cluster's options, by parameter name, and their flags (``to`` is --target)
_CLUSTER = {"host": "--host", "namespace": "--namespace", "token": "--token"}


def check_options(to: str, local: tuple[str, ...]) -> None:
    """Refuse the store's options (``local``, by parameter name) given with ``--target``.

    Raises:
        ValidationError: naming the flag.
    """
    for name in local:
        flag = given_flag(name)
        if flag:
            raise ValidationError(
                f"{flag} is for the store's runs, not --target {to}'s",
                field=flag,
                fix="leave it out, or leave out --target",
            )


@contextmanager
def manager(options: dict[str, Any]) -> Iterator[Any]:
    """The run manager of the target ``--target`` names (``options["to"]``), made with the
    cluster's options given; server errors as ``error: ...`` and exit 1."""
    from dagwright.remote.api import runs_on

    remote = {k: options[k] for k in _CLUSTER if options.get(k) is not None}
    if options.get("insecure"):
        remote["verify_ssl"] = False
    with remote_errors():
        try:
            found = runs_on(options["to"], **remote)
        except ValidationError as exc:
            # the command line's names for runs_on's keywords
            names = {"target": "--target", "verify_ssl": "--insecure", **_CLUSTER}
            if exc.field in names:
                raise ValidationError(exc.problem, field=names[exc.field], fix=exc.fix) from exc
            raise
        yield found


def ls(options: dict[str, Any], limit: int, as_json: bool) -> None:
    """``runs ls --target``: the newest runs of the cluster."""
    with manager(options) as runs:
        found = runs.ls(limit)
    if as_json:
        click.echo(json.dumps([run.as_json() for run in found]))
        return
    click.echo(f"{'RUN':<44} {'STATUS':<11} {'CREATED':<20} {'DURATION':>9}  NAME")
    for run in found:
        took = _took(run.created, run.finished)
        click.echo(
            f"{run.run_id:<44} {run.status:<11} {_when(run.created):<20} {took:>9}  {run.name}"
        )


def show(options: dict[str, Any], run_id: str, as_json: bool) -> None:
    """``runs show --target``: one run and its steps."""
    with manager(options) as runs:
        run = runs.show(run_id)
    if as_json:
        click.echo(json.dumps(run.as_json()))
        return
    _say_run(run)
    click.echo(f"{'STEP':<36} {'STATUS':<16} {'DURATION':>9}  MESSAGE")
    for step in run.steps:
        message = (step.message or "").strip().splitlines()
        took = _took(step.started, step.finished)
        click.echo(f"{step.name:<36} {step.status:<16} {took:>9}  {message[0] if message else ''}")


def logs(options: dict[str, Any], run_id: str, step: str | None, as_json: bool) -> None:
    """``runs logs --target``: what the run's steps printed, as the cluster keeps it."""
    with manager(options) as runs:
        found = runs.logs(run_id, step)
    if as_json:
        click.echo(json.dumps([{"step": f.step, "pod": f.pod, "text": f.text} for f in found]))
        return
    for log in found:
        click.echo(f"==> {log.step} ({log.pod}) <==")
        if log.text:
            click.echo(log.text.rstrip("\n"))


def cancel(options: dict[str, Any], run_id: str) -> None:
    """``runs cancel --target``: cancel the run as the target does (KFP: terminate; Argo: stop,
    which runs the exit handler)."""
    with manager(options) as runs:
        run = runs.cancel(run_id)
    click.echo(f"cancelled {run.run_id}: {run.status}" + (f" ({run.url})" if run.url else ""))


def retry(options: dict[str, Any], run_id: str) -> None:
    """``runs retry --target``: run again the failed steps of a failed run.

    Raises:
        ValidationError: no ``--target``: a store's run is continued with ``resume``.
    """
    if options["to"] is None:
        raise ValidationError(
            "runs retry manages a cluster's runs",
            field="--target",
            fix=f"give --target kfp or --target argo; for a store's run: dagwright resume {run_id}",
        )
    with manager(options) as runs:
        run = runs.retry(run_id)
    click.echo(f"retried {run.run_id}: {run.status}" + (f" ({run.url})" if run.url else ""))
    for step in run.steps:
        click.echo(f"  {step.name}: {step.status}")


def _say_run(run: Any) -> None:
    click.echo(
        f"run {run.run_id} ({run.name}): {run.status}, created {_when(run.created)}, "
        f"took {_took(run.created, run.finished)}"
    )
    if run.url:
        click.echo(f"page    {run.url}")
    if run.message:
        click.echo(f"message {run.message}")


def _when(stamp: Any) -> str:
    return when(None if stamp is None else stamp.timestamp())


def _took(started: Any, finished: Any) -> str:
    if started is None or finished is None:
        return "-"
    return f"{max((finished - started).total_seconds(), 0.0):.0f}s"
