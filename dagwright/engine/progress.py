"""What a run shows while it goes: a line per finished step, or a live table (rich).

The engine calls an observer when a step starts and finishes and when the run ends; observers
never change the run.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from dagwright.engine.result import FAILED, RUNNING, SUCCEEDED, RunResult, StepRecord
from dagwright.redact import scrub, secret_values, shown

if TYPE_CHECKING:
    from rich.console import Console


class Observer(Protocol):
    def run_started(self, pipeline: str, run_id: str) -> None: ...

    def step_started(self, record: StepRecord) -> None: ...

    def step_finished(self, record: StepRecord) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...


def shown_status(record: StepRecord) -> str:
    if record.cached:
        return "cached"
    if record.reused:
        return "reused"
    return record.status


def _detail(record: StepRecord) -> str:
    """A failed step's traceback or error, without the values of its secret arguments."""
    parameters = (record.inputs or {}).get("parameters")
    return scrub(record.traceback or record.error, secret_values(parameters)) or ""


def summary(result: RunResult, seconds: float) -> str:
    """One line: the run, its status, what its steps did and how long it took."""
    counts = Counter(shown_status(r) for r in result.steps)
    order = ("succeeded", "cached", "reused", "skipped", "failed", "upstream_failed", "cancelled")
    parts = [f"{counts[s]} {s}" for s in order if counts[s]]
    return (
        f"run {result.run_id} {result.status}: {', '.join(parts) or 'no steps'} in {seconds:.2f}s"
    )


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
        self._each("run_started", pipeline, run_id)

    def step_started(self, record: StepRecord) -> None:
        self._each("step_started", record)

    def step_finished(self, record: StepRecord) -> None:
        self._each("step_finished", record)

    def run_finished(self, result: RunResult) -> None:
        self._each("run_finished", result)


class LinePrinter:
    """A line per finished step (with the traceback of a failure), then the summary."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.started = time.perf_counter()

    def run_started(self, pipeline: str, run_id: str) -> None:
        self.started = time.perf_counter()
        self.write(f"run {run_id} of pipeline '{pipeline}'")

    def step_started(self, record: StepRecord) -> None:
        pass  # lines are written when steps finish

    def step_finished(self, record: StepRecord) -> None:
        mark = {SUCCEEDED: "✓", FAILED: "✗"}.get(record.status, "-")
        self.write(f"  {mark} {record.label:<32} {shown_status(record):<16} {record.duration:.3f}s")
        if record.error:
            detail = _detail(record)
            self.write("\n".join("      " + line for line in detail.rstrip().splitlines()))

    def run_finished(self, result: RunResult) -> None:
        self.write(summary(result, time.perf_counter() - self.started))
        for name, value in result.outputs.items():
            self.write(f"  output {name} = {shown(name, value)!r}")


class LiveView:
    """A live table of running steps and counts per state, redrawn as the run goes (rich)."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=8, transient=True)
        self.running: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self.failures: list[StepRecord] = []
        self.title = ""
        self.started = time.perf_counter()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, show_header=True, header_style="bold")
        table.add_column("step")
        table.add_column("state")
        table.add_column("time", justify="right")
        now = time.perf_counter()
        for label, since in list(self.running.items())[:20]:
            table.add_row(label, RUNNING, f"{now - since:.1f}s")
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "starting"
        table.caption = f"{len(self.running)} running; {counts}; {now - self.started:.1f}s"
        return table

    def run_started(self, pipeline: str, run_id: str) -> None:
        self.title = f"{pipeline} ({run_id})"
        self.started = time.perf_counter()
        self.live.start()
        self.live.update(self._render())

    def step_started(self, record: StepRecord) -> None:
        self.running[record.label] = time.perf_counter()
        self.live.update(self._render())

    def step_finished(self, record: StepRecord) -> None:
        self.running.pop(record.label, None)
        self.counts[shown_status(record)] += 1
        if record.status == FAILED:
            self.failures.append(record)
        self.live.update(self._render())

    def run_finished(self, result: RunResult) -> None:
        self.live.stop()
        for record in self.failures:
            self.console.print(f"✗ {record.label}", style="red", markup=False, highlight=False)
            self.console.print(_detail(record), markup=False, highlight=False)
        self.console.print(
            summary(result, time.perf_counter() - self.started), markup=False, highlight=False
        )
        for name, value in result.outputs.items():
            line = f"  output {name} = {shown(name, value)!r}"
            self.console.print(line, markup=False, highlight=False)
