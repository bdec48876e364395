"""Reliability catalogue, services: ``dagwright serve`` (bad requests), the scheduler (a
SIGKILLed holder) and MLflow lineage (concurrent runs, a flush limit).

Everything runs for real: a ``dagwright serve`` process answering raw HTTP, ``dagwright
scheduler`` processes killed with SIGKILL, concurrent ``dagwright run`` processes writing one
fresh MLflow database.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from daemon_doubles import T0, FakeClock, RecordingLauncher, add_schedule, minute
from services_helpers import first_line, stop

from dagwright.schedules.daemon import CronDaemon
from dagwright.schedules.holders import default_holder, holder_dead, process_start
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import ScheduleBook

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

SERVED = """
from dagwright import component, pipeline
from dagwright.runtimes import Nuclio


@component(runtime=Nuclio())
def echo(context, event) -> str:
    body = event.body
    return json.dumps(body) if not isinstance(body, bytes) else body.decode()


@pipeline
def serving():
    echo()
"""


def _serve(folder: Path, *options: str) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "funcs.py").write_text("import json\n" + SERVED)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGWRIGHT_TRACKING": "off"}
    command = [sys.executable, "-m", "dagwright.cli", "serve", "funcs.py:serving", *options]
    return subprocess.Popen(
        command + ["--root", str(folder / "store")],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A function served with ``--max-body 1KiB``: (host, port)."""
    proc = _serve(tmp_path_factory.mktemp("serve-small"), "--max-body", "1KiB")
    try:
        _, url = first_line(proc).split()
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)
    finally:
        stop(proc)


def _raw(address: tuple[str, int], request: bytes, half_close: bool = False) -> bytes:
    """The server's whole answer to bytes sent as they are (no client fixes them up)."""
    with socket.create_connection(address, timeout=20) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_body(answer: bytes) -> tuple[int, dict[str, str]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)


JSON = b"Content-Type: application/json\r\n"
BAD_REQUESTS = {
    "truncated-json": (
        b"POST / HTTP/1.1\r\nHost: x\r\n" + JSON + b'Content-Length: 6\r\n\r\n{"x": ',
        400,
        "malformed JSON body",
    ),
    "json-with-charset": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: Application/JSON; charset=utf-8\r\n"
        b"Content-Length: 5\r\n\r\n[1, 2",
        400,
        "malformed JSON body",
    ),
    "json-not-utf8": (
        b"POST / HTTP/1.1\r\nHost: x\r\n" + JSON + b'Content-Length: 3\r\n\r\n"\xff"',
        400,
        "not UTF-8",
    ),
    "length-not-a-number": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        400,
        "Content-Length 'abc' is not a number",
    ),
    "length-negative": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        400,
        "Content-Length '-1' is not a number",
    ),
    "lengths-disagree": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
        400,
        "is not a number of bytes",
    ),
    "chunked": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        411,
        "Content-Length",
    ),
    # curl's way for big bodies: the refusal comes instead of "100 Continue"
    "over-the-limit-expect-100": (
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
        413,
        "body of 5000 bytes is over the limit",
    ),
    # the body itself is never sent: the answer comes without the server waiting for it
    "over-the-limit-unread": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n",
        413,
        "body of 1025 bytes is over the limit of 1024 bytes",
    ),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_request_to_serve_gets_a_short_error_never_a_traceback(
    small: tuple[str, int], name: str
) -> None:
    request, status, message = BAD_REQUESTS[name]
    answer = _raw(small, request)
    assert _status_and_body(answer)[0] == status, answer
    assert b"100 Continue" not in answer
    assert message in _status_and_body(answer)[1]["error"]
    assert b"Traceback" not in answer and b'File "' not in answer
    assert len(answer) < 600  # a short message, whatever went wrong
    # the server is still there for the next caller
    connection = http.client.HTTPConnection(*small, timeout=20)
    connection.request("POST", "/", b'{"ok": 1}', {"Content-Type": "application/json"})
    assert connection.getresponse().read() == b'{"ok": 1}'


