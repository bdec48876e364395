"""What stays on screen after a run: each step's outcome (or, for big runs, a row per task and
every failure), where the outputs, artifacts and metrics are, and the commands to look at them.

Both progress observers print it; the live view would otherwise leave only its summary line.
"""

from __future__ import annotations

import shlex
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dagwright.components.artifacts import Artifact, Metrics
from dagwright.engine.result import BAD, FAILED, SUCCEEDED, RunResult, StepRecord
from dagwright.redact import scrub, secret_values, shown

STEP_ROWS = 40  # up to this many executions a row each; beyond, a row per task
FAILED_ROWS = 20  # failures listed one by one, beyond a row per task
ORDER = ("succeeded", "cached", "reused", "skipped", "failed", "upstream_failed", "cancelled")


@dataclass(frozen=True)
class Where:
    """The store a run was recorded in, for the footer.

    Attributes:
        root: The store folder (``runs.db``, ``lineage/``); None to leave it out.
        root_given: The user chose it (``--root``): the commands shown repeat it.
        lineage: The run's provenance was recorded (``dagwright lineage show`` has it).
    """

    root: Path | None = None
    root_given: bool = False
    lineage: bool = True

    def command(self, *words: str) -> str:
        """A ``dagwright`` command line, with ``--root`` when the user gave one."""
        given = ["--root", str(self.root)] if self.root_given and self.root is not None else []
        return shlex.join(["dagwright", *words, *given])


def shown_status(record: StepRecord) -> str:
    """The status shown for a step: ``cached`` and ``reused`` apart from ``succeeded``."""
    if record.cached:
        return "cached"
    if record.reused:
        return "reused"
    return record.status


def counts_text(counts: Counter[str]) -> str:
    """``3 succeeded, 1 failed``: states in a fixed order, unknown ones last."""
    known = [f"{counts[s]} {s}" for s in ORDER if counts[s]]
    other = [f"{n} {s}" for s, n in sorted(counts.items()) if s not in ORDER and n]
    return ", ".join(known + other)


def first_line(text: str | None) -> str:
    """The first line of a text, or ``""``."""
    return text.strip().splitlines()[0] if text and text.strip() else ""


def detail(record: StepRecord) -> str:
    """A failed step's traceback or error, without the values of its secret arguments."""
    return _scrubbed(record, record.traceback or record.error)


def _scrubbed(record: StepRecord, text: str | None) -> str:
    parameters = (record.inputs or {}).get("parameters")
    return scrub(text, secret_values(parameters)) or ""


def step_rows(records: list[StepRecord]) -> list[tuple[str, str, str, str]]:
    """A row per execution: step, outcome, time, the first line of its error."""
    return [
        (r.shown, shown_status(r), f"{r.duration:.2f}s", first_line(_scrubbed(r, r.error)))
        for r in records
    ]


def task_rows(records: list[StepRecord]) -> list[tuple[str, str, str, str]]:
    """A row per task: task, executions, counts per outcome, the time its executions took."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    took: dict[str, float] = defaultdict(float)
    for r in records:
        counts[r.task][shown_status(r)] += 1
        took[r.task] += r.duration
    return [
        (task, str(sum(c.values())), counts_text(c), f"{took[task]:.2f}s")
        for task, c in counts.items()
    ]


def aligned(
    headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: tuple[int, ...] = ()
) -> list[str]:
    """Rows as lines of aligned columns (the last one unpadded); ``right``: columns by index
    aligned right. Plain lines, so a narrow terminal wraps them instead of cutting them."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        cells[-1] = cells[-1].rstrip() if len(row) - 1 not in right else cells[-1]
        return " " + "  ".join(cells).rstrip()

    return [line(headers)] + [line(r) for r in rows]


def failures(records: list[StepRecord]) -> list[StepRecord]:
    """The records of steps that failed."""
    return [r for r in records if r.status == FAILED]


def metrics(result: RunResult) -> list[tuple[str, str, str]]:
    """Each Metrics output: step, its values, where its file is."""
    found = []
    for r in result.steps:
        for artifact in _artifacts(r):
            if isinstance(artifact, Metrics):
                values = ", ".join(
                    f"{k}={shown(k, v)}" for k, v in sorted(artifact.metadata.items())
                )
                found.append((f"{r.label}.{artifact.name}", values, artifact.uri))
    return found


def _artifacts(record: StepRecord) -> list[Artifact]:
    values = (record.outputs or {}).values()
    return [v for v in values if isinstance(v, Artifact)]


def footer(result: RunResult, where: Where) -> list[str]:
    """Where the run's outputs, artifacts and metrics are, and what to type next."""
    lines = [f"  output {name} = {shown(name, value)!r}" for name, value in result.outputs.items()]
    found = metrics(result)
    for label, values, uri in found[:5]:
        lines.append(f"  metrics {label}: {values or '(none)'} ({uri})")
    if len(found) > 5:
        lines.append(f"  metrics: {len(found) - 5} more, see `runs show`")
    if result.artifacts:
        lines.append(f"  artifacts  {result.artifacts}")
    if where.root is not None:
        lines.append(f"  run record {where.root / 'runs.db'}")
    run = result.run_id
    bad = [r for r in result.steps if r.status in BAD]
    printed = [r for r in result.steps if r.stdout or r.stderr]
    pointed = next((r for r in bad if r.status == FAILED), None) or next(
        iter([r for r in printed if r.status in BAD] or printed or result.steps[-1:]), None
    )
    hints = [(where.command("runs", "show", run), "every step, parameters and outputs")]
    if pointed is not None:
        step = pointed.label.replace(",", ".")
        failed = pointed.status == FAILED or (bad and pointed.status not in BAD)
        what = "the failed step's output and traceback" if failed else "what a step printed"
        hints.append((where.command("logs", run, step), what))
        if pointed.status == FAILED:
            again = where.command("replay", run, step, "--pdb")
            hints.append((again, "that step again, here, stopping in pdb where it raises"))
    if where.lineage:
        hints.append((where.command("lineage", "show", run), "where each artifact came from"))
    if bad or result.status != SUCCEEDED:
        hints.append((where.command("resume", run), "run again what did not succeed"))
    width = max(len(c) for c, _ in hints)
    lines.append("next:")
    lines.extend(f"  {c:<{width}}  # {why}" for c, why in hints)
    return lines
