"""``dagwright scheduler``: the foreground daemon that fires the store's local schedules, and
how it reports what it does.

It exits 0 on SIGTERM and 130 on Ctrl-C, 2 on bad input.
"""

from __future__ import annotations

import math
import signal
import sys
from pathlib import Path

import click

from dagwright.cli.common import StopSignals, reported
from dagwright.cli.options import ROOT
from dagwright.errors import ValidationError
from dagwright.schedules.daemon import LEASE, CronDaemon, Event


@click.command()
@ROOT
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help=f"Seconds between looks at the schedules (at most a third of the {LEASE:g} s lease).",
)
def scheduler(root: Path | None, interval: float) -> None:
    """Start the runs of the store's schedules when due, until SIGTERM or Ctrl-C.

    One scheduler per store is active: another started on the same store waits (standby)
    until the active one's lease lapses, or takes over at once when the active one died on
    this host (and then fires the slots due since its last look). Runs already started go
    on when it stops.
    """
    from dagwright.store.local import LocalStore

    stop = StopSignals()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with reported():
            if not math.isfinite(interval):  # click's range lets nan through
                raise ValidationError(
                    f"--interval {interval} is not a number of seconds",
                    field="--interval",
                    fix="pass a number of seconds such as --interval 1 (the default)",
                )
            if interval > LEASE / 3:
                # the lease is renewed each tick: ticks further apart let it lapse in between
                raise ValidationError(
                    f"--interval {interval:g} is more than a third of the scheduler's lease "
                    f"({LEASE:g} s)",
                    field="--interval",
                    fix=f"pass --interval {LEASE / 3:g} or less (default 1)",
                )
            daemon = _Reporting(LocalStore(root).root, interval=interval)
            click.echo(
                f"scheduler {daemon.holder} on store {daemon.root} (every {interval:g}s); "
                "SIGTERM or Ctrl-C stops it"
            )
            daemon.serve(stop.stopped, echo=click.echo)
        released = "; lease released" if daemon.active else ""
        click.echo(f"scheduler {daemon.holder} stopped{released}")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(stop.exit_code())


class _Reporting(CronDaemon):
    """A CronDaemon that says when it becomes active or goes on standby."""

    active: bool | None = None

    def tick(self) -> list[Event]:
        events = super().tick()
        holder = self.book.holder(self.clock.now())
        active = holder == self.holder
        if active != self.active:
            self.active = active
            click.echo(
                f"active: {self.holder} holds the lease"
                if active
                else f"standby: scheduler {holder} holds the lease; waiting for it to lapse"
            )
        return events
