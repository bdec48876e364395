"""The ``dagwright`` command.

Exit codes: 0 success, 1 a run or step failed (or the pipeline file raised), 2 bad input
(a ValidationError or a usage error), as click and most CLIs do.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dagwright.errors import ValidationError

EXIT_FAILED = 1
EXIT_INVALID = 2


@contextmanager
def _reported() -> Iterator[None]:
    """Print a ValidationError without a traceback and exit 2; user-code errors exit 1."""
    try:
        yield
    except ValidationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except (SystemExit, KeyboardInterrupt, click.exceptions.Exit):
        raise
    except Exception:
        click.echo(traceback.format_exc(), err=True)
        sys.exit(EXIT_FAILED)


def _load(target: str) -> Any:
    from dagwright.api import to_ir
    from dagwright.loader import load_pipeline

    return to_ir(load_pipeline(target))


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValidationError(
                f"'-p {pair}' is not name=value",
                field="-p",
                fix="write -p name=value, e.g. -p lr=0.1",
            )
        given[name.strip()] = value
    return given


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dagwright")
def cli() -> None:
    """Run, inspect and compile dagwright pipelines."""


_ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Store folder (default: $DAGWRIGHT_HOME or ./.dagwright).",
)
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
        ]
    ):
        command = option(command)
    return command


def _finish_run(result: Any, quiet: bool) -> None:
    if quiet:
        click.echo(f"{result.run_id} {result.status}")
    sys.exit(0 if result.succeeded else EXIT_FAILED)


def _echo(quiet: bool) -> Any:
    """Nothing when quiet; a live table on a terminal; else a line per step (CI logs)."""
    if quiet:
        return False
    if sys.stderr.isatty():
        from dagwright.engine.progress import LiveView

        return LiveView()
    return lambda line: click.echo(line)


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
@_engine_options
def run(target: str, params: tuple[str, ...], quiet: bool, **options: Any) -> None:
    """Run TARGET (FILE.py[:PIPELINE] or an IR file) here."""
    from dagwright.api import run as run_pipeline
    from dagwright.pipelines.arguments import bind_arguments

    with _reported():
        ir = _load(target)
        arguments = bind_arguments(ir, _params(params), as_text=True)
        result = run_pipeline(ir, arguments, echo=_echo(quiet), **options)
    _finish_run(result, quiet)


@cli.command()
@click.argument("run_id", metavar="RUN")
@_engine_options
def resume(run_id: str, quiet: bool, **options: Any) -> None:
    """Finish RUN: run again the steps that did not succeed, reuse the others."""
    from dagwright.api import resume as resume_run

    with _reported():
        result = resume_run(run_id, echo=_echo(quiet), **options)
    _finish_run(result, quiet)


@cli.command()
@click.argument("target")
def inspect(target: str) -> None:
    """Print the DAG of TARGET: parameters, tasks, inputs and outputs, blocks, edges."""
    from dagwright.pipelines.describe import describe

    with _reported():
        click.echo(describe(_load(target)))


def target_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options of cluster targets, shared by compile, submit and schedule."""
    options = [
        click.option(
            "--code",
            type=click.Choice(["inline", "image"]),
            default=None,
            help="How steps get their code: the source inside the spec (inline, default) or "
            "an image that holds the project (image).",
        ),
        click.option("--image", default=None, help="Image for steps that name none."),
        click.option("--index-url", default=None, help="pip index that pods install from."),
        click.option(
            "--dagwright",
            "dagwright_requirement",
            default=None,
            help="Requirement pods install dagwright from (a pin, a wheel URL).",
        ),
        click.option("--pipeline-root", default=None, help="KFP: where runs keep artifacts."),
        click.option(
            "--strict", is_flag=True, help="Fail instead of warning when the spec is too large."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def compile_options(values: dict[str, Any]) -> dict[str, Any]:
    """The target options given on the command line, as ``compile_ir`` takes them."""
    renamed = {"dagwright_requirement": "dagwright"}
    return {renamed.get(k, k): v for k, v in values.items() if v not in (None, False)}


@cli.command(name="compile")
@click.argument("target")
@click.option(
    "-t",
    "--target",
    "kind",
    default="ir",
    show_default=True,
    help="What to write: ir or kfp (argo as it arrives).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when left out.",
)
@target_options
def compile_command(target: str, kind: str, output: Path | None, **options: Any) -> None:
    """Compile TARGET (FILE.py[:PIPELINE] or an IR file) for a target."""
    from dagwright.api import compile as compile_pipeline

    with _reported(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = compile_pipeline(_load(target), target=kind, path=output, **compile_options(options))
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        if output is None:
            click.echo(text, nl=False)
        else:
            click.echo(f"wrote {output}", err=True)


@cli.command()
@click.argument("target")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when left out.",
)
@click.option("--base-image", default=None, help="Image to start from (python:3.11-slim).")
@click.option("--index-url", default=None, help="pip index to install from.")
@click.option(
    "--dagwright", "dagwright_requirement", default=None, help="Requirement for dagwright."
)
def dockerfile(
    target: str,
    output: Path | None,
    base_image: str | None,
    index_url: str | None,
    dagwright_requirement: str | None,
) -> None:
    """Write a Dockerfile for an image that runs TARGET's steps with --code image.

    Run it from the project's root folder: that folder is the build context.
    """
    from dagwright.compiler.delivery import DEFAULT_IMAGE, CodeDelivery
    from dagwright.compiler.dockerfile import dockerfile as render

    with _reported():
        fields = {"index_url": index_url, "dagwright": dagwright_requirement}
        delivery = CodeDelivery(**{k: v for k, v in fields.items() if v})
        text = render(
            _load(target), Path.cwd(), base_image=base_image or DEFAULT_IMAGE, delivery=delivery
        )
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}", err=True)


def _database(root: Path | None) -> Any:
    from dagwright.store.local import LocalStore

    store = LocalStore(root)
    if not (store.root / "runs.db").exists():
        raise ValidationError(
            f"no run database in '{store.root}'",
            field="--root",
            fix="run a pipeline first, or point --root at its store",
        )
    return store.database()


def _when(stamp: float | None) -> str:
    import datetime

    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _took(row: dict[str, Any]) -> str:
    if row.get("started") is None or row.get("ended") is None:
        return "-"
    return f"{row['ended'] - row['started']:.3f}s"


@cli.group()
def runs() -> None:
    """List and show recorded runs."""


@runs.command(name="ls")
@_ROOT
@_JSON
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--pipeline", default=None, help="Only runs of this pipeline.")
def runs_ls(root: Path | None, as_json: bool, limit: int, pipeline: str | None) -> None:
    """The most recent runs, newest first."""
    with _reported():
        rows = _database(root).runs(limit, pipeline)
        if as_json:
            click.echo(json.dumps([{k: v for k, v in r.items() if k != "ir"} for r in rows]))
            return
        click.echo(f"{'RUN':<44} {'STATUS':<10} {'STARTED':<20} {'DURATION':>9}")
        for r in rows:
            click.echo(
                f"{r['run_id']:<44} {r['status']:<10} {_when(r['started']):<20} {_took(r):>9}"
            )


@runs.command(name="show")
@click.argument("run_id", metavar="RUN")
@_ROOT
@_JSON
def runs_show(run_id: str, root: Path | None, as_json: bool) -> None:
    """One run: parameters, outputs and every step (RUN may be an unambiguous prefix)."""
    with _reported():
        db = _database(root)
        found = db.find_run(run_id)
        steps = db.steps(found["run_id"])
        if as_json:
            found.pop("ir")
            click.echo(json.dumps({**found, "steps": steps}))
            return
        click.echo(
            f"run {found['run_id']} ({found['pipeline']}): {found['status']}, "
            f"started {_when(found['started'])}, took {_took(found)}"
        )
        click.echo(f"params  {json.dumps(found['params'])}")
        click.echo(f"outputs {json.dumps(found['outputs'])}")
        click.echo(f"{'STEP':<36} {'STATUS':<16} {'TRIES':>5} {'DURATION':>9}  ERROR")
        for step in steps:
            label = step["task"] + (f"[{step['iteration']}]" if step["iteration"] else "")
            label += " (cached)" if step["cached"] else ""
            error = (step["error"] or "").splitlines()[0] if step["error"] else ""
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
    with _reported():
        db = _database(root)
        found = db.find_run(run_id)
        rows = db.steps(found["run_id"])
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
    cli(prog_name="dagwright")


if __name__ == "__main__":
    main()
