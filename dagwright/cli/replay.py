"""``dagwright replay RUN STEP``: one recorded step run again here, in the foreground.

The step gets the inputs it had in the run (``engine/replay.py``): its parameters as they
were resolved (``-p`` changes some) and its input artifacts, fetched from the run's store
(a folder, or ``s3://``/``gs://`` through fsspec). It runs in this process with the
terminal's stdin, stdout and stderr (nothing captured), so a ``breakpoint()`` in it stops
at a prompt here, and ``--pdb`` opens pdb's post-mortem where an exception left it. Its
output artifacts go to a scratch folder that is printed and kept; the run and its database
are only read. It runs once, whatever its retries, and for as long as it takes (a debugger
session would outlast its timeout), here whatever its runtime (a Process step too).

Exit codes: 0 the step ran and made what the run recorded (or the run recorded nothing to
compare: that execution failed), 1 the step failed or an output differs from the recorded one
(which of the two is printed), 2 bad input (no such run, step or parameter): as ``diff`` and
``cmp`` (1 differs, 2 trouble), pytest (1 a test failed) and ``dagwright verify`` do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dagwright.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    load_target,
    parse_params,
    reported,
)
from dagwright.cli.options import ROOT

if TYPE_CHECKING:
    from dagwright.engine.replay import Replay
    from dagwright.errors import ValidationError
    from dagwright.executor import StepOutcome

# 1 as diff and verify say "differs"; a script tells it from a failed step by what is printed
EXIT_DIFFERS = EXIT_FAILED


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step", metavar="STEP")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Give the step's parameter NAME this value instead of the recorded one (typed as "
    "the component declares it); repeat for several.",
)
@click.option(
    "--pdb",
    "post_mortem",
    is_flag=True,
    help="When the step raises, open pdb's post-mortem at the exception.",
)
@click.option(
    "--secrets-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A .env file (NAME=value lines) with the values of the component's Secrets and "
    "ConfigMaps (default: $DAGWRIGHT_SECRETS_FILE, else the environment's variables).",
)
@click.option(
    "--allow-pickle",
    is_flag=True,
    help="Let the step unpickle values (joblib models) from a non-local store.",
)
@click.option(
    "--code-from",
    "code_from",
    default=None,
    metavar="FILE.py[:PIPELINE]",
    help="Run the step's component as FILE defines it now (its task of the same name) instead "
    "of the code the run recorded.",
)
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="For a run that ran on KFP or Argo (not in the run database): the MLflow its pods "
    "recorded their steps in (default: $MLFLOW_TRACKING_URI).",
)
@click.option(
    "--artifact-repository",
    default=None,
    metavar="URL",
    help="For a run on Argo whose artifacts went to the cluster's default repository (its "
    "pods recorded only their keys): that repository, s3://BUCKET[/PREFIX] or gs://...",
)
@ROOT
def replay(
    run_id: str,
    step: str,
    params: tuple[str, ...],
    post_mortem: bool,
    secrets_file: str | None,
    allow_pickle: bool,
    code_from: str | None,
    tracking_uri: str | None,
    artifact_repository: str | None,
    root: Path | None,
) -> None:
    """Run STEP of RUN again here, from its recorded inputs, and compare its outputs.

    STEP is a task (train) or one loop iteration of it (add[1], as runs show names it). The
    step runs in the foreground with this terminal's input and output, so breakpoint() in it
    works; its outputs go to a scratch folder (printed) and are compared with the recorded
    ones. Exit 0: the same outputs; 1: the step failed or an output differs (as diff); 2: bad
    input. The run is not changed. A run that ran on KFP or Argo is read from the MLflow its
    pods recorded in.
    """
    from dagwright.engine.replay import prepare
    from dagwright.errors import ValidationError

    with reported():
        given = parse_params(params)
        target = None if code_from is None else load_target(code_from)
        options: dict[str, Any] = {"root": root, "secrets_file": secrets_file}
        options["allow_pickle"] = allow_pickle
        try:
            made = prepare(run_id, step, given, code_from=target, **options)
            if artifact_repository is not None:  # said, not silently dropped
                click.echo(
                    f"note: --artifact-repository is not used: run {made.run_id} is in this "
                    "store's run database, which records where each input is kept",
                    err=True,
                )
        except ValidationError as exc:
            if not _no_run(exc):
                raise
            options["artifact_repository"] = artifact_repository
            made = _from_tracking(exc, run_id, step, given, tracking_uri, target, options)
        if code_from is not None:
            made.code = f"as {code_from} defines it now"
    _header(made)
    outcome, error = _run(made, post_mortem)
    if outcome is None:
        click.echo(f"step {made.label} failed: {_masked(made, error)}", err=True)
        sys.exit(EXIT_FAILED)
    from dagwright.engine.replay_compare import DIFFERS, compare, table

    rows = compare(made.step.component, made.recorded, outcome, made.secrets)
    click.echo(f"--- {made.label} finished; outputs in {made.scratch}")
    if rows:
        click.echo(table(rows))
    if made.recorded is None:
        click.echo(f"(the run recorded no outputs: that execution {made.status})")
    sys.exit(EXIT_DIFFERS if any(r.verdict == DIFFERS for r in rows) else 0)


def _no_run(exc: BaseException) -> bool:
    """Is this the run database's "no run" (none there at all, or no row of that id)?"""
    field = getattr(exc, "field", None)
    return field in ("RUN", "--root") and str(getattr(exc, "problem", "")).startswith("no run")