def test_bad_request_body_shorter_than_its_length_gets_400(small: tuple[str, int]) -> None:
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
    answer = _raw(small, request, half_close=True)
    assert _status_and_body(answer) == (400, {"error": "body ended after 3 of 10 bytes"})


def test_a_body_at_the_limit_is_served(small: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*small, timeout=20)
    connection.request("POST", "/", b"x" * 1024)
    answer = connection.getresponse()
    assert (answer.status, answer.read()) == (200, b"x" * 1024)


def test_the_default_limit_is_10_mib(tmp_path: Path) -> None:
    proc = _serve(tmp_path)
    try:
        _, url = first_line(proc).split()
        host, port = url.removeprefix("http://").split(":")
        limit = 10 * 1024 * 1024
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("POST", "/", b"y" * limit)
        answer = connection.getresponse()
        assert (answer.status, len(answer.read())) == (200, limit)
        request = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {limit + 1}\r\n\r\n"
        status, body = _status_and_body(_raw((host, int(port)), request.encode()))
        assert status == 413 and f"limit of {limit} bytes" in body["error"]
    finally:
        stop(proc)


@pytest.mark.parametrize("value", ["10XB", "0", "-5", "", "1.5MiB"])
def test_bad_max_body_is_refused_before_anything_runs(tmp_path: Path, value: str) -> None:
    proc = _serve(tmp_path, "--max-body", value)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "--max-body" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()  # nothing ran, nothing written


# the scheduler: a SIGKILLed holder is replaced at once, and no slot is lost

TICKER = """
from dagwright import component, pipeline


@component
def tick() -> int:
    return 1


@pipeline
def ticker():
    tick()
"""


