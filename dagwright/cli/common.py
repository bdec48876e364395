"""What the ``dagwright`` commands share: exit codes, error reporting, loading a pipeline,
``-p name=value`` parsing and the options of cluster targets."""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import click
from click.core import ParameterSource

from dagwright.errors import ValidationError
from dagwright.extras import extra_missing, missing
from dagwright.redact import redact_text

EXIT_FAILED = 1
EXIT_INVALID = 2


@contextmanager
def reported() -> Iterator[None]:
    """Print a ValidationError without a traceback and exit 2; user-code errors exit 1.

    A missing optional package (an extra) is bad input too: exit 2 naming the extra. A reader
    that closed the pipe (``| head``) is ``outlive_the_reader``'s (or click's) to handle.
    """
    try:
        yield
    except ValidationError as exc:
        click.echo(redact_text(f"error: {exc}"), err=True)
        sys.exit(EXIT_INVALID)
    except (SystemExit, KeyboardInterrupt, click.exceptions.Exit, BrokenPipeError):
        raise
    except ImportError as exc:
        module = extra_missing(exc)
        if module is None:
            click.echo(redact_text(traceback.format_exc()), err=True)
            sys.exit(EXIT_FAILED)
        error = missing(module, field="extras", needed_for="this command")
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_INVALID)
    except Exception:
        click.echo(redact_text(traceback.format_exc()), err=True)  # URIs quoted by libraries
        sys.exit(EXIT_FAILED)


class _ReaderGone(io.TextIOBase):
    """Standard output that outlives its reader: once a pipe's reader has gone (``| head``),
    writes go to /dev/null instead of raising BrokenPipeError. A run goes on and records its
    end; a listing finishes quietly; nothing prints a traceback."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()
            self.stream.flush()  # what was buffered goes to /dev/null now

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.stream.fileno())
        finally:
            os.close(devnull)

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def buffer(self) -> Any:  # for code that writes bytes
        return self.stream.buffer

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors


def outlive_the_reader() -> None:
    """Install ``_ReaderGone`` on standard output when it is a pipe or a file (a terminal
    cannot close on us)."""
    stream = sys.stdout
    if stream is not None and not isinstance(stream, _ReaderGone) and not stream.isatty():
        sys.stdout = _ReaderGone(stream)


def load_target(target: str) -> Any:
    """The IR of ``FILE.py[:PIPELINE]`` or of a saved IR file."""
    from dagwright.api import to_ir
    from dagwright.loader import load_pipeline

    return to_ir(load_pipeline(target))


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``-p name=value`` pairs as a dict of strings (typed later, against the pipeline)."""
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


# the store folder, the same option on every command that reads or writes a store
ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Store folder (default: $DAGWRIGHT_HOME or ./.dagwright).",
)


def not_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: an option given as "" is refused, not read as "not given" (an empty
    --cron would otherwise take the pipeline's own schedule, an empty --timezone UTC)."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty; give a value or leave the option out")
    return value


def given_flag(name: str) -> str | None:
    """The long flag of the running command's option ``name`` when it was given (on the
    command line or through its environment variable), else None."""
    ctx = click.get_current_context()
    source = ctx.get_parameter_source(name)
    if source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
        return None
    param = next(p for p in ctx.command.params if p.name == name)
    return max(param.opts, key=len)


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
            help="Requirement pods install dagwright from (a pin, a wheel URL). Default: "
            "dagwright==<this version>, allowed only for a release installed from an index.",
        ),
        click.option("--pipeline-root", default=None, help="KFP: where runs keep artifacts."),
        click.option(
            "--tracking-uri",
            default=None,
            help="MLflow tracking URI the pods record lineage to (default: none).",
        ),
        click.option(
            "--strict", is_flag=True, help="Fail instead of warning when the spec is too large."
        ),
        click.option(
            "--allow-pickle",
            is_flag=True,
            help="Let pods unpickle (joblib) artifacts; that runs code from the artifact store.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def compile_options(values: dict[str, Any]) -> dict[str, Any]:
    """The target options given on the command line, as ``compile_ir`` takes them."""
    renamed = {"dagwright_requirement": "dagwright", "argo_kind": "kind"}
    return {renamed.get(k, k): v for k, v in values.items() if v not in (None, False)}


def argo_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options only the Argo target takes."""
    options = [
        click.option("--service-account", default=None, help="Argo: the pods' service account."),
        click.option(
            "--artifact-repository",
            default=None,
            help="Argo: s3 or gcs (the cluster's default repository of that kind), or "
            "s3://bucket/prefix, gs://bucket/prefix.",
        ),
        click.option(
            "--artifact-repository-ref",
            default=None,
            help="Argo: CONFIGMAP[:KEY] naming the artifact repository to use.",
        ),
        click.option(
            "--artifact-endpoint",
            default=None,
            help="Argo: endpoint of an s3:// bucket: host[:port] or https://host[:port] (TLS), "
            "http://host[:port] (no TLS); s3.amazonaws.com for AWS.",
        ),
        click.option(
            "--artifact-secret", default=None, help="Argo: Secret with the store's credentials."
        ),
        click.option(
            "--timezone", default=None, callback=not_blank, help="Argo cron: IANA timezone."
        ),
        # Argo's own spelling, kept working but hidden: --concurrency (allow|forbid|replace)
        # is the one option for this on every command, as the local scheduler reads it
        click.option(
            "--concurrency-policy",
            type=click.Choice(["Allow", "Forbid", "Replace"]),
            default=None,
            hidden=True,
            help="Argo cron: what to do when a run is due while one runs (default Forbid).",
        ),
        click.option(
            "--starting-deadline-seconds",
            type=click.IntRange(min=0),
            default=None,
            help="Argo cron: how late a missed run may still start.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
