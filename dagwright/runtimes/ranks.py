"""The data-parallel ranks of one step: what each rank runs, and a launcher of local ranks.

Every rank runs ``python -m dagwright.runtimes.ranks --step STEP.json --results FOLDER``. Rank 0
runs the step as it is; every other rank runs a copy whose output URIs point into a private
scratch folder that is deleted when it ends, so the step's artifacts are published once, by
rank 0. Each rank writes its outcome to ``FOLDER/rank-N.json``.

A rank reads its place from torch.distributed's names (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``LOCAL_WORLD_SIZE``). Started by horovodrun or mpirun, which use their own names, it copies
theirs to torch's, so the function reads one set of names whoever launched it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from dagwright.executor import Step, StepOutcome, run_step
from dagwright.runtimes import Attempt
from dagwright.runtimes.process import child_env
from dagwright.store import files, remote

TORCH_NAMES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
# The same four numbers as horovodrun (gloo), Open MPI's mpirun and MPICH/Intel MPI name them.
LAUNCHER_NAMES = (
    ("HOROVOD_RANK", "HOROVOD_SIZE", "HOROVOD_LOCAL_RANK", "HOROVOD_LOCAL_SIZE"),
    (
        "OMPI_COMM_WORLD_RANK",
        "OMPI_COMM_WORLD_SIZE",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "OMPI_COMM_WORLD_LOCAL_SIZE",
    ),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
)
_GRACE = 1.0  # seconds a terminated rank gets before it is killed
_CRASH_WINDOW = 1_000_000_000  # ns; see read_outcome


def rank_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """torch.distributed's rank names, from a launcher's own names when torch's are not set."""
    if "RANK" in environ:
        return {}
    for names in LAUNCHER_NAMES:
        if names[0] in environ:
            return {
                torch: environ[theirs]
                for torch, theirs in zip(TORCH_NAMES, names, strict=True)
                if theirs in environ
            }
    return {}


def private_copy(step: Step, scratch: str) -> Step:
    """The step with every output redirected into ``scratch`` (for ranks other than 0)."""
    outputs = {name: os.path.join(scratch, name, "data") for name in step.outputs}
    return Step.from_dict({**step.to_dict(), "outputs": outputs, "require_outputs": False})