def _cli(folder: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DAGWRIGHT_TRACKING": "off"}
    return subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=folder,
        env={**env, **popen.pop("env", {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _scheduler(folder: Path) -> subprocess.Popen[str]:
    return _cli(folder, "scheduler", "--root", str(folder / "store"), "--interval", "0.25")


def _slots(folder: Path) -> list[int]:
    with sqlite3.connect(folder / "store" / "runs.db", timeout=30) as db:
        return [int(r[0]) for r in db.execute("SELECT slot FROM firings ORDER BY slot")]


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic()


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_fault_scheduler_sigkilled_and_restarted_misses_no_slot(
    tmp_path: Path, reaped: bool
) -> None:
    """Before: the new scheduler waited ~30 s for the dead one's lease, then fired only the
    newest slot (catch-up none), losing every slot in between."""
    (tmp_path / "ticker.py").write_text(TICKER)
    added = _cli(
        tmp_path,
        "schedule",
        "add",
        "ticker.py",
        "--cron",
        "* * * * * *",
        "--root",
        str(tmp_path / "store"),
    )
    assert added.wait(timeout=60) == 0, added.stderr.read()  # type: ignore[union-attr]
    first = _scheduler(tmp_path)
    second = None
    said = ""
    try:
        _wait_for(lambda: len(_slots(tmp_path)) >= 3, 60, "the first scheduler to fire")
        first.send_signal(signal.SIGKILL)
        if reaped:
            first.wait(timeout=10)
        killed_at = time.time()
        fired_before = max(_slots(tmp_path))
        started = time.monotonic()
        second = _scheduler(tmp_path)
        took_over = _wait_for(
            lambda: max(_slots(tmp_path)) >= killed_at + 1, 60, "the second scheduler to fire"
        )
        # well under the 30 s lease: it did not wait for the dead holder's lease to lapse
        assert took_over - started < 15
        _wait_for(lambda: max(_slots(tmp_path)) >= time.time() - 1, 30, "a slot on time")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
        said = stop(second)
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc)
    slots = _slots(tmp_path)
    assert fired_before < killed_at + 1 < slots[-1]
    # every second from the first slot to the last was fired, the dead time included
    assert slots == list(range(slots[0], slots[-1] + 1))
    assert "active:" in said and "standby" not in said and "missed" not in said


def _book(folder: Path) -> ScheduleBook:
    return ScheduleBook(RunDatabase(folder / "runs.db"))


def _gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_fault_lease_of_an_exited_holder_is_taken_at_once(tmp_path: Path) -> None:
    book = _book(tmp_path)
    dead = f"{socket.gethostname()}:{_gone_pid()}:123:abc"
    assert book.acquire(dead, 1000.0, 30, ticked=1000.0)
    before = book.acquire("new", 1001.0, 30, dead=holder_dead)
    assert before is not None and (before.holder, before.ticked) == (dead, 1000.0)
    assert book.holder(1001.0) == "new"


def test_fault_lease_of_a_reused_pid_is_taken_at_once(tmp_path: Path) -> None:
    """The pid runs, but it is another process now: its start time differs from the name's."""
    book = _book(tmp_path)
    start = process_start(os.getpid())
    assert start is not None
    reused = f"{socket.gethostname()}:{os.getpid()}:{start + 1}:abc"
    assert holder_dead(reused)
    assert book.acquire(reused, 1000.0, 30)
    assert book.acquire("new", 1001.0, 30, dead=holder_dead)
    assert book.holder(1001.0) == "new"


@pytest.mark.parametrize("where", ["live-here", "other-host", "no-pid"])
def test_fault_lease_of_a_holder_not_known_dead_waits_until_it_lapses(
    tmp_path: Path, where: str
) -> None:
    holder = {
        "live-here": default_holder(),  # this very process
        "other-host": f"not-{socket.gethostname()}:{_gone_pid()}:1:abc",
        "no-pid": "scheduler-a",
    }[where]
    book = _book(tmp_path)
    assert book.acquire(holder, 1000.0, 30)
    assert book.acquire("new", 1029.0, 30, dead=holder_dead) is None
    assert book.holder(1029.0) == holder
    assert book.acquire("new", 1030.5, 30, dead=holder_dead)  # lapsed


@pytest.mark.parametrize("value", ["0", "-1", "abc", "11", "nan"])
def test_bad_scheduler_interval_is_refused_before_anything_runs(tmp_path: Path, value: str) -> None:
    proc = _cli(tmp_path, "scheduler", "--root", str(tmp_path / "store"), "--interval", value)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "--interval" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


# MLflow: concurrent runs on one fresh SQLite store, a flush limit, a store kept busy

ADDER = """
from dagwright import component, pipeline


@component
def add(a: int, b: int) -> int:
    return a + b


@pipeline
def adder(x: int = 1):
    add(a=add(a=x, b=2).output, b=3)
"""

FAN = """
from dagwright import ParallelFor, component, pipeline


@component
def items(n: int) -> list:
    return list(range(n))


@component
def square(x: int) -> int:
    return x * x


@pipeline
def fan(n: int = 10):
    with ParallelFor(items(n=n).output) as x:
        square(x=x)
"""

TRACKING_ON = {"DAGWRIGHT_TRACKING": "on"}


def _run(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return _cli(folder, "run", *args, "--root", str(folder / "store"), env=env or TRACKING_ON)


def _finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _sync(folder: Path) -> tuple[int, str, str]:
    """``lineage sync --wait``: upload here (after any background syncer), say what failed."""
    return _finish(_cli(folder, "lineage", "sync", "--wait", "--root", str(folder / "store")))


def _no_syncer_left(folder: Path, timeout: float = 120) -> None:
    """Wait for the background syncers of the store to end; kill (by pid) any that did not."""
    deadline = time.monotonic() + timeout
    while True:
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except (OSError, ValueError):
                continue
            if "dagwright.lineage.syncer" in argv and str(folder / "store") in argv:
                pids.append(int(entry.name))
        if not pids:
            return
        if time.monotonic() > deadline:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"syncers {pids} still running after {timeout:g}s")
        time.sleep(0.1)


@contextmanager
def _syncer_held_off(folder: Path) -> Iterator[None]:
    """Hold the store's sync lock: the runs meanwhile leave their lineage pending."""
    from dagwright.lineage.syncer import store_lock

    with store_lock(folder / "store" / "lineage", wait=False) as got:
        assert got
        yield


def _mlflow_runs(folder: Path, run_id: str | None = None) -> list[Any]:
    """Every active MLflow run in the store's database (of one dagwright run if given).

    Read under the store's lock like any dagwright reader: a writer process may still be
    creating the tables, and a second migration at once is what broke stores before.
    """
    from dagwright.lineage.dblock import open_client

    client = open_client(f"sqlite:///{folder / 'store' / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    query = f"tags.`dagwright.run_id` = '{run_id}'" if run_id else ""
    found: list[Any] = []
    token = None
    while True:
        page = client.search_runs(experiments, query, max_results=1000, page_token=token)
        found += page
        token = page.token
        if not token:
            return found


def _dagwright_runs(folder: Path) -> dict[str, str]:
    with sqlite3.connect(folder / "store" / "runs.db", timeout=30) as db:
        return dict(db.execute("SELECT run_id, status FROM runs").fetchall())


def _marker(folder: Path, run_id: str) -> dict[str, Any]:
    path = folder / "store" / "lineage" / f"{run_id}.pending"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_fault_20_concurrent_runs_on_a_fresh_mlflow_store_all_arrive(tmp_path: Path) -> None:
    """Before: MLflow's migration ran in several processes at once, the database stayed
    half-migrated ('table _alembic_tmp_latest_metrics already exists') and every later run
    and `lineage sync` failed on it. Now the runs leave their lineage to the store's syncer,
    one process at a time under the store's lock."""
    pytest.importorskip("mlflow")
    (tmp_path / "adder.py").write_text(ADDER)
    logs = [tmp_path / f"syncer-{i}.log" for i in range(20)]  # the syncers each run starts
    procs = [
        _run(
            tmp_path,
            "adder.py",
            "-p",
            f"x={i}",
            env={**TRACKING_ON, "DAGWRIGHT_TRACKING_LOG": str(log)},
        )
        for i, log in enumerate(logs)
    ]
    results = [_finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * 20, [err for _, _, err in results]
    for _, _, err in results:
        assert "_alembic_tmp" not in err and "Traceback" not in err
    code, _, err = _sync(tmp_path)  # waits for the syncer at work, then sends what is left
    assert code == 0, err
    _no_syncer_left(tmp_path)
    runs = _dagwright_runs(tmp_path)
    assert len(runs) == 20 and set(runs.values()) == {"succeeded"}
    found = _mlflow_runs(tmp_path)
    parents = [r for r in found if r.data.tags.get("dagwright.kind") == "run"]
    assert sorted(r.data.tags["dagwright.run_id"] for r in parents) == sorted(runs)
    assert len(found) == 20 * 3 and {r.info.status for r in found} == {"FINISHED"}
    with sqlite3.connect(tmp_path / "store" / "mlflow.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert not [t for t in tables if t.startswith("_alembic_tmp")]
    assert not list((tmp_path / "store" / "lineage").glob("*.pending"))
    # one process created and migrated the tables; the others found them ready
    said = "".join(log.read_text() for log in logs if log.exists())
    assert said.count("Creating initial MLflow database tables") == 1, said


def test_fault_a_300_step_run_returns_at_once_and_sync_delivers_each_step_once(
    tmp_path: Path,
) -> None:
    """Before: the run waited at its end for MLflow (up to a flush limit). Now it returns with
    every step's payload in its marker, and `lineage sync --wait` delivers each once."""
    pytest.importorskip("mlflow")
    (tmp_path / "fan.py").write_text(FAN)
    (tmp_path / "store" / "lineage").mkdir(parents=True)
    with _syncer_held_off(tmp_path):
        code, _, err = _finish(_run(tmp_path, "fan.py", "-p", "n=300"))
    assert code == 0, err
    (run_id,) = _dagwright_runs(tmp_path)
    kept = _marker(tmp_path, run_id)
    assert len({step["label"] for step in kept["steps"]}) == 301 and kept["reason"] is None
    assert not (tmp_path / "store" / "mlflow.db").exists() or not _mlflow_runs(tmp_path, run_id)

    code, out, err = _sync(tmp_path)
    assert code == 0, err
    assert out.split() == [run_id]
    found = _mlflow_runs(tmp_path, run_id)
    assert len(found) == 302 and {r.info.status for r in found} == {"FINISHED"}
    steps = [r.data.tags["dagwright.step"] for r in found if "dagwright.step" in r.data.tags]
    assert len(set(steps)) == len(steps) == 301  # each step once, none left twice
    assert not (tmp_path / "store" / "lineage" / f"{run_id}.pending").exists()
    _no_syncer_left(tmp_path)


def test_fault_a_10000_item_parallel_for_keeps_every_pending_mlflow_run(tmp_path: Path) -> None:
    """Before: the run stopped waiting at the flush limit and said only that lineage was
    kept; now it does not wait at all, and its marker keeps every step for the syncer."""
    pytest.importorskip("mlflow")
    (tmp_path / "fan.py").write_text(FAN)
    (tmp_path / "store" / "lineage").mkdir(parents=True)
    with _syncer_held_off(tmp_path):  # no syncer: 10,000 uploads are not this test's
        code, _, err = _finish(_run(tmp_path, "fan.py", "-p", "n=10000", "--quiet"))
    assert code == 0, err
    (run_id,) = _dagwright_runs(tmp_path)
    labels = {step["label"] for step in _marker(tmp_path, run_id)["steps"]}
    assert len(labels) == 10_001  # every step's payload is kept for the upload, once


def test_fault_a_store_locked_by_another_process_leaves_the_run_to_sync(tmp_path: Path) -> None:
    """A syncer that cannot get the migration lock in time does not touch the database: the
    run has returned already, its lineage stays pending, and sync delivers it once the lock
    is free."""
    pytest.importorskip("mlflow")
    from dagwright.lineage.dblock import locked

    (tmp_path / "adder.py").write_text(ADDER)
    lock = tmp_path / "store" / "mlflow.db.lock"
    env = {
        **TRACKING_ON,
        "DAGWRIGHT_TRACKING_LOCK_TIMEOUT": "1",
        "DAGWRIGHT_TRACKING_FLUSH_TIMEOUT": "2",
    }
    with locked(lock, timeout=5):
        started = time.monotonic()
        code, _, err = _finish(_run(tmp_path, "adder.py", env=env))
        assert code == 0, err
        assert time.monotonic() - started < 30  # the run did not wait for the lock
        _no_syncer_left(tmp_path)  # its syncer waited, retried, then gave up
        (run_id,) = _dagwright_runs(tmp_path)
        assert "mlflow.db.lock" in _marker(tmp_path, run_id)["reason"]
        database = tmp_path / "store" / "mlflow.db"
        # made empty and private up front (0600), never opened by MLflow: no tables in it
        assert not database.exists() or database.stat().st_size == 0
    code, out, err = _sync(tmp_path)
    assert code == 0, err
    assert out.split() == [run_id]
    found = _mlflow_runs(tmp_path, run_id)
    assert len(found) == 3 and {r.info.status for r in found} == {"FINISHED"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DAGWRIGHT_TRACKING_FLUSH_TIMEOUT", "abc"),
        ("DAGWRIGHT_TRACKING_FLUSH_TIMEOUT", "0"),
        ("DAGWRIGHT_TRACKING_FLUSH_TIMEOUT", "inf"),
        ("DAGWRIGHT_TRACKING_LOCK_TIMEOUT", "-1"),
        ("DAGWRIGHT_TRACKING_LOCK_TIMEOUT", "soon"),
        ("DAGWRIGHT_TRACKING", "of"),
    ],
)
def test_bad_tracking_setting_is_refused_before_the_run(
    tmp_path: Path, name: str, value: str
) -> None:
    pytest.importorskip("mlflow")
    (tmp_path / "adder.py").write_text(ADDER)
    code, _, err = _finish(_run(tmp_path, "adder.py", env={**TRACKING_ON, name: value}))
    assert code == 2, err
    assert f"field '{name}'" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()  # nothing ran, nothing written


def test_fault_a_half_migrated_store_is_named_with_the_way_out(tmp_path: Path) -> None:
    """A database an older version left half-migrated: the run finishes, its syncer gives up
    at once (retrying cannot help) saying why in one line (not a page of SQL), and sync
    fails the same way."""
    pytest.importorskip("mlflow")
    (tmp_path / "adder.py").write_text(ADDER)
    (tmp_path / "store").mkdir()
    with sqlite3.connect(tmp_path / "store" / "mlflow.db") as db:
        db.execute("CREATE TABLE _alembic_tmp_latest_metrics (key TEXT)")
    before = (tmp_path / "store" / "mlflow.db").read_bytes()
    code, _, err = _finish(_run(tmp_path, "adder.py"))
    assert code == 0, err
    _no_syncer_left(tmp_path, timeout=60)
    (run_id,) = _dagwright_runs(tmp_path)
    reason = _marker(tmp_path, run_id)["reason"]
    assert "mlflow.db was left half-migrated" in reason and "[SQL" not in reason
    assert (tmp_path / "store" / "mlflow.db").read_bytes() == before  # not touched
    code, _, err = _sync(tmp_path)
    assert code == 1 and "move it aside" in err and "Traceback" not in err
    assert (tmp_path / "store" / "lineage" / f"{run_id}.pending").exists()  # still kept


def _timeline(root: Path, first: str, *, stopped_cleanly: bool, catchup: str) -> list[str]:
    """A scheduler ``first`` fires minute 1 then ends (SIGKILL, or a clean stop); another
    ticks at minute 3 + 20 s, inside the first's lease. What does the second start?"""
    add_schedule(root, catchup=catchup)
    clock, launcher = FakeClock(T0 + 60.5), RecordingLauncher(end_at_once=True)
    one = CronDaemon(root, clock=clock, launcher=launcher, holder=first, lease=300, grace=5)
    one.tick()
    if stopped_cleanly:
        one.close()  # gives the lease back
    clock.t = T0 + 200
    two = CronDaemon(root, clock=clock, launcher=launcher, holder="second", lease=300, grace=5)
    events = two.tick()
    return [*launcher.started, *(f"missed {e.slot - T0:g}" for e in events if e.action == "missed")]


def test_fault_a_dead_holders_slots_are_fired_by_the_one_taking_over(tmp_path: Path) -> None:
    dead = f"{socket.gethostname()}:{_gone_pid()}:1:abc"
    started = _timeline(tmp_path, dead, stopped_cleanly=False, catchup="none")
    assert started == [minute(1), minute(2), minute(3)]  # at once, and nothing lost


def test_fault_a_live_holder_is_not_taken_over(tmp_path: Path) -> None:
    started = _timeline(tmp_path, default_holder(), stopped_cleanly=False, catchup="none")
    assert started == [minute(1)]  # the second waits as a standby


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [
        ("none", ["missed 180"]),
        ("latest", [minute(3), "missed 120"]),
        ("all", [minute(2), minute(3)]),
    ],
)
def test_fault_slots_while_no_scheduler_ran_follow_the_catchup_policy(
    tmp_path: Path, catchup: str, expected: list[str]
) -> None:
    """After a clean stop no scheduler held the lease: README's --catchup applies."""
    started = _timeline(tmp_path, "first", stopped_cleanly=True, catchup=catchup)
    assert started == [minute(1), *expected]
