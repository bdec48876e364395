"""``dagwright compile`` and ``dagwright dockerfile``: a pipeline as a target's spec, and the
project image ``--code image`` expects."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import load_target, reported
from dagwright.cli.options import (
    command_compile_options,
    compile_options,
    listed,
    output,
    own_compile_options,
    own_options,
    target_names,
    target_options,
)


@click.command(name="compile")
@click.argument("target")
@click.option(
    "-t",
    "--target",
    "kind",
    default="ir",
    show_default=True,
    help=f"What to write: {listed(target_names())}.",
)
@own_options("compile-command")
@output()
@target_options
@own_compile_options
def compile_command(target: str, kind: str, output: Path | None, **options: Any) -> None:
    """Compile TARGET (FILE.py[:PIPELINE] or an IR file) for a target."""
    from dagwright.api import compile as compile_pipeline
    from dagwright.writes import check_target

    with reported(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        command_compile_options(options)
        if output is not None:
            check_target(output, "-o")
        text = compile_pipeline(
            load_target(target),
            target=kind,
            path=output,
            path_field="-o",
            **compile_options(options),
        )
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        if output is None:
            click.echo(text, nl=False)
        else:
            click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("target")
@output()
@click.option("--base-image", default=None, help="Image to start from (python:3.11-slim).")
@click.option("--index-url", default=None, help="pip index to install from.")
@click.option(
    "--dagwright",
    "dagwright_requirement",
    default=None,
    help="Requirement for dagwright (default: this release, if installed from an index).",
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
    from dagwright.writes import check_target, write_file

    with reported():
        if output is not None:
            check_target(output, "-o")
        # the image's dagwright: --dagwright, else the running release (refused when it is
        # not one from a package index, as for inline delivery)
        delivery = CodeDelivery(mode="image", index_url=index_url, dagwright=dagwright_requirement)
        text = render(
            load_target(target),
            Path.cwd(),
            base_image=base_image or DEFAULT_IMAGE,
            delivery=delivery,
        )
        if output is None:
            click.echo(text, nl=False)
        else:
            write_file(output, text, field="-o")
            click.echo(f"wrote {output}", err=True)
