"""``dagwright schedule add|ls|pause|resume|rm``.

``schedule add --target local`` (the default) stores a schedule in the run database of the
store folder, where ``dagwright scheduler`` (``dagwright.cli.cron_daemon``) fires it;
``--target kfp|argo`` compiles the pipeline and makes it a KFP recurring run or an Argo
CronWorkflow (``dagwright.cli.submit``).

Exit codes, as for the other commands: 0 success, 1 a server refused or could not be reached,
2 bad input (nothing was stored or sent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import given_flag, load_target, parse_params, reported, when
from dagwright.cli.options import (
    JSON,
    ROOT,
    listed,
    own_options,
    remote_options,
    sends_to,
)
from dagwright.cli.submit import send_schedule
from dagwright.errors import ValidationError
from dagwright.targets.base import not_blank

# where a schedule may go: this store's scheduler, or a cluster target
TARGETS = ("local", *sends_to())
# run ids are '<schedule>-YYYYmmdd-HHMMSS' and must stay Kubernetes names (63 characters)
NAME_MAX = 63 - len("-20260101-000000")
# of the cluster and compile options, the one a local schedule reads; the others given with
# --target local are refused, not ignored
_LOCAL = ("timezone",)
# so the command's own, listed where the Argo target lists its --timezone (its CronWorkflow's)
_TIMEZONE = click.option(
    "--timezone",
    default=None,
    callback=not_blank,
    help="IANA time zone the cron is read in (local and Argo; default UTC).",
)


@click.group()
def schedule() -> None:
    """Run pipelines on a cron schedule: here (dagwright scheduler), on KFP or on Argo."""


@schedule.command(name="add")
@click.argument("target")
@click.option(
    "--cron",
    default=None,
    callback=not_blank,
    help="Five fields, minute hour day month weekday ('0 3 * * *'), or six with seconds "
    "first ('*/10 * * * * *'; local and KFP). Default: the pipeline's own schedule.",
)
@click.option(
    "--name",
    default=None,
    help="The schedule's name (KFP: the recurring run's, Argo: the CronWorkflow's); "
    "default: the pipeline's.",
)
@click.option(
    "--concurrency",
    default=None,
    metavar="allow|forbid|replace",
    help="When a slot comes while the previous run still runs: start another (allow, the "
    "local default), skip the slot (forbid), or stop that run first (replace). KFP and Argo "
    "get their own form of it; what they cannot do is refused.",
)
@click.option(
    "--catchup",
    default=None,
    metavar="none|latest|all",
    help="Slots missed while no scheduler ran: none (the local default), the newest, or all "
    "(as KFP and Argo can).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Local: overwrite a schedule of that name (its past firings stay).",
)
@ROOT
@own_options("schedule")
@remote_options(
    default="local",
    where=listed(["local (the store's scheduler)", *sends_to()]),
    mine={"timezone": _TIMEZONE},
)
def add(
    target: str,
    to: str,
    params: tuple[str, ...],
    cron: str | None,
    name: str | None,
    concurrency: str | None,
    catchup: str | None,
    replace: bool,
    root: Path | None,
    **options: Any,
) -> None:
    """Schedule TARGET (FILE.py[:PIPELINE] or an IR file) on a cron.

    Local schedules are kept in the store's run database with the pipeline as it is now and
    the given parameters; 'dagwright scheduler' starts their runs. Only slots after now fire.
    """
    with reported():
        if to not in TARGETS:
            raise ValidationError(
                f"cannot send to '{to}'",
                field="--target",
                fix="use " + listed([f"--target {where}" for where in TARGETS]),
            )
        if to == "local":
            _add_local(target, params, cron, name, concurrency, catchup, replace, root, options)
            return
        _refuse(("replace", "root"), "is for --target local", f"leave it out for {to}")
        from dagwright.schedules import cron as cron_rules

        # a policy that is none of the local ones fails before anything is loaded
        cron_rules.check("* * * * *", "UTC", concurrency or "allow", catchup or "none")
        send_schedule(
            target,
            to,
            params,
            cron,
            name,
            concurrency=concurrency,
            catchup=catchup,
            options=options,
        )


def _refuse(keys: Iterable[str], problem: str, fix: str) -> None:
    """Options the target does not read are refused when given, not ignored."""
    for key in keys:
        flag = given_flag(key)
        if flag:
            raise ValidationError(f"{flag} {problem}", field=flag, fix=fix)


def _add_local(
    target: str,
    params: tuple[str, ...],
    cron_expr: str | None,
    name: str | None,
    concurrency: str | None,
    catchup: str | None,
    replace: bool,
    root: Path | None,
    options: dict[str, Any],
) -> None:
    """Check everything, then store the schedule; nothing is stored when a check fails."""
    from dagwright.pipelines.arguments import bind_arguments
    from dagwright.schedules import cron
    from dagwright.store.local import LocalStore
    from dagwright.store.schedules import Schedule, ScheduleBook

    cluster = [key for key in options if key not in _LOCAL]
    fix = f"leave it out, or pass --target {'|'.join(sends_to())}"
    _refuse(cluster, "is not for a local schedule", fix)
    timezone = options.get("timezone") or "UTC"
    policies = {"concurrency": concurrency or "allow", "catchup": catchup or "none"}
    # a bad time zone or policy fails before the pipeline is loaded; the cron once it is known
    cron.check(cron_expr or "* * * * *", timezone, **policies)
    if name is not None:
        _check_name(name, "--name")
    ir = load_target(target)
    cron_expr = cron_expr or ir.schedule
    if not cron_expr:
        raise ValidationError(
            f"pipeline '{ir.name}' has no schedule",
            field="--cron",
            fix="pass --cron '0 3 * * *', or write @pipeline(schedule='0 3 * * *')",
        )
    cron.check(cron_expr, timezone, **policies)
    name = name or ir.name
    _check_name(name, "--name")
    given = parse_params(params)
    # the given values, typed: the stored IR carries the defaults
    bound = {k: v for k, v in bind_arguments(ir, given, as_text=True).items() if k in given}
    now = time.time()
    book = ScheduleBook(LocalStore(root).database())
    try:
        book.add(
            Schedule(
                name=name,
                pipeline=ir.name,
                source=target,
                ir=json.dumps(ir.to_dict()),
                cron=cron_expr,
                timezone=timezone,
                params=bound,
                created=now,
                considered=now,  # nothing in the past fires
                concurrency=policies["concurrency"],
                catchup=policies["catchup"],
            ),
            replace=replace,
        )
        next_fire = when(cron.next_slot(cron_expr, timezone, now), timezone)
    finally:
        book.db.close()
    click.echo(f"scheduled '{name}' ({ir.name}): cron '{cron_expr}' in {timezone}")
    click.echo(f"  next run {next_fire}; 'dagwright scheduler' starts the runs")


def _check_name(name: str, flag: str) -> None:
    from dagwright.names import is_k8s_name, to_k8s_name

    if is_k8s_name(name) and len(name) <= NAME_MAX:
        return
    fixed = to_k8s_name(name)[:NAME_MAX].rstrip("-") or "nightly"
    raise ValidationError(
        f"schedule name '{name}' is not a Kubernetes name of at most {NAME_MAX} characters "
        "(its runs are named '<name>-YYYYmmdd-HHMMSS')",
        field=flag,
        fix=f"pass --name {fixed} (lower-case letters, digits and '-')",
    )


# listing and changing local schedules


def _book(root: Path | None, *, must_exist: bool = True) -> Any:
    from dagwright.store.local import LocalStore
    from dagwright.store.schedules import ScheduleBook

    store = LocalStore(root)
    if not (store.root / "runs.db").exists():
        if not must_exist:
            return None
        raise ValidationError(
            f"no run database in '{store.root}'",
            field="--root",
            fix="add a schedule first, or point --root at its store",
        )
    return ScheduleBook(store.database())


def _next(schedule: Any, now: float) -> str | None:
    """When it fires next; None while paused (the next slot after it resumes is later) or if
    it never does (a schedule stored before ``cron.check`` refused such crons)."""
    from dagwright.schedules.cron import next_slot

    if schedule.paused:
        return None
    try:
        stamp = next_slot(schedule.cron, schedule.timezone, max(now, schedule.considered))
    except ValueError:
        return None
    return when(stamp, schedule.timezone)


def _rows(book: Any) -> list[dict[str, Any]]:
    from dagwright.redact import masked

    now = time.time()
    rows = []
    for s in book.all():
        firings = book.firings(s.name)
        last = firings[-1] if firings else None
        rows.append(
            {
                "name": s.name,
                "pipeline": s.pipeline,
                "source": s.source,
                "cron": s.cron,
                "timezone": s.timezone,
                "params": masked(s.params),  # the book keeps the real values for the runs
                "concurrency": s.concurrency,
                "catchup": s.catchup,
                "state": "paused" if s.paused else "active",
                "next": _next(s, now),
                "last_run": last.run_id if last else None,
                "last_status": (book.db.run_status(last.run_id) or last.status) if last else None,
            }
        )
    return rows


@schedule.command(name="ls")
@ROOT
@JSON
def ls(root: Path | None, as_json: bool) -> None:
    """The local schedules: cron, state, next fire time (in the schedule's zone), last run."""
    with reported():
        book = _book(root, must_exist=False)
        rows = [] if book is None else _rows(book)
        if book is not None:
            book.db.close()
    if as_json:
        click.echo(json.dumps(rows))
        return
    heads = ("NAME", "PIPELINE", "CRON", "TIMEZONE", "STATE", "NEXT", "LAST RUN", "STATUS")
    keys = ("name", "pipeline", "cron", "timezone", "state", "next", "last_run", "last_status")
    table = [heads] + [tuple(str(r[k] or "-") for k in keys) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(heads))]
    for line in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _change(root: Path | None, name: str, what: str) -> None:
    with reported():
        book = _book(root)
        try:
            if what == "rm":
                book.remove(name)
            else:
                # a resumed schedule does not fire the slots missed while paused: resuming
                # moves it past them (and each tick of a scheduler moves a paused one past)
                book.set_paused(name, what == "paused", time.time())
        finally:
            book.db.close()
    click.echo(f"removed '{name}'" if what == "rm" else f"{what} '{name}'")


@schedule.command()
@click.argument("name")
@ROOT
def pause(name: str, root: Path | None) -> None:
    """Stop firing NAME until it is resumed; the slots in between are missed."""
    _change(root, name, "paused")


@schedule.command()
@click.argument("name")
@ROOT
def resume(name: str, root: Path | None) -> None:
    """Fire NAME again from its next slot on (missed slots do not fire)."""
    _change(root, name, "resumed")


@schedule.command()
@click.argument("name")
@ROOT
def rm(name: str, root: Path | None) -> None:
    """Delete NAME; runs it started stay, and so does its firing history."""
    _change(root, name, "rm")
