"""``dagwright runs ls|show|logs|rm|gc|cancel|retry`` and ``dagwright logs``: the recorded runs
of a store, listed, shown, removed; what their steps printed; and the time filters ``runs ls``
and ``runs gc`` share. With ``--target kfp|argo``, ``ls``, ``show``, ``logs``, ``cancel`` and
``retry`` manage the runs a cluster keeps instead (``dagwright.cli.cluster_runs``).

``runs rm`` and ``runs gc`` remove runs as ``dagwright.cli.run_removal`` says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import existing_store, given_flag, reported, when
from dagwright.cli.options import JSON, ROOT, cluster_options, html_option
from dagwright.errors import ValidationError
from dagwright.redact import shown_run
from dagwright.run_query import parse_when, pipeline_names

STATUSES = ("succeeded", "failed", "interrupted", "cancelled", "running")


def store_database(root: Path | None) -> Any:
    """The store at ``--root`` and its run database, which must exist already."""
    store = existing_store(root)
    return store, store.database()


def _database(root: Path | None) -> Any:
    return store_database(root)[1]


def _took(row: dict[str, Any]) -> str:
    if row.get("started") is None or row.get("ended") is None:
        return "-"
    # a run's duration counts only the time it ran (a resumed run's earlier spans added up)
    seconds = row["duration"] if row.get("duration") is not None else row["ended"] - row["started"]
    return f"{seconds:.3f}s"


@click.group()
def runs() -> None:
    """List, show and remove recorded runs."""


def _cluster(cluster: dict[str, Any], *local: str) -> Any:
    """``dagwright.cli.cluster_runs`` when ``--target`` was given (None: the store's runs),
    after refusing the options of the other side (``local``: the store's, by parameter name).
    """
    if cluster["to"] is None:
        for name in ("host", "namespace", "token", "insecure"):
            flag = given_flag(name)
            if flag:
                raise ValidationError(
                    f"{flag} is for a cluster's runs",
                    field=flag,
                    fix="add --target kfp or --target argo, or leave it out",
                )
        return None
    from dagwright.cli import cluster_runs

    cluster_runs.check_options(cluster["to"], local)
    return cluster_runs


@runs.command(name="ls")
@ROOT
@JSON
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
@cluster_options
def runs_ls(
    root: Path | None,
    as_json: bool,
    limit: int,
    pipeline: str | None,
    statuses: tuple[str, ...],
    since: str | None,
    **cluster: Any,
) -> None:
    """The most recent runs, newest first."""
    with reported():
        cluster_runs = _cluster(cluster, "root", "pipeline", "statuses", "since")
        if cluster_runs is not None:
            cluster_runs.ls(cluster, limit, as_json)
            return
        start = parse_when(since, "--since") if since is not None else None
        rows = _database(root).runs(limit, pipeline_names(pipeline), status=statuses, since=start)
        if as_json:
            from dagwright.redact import listed_run

            click.echo(json.dumps([listed_run(r) for r in rows]))
            return
        click.echo(f"{'RUN':<44} {'STATUS':<11} {'STARTED':<20} {'DURATION':>9}")
        for r in rows:
            click.echo(
                f"{r['run_id']:<44} {r['status']:<11} {when(r['started']):<20} {_took(r):>9}"
            )


@runs.command(name="show")
@click.argument("run_id", metavar="RUN")
@ROOT
@JSON
@html_option(
    "Write the run as one self-contained HTML file (graph, steps, metrics, artifact "
    "previews) to OUT."
)
@cluster_options
def runs_show(
    run_id: str,
    root: Path | None,
    as_json: bool,
    html_out: Path | None,
    **cluster: Any,
) -> None:
    """One run: parameters, outputs and every step (RUN may be an unambiguous prefix)."""
    with reported():
        cluster_runs = _cluster(cluster, "root", "html_out")
        if cluster_runs is not None:
            cluster_runs.show(cluster, run_id, as_json)
            return
        from dagwright.lineage.tracking import state

        store, db = store_database(root)
        if html_out is not None:
            _write_report(store.root, db.find_run(run_id)["run_id"], html_out)
            return
        found, steps = shown_run(db.find_run(run_id), db.steps)
        lineage = state(store.root, found["run_id"])
        if as_json:
            found.pop("ir")
            click.echo(json.dumps({**found, "lineage": lineage, "steps": steps}))
            return
        reason = f" ({found['reason']})" if found.get("reason") else ""
        click.echo(
            f"run {found['run_id']} ({found['pipeline']}): {found['status']}{reason}, "
            f"started {when(found['started'])}, took {_took(found)}"
        )
        click.echo(f"params  {json.dumps(found['params'])}")
        click.echo(f"outputs {json.dumps(found['outputs'])}")
        click.echo(f"lineage {_lineage_line(lineage)}")
        click.echo(f"{'STEP':<36} {'STATUS':<16} {'TRIES':>5} {'DURATION':>9}  ERROR")
        shown = _display_names(found.get("ir"))
        for step in steps:
            label = step["task"] + (f"[{step['iteration']}]" if step["iteration"] else "")
            label += f" ({shown[step['task']]})" if step["task"] in shown else ""
            label += " (cached)" if step["cached"] else ""
            error = (step["error"] or step.get("note") or "").strip()
            error = error.splitlines()[0] if error else ""
            click.echo(
                f"{label:<36} {step['status']:<16} {step['attempts']:>5} {_took(step):>9}  {error}"
            )


def _write_report(root: Path, run_id: str, out: Path) -> None:
    """``runs show --html``: the run's standalone report, written to ``out``."""
    from dagwright.ui.exports import run_report
    from dagwright.ui.report import standalone_html
    from dagwright.writes import check_target, write_file

    check_target(out, "--html")  # before the report is built
    write_file(out, standalone_html("run", run_report(root, run_id)), field="--html")
    click.echo(f"wrote {out}")


def _display_names(ir: Any) -> dict[str, str]:
    """The display names the run's tasks were given (``set_display_name``), by task name."""
    try:
        tasks = json.loads(ir)["tasks"] if isinstance(ir, str) else []
    except (ValueError, KeyError, TypeError):  # an IR this version cannot read: names only
        return {}
    return {t["name"]: t["display_name"] for t in tasks if t.get("display_name")}


def _lineage_line(lineage: dict[str, Any]) -> str:
    """Where a run's lineage is, in words (URIs are kept without their passwords)."""
    where = lineage.get("tracking_uri")
    if lineage["state"] == "in_mlflow":
        return f"in MLflow ({where})"
    if lineage["state"] == "pending":
        why = (lineage.get("error") or "").strip()
        why = why.splitlines()[0] if why else "not sent yet"
        return f"pending upload to {where} ({why})"
    if lineage["state"] == "local":
        return "local only (tracking off)"
    return "none (recorded with --no-lineage)"


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", required=False)
@ROOT
@JSON
def logs(run_id: str, step: str | None, root: Path | None, as_json: bool) -> None:
    """What the steps of RUN printed (only STEP's when given, e.g. train or train[2])."""
    with reported():
        _logs(run_id, step, root, as_json)


@runs.command(name="logs")
@click.argument("run_id", metavar="RUN")
@click.argument("step", required=False)
@ROOT
@JSON
@cluster_options
def runs_logs(
    run_id: str,
    step: str | None,
    root: Path | None,
    as_json: bool,
    **cluster: Any,
) -> None:
    """What the steps of RUN printed (only STEP's when given); with --target, as the cluster
    keeps it (Argo's log API; KFP says where to read them)."""
    with reported():
        cluster_runs = _cluster(cluster, "root")
        if cluster_runs is not None:
            cluster_runs.logs(cluster, run_id, step, as_json)
            return
        _logs(run_id, step, root, as_json)


def _logs(run_id: str, step: str | None, root: Path | None, as_json: bool) -> None:
    """``dagwright logs`` and ``runs logs`` of a store's run."""
    db = _database(root)
    found, rows = shown_run(db.find_run(run_id), db.steps)
    if step is not None:
        wanted = step.replace(",", ".")  # progress lines print train[0,1]
        every = rows
        rows = [r for r in rows if wanted in (r["task"], f"{r['task']}[{r['iteration']}]")]
        if not rows:
            names = ", ".join(dict.fromkeys(r["task"] for r in every)) or "none yet"
            raise ValidationError(
                f"run '{found['run_id']}' has no step '{step}'",
                field="STEP",
                fix=f"its steps: {names}",
            )
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


@runs.command(name="rm")
@click.argument("run_ids", metavar="RUN...", nargs=-1, required=True)
@ROOT
def runs_rm(run_ids: tuple[str, ...], root: Path | None) -> None:
    """Remove RUN (an id or an unambiguous prefix; several may be given): its record, steps,
    cache entries and artifacts. A running run is refused."""
    with reported():
        from dagwright.cli.run_removal import remove_run

        store, db = store_database(root)
        found = [db.find_run(run_id) for run_id in run_ids]  # every id is checked first
        for run in found:
            if run["status"] == "running":
                remove_run(store, db, run, dry_run=True)  # raises, before anything is removed
        for run in found:
            click.echo(remove_run(store, db, run, dry_run=False))


@runs.command(name="gc")
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="Remove runs started before this: a duration (30d, 12h) or a date (2026-11-01).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s for s in STATUSES if s != "running"]),
    help="Only runs that ended so; repeat for several (default: every finished run).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@ROOT
def runs_gc(older_than: str, statuses: tuple[str, ...], dry_run: bool, root: Path | None) -> None:
    """Remove finished runs started before AGE, with their steps, cache entries and artifacts
    (runs still running are never removed)."""
    with reported():
        from dagwright.cli.run_removal import remove_run

        before = parse_when(older_than, "--older-than")
        store, db = store_database(root)
        wanted = statuses or tuple(s for s in STATUSES if s != "running")
        old = db.runs(None, status=wanted, before=before)
        for run in old:
            click.echo(remove_run(store, db, run, dry_run))
        verb = "would remove" if dry_run else "removed"
        click.echo(f"{verb} {len(old)} run(s)", err=True)


@runs.command(name="cancel")
@click.argument("run_id", metavar="RUN")
@ROOT
@cluster_options
def runs_cancel(run_id: str, root: Path | None, **cluster: Any) -> None:
    """Ask the engine running RUN to cancel it (RUN may be an unambiguous prefix): steps not
    started are cancelled, running ones stopped, exit handlers still run."""
    with reported():  # the run database directly: dagwright.api (cancel) takes 0.2 s to import
        cluster_runs = _cluster(cluster, "root")
        if cluster_runs is not None:
            cluster_runs.cancel(cluster, run_id)
            return
        found = _database(root).request_cancel(run_id)
        click.echo(f"cancel requested for {found}")


@runs.command(name="retry")
@click.argument("run_id", metavar="RUN")
@cluster_options
def runs_retry(run_id: str, **cluster: Any) -> None:
    """Run again the failed steps of RUN, a failed run on a cluster (--target kfp|argo),
    keeping the steps that succeeded. A store's run is continued with dagwright resume."""
    with reported():
        from dagwright.cli import cluster_runs

        cluster_runs.retry(cluster, run_id)
