"""The ``dagwright`` command.

Exit codes: 0 success, 1 a run or step failed (or the pipeline file raised), 2 bad input
(a ValidationError or a usage error), as click and most CLIs do.
"""

from __future__ import annotations

import sys
import traceback
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
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Store folder (default: $DAGWRIGHT_HOME or ./.dagwright).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the run id and status.")
def run(target: str, params: tuple[str, ...], root: Path | None, quiet: bool) -> None:
    """Run TARGET (FILE.py[:PIPELINE] or an IR file) here, step by step."""
    from dagwright.api import run as run_pipeline
    from dagwright.pipelines.arguments import bind_arguments

    with _reported():
        ir = _load(target)
        arguments = bind_arguments(ir, _params(params), as_text=True)
        echo: bool | Callable[[str], None] = False if quiet else (lambda line: click.echo(line))
        result = run_pipeline(ir, arguments, root=root, echo=echo)
        if quiet:
            click.echo(f"{result.run_id} {result.status}")
    sys.exit(0 if result.succeeded else EXIT_FAILED)


@cli.command()
@click.argument("target")
def inspect(target: str) -> None:
    """Print the DAG of TARGET: parameters, tasks, inputs and outputs, blocks, edges."""
    from dagwright.pipelines.describe import describe

    with _reported():
        click.echo(describe(_load(target)))


@cli.command(name="compile")
@click.argument("target")
@click.option(
    "-t",
    "--target",
    "kind",
    default="ir",
    show_default=True,
    help="What to write: ir (kfp and argo as they arrive).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when left out.",
)
def compile_command(target: str, kind: str, output: Path | None) -> None:
    """Compile TARGET (FILE.py[:PIPELINE] or an IR file) for a target."""
    from dagwright.api import compile as compile_pipeline

    with _reported():
        text = compile_pipeline(_load(target), target=kind, path=output)
        if output is None:
            click.echo(text, nl=False)
        else:
            click.echo(f"wrote {output}", err=True)


def main() -> None:
    cli(prog_name="dagwright")


if __name__ == "__main__":
    main()
