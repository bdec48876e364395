"""``python -m bench ui``: the web UI's answer times, with MLflow's own server beside it.

Three targets (issue 18), each measured on the real ``dagwright ui`` server (a subprocess on
127.0.0.1) and, for the pages, in headless Chromium (the system's, driven by Playwright):

- the runs list with 10,000 runs in the store: ``GET /api/runs`` (the 100 newest, and a
  filtered list) and the runs page (navigation start to its first row), <= 300 ms;
- the run page of a real 2,000-step run (a layered DAG: 50 tasks a layer, each reading two of
  the layer above): navigation start to the graph's last node, <= 2 s;
- live status: from a step's row committed ``succeeded`` in the run database to the page
  showing that node succeeded (no reload), <= 1 s; the median and the worst of the samples.

``bench/ui_store.py`` fills the stores: one real run each, then copies of its rows in bulk.
Peer, in the same process and on the same machine: ``mlflow server`` (SQLite backend) holding
the same number of runs (same parameters and metrics), its REST ``runs/search`` for the 100
newest (what its UI asks for) and its UI's experiment page in the same Chromium (navigation
start to the newest run's name shown). MLflow draws no DAG and pushes no live status, and the
KFP UI needs a cluster: those rows have no peer, and the table says so. Each figure is the
best of ``--repeats`` after a warm-up (the machine is shared; the best is the least noisy).

Usage: ``python -m bench ui [--quick] [--repeats N] [--runs N] [--steps N] [--no-mlflow]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import ui_store

TARGETS = {"list": 300.0, "page": 300.0, "graph": 2000.0, "live": 1000.0}
RUNS_READY = "document.querySelectorAll('table#runs tbody tr[data-run-id]').length > 0"
# a function of the expected count, so the wait ends when the last node is drawn
GRAPH_READY = "n => document.querySelectorAll('svg#graph g.node[data-task]').length >= n"
# every node's first "succeeded", stamped with the page's wall clock as soon as it shows
WATCH = """() => { window.seen = {};
  setInterval(() => document.querySelectorAll('svg#graph g.node[data-status=succeeded]')
    .forEach(g => { if (!(g.dataset.task in window.seen)) window.seen[g.dataset.task] = Date.now(); }),
  5); }"""  # noqa: E501


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def ui_server(root: Path) -> Iterator[str]:
    """``dagwright ui`` on a free port, this interpreter and this checkout; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGWRIGHT_TRACKING": "off"}
    log = root.parent / "ui.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagwright.cli", "ui", "--root", str(root), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/api/runs?limit=1", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dagwright ui did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def best_ms(call: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` calls, after one untimed warm-up."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def get(url: str, body: bytes | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def page_ms(browser: Any, url: str, ready: str, arg: Any, repeats: int) -> float:
    """Navigation start to ``ready`` true, in a fresh context (a cold page) each time: the
    page's own ``performance.now()`` at the moment the condition first held."""

    def once() -> float:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(url, wait_until="commit")
            handle = page.wait_for_function(
                f"arg => ({ready})(arg) ? performance.now() : false",
                arg=arg,
                polling="raf",
                timeout=120_000,
            )
            return float(handle.json_value())
        finally:
            context.close()

    once()
    return min(once() for _ in range(repeats))


def live_ms(browser: Any, url: str, root: Path, template: str, samples: int) -> list[float]:
    """Steps of a running run ended one at a time in the run database; each one's delay until
    the open page shows it succeeded."""
    tasks = ui_store.running_copy(root, template, "bench-live")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{url}/#/runs/bench-live")
        page.wait_for_function(GRAPH_READY, arg=len(tasks), timeout=60_000)
        page.evaluate(WATCH)
        delays = []
        for i, task in enumerate(tasks[:samples]):
            time.sleep(0.05 + 0.037 * i)  # off the server's poll period: all phases sampled
            committed = ui_store.end_step(root, "bench-live", task)
            seen = page.wait_for_function(
                "t => window.seen[t] || false", arg=task, polling=5, timeout=30_000
            ).json_value()
            delays.append(float(seen) - committed * 1000)
        return delays
    finally:
        context.close()


def measure_dagwright(
    folder: Path, browser: Any, runs: int, steps: int, repeats: int, samples: int
) -> dict[str, Any]:
    root = folder / "store"
    ui_store.real_run(root, ui_store.layered(6, width=3, name="small"), "small-template")
    ui_store.clone_runs(root, "small-template", runs - 1)
    ui_store.real_run(root, ui_store.layered(steps), "big")
    ui_store.real_run(root, ui_store.layered(12, width=4, name="live"), "live-template")
    found: dict[str, Any] = {}
    with ui_server(root) as url:
        listed = json.loads(get(f"{url}/api/runs?limit=100"))
        assert len(listed["runs"]) == min(100, listed["total"]) and listed["total"] >= runs
        found["list"] = best_ms(lambda: get(f"{url}/api/runs?limit=100"), repeats)
        found["filtered"] = best_ms(
            lambda: get(f"{url}/api/runs?pipeline=small&status=failed&limit=100"), repeats
        )
        found["page"] = page_ms(browser, f"{url}/#/runs", f"() => {RUNS_READY}", None, repeats)
        graph = f"{url}/#/runs/big"
        found["graph"] = page_ms(browser, graph, GRAPH_READY, steps, max(1, repeats // 2))
        found["live"] = live_ms(browser, url, root, "live-template", samples)
    return found


def measure_mlflow(folder: Path, browser: Any, runs: int, repeats: int) -> dict[str, Any]:
    from bench.lineage_mlflow import mlflow_server

    experiment = ui_store.mlflow_store(folder, runs - 1)  # and its template: runs in all
    found: dict[str, Any] = {}
    with mlflow_server(folder) as (uri, _log):
        body = json.dumps({"experiment_ids": [experiment], "max_results": 100}).encode()
        search = f"{uri}/api/2.0/mlflow/runs/search"
        listed = json.loads(get(search, body))["runs"]
        assert len(listed) == min(100, runs), len(listed)
        found["list"] = best_ms(lambda: get(search, body), repeats)
        newest = "bench-000000"
        ready = f"() => document.body && document.body.innerText.includes('{newest}')"
        with contextlib.suppress(Exception):  # its UI changes between releases: a note then
            found["page"] = page_ms(
                browser, f"{uri}/#/experiments/{experiment}/runs", ready, None, repeats
            )
    return found


def launch(playwright: Any) -> Any:
    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("bench ui: no chromium on PATH (Debian: apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=executable, headless=True)


def table(ours: dict[str, Any], theirs: dict[str, Any] | None, runs: int, steps: int) -> str:
    live = ours["live"]
    peer = "mlflow server" if theirs is not None else "peer"
    lines = [f"{'case':<46} {'dagwright':>10} {peer:>14} {'ratio':>7}  target"]

    def row(name: str, mine: float, other: float | None, target: float | None) -> None:
        if other is None:
            their, ratio = "no peer", "-"
        else:
            their, ratio = f"{other:.1f}", f"{mine / other:.2f}"
        verdict = (
            "" if target is None else ("ok" if mine <= target else "MISSED") + f" <= {target:.0f}"
        )
        lines.append(f"{name:<46} {mine:>10.1f} {their:>14} {ratio:>7}  {verdict}")

    theirs = theirs or {}
    row(
        f"GET /api/runs, {min(100, runs)} newest of {runs:,} (ms)",
        ours["list"],
        theirs.get("list"),
        300,
    )
    row("GET /api/runs, by pipeline and status (ms)", ours["filtered"], None, 300)
    row("runs page in Chromium, to first row (ms)", ours["page"], theirs.get("page"), 300)
    row(f"run page, {steps:,}-step graph drawn (ms)", ours["graph"], None, 2000)
    row(f"live status, median of {len(live)} (ms)", statistics.median(live), None, 1000)
    row("live status, worst (ms)", max(live), None, 1000)
    notes = [
        "peer: MLflow's REST runs/search (max_results 100) and its experiment page, same runs;"
        " ratio = dagwright's time / the peer's",
        "no peer: MLflow draws no DAG and pushes no live status; the KFP UI needs a cluster",
    ]
    if theirs and "page" not in theirs:
        notes.append("MLflow's UI page did not show the newest run's name: not measured")
    return "\n".join(lines + notes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ui")
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 500 steps")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--no-mlflow", action="store_true", help="leave the peer out")
    args = parser.parse_args(argv)
    runs = args.runs or (1_000 if args.quick else 10_000)
    steps = args.steps or (500 if args.quick else 2_000)
    repeats = args.repeats or (3 if args.quick else 7)
    samples = 5 if args.quick else 12
    if runs < 2 or steps < 1 or repeats < 1:
        parser.error("--runs must be 2 or more, --steps and --repeats 1 or more")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            folder = Path(tmp)
            ours = measure_dagwright(folder / "dagwright", browser, runs, steps, repeats, samples)
            theirs = None
            if not args.no_mlflow:
                theirs = measure_mlflow(folder / "mlflow", browser, runs, repeats)
        finally:
            browser.close()
    print(table(ours, theirs, runs, steps))


if __name__ == "__main__":
    main()
