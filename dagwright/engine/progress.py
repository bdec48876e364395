"""What a run shows while it goes: a line per finished step, or a live table (rich).

The engine calls an observer when a step starts and finishes and when the run ends; observers
never change the run. When it ends, both leave each step's outcome on screen (``report.py``).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from dagwright.engine.report import (
    FAILED_ROWS,
    STEP_ROWS,
    Where,
    aligned,
    counts_text,
    detail,
    failures,
    footer,
    shown_status,
    step_rows,
    task_rows,
)
from dagwright.engine.result import (
    FAILED,
    INTERRUPTED,
    RUNNING,
    SUCCEEDED,
    RunResult,
    StepRecord,
)
from dagwright.redact import shown

if TYPE_CHECKING:
    from rich.console import Console


class Observer(Protocol):
    """What the engine tells about a run as it goes, on its dispatch thread."""

    def run_started(self, pipeline: str, run_id: str) -> None:
        """The run began."""

    def step_started(self, record: StepRecord) -> None:
        """A step began running."""

    def step_finished(self, record: StepRecord) -> None:
        """A step ended: succeeded, failed, skipped, cached, reused or cancelled."""

    def run_finished(self, result: RunResult) -> None:
        """The run ended, however it ended."""


def summary(result: RunResult, seconds: float) -> str:
    """One line: the run, its status, what its steps did and how long it took."""
    counts = counts_text(Counter(shown_status(r) for r in result.steps))
    return f"run {result.run_id} {result.status}: {counts or 'no steps'} in {seconds:.2f}s"


class Observers:
    """Several observers as one, called in order. An observer that raises is logged and
    skipped: watching a run (progress, lineage) never changes how it ends."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def _each(self, event: str, *args: Any) -> None:
        for observer in self.observers:
            try:
                getattr(observer, event)(*args)
            except Exception:
                logging.getLogger("dagwright").warning(
                    "%s failed on %s; the run goes on",
                    type(observer).__name__,
                    event,
                    exc_info=True,
                )

    def run_started(self, pipeline: str, run_id: str) -> None:
        """Tell every observer that the run began."""
        self._each("run_started", pipeline, run_id)

    def step_started(self, record: StepRecord) -> None:
        """Tell every observer that a step began."""
        self._each("step_started", record)

    def step_finished(self, record: StepRecord) -> None:
        """Tell every observer that a step ended."""
        self._each("step_finished", record)

    def run_finished(self, result: RunResult) -> None:
        """Tell every observer that the run ended."""
        self._each("run_finished", result)


class LinePrinter:
    """A line per finished step (with the traceback of a failure), then the summary and, given
    ``where``, where the results are and the commands to look at them."""

    def __init__(self, write: Callable[[str], None], where: Where | None = None) -> None:
        self.write = write
        self.where = where
        self.started = time.perf_counter()

    def run_started(self, pipeline: str, run_id: str) -> None:
        """Write the run's first line."""
        self.started = time.perf_counter()
        self.write(f"run {run_id} of pipeline '{pipeline}'")

    def step_started(self, record: StepRecord) -> None:
        """Nothing: a step's line is written when it finishes."""
        pass  # lines are written when steps finish

    def step_finished(self, record: StepRecord) -> None:
        """Write the step's line, and its error when it failed."""
        mark = {SUCCEEDED: "✓", FAILED: "✗"}.get(record.status, "-")
        self.write(f"  {mark} {record.shown:<32} {shown_status(record):<16} {record.duration:.3f}s")
        if record.error:
            text = detail(record)
            self.write("\n".join("      " + line for line in text.rstrip().splitlines()))

    def run_finished(self, result: RunResult) -> None:
        """Write the steps that were still running, the summary, then the footer or the outputs."""
        for record in result.steps:
            if record.status == INTERRUPTED:  # stopped while running: never reported finished
                self.step_finished(record)
        self.write(summary(result, time.perf_counter() - self.started))
        if self.where is None:
            for name, value in result.outputs.items():
                self.write(f"  output {name} = {shown(name, value)!r}")
            return
        for line in footer(result, self.where):
            self.write(line)


