"""``python -m bench lineage``: upstream and downstream queries on a synthetic provenance graph.

The graph is built through ``Lineage.add_run``/``add_step``, as the engine records runs, and
has two pipelines' worth of realistic shapes:

- ``ingest``, once a "day": 8 shards fetched and cleaned in a loop (chains), combined (an
  8-way fan-in) and merged into the previous day's history (a chain across runs, 2-way fan-in);
- ``train``, every 3rd day: split that history, train, evaluate (model + test set fan-in) and
  report against the previous training run's metrics (a chain across runs); a re-run with
  the same inputs every 4th training day, whose cached split links the existing artifacts.

Target: ``upstream(..., depth=10)`` of a recent model in <= 10 ms (median of many calls after
the first). Rows also time the same query from other starts and from a digest prefix to
resolve, deeper, and downstream.

Usage: ``python -m bench lineage [--artifacts N] [--calls N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from dagwright.lineage import query, store
from dagwright.lineage.graph import Lineage, artifact_node

SHARDS = 8
TARGET_MS = 10.0


class Synthetic:
    """Builds the graph; each artifact gets a distinct content digest."""

    def __init__(self) -> None:
        self.lineage = Lineage()
        self.count = 0
        self.models: list[str] = []
        self.shards: list[str] = []

    def artifact(self, name: str, run: str, task: str) -> dict[str, Any]:
        self.count += 1
        digest = hashlib.sha256(str(self.count).encode()).hexdigest()
        uri = f"/store/artifacts/{run}/{task}/{name}"
        return {"name": name, "type": "Dataset", "uri": uri, "digest": digest}

    def step(self, run: str, label: str, used: dict[str, Any], made: dict[str, Any]) -> None:
        params = {k: v for k, v in used.items() if not isinstance(v, (dict, list))}
        artifacts = {k: v for k, v in used.items() if isinstance(v, (dict, list))}
        self.lineage.add_step(
            run,
            label,
            task=label.split("[")[0],
            component=label.split("[")[0],
            component_digest=hashlib.sha256(label.split("[")[0].encode()).hexdigest(),
            status="succeeded",
            inputs={"parameters": params, "artifacts": artifacts},
            outputs=made,
            cached=bool(used.get("cached")),
        )

    def ingest(self, day: int, history: dict[str, Any] | None) -> dict[str, Any]:
        run = f"ingest-{day:05d}"
        self.lineage.add_run(run, "ingest", {"day": day}, status="succeeded")
        cleaned = []
        for i in range(SHARDS):
            raw = self.artifact("raw", run, f"fetch/{i}")
            self.shards.append(artifact_node(raw))
            self.step(run, f"fetch[{i}]", {"day": day, "shard": i}, {"raw": raw})
            cleaned.append(self.artifact("clean", run, f"clean/{i}"))
            self.step(run, f"clean[{i}]", {"raw": raw}, {"clean": cleaned[-1]})
        combined = self.artifact("combined", run, "combine")
        self.step(run, "combine", {"parts": cleaned}, {"combined": combined})
        merged = self.artifact("history", run, "merge")
        used = {"new": combined, **({"history": history} if history else {})}
        self.step(run, "merge", used, {"history": merged})
        return merged

    def train(self, day: int, history: dict[str, Any], previous: dict[str, Any] | None) -> Any:
        run = f"train-{day:05d}"
        self.lineage.add_run(run, "train", {"lr": 0.1}, status="succeeded")
        split = {"train": self.artifact("train", run, "split"), "test": None}
        split["test"] = self.artifact("test", run, "split")
        self.step(run, "split", {"data": history, "seed": 0}, split)
        if day % 4 == 0:  # the same split again, cached: it links the artifacts it reuses
            again = f"train-{day:05d}-again"
            self.lineage.add_run(again, "train", {"lr": 0.1}, status="succeeded")
            self.step(again, "split", {"data": history, "seed": 0, "cached": True}, split)
        model = self.artifact("model", run, "train")
        self.models.append(artifact_node(model))
        self.step(run, "train", {"data": split["train"], "lr": 0.1}, {"model": model})
        metrics = self.artifact("metrics", run, "evaluate")
        self.step(run, "evaluate", {"model": model, "data": split["test"]}, {"metrics": metrics})
        report = self.artifact("report", run, "report")
        used = {"metrics": metrics, **({"baseline": previous} if previous else {})}
        self.step(run, "report", used, {"report": report})
        return metrics


def build(artifacts: int) -> Synthetic:
    """Days of ingest and training until the graph holds ``artifacts`` artifacts."""
    made = Synthetic()
    history: dict[str, Any] | None = None
    metrics = None
    day = 0
    while made.count < artifacts:
        history = made.ingest(day, history)
        if day % 3 == 2:
            metrics = made.train(day, history, metrics)
        day += 1
    return made


def median_ms(call: Callable[[], Any], calls: int) -> float:
    call()  # the first call pays for whatever warms up; the target is about the rest
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def measure(artifacts: int, calls: int) -> tuple[list[tuple[str, float, int, str]], str]:
    """Rows of (query, median ms per query, nodes it returns, target note), and a summary."""
    started = time.perf_counter()
    made = build(artifacts)
    built = time.perf_counter() - started
    lineage, graph = made.lineage, made.lineage.graph
    runs = sum(1 for _, kind in graph.nodes(data="kind") if kind == "run")
    summary = (
        f"{made.count:,} artifacts, {runs:,} runs, {graph.number_of_nodes():,} nodes, "
        f"{graph.number_of_edges():,} edges (built in {built:.1f} s)"
    )
    latest, middle = made.models[-1], made.models[len(made.models) // 2]
    cases = [
        ("upstream depth 10, latest model", query.upstream, latest, 10, True),
        ("upstream depth 10, a model mid-history", query.upstream, middle, 10, True),
        ("upstream depth 20, latest model", query.upstream, latest, 20, False),
        ("downstream depth 10, first raw shard", query.downstream, made.shards[0], 10, False),
    ]
    rows = []
    for name, walk, start, depth, target in cases:
        ms = median_ms(partial(walk, lineage, start, depth), calls)
        rows.append((name, ms, len(walk(lineage, start, depth)), _note(ms) if target else ""))
    named = latest.removeprefix("artifact:")[:12]  # as typed: a digest prefix, resolved first
    ms = median_ms(lambda: query.upstream(lineage, store.resolve(lineage, named), 10), calls)
    rows.append(("resolve 12-digit prefix + upstream depth 10", ms, rows[0][2], _note(ms)))
    # other starts: no answer comes from a path that the previous call has just warmed
    spread = made.models[-calls:]
    each = [median_ms(partial(query.upstream, lineage, m, 10), 3) for m in spread]
    found = statistics.median(len(query.upstream(lineage, m, 10)) for m in spread)
    ms = statistics.median(each)
    rows.append((f"upstream depth 10, {len(spread)} models (median)", ms, int(found), _note(ms)))
    return rows, summary


def _note(ms: float) -> str:
    return f"<= {TARGET_MS:g} ms: {'ok' if ms <= TARGET_MS else 'MISSED'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench lineage", description=__doc__)
    parser.add_argument("--artifacts", type=int, default=100_000, help="graph size (artifacts)")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per row")
    args = parser.parse_args(argv)
    rows, summary = measure(args.artifacts, args.calls)
    print(summary)
    print(f"{'query':<44} {'median ms':>10} {'nodes':>7}  target")
    for name, ms, found, note in rows:
        print(f"{name:<44} {ms:>10.3f} {found:>7}  {note}")


if __name__ == "__main__":
    main()