def _from_tracking(
    no_run: ValidationError,
    run_id: str,
    step: str,
    given: dict[str, str],
    tracking_uri: str | None,
    target: Any,
    options: dict[str, Any],
) -> Replay:
    """The step as a KFP or Argo pod recorded it in MLflow; without a tracking URI, the run
    database's "no run", saying where else the run could be."""
    from dagwright.engine.replay_piece import from_piece
    from dagwright.errors import ValidationError
    from dagwright.lineage.step_pieces import find_piece
    from dagwright.lineage.step_pieces import tracking_uri as chosen

    uri = chosen(tracking_uri)
    if uri is None:  # the run database's own words, and where else the run could be
        raise ValidationError(
            no_run.problem,
            field=no_run.field,
            fix=f"{no_run.fix}; for a run on KFP or Argo, pass --tracking-uri URI (or set "
            "MLFLOW_TRACKING_URI): its pods record their steps in MLflow only when its spec "
            "was compiled with --tracking-uri",
        ) from no_run
    return from_piece(run_id, find_piece(uri, run_id, step), given, code_from=target, **options)


def _header(made: Replay) -> None:
    """What is replayed, with which inputs (secrets masked), and where its outputs go."""
    from dagwright.redact import masked, redact_uri

    spec = made.step.component
    click.echo(
        f"replaying {made.label} of run {made.run_id} (component {spec.name}, "
        f"recorded {made.status}) here, in the foreground"
    )
    digest = spec.digest[:12]
    click.echo(f"  code {made.code} (component digest {digest})")
    if spec.runtime.kind != "local":
        click.echo(f"  in this process, not under its runtime '{spec.runtime.kind}'")
    for name, value in masked(made.step.parameters).items():
        note = "  (-p)" if name in made.overridden else ""
        text = json.dumps(value, default=str)
        click.echo(f"  {name} = {_cut(_scrubbed(made, text))}{note}")
    for name, value in made.step.artifacts.items():
        uris = [a.get("uri", "") for a in (value if isinstance(value, list) else [value])]
        click.echo(f"  {name} <- {', '.join(redact_uri(u) for u in uris)}")
    how = {
        "recorded": "as the run recorded giving them",
        "derived": "derived from the run's parameters and upstream outputs (it recorded none)",
    }
    click.echo(f"  inputs {how.get(made.source, made.source)}")
    from dagwright.engine.replay import changed_inputs
    from dagwright.redact import redact_text

    for change in changed_inputs(made.step):
        click.echo(f"  warning: {redact_text(change)}", err=True)
    click.echo(f"  outputs go to {made.scratch}")
    click.echo(f"--- {made.label} starts")


def _cut(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _scrubbed(made: Replay, text: str) -> str:
    from dagwright.redact import scrub

    return scrub(text, made.secrets) or ""


def _masked(made: Replay, error: BaseException | None) -> str:
    return _scrubbed(made, f"{type(error).__name__}: {error}")


def _run(made: Replay, post_mortem: bool) -> tuple[StepOutcome | None, BaseException | None]:
    """Run the step in this thread with the component's variables set; on an exception, a
    post-mortem first when asked, then its traceback (from the step's own frames)."""
    from dagwright.executor import run_step
    from dagwright.runtimes.step_env import applied
    from dagwright.tracebacks import step_traceback

    try:
        with applied(made.step.env):
            return run_step(made.step), None
    except KeyboardInterrupt:
        click.echo(f"\nreplay of {made.label} interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (Exception, SystemExit) as exc:  # the step's own failure, as the runtimes take it
        from dagwright.runtimes.post_mortem import quit_debugger

        if post_mortem and not quit_debugger(exc):  # q at a breakpoint(): no post-mortem of it
            import pdb

            click.echo(f"--- {made.label} raised {type(exc).__name__}: post-mortem", err=True)
            pdb.post_mortem(exc.__traceback__)
        click.echo(_scrubbed(made, step_traceback(exc)).rstrip("\n"), err=True)
        return None, exc