def main(argv: list[str] | None = None) -> int:
    """``python -m dagwright.runtimes.ranks --step STEP.json --results FOLDER``: one rank."""
    parser = argparse.ArgumentParser(prog="python -m dagwright.runtimes.ranks")
    parser.add_argument("--step", required=True, help="step description (JSON)")
    parser.add_argument("--results", required=True, help="folder for rank-N.json outcomes")
    args = parser.parse_args(argv)
    os.environ.update(rank_environment(os.environ))
    rank = int(os.environ.get("RANK", "0"))
    step = Step.from_dict(json.loads(Path(args.step).read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory(prefix=f"dagwright-rank-{rank}-") as scratch:
        try:
            outcome: dict[str, Any] = run_step(
                step if rank == 0 else private_copy(step, scratch)
            ).to_dict()
            code = 0
        except Exception as exc:  # the function's failure is the rank's outcome
            failed_at = time.time_ns()  # which rank failed first decides the step's error
            from dagwright.tracebacks import step_traceback

            print(step_traceback(exc), end="", file=sys.stderr)
            outcome = {
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": step_traceback(exc),
                "failed_at": failed_at,
            }
            code = 1
        target = Path(args.results) / f"rank-{rank}.json"
        target.with_suffix(".tmp").write_text(json.dumps(outcome), encoding="utf-8")
        os.replace(target.with_suffix(".tmp"), target)
        _release_process_group()
    return code


def _release_process_group() -> None:
    """Destroy a process group the function left initialised, without importing torch."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # the outcome is written; a failed teardown changes nothing
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (rank 0's store takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _loopback() -> str | None:
    names = {name for _, name in socket.if_nameindex()}
    return next((name for name in ("lo", "lo0") if name in names), None)


def rank_command(python: str, step_file: str, results: str) -> list[str]:
    """The command every rank runs."""
    return [python, "-m", "dagwright.runtimes.ranks", "--step", step_file, "--results", results]


def run_local_ranks(step: Step, np: int, timeout: float | None) -> Attempt:
    """Start ``np`` rank processes here, wait for them, and return rank 0's outcome.

    The first rank to fail fails the step with its error, and the other ranks are killed (they
    would otherwise wait in a collective for a peer that is gone); a timeout kills them all.
    Each line a rank prints is kept with horovodrun's prefix, ``[1]<stdout>:``.
    """
    with tempfile.TemporaryDirectory(prefix="dagwright-ranks-") as folder:
        step_file = os.path.join(folder, "step.json")
        Path(step_file).write_text(json.dumps(step.to_dict()), encoding="utf-8")
        env = {**child_env(), **step.component.env, "PYTHONUNBUFFERED": "1"}
        loopback = _loopback()
        if loopback and "GLOO_SOCKET_IFNAME" not in env:
            env["GLOO_SOCKET_IFNAME"] = loopback  # all ranks are here: gloo talks over loopback
        env.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(free_port()),
            WORLD_SIZE=str(np),
            LOCAL_WORLD_SIZE=str(np),
        )
        logs = _Logs()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for rank in range(np):
                proc = subprocess.Popen(
                    rank_command(sys.executable, step_file, folder),
                    env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # a group per rank: killing it takes its children
                )
                procs.append(proc)
                logs.follow(proc, rank)
            timed_out, ended = _wait(procs, timeout)
        except OSError as exc:  # a rank could not start (no python, no memory): the step fails
            return Attempt(
                error=f"{type(exc).__name__}: could not start rank {len(procs)} of step "
                f"'{step.task}': {exc}",
                traceback=traceback.format_exc(),
            )
        finally:
            _stop(procs)
            logs.join()
        if timed_out:
            _discard_partials(step)
            return Attempt(
                error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s; "
                f"its {np} ranks were killed",
                stdout=logs.text("stdout"),
                stderr=logs.text("stderr"),
            )
        if any(code != 0 for code in ended.values()):
            _discard_partials(step)
        attempt = read_outcome(folder, np, ended)
    attempt.stdout, attempt.stderr = logs.text("stdout"), logs.text("stderr")
    return attempt


def _wait(
    procs: list[subprocess.Popen[bytes]], timeout: float | None
) -> tuple[bool, dict[int, tuple[int, int]]]:
    """Wait until every rank ended or one failed; True when the time ran out first.

    Returns:
        Whether the time ran out, and for each rank that ended: its exit code and when it
        ended (``time.time_ns()``), seen by a thread per rank blocked in ``wait``.
    """
    done: queue.Queue[tuple[int, int, int]] = queue.Queue()

    def watch(rank: int, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        done.put((rank, code, time.time_ns()))

    for rank, proc in enumerate(procs):
        threading.Thread(target=watch, args=(rank, proc), daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    ended: dict[int, tuple[int, int]] = {}
    while len(ended) < len(procs):
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            rank, code, at = done.get(timeout=remaining)
        except queue.Empty:
            return True, ended
        ended[rank] = (code, at)
        if code != 0:
            break
    return False, ended


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the process groups of ranks still running; kill those that linger."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        _signal(proc, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE
    for proc in running:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            proc.wait()


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _discard_partials(step: Step) -> None:
    """Remove what a killed rank 0 was writing beside the step's final output paths."""
    for uri in step.outputs.values():
        if remote.is_local(uri):
            final = Path(remote.local_path(uri))
            for leftover in final.parent.glob(f"{final.name}.partial-*"):
                files.discard(str(leftover))


def read_outcome(folder: str, np: int, ended: dict[int, tuple[int, int]] | None = None) -> Attempt:
    """The step's Attempt from the ranks' outcome files.

    Among failed ranks the cause is the one that failed first; the others typically failed
    because it left a collective. A rank that died without a report (a crash, ``os._exit``,
    the OOM killer) closed its connections a moment before its exit could be seen, so its
    peers may report the loss first: such a death within ``_CRASH_WINDOW`` of the first report
    is taken as the cause. The other ranks' errors follow the cause's traceback.

    Args:
        folder: Where the ranks wrote ``rank-N.json``.
        np: Number of ranks.
        ended: Exit code and end time (``time.time_ns()``) of the ranks that had ended when
            the failure was seen; None when unknown (under horovodrun).
    """
    results = {
        rank: json.loads(path.read_text(encoding="utf-8"))
        for rank in range(np)
        if (path := Path(folder) / f"rank-{rank}.json").exists()
    }
    reports = {rank: r["failed_at"] for rank, r in results.items() if "failed_at" in r}
    deaths = {
        rank: at for rank, (code, at) in (ended or {}).items() if code != 0 and rank not in reports
    }
    if not reports and not deaths:
        if 0 in results:
            return Attempt(StepOutcome.from_dict(results[0]))
        return Attempt(error=_no_result(0, np, ended))
    first_report = min(reports.values(), default=None)
    if deaths and (first_report is None or min(deaths.values()) <= first_report + _CRASH_WINDOW):
        cause = min(deaths, key=lambda r: (deaths[r], r))
        error, trace = _no_result(cause, np, ended), ""
    else:
        cause = min(reports, key=lambda r: (reports[r], r))
        error = f"{results[cause]['error']} (rank {cause} of {np})"
        trace = results[cause].get("traceback") or ""
    others = [
        f"rank {rank}: {results[rank]['error'] if rank in reports else _no_result(rank, np, ended)}"
        for rank in sorted(set(reports) | set(deaths))
        if rank != cause
    ]
    if others:
        trace += "\nOther ranks failed too:\n" + "\n".join(others) + "\n"
    return Attempt(error=error, traceback=trace or None)


def _no_result(rank: int, np: int, ended: dict[int, tuple[int, int]] | None) -> str:
    code = ended[rank][0] if ended and rank in ended else None
    return f"rank {rank} of {np} exited with code {code} and no result"


class _Logs:
    """Lines the ranks print, each prefixed as horovodrun does, in the order they arrive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._threads: list[threading.Thread] = []

    def follow(self, proc: subprocess.Popen[bytes], rank: int) -> None:
        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            assert stream is not None
            thread = threading.Thread(
                target=self._read, args=(stream, f"[{rank}]<{name}>:", name), daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _read(self, stream: IO[bytes], prefix: str, name: str) -> None:
        with stream:
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                with self._lock:
                    self._lines[name].append(f"{prefix}{line}\n")

    def join(self) -> None:
        for thread in self._threads:
            thread.join(5)  # a grandchild holding a pipe open must not hang the step

    def text(self, name: str) -> str:
        with self._lock:
            return "".join(self._lines[name])


if __name__ == "__main__":
    sys.exit(main())
