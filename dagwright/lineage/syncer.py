"""The syncer: uploads a store's pending lineage to MLflow, off the run's path.

A run ends once its graph (``<root>/lineage/<run>.json``) and its ``<run>.pending`` marker are
written; then ``start`` launches ``python -m dagwright.lineage.syncer ROOT`` in its own
session, its stdio away from the user's terminal (Ctrl-C, a closed terminal or ``| head`` do
not touch it), at low priority. ``dagwright run --wait-lineage`` and ``dagwright lineage sync
--wait`` call ``drain`` in the foreground instead.

One process uploads a store at a time: ``drain`` holds an exclusive ``flock`` on
``<root>/lineage/sync.lock`` before mlflow is imported, so one process migrates and writes. A
background syncer that cannot get it exits at once (the holder will see its markers), unless
it holds passwords the markers' URIs lost (never on disk): it then waits in line while they
are needed (``HANDOFF_WAIT`` at most). The holder scans the markers again until none is left
and, after releasing the lock, looks once more (a marker written while it held the lock is
never orphaned). A run that landed gets a ``<run>.mlflow`` record (where, which MLflow run)
and loses its marker; one that did not keeps its marker with the reason; a marker replaced
meanwhile (a resume) is left to the next round (``_upload``). MLflow failing is retried with
backoff for at most ``DAGWRIGHT_TRACKING_FLUSH_TIMEOUT`` seconds (default 120) without a run
landing, then the markers are left for the next run's syncer or ``dagwright lineage sync``. A
syncer killed mid-upload leaves its marker: the next upload completes what MLflow holds
(``writer.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCK = "sync.lock"
URIS_ENV = "DAGWRIGHT_SYNC_URIS"  # full tracking URIs (with passwords): never on disk or argv
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between rounds while MLflow fails
HANDOFF_WAIT = 600.0  # seconds a syncer holding credentials waits in line for the lock
WAITS = "--wait"  # argv: wait for the lock (credentials the holder lacks), see ``start``
_POLL = 0.05


@dataclass
class Drained:
    """What one ``drain`` did: runs landed (with their answers) and runs left, with why."""

    landed: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def markers(folder: Path) -> dict[str, int]:
    """The pending markers of a lineage folder, by run id, with their mtimes (ns)."""
    found = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return {}
    for entry in entries:
        if entry.name.endswith(".pending"):
            with contextlib.suppress(FileNotFoundError):  # landed meanwhile
                found[entry.name[: -len(".pending")]] = entry.stat().st_mtime_ns
    return found


@contextlib.contextmanager
def store_lock(folder: Path, wait: bool, gone: Any = None) -> Iterator[bool]:
    """Hold the store's sync lock; yields False when it is taken and ``wait`` is False, or
    when ``gone()`` turns true while waiting (what we waited for was done by the holder)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one upload at a time is then the user's care
        yield True
        return
    from dagwright.writes import make_dir

    make_dir(folder, private=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (gone is not None and gone()):
                    yield False
                    return
                time.sleep(_POLL)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def busy(folder: Path) -> bool:
    """Whether a syncer holds the store's lock now (it will see markers written before)."""
    with store_lock(folder, wait=False) as got:
        return not got


def start(root: Path, uris: list[str] | None = None) -> int | None:
    """Launch a background syncer for a store; its pid, or None when one is at work already
    (the holder scans again before it lets go) or it could not start (the markers stay).

    Args:
        root: The store folder.
        uris: Full tracking URIs the markers name without their passwords; they go to the
            syncer in its environment, never on its command line or on disk.
    """
    from dagwright.redact import has_credentials

    root = Path(root).absolute()
    folder = root / "lineage"
    argv = [sys.executable, "-m", "dagwright.lineage.syncer", str(root)]
    if busy(folder):
        # the holder sees the markers, but not the passwords their URIs had (never on disk):
        # a syncer that has them waits in line, for as long as runs need them
        uris = [uri for uri in uris or () if has_credentials(uri)]
        if not uris:
            return None
        argv.append(WAITS)
    env = dict(os.environ)
    package_parent = Path(__file__).resolve().parents[2]
    if package_parent.name not in ("site-packages", "dist-packages"):
        # a source checkout put on sys.path by hand: the syncer must import this dagwright
        paths = (str(package_parent), env.get("PYTHONPATH"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    if uris:
        env[URIS_ENV] = json.dumps(sorted(set(uris)))
    log = os.environ.get("DAGWRIGHT_TRACKING_LOG") or os.devnull  # its messages, for debugging
    _collect()
    try:
        # its own session (Ctrl-C or a closed terminal stop the run, not this), stdio away
        # from the user's terminal and pipes; posix_spawn: no fork of the engine's process
        pid = os.posix_spawn(
            sys.executable,
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
            ],
            setsid=True,
        )
    except (AttributeError, NotImplementedError):  # no posix_spawn with setsid here
        return _popen(argv, env, log)
    except OSError:
        return None  # the markers stay for the next run or `dagwright lineage sync`
    _started.append(pid)
    return pid


def _popen(argv: list[str], env: dict[str, str], log: str) -> int | None:
    try:
        with open(log, "a", encoding="utf-8") as err:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                start_new_session=True,
            )
    except OSError:
        return None
    _kept.append(proc)  # never collected (and warned about) while it runs
    return proc.pid


def _collect() -> None:
    """Reap the syncers this process started that ended: a long-lived process (runs from
    Python) keeps no zombie past its next run; a command exits and keeps none."""
    for pid in list(_started):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _started.remove(pid)


_started: list[int] = []
_kept: list[subprocess.Popen[Any]] = []


def drain(
    root: Path,
    only: list[str] | None = None,
    *,
    wait: bool = True,
    given: str | None = None,
    uris: list[str] | None = None,
    retry_for: float | None = None,
    until: Any = None,
) -> Drained | None:
    """Upload pending lineage under the store's lock, until none is left or MLflow has failed
    for ``retry_for`` seconds; then, with the lock released, start a background syncer when
    markers it did not try are there.

    Args:
        root: The store folder.
        only: These runs (their markers) only; default every pending run, scanned again
            until none is left.
        wait: Wait for the lock (the foreground); else None at once when it is taken.
        given: A tracking URI that overrides every marker's (``--tracking-uri``).
        uris: Full tracking URIs that complete a marker's redacted one.
        retry_for: Seconds MLflow may keep failing before the runs are left pending.
        until: While waiting for the lock, stop waiting once ``until()`` is true.

    Returns:
        What landed and what did not; None when the lock was taken and ``wait`` is False.
    """
    from dagwright.lineage.tracking import check_settings

    folder = Path(root) / "lineage"
    retry_for = retry_for if retry_for is not None else check_settings()[1]
    wanted = set(only) if only is not None else None

    def done() -> bool:  # the holder landed every run we wait for
        if until is not None and until():
            return True
        return wanted is not None and not (wanted & set(markers(folder)))

    drained = Drained()
    with store_lock(folder, wait, done) as got:
        if not got:
            if not wait:
                return None
            drained.landed = {run: {} for run in wanted or ()}
            return drained
        given_up = _rounds(Path(root), wanted, given, uris or [], retry_for, drained)
    left = {run: at for run, at in markers(folder).items() if given_up.get(run) != at}
    if left:  # written while we held the lock, or not ours to do: never orphaned
        start(Path(root), uris)
    return drained


def _rounds(
    root: Path,
    wanted: set[str] | None,
    given: str | None,
    uris: list[str],
    retry_for: float,
    drained: Drained,
) -> dict[str, int]:
    """Rounds of uploads with backoff while MLflow fails; the markers given up (mtimes)."""
    from dagwright.lineage.writer import Writer

    folder = root / "lineage"
    given_up: dict[str, int] = {}
    moved = time.monotonic()  # when a run last landed
    backoff = iter(BACKOFF)
    while True:
        todo = {r: t for r, t in markers(folder).items() if given_up.get(r) != t}
        todo = {r: t for r, t in todo.items() if wanted is None or r in wanted}
        if not todo:
            return given_up
        writer = Writer()  # a new one each round: servers known down are tried again
        failed_now: dict[str, int] = {}
        for run in sorted(todo):
            answer = _upload(root, run, writer, given, uris)
            if answer is None or answer.get("replaced"):
                continue  # gone meanwhile (landed by an earlier holder, or removed), or new
            if answer.get("later"):  # no graph yet: left until its marker changes
                given_up[run] = todo[run]
                continue
            if answer.get("ok"):
                drained.landed[run] = answer
                drained.failed.pop(run, None)
                moved = time.monotonic()
            else:
                drained.failed[run] = str(answer.get("error"))
                with contextlib.suppress(FileNotFoundError):
                    at = (folder / f"{run}.pending").stat().st_mtime_ns
                    if answer.get("retry", True):
                        failed_now[run] = at
                    else:  # it would fail the same way again: left as it is, at once
                        given_up[run] = at
        writer.close()
        if failed_now:
            pause = next(backoff, BACKOFF[-1])
            if time.monotonic() + pause - moved > retry_for:
                given_up.update(failed_now)  # left for the next syncer or `lineage sync`
            else:
                time.sleep(pause)


def _upload(
    root: Path, run: str, writer: Any, given: str | None, uris: list[str]
) -> dict[str, Any] | None:
    """One run's marker to MLflow; the writer's answer (None when the marker is gone).

    The marker and graph uploaded are remembered by identity (inode and mtime: every write
    replaces the file). A resume, or ``lineage sync RUN --tracking-uri``, may write a new
    marker while this one is being uploaded: then the new one is neither removed (with a
    ``.mlflow`` record claiming MLflow has the run) nor overwritten with the old payloads,
    the answer says ``replaced`` and the next round uploads the new one. Checking and
    settling happen under ``marker_lock``, which those writers hold too, so nothing slips in
    between (simpler than claiming markers by renaming them: no leftovers to recover, and a
    waiter never sees a marker vanish before its run landed).
    """
    from dagwright.lineage import payload
    from dagwright.lineage.graph import Lineage
    from dagwright.lineage.mlflow_sink import (
        identity,
        marker_lock,
        read_identified,
        write_landed,
        write_marker,
    )
    from dagwright.lineage.tracking import sync_uri
    from dagwright.redact import redact_text

    folder = root / "lineage"
    graph_file, marker = folder / f"{run}.json", folder / f"{run}.pending"
    try:
        raw, seen = read_identified(marker)
    except FileNotFoundError:
        return None
    try:
        kept = json.loads(raw)
    except ValueError:  # cut short by a crash before writes were atomic: rebuild from the graph
        kept = {}
    try:
        text, seen_graph = read_identified(graph_file)
    except FileNotFoundError:
        if not kept.get("run"):  # written before its graph (``run_ending``): it comes next
            return {"ok": False, "later": True}  # (or never: a crash; a resume writes it)
        with marker_lock(folder):  # the run was removed (`runs rm`): nothing left to send
            if identity(marker) == seen:
                marker.unlink()
        return None
    if kept.get("run") and kept.get("steps") is not None:
        final, steps = kept["run"], kept["steps"]
    else:
        final, steps = payload.graph_payloads(Lineage.from_json(json.loads(text)), run)
    uri = sync_uri(kept.get("tracking_uri"), given, root, uris)
    answer = writer.sync_run(uri, final, steps, text)
    if not answer.get("ok"):
        answer["error"] = redact_text(str(answer.get("error")))
    with marker_lock(folder):
        if identity(marker) != seen or identity(graph_file) != seen_graph:
            answer["replaced"] = True  # a newer marker (or graph): the next round sends it
        elif answer.get("ok"):
            write_landed(folder / f"{run}.mlflow", uri, answer.get("mlflow_run_id"))
            marker.unlink()
        else:
            write_marker(marker, uri, answer["error"], final, steps)
    return answer


def _needed_by_none(folder: Path, uris: list[str]) -> Any:
    """For a syncer waiting in line with credentials: true once no marker names one of its
    URIs (the holder landed them, say with the password from --tracking-uri) or it waited
    ``HANDOFF_WAIT`` seconds (the markers then stay for the next run or ``lineage sync``)."""
    from dagwright.redact import redact_uri

    mine = {redact_uri(uri) for uri in uris}
    deadline = time.monotonic() + HANDOFF_WAIT
    looked = [0.0]

    def needed_by_none() -> bool:
        now = time.monotonic()
        if now > deadline:
            return True
        if now - looked[0] < 1.0:  # markers read once a second, not at every poll of the lock
            return False
        looked[0] = now
        for run in markers(folder):
            with contextlib.suppress(OSError, ValueError):
                kept = json.loads((folder / f"{run}.pending").read_text(encoding="utf-8"))
                if kept.get("tracking_uri") in mine:
                    return False
        return True

    return needed_by_none


def main() -> None:
    """``python -m dagwright.lineage.syncer ROOT``: drain a store in the background."""
    import logging

    with contextlib.suppress(OSError):
        os.nice(10)  # background work: the user's runs come first
    logging.basicConfig(level=logging.WARNING, format="dagwright syncer: %(message)s")
    root = Path(sys.argv[1])
    uris = json.loads(os.environ.pop(URIS_ENV, "[]") or "[]")
    waits = WAITS in sys.argv[2:]
    try:
        until = _needed_by_none(root / "lineage", uris) if waits else None
        drain(root, wait=waits, uris=uris, until=until)
    except Exception as exc:  # the markers stay; say why where DAGWRIGHT_TRACKING_LOG points
        from dagwright.redact import redact_text

        print(f"dagwright syncer: {redact_text(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
