"""What the ``dagwright`` commands share at run time: exit codes, error reporting, standard
output that outlives its reader, loading a pipeline, ``-p name=value`` parsing, which options
were given, and times as the commands print them. The option blocks themselves are in
``dagwright.cli.options``."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TextIO

import click
from click.core import ParameterSource

from dagwright.errors import ValidationError
from dagwright.extras import extra_missing, missing
from dagwright.redact import redact_text

EXIT_FAILED = 1
EXIT_INVALID = 2
# stopped by Ctrl-C (SIGINT): the shell's 128 + 2
EXIT_INTERRUPTED = 130


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
    """The IR of ``FILE.py[:PIPELINE]``, of a saved IR file or of a KFP pipeline (what its
    import could not keep said as ``warning: ...`` lines, as compile says its warnings)."""
    import warnings

    from dagwright.api import to_ir
    from dagwright.loader import load_pipeline

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = to_ir(load_pipeline(target))
    for warning in caught:
        if warning.category.__name__ == "KfpImportWarning":  # known by name: kfp not loaded
            click.echo(f"warning: {warning.message}", err=True)
        else:  # any other warning goes on as it came
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return ir


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


def given_flag(name: str) -> str | None:
    """The long flag of the running command's option ``name`` when it was given (on the
    command line or through its environment variable), else None."""
    ctx = click.get_current_context()
    source = ctx.get_parameter_source(name)
    if source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
        return None
    param = next(p for p in ctx.command.params if p.name == name)
    return max(param.opts, key=len)


def when(stamp: float | None, timezone: str | None = None) -> str:
    """A POSIX time stamp as the commands print it, to the second.

    Args:
        stamp: The time; None prints ``-``.
        timezone: None for local time (``2026-12-01 08:00:00``, as run listings show it), or
            an IANA zone, printed with its offset (``2026-12-01T08:00:00+01:00``, as
            schedules show their fire times).
    """
    import datetime

    if stamp is None:
        return "-"
    if timezone is None:
        return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")
    from dagwright.schedules.cron import zone

    return datetime.datetime.fromtimestamp(stamp, zone(timezone)).isoformat(timespec="seconds")


@dataclass
class StopSignals:
    """A signal handler for a command that runs until stopped (serve, scheduler): the signals
    it receives are kept and ``stopped`` is set."""

    stopped: threading.Event = field(default_factory=threading.Event)
    received: list[int] = field(default_factory=list)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        """Keep ``signum`` and set ``stopped``."""
        self.received.append(signum)
        self.stopped.set()

    def exit_code(self) -> int:
        """130 when Ctrl-C (SIGINT) came first; else 0, SIGTERM being an orderly stop."""
        return EXIT_INTERRUPTED if self.received and self.received[0] == signal.SIGINT else 0


def existing_store(root: Any) -> Any:
    """The store at ``--root``, whose run database must exist already (nothing is created).

    Raises:
        ValidationError: (field ``--root``) when the folder holds no run database.
    """
    from dagwright.errors import ValidationError
    from dagwright.store.local import LocalStore

    store = LocalStore(root)
    if not (store.root / "runs.db").exists():  # one that is not a database: when opened
        raise ValidationError(
            f"no run database in '{store.root}'",
            field="--root",
            fix="run a pipeline first, or point --root at its store",
        )
    return store


@contextmanager
def remote_errors() -> Iterator[None]:
    """A refusing or unreachable cluster (``SubmitError``) is a short message and exit 1, not
    a traceback."""
    from dagwright.remote import SubmitError

    try:
        yield
    except SubmitError as exc:
        click.echo(f"error: {redact_text(str(exc))}", err=True)  # no password of a --host
        sys.exit(EXIT_FAILED)
