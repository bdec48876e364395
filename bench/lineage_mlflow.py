"""Lineage in MLflow: what recording costs a 100-step chain of 50 ms steps.

Rows: tracking off (lineage kept locally only); the default local SQLite store, first with a
new database (what a ``dagwright run`` command meets the first time), then with it there; a
real ``mlflow server`` on 127.0.0.1 (SQLite backend) started here; and the peer, steps that
call MlflowClient themselves (create, log_batch, set_terminated), which is what a step would
wait for if it logged synchronously.

The tracked rows wait for MLflow (``wait_lineage=True``, as CI does): a default run returns
before its upload (a background syncer does it), so its cost is the tracking-off row's.

Columns: wall time (median), overhead against tracking off, the upload waited for, MLflow calls
per step (step runs only / everything, counted by the upload; through the server also the REST
calls in its access log) and the time the engine's thread spent in the sink per step.

Usage: ``python -m bench lineage [--steps N] [--sleep S] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagwright
from bench import subjects
from dagwright.lineage import tracking

REST_CALL = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) /(api|ajax-api)/')


@contextmanager
def env(**values: str | None) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    for name, value in {**values}.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def mlflow_server(folder: Path) -> Iterator[tuple[str, Path]]:
    """A real ``mlflow server`` on 127.0.0.1 with a SQLite backend; yields (URI, access log)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri, log = f"http://127.0.0.1:{port}", folder / "access.log"
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port"]
    command += [str(port), "--workers", "2", "--artifacts-destination", str(folder / "art")]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    server_env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server_env["PYTHONUNBUFFERED"] = "1"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=server_env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mlflow server did not start") from None
                time.sleep(0.3)
        yield uri, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def rest_calls(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if REST_CALL.search(line))


def tracked(pipeline: Any, root: Path, uri: str | None, cold: bool) -> tuple[float, Any]:
    """One run with tracking on, waiting for its upload (``cold``: the first in its store)."""
    with env(DAGWRIGHT_TRACKING=None, MLFLOW_TRACKING_URI=None):
        started = time.perf_counter()
        result = dagwright.run(pipeline, root=root, echo=False, tracking_uri=uri, wait_lineage=True)
        seconds = time.perf_counter() - started
    assert result.succeeded
    stats = tracking.stats(result.run_id)
    assert stats is not None and not stats.pending, stats
    return seconds, stats


def untracked(pipeline: Any, root: Path) -> float:
    with env(DAGWRIGHT_TRACKING="off"):
        started = time.perf_counter()
        result = dagwright.run(pipeline, root=root, echo=False)
        seconds = time.perf_counter() - started
    assert result.succeeded
    return seconds


def synchronous(uri: str, steps: int) -> float:
    """Seconds per step when each step logs itself to MLflow and waits (the peer)."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # its "creating tables" lines
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("peer") or client.create_experiment("peer")
    experiment_id = getattr(experiment, "experiment_id", experiment)
    parent = client.create_run(experiment_id).info.run_id
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # set_terminated prints each run's URL
        for i in range(steps):
            run = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent})
            params = [Param("x", str(i)), Param("seconds", "0.05")]
            client.log_batch(run.info.run_id, params=params, metrics=[Metric("m", 1.0, 0, 0)])
            client.set_terminated(run.info.run_id)
    return (time.perf_counter() - started) / steps


def row(name: str, seconds: list[float], base: float | None, stats: list[Any], steps: int) -> str:
    wall = statistics.median(seconds)
    over = f"{(wall / base - 1) * 100:+.1f}%" if base else "-"
    if not stats:
        return f"{name:<46} {wall:>7.2f} {over:>8} {'-':>8} {'-':>13} {'-':>10}"
    flush = statistics.median(s.flush_seconds for s in stats)
    last = stats[-1]
    calls = f"{last.step_calls / steps:.2f} / {last.calls / steps:.2f}"
    engine = max(s.engine_seconds for s in stats) / steps * 1e3
    return f"{name:<46} {wall:>7.2f} {over:>8} {flush:>8.2f} {calls:>13} {engine:>10.3f}"


def tracked_row(name: str, runs: list[tuple[float, Any]], base: float, steps: int) -> str:
    return row(name, [seconds for seconds, _ in runs], base, [stats for _, stats in runs], steps)


def measure(steps: int, sleep: float, repeats: int, root: Path) -> list[str]:
    pipeline = subjects.chain(steps, sleep=sleep)
    untracked(subjects.chain(3), root / "warm")  # imports and first-run costs out of the way
    off: list[float] = []
    cold: list[tuple[float, Any]] = []
    warm: list[tuple[float, Any]] = []
    for i in range(repeats):  # interleaved, so drift in the machine's speed hits all alike
        off.append(untracked(pipeline, root / f"off-{i}"))
        cold.append(tracked(pipeline, root / f"sqlite-{i}", None, cold=True))
        warm.append(tracked(pipeline, root / f"sqlite-{i}", None, cold=False))
    base = statistics.median(off)
    lines = [
        row("tracking off (lineage kept locally)", off, None, [], steps),
        tracked_row("local SQLite: new database", cold, base, steps),
        tracked_row("local SQLite: database there", warm, base, steps),
    ]
    with mlflow_server(root / "server") as (uri, log):
        served: list[tuple[float, Any]] = []
        counted: list[int] = []
        for i in range(repeats):
            before = rest_calls(log)
            served.append(tracked(pipeline, root / f"served-{i}", uri, cold=True))
            time.sleep(0.2)  # the access log line follows the response
            counted.append(rest_calls(log) - before)
        lines.append(tracked_row("mlflow server 127.0.0.1", served, base, steps))
        lines.append(
            f"{'  REST calls in the server access log':<46} {'':>7} {'':>8} {'':>8} "
            f"{'- / ' + format(statistics.median(counted) / steps, '.2f'):>13}"
        )
        peer_server = synchronous(uri, 20)
    peer_sqlite = synchronous(f"sqlite:///{(root / 'peer.db').as_posix()}", 20)
    for name, seconds in (("local SQLite", peer_sqlite), ("mlflow server", peer_server)):
        lines.append(f"{'peer: each step logs itself, ' + name:<46} {seconds * 1e3:>7.1f} ms/step")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench lineage", description=__doc__)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--sleep", type=float, default=0.05, help="seconds each step takes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        lines = measure(args.steps, args.sleep, args.repeats, Path(tmp))
    print(f"{args.steps}-step chain of {args.sleep * 1e3:.0f} ms steps, median of {args.repeats}")
    print(
        f"{'case':<46} {'wall s':>7} {'vs off':>8} {'flush s':>8} {'calls/step':>13} "
        f"{'engine ms':>10}"
    )
    for line in lines:
        print(line)
    print("targets: local SQLite <= +10% wall; server <= 3 calls/step, engine ms/step ~ 0")
    print("calls/step: step runs only / everything (the run's own calls included)")


if __name__ == "__main__":
    main(sys.argv[1:])
