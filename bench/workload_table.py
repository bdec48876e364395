"""The table of ``python -m bench workloads``: its rows, the issue's targets, the notes.

A case is one row: the commands of its workloads and the best time of each. Per-step figures
are differences of whole-process times, ``(t_chain - t_1) / (N - 1)`` in the chain and
``(t_fan - t_1) / (N + 1)`` in the 1 -> N -> 1 fan; under load the difference can come out
negative, which means "below noise" and is never used as a ratio's term.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

NOISE_MS = 0.05  # a per-step figure below this is not a denominator worth printing
ON, OFF = "dagwright, lineage on (default)", "dagwright, lineage off"
PROCESS = "dagwright, Process(), lineage on"


@dataclass
class Case:
    """One row of the table: how to run each of its workloads, and the best times seen."""

    row: str
    tool: str
    folder: Path
    env: dict[str, str]
    commands: dict[str, list[str]] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    failed: str = ""
    sync: list[str] | None = None  # the untimed command that lets background work finish
    synced: dict[str, float] = field(default_factory=dict)  # its longest wait, per workload


@dataclass
class Sizes:
    """The chain's and the fan's N, and the long chain's."""

    chain: int
    fan: int
    long: int


def per_step_ms(case: Case, key: str, extra_steps: int) -> float | None:
    if key not in case.best or "1-step" not in case.best:
        return None
    return (case.best[key] - case.best["1-step"]) / extra_steps * 1e3


def ratio(value: float | None, reference: float | None, floor: float) -> str:
    if value is None or reference is None or value < 0 or reference < floor:
        return "-"  # a negative per-step figure is noise: the chain ran as fast as one step
    shown = value / reference
    if shown < 0.1:  # luigi's per step beside a slow default: keep a digit that is not 0
        return f"{shown:.3f}x"
    return f"{shown:.2f}x" if shown < 10 else f"{shown:.0f}x"


def rows(cases: list[Case], sizes: Sizes) -> list[tuple[str, ...]]:
    reference = next((c for c in cases if c.row == ON and not c.failed), None)
    ref_one = reference.best.get("1-step") if reference else None
    ref_step = per_step_ms(reference, "chain", sizes.chain - 1) if reference else None
    table: list[tuple[str, ...]] = []
    for case in cases:
        if case.failed:
            continue
        one = case.best.get("1-step")
        step = per_step_ms(case, "chain", sizes.chain - 1)
        fan = per_step_ms(case, "fan", sizes.fan + 1)
        long = case.best.get("long")
        imported = import_seconds(case)
        table.append(
            (
                case.row,
                "-" if one is None else f"{one:.2f}",
                "-" if step is None else f"{step:.2f}",
                "-" if fan is None else f"{fan:.2f}",
                "-" if long is None else f"{long:.2f}",
                ratio(one, ref_one, 1e-3),
                ratio(step, ref_step, NOISE_MS),
                "-" if imported is None else f"{imported:.3f}",
            )
        )
    return table


def import_seconds(case: Case) -> float | None:
    """``import <tool>`` beyond a bare start of the same interpreter, or None."""
    if "import" not in case.best or "bare" not in case.best:
        return None
    return case.best["import"] - case.best["bare"]


def targets(cases: list[Case], sizes: Sizes) -> list[str]:
    """The issue's targets, each with this run's figure and whether it is met."""
    by_row = {c.row: c for c in cases if not c.failed}
    lines = []

    def check(label: str, value: float | None, limit: float, unit: str) -> None:
        if value is None:
            lines.append(f"  {label} <= {limit:g}{unit}: not measured")
            return
        verdict = "met" if value <= limit else "MISSED"
        verdict += " (below noise)" if value < 0 else ""
        lines.append(f"  {label} <= {limit:g}{unit}: {value:.2f}{unit} {verdict}")

    for row, one_limit, step_limit in ((ON, 0.30, 0.5), (OFF, 0.25, 0.3)):
        case = by_row.get(row)
        name = "lineage on" if row == ON else "lineage off"
        check(f"{name}, 1-step run", case.best.get("1-step") if case else None, one_limit, " s")
        step = per_step_ms(case, "chain", sizes.chain - 1) if case else None
        check(f"{name}, per extra step", step, step_limit, " ms")
    on, off = by_row.get(ON), by_row.get(OFF)
    check("import dagwright", import_seconds(on) if on else None, 0.08, " s")
    if on and off and "long" in on.best and "long" in off.best:
        check(f"{sizes.long:,}-step chain, on / off", on.best["long"] / off.best["long"], 1.5, "x")
    else:
        lines.append(f"  {sizes.long:,}-step chain, on / off <= 1.5x: not measured")
    process = by_row.get(PROCESS)
    step = per_step_ms(process, "chain", sizes.chain - 1) if process else None
    check("Process(), per extra step", step, 20.0, " ms")
    local = per_step_ms(on, "chain", sizes.chain - 1) if on else None
    if step is not None and local is not None:
        lines.append(
            f"  (Process() vs Local(), lineage on, {sizes.chain}-step chain: {step:.2f} vs "
            f"{local:.2f} ms per extra step)"
        )
    return lines


def sync_note(cases: list[Case], sizes: Sizes) -> str:
    """How long MLflow took to get a lineage-on run's lineage after the run had returned."""
    on = next((c for c in cases if c.row == ON), None)
    if on is None or on.sync is None:
        return "lineage on: runs return once MLflow has their lineage (no 'lineage sync --wait')"
    names = {"1-step": "1-step", "chain": f"{sizes.chain}-step", "fan": "fan"}
    names["long"] = f"{sizes.long:,}-step"
    waits = ", ".join(f"{names[k]} {on.synced[k]:.2f} s" for k in on.commands if k in on.synced)
    return f"lineage on: 'lineage sync --wait' after a run returned waited at most: {waits}"


def mlflow_note() -> str:
    """What "lineage on" meant in this run: MLflow is only used when it is installed."""
    if importlib.util.find_spec("mlflow") is None:
        return (
            "lineage on: mlflow is not installed here, so lineage stayed local (pip install mlflow)"
        )
    return "lineage on: mlflow is installed here, so runs recorded lineage to MLflow (SQLite store)"