TRACEBACKS = 3  # failures shown with their traceback; the others with their first line


class LiveView:
    """A live table of running steps and counts per state, redrawn as the run goes (rich);
    when the run ends the table gives way to each step's outcome (a row per task in big runs),
    the failures, the summary and ``where``.

    The console writes to the real stderr found when the view is made, and the live display
    does not redirect ``sys.stdout``/``sys.stderr``: steps capture their prints by replacing
    them (``runtimes/capture.py``), and a console writing back through those would loop.
    """

    def __init__(self, console: Console | None = None, where: Where | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        from dagwright.runtimes.capture import underlying

        self.console = console or Console(file=underlying(sys.stderr))
        self.where = where
        self.lock = threading.Lock()  # the refresh thread renders while the engine reports
        self.running: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self.records: list[StepRecord] = []
        self.title = ""
        self.run_id = ""
        self.started = time.perf_counter()
        self.live = Live(
            console=self.console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            get_renderable=self._render,
        )

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=self.title, show_header=True, header_style="bold", min_width=len(self.title)
        )
        table.add_column("step")
        table.add_column("state")
        table.add_column("time", justify="right")
        now = time.perf_counter()
        with self.lock:
            running = list(self.running.items())
            counts = counts_text(self.counts) or "starting"
        for label, since in running[:20]:
            table.add_row(Text(label), RUNNING, f"{now - since:.1f}s")
        table.caption = f"{len(running)} running; {counts}; {now - self.started:.1f}s"
        return table

    def run_started(self, pipeline: str, run_id: str) -> None:
        """Start the live display."""
        self.title = f"{pipeline} ({run_id})"
        self.run_id = run_id
        self.started = time.perf_counter()
        self.live.start()

    def step_started(self, record: StepRecord) -> None:
        """Show the step among the running ones."""
        with self.lock:
            self.running[record.shown] = time.perf_counter()

    def step_finished(self, record: StepRecord) -> None:
        """Count the step by its outcome."""
        with self.lock:
            self.running.pop(record.shown, None)
            self.counts[shown_status(record)] += 1
            self.records.append(record)

    def run_finished(self, result: RunResult) -> None:
        """Stop the live display and leave each step's outcome, the outputs and the footer."""
        self.live.stop()
        self._outcomes(result.steps)
        self._print(summary(result, time.perf_counter() - self.started))
        if self.where is None:
            for name, value in result.outputs.items():
                self._print(f"  output {name} = {shown(name, value)!r}")
            return
        for line in footer(result, self.where):
            self._print(line)

    def close(self) -> None:
        """Stop the live display (the run ended some other way than run_finished)."""
        self.live.stop()

    def _outcomes(self, records: list[StepRecord]) -> None:
        failed = failures(records)
        for record in [r for r in failed if r.traceback][:TRACEBACKS]:
            self._print(f"✗ {record.label}", style="red")
            self._print(detail(record))
        if len(records) <= STEP_ROWS:
            rows = step_rows(records)
            width = 4 if any(r[3] for r in rows) else 3
            header, *lines = aligned(
                ("step", "outcome", "time", "error")[:width], [r[:width] for r in rows], (2,)
            )
            self._print(header, style="bold")
            for line, row in zip(lines, rows, strict=True):
                self._print(line, style=_STYLES.get(row[1]))
            return
        header, *lines = aligned(
            ("task", "steps", "outcomes", "total time"), task_rows(records), (1, 3)
        )
        self._print(header, style="bold")
        for line in lines:
            self._print(line)
        for label, status, took, error in step_rows(failed[:FAILED_ROWS]):
            self._print(f"  ✗ {label} {status} {took} {error}", style="red")
        if len(failed) > FAILED_ROWS:
            self._print(f"  ... and {len(failed) - FAILED_ROWS} more failed steps (runs show)")

    def _print(self, text: str, style: str | None = None) -> None:
        # soft wrap: a long path or command stays one line, to copy whole
        self.console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


_STYLES = {
    "failed": "red",
    "upstream_failed": "yellow",
    "cancelled": "yellow",
    "interrupted": "yellow",
}
