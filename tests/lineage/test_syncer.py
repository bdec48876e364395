"""Lineage off the run's path: a run ends once its graph and ``.pending`` marker are written, a
background syncer (one per store, under a lock) uploads it to a real ``mlflow server`` on
127.0.0.1, and ``--wait-lineage`` / ``lineage sync --wait`` block until MLflow has it.

The runs here are whole ``dagwright`` commands (real processes, real SIGKILL); each test waits
for its syncers to end (conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from auth_proxy import auth_proxy
from mlflow_server import MlflowServer, free_port, start_server, stop, wait_until_up
from syncers import started_syncers, syncer_pids, wait_for_syncers

from dagwright.lineage import syncer, tracking
from dagwright.lineage.mlflow_sink import write_marker

mlflow = pytest.importorskip("mlflow")

REPO = Path(__file__).resolve().parents[2]
FLOW = """
from dagwright import Pipeline, component, pipeline


@component
def inc(x: int) -> int:
    return x + 1


@pipeline
def flow(x: int = 1) -> int:
    return inc(x=inc(x=x).output).output


def chain(steps: int) -> Pipeline:
    p = Pipeline("long")
    prev = p.param("x", int, default=0)
    for _ in range(steps):
        prev = p.add(inc, x=prev).output
    return p


long = chain(300)
"""
# a run in a process of its own that says what it imported and which processes it waited for
PROBE = """
import sys, dagwright
sys.path.insert(0, sys.argv[2])
from flow import flow
result = dagwright.run(flow, root=sys.argv[1], echo=False, tracking_uri=sys.argv[3])
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "mlflow" or "writer" in m)
print(result.run_id, ",".join(loaded))
"""

# a run whose process dies after its graph is saved, before its sink writes the run's marker
CRASH = """
import os, sys, dagwright
from dagwright.lineage.mlflow_sink import MlflowSink
MlflowSink.run_finished = lambda *args: os._exit(9)
sys.path.insert(0, sys.argv[2])
from flow import flow
dagwright.run(flow, root=sys.argv[1], echo=False, tracking_uri=sys.argv[3])
"""


def cli(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), "DAGWRIGHT_TRACKING": "on", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", *args, "--root", str(folder / "store")],
        cwd=folder,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run(
    folder: Path, *args: str, env: dict[str, str] | None = None, target: str = "flow.py:flow"
) -> tuple[str, str]:
    """A ``dagwright run -q`` that must succeed: its run id and stderr."""
    (folder / "flow.py").write_text(FLOW)
    code, out, err = finish(cli(folder, "run", target, "-q", *args, env=env))
    assert code == 0, err
    return out.split()[0], err


def parents(uri: str, run_id: str) -> list[Any]:
    """The active MLflow runs of a dagwright run, its own and its steps'."""
    client = mlflow.tracking.MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(
        client.search_runs(experiments, f"tags.`dagwright.run_id` = '{run_id}'", max_results=5000)
    )


def landed_once(uri: str, run_id: str, steps: int) -> None:
    """MLflow holds the run once, each of its steps once, all finished."""
    found = parents(uri, run_id)
    kinds = [r.data.tags.get("dagwright.kind") for r in found]
    labels = [r.data.tags["dagwright.step"] for r in found if "dagwright.step" in r.data.tags]
    assert kinds.count("run") == 1, kinds
    assert len(labels) == len(set(labels)) == steps
    assert {r.info.status for r in found} == {"FINISHED"}


def wait_state(root: Path, run_id: str, wanted: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = tracking.state(root, run_id)
        if found["state"] == wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def show(folder: Path, run_id: str) -> tuple[str, dict[str, Any]]:
    """``runs show``'s lineage line, and the lineage of ``runs show --json``."""
    code, out, err = finish(cli(folder, "runs", "show", run_id))
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("lineage "))
    code, out, err = finish(cli(folder, "runs", "show", run_id, "--json"))
    assert code == 0, err
    return line, json.loads(out)["lineage"]


def test_a_run_returns_without_a_writer_or_mlflow_and_its_syncer_lands_it(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "store"), str(tmp_path), mlflow_server.uri],
        env={**os.environ, "PYTHONPATH": str(REPO), "DAGWRIGHT_TRACKING": "on"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    run_id, loaded = (probe.stdout.split() + [""])[:2]
    assert loaded == ""  # neither mlflow nor a writer was imported by the run's process
    folder = tmp_path / "store" / "lineage"
    assert (folder / f"{run_id}.json").exists()
    # the run returned before MLflow had it: its syncer, in a session of its own, uploads it
    assert wait_state(tmp_path / "store", run_id, "in_mlflow")["state"] == "in_mlflow"
    landed_once(mlflow_server.uri, run_id, 2)
    assert not (folder / f"{run_id}.pending").exists()
    line, state = show(tmp_path, run_id)
    assert line == f"lineage in MLflow ({mlflow_server.uri})"
    assert state["state"] == "in_mlflow" and state["mlflow_run_id"]


def test_the_syncer_runs_in_its_own_session_away_from_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGWRIGHT_TRACKING_LOG", raising=False)  # its stderr: /dev/null
    folder = tmp_path / "store" / "lineage"
    folder.mkdir(parents=True)
    full = "http://ci:pw@127.0.0.1:9"  # nothing listens: the syncer must not get to send
    with syncer.store_lock(folder, wait=False) as got:
        assert got  # held: a syncer with nothing the holder lacks is not started
        assert syncer.start(tmp_path / "store") is None
        # one holding a password waits in line while a marker names its URI: alive to look at
        write_marker(folder / "r.pending", full, None, None, None)
        pid = syncer.start(tmp_path / "store", [full])
        assert pid is not None
        assert started_syncers(tmp_path) == [pid]  # alive, waiting: what follows is checked
        assert os.getsid(pid) == pid  # its own session: Ctrl-C and SIGHUP do not reach it
        for fd in ("0", "1", "2"):
            assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
        (folder / "r.pending").unlink()  # needed no more: it stops waiting
    assert wait_for_syncers(tmp_path)


def test_wait_lineage_exits_once_mlflow_has_the_run(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    run_id, _ = run(tmp_path, "--tracking-uri", mlflow_server.uri, "--wait-lineage")
    landed_once(mlflow_server.uri, run_id, 2)  # at once: no waiting here
    assert tracking.state(tmp_path / "store", run_id)["state"] == "in_mlflow"
    code, _, err = finish(cli(tmp_path, "runs", "rm", run_id))
    assert code == 0, err
    assert not list((tmp_path / "store" / "lineage").glob(f"{run_id}.*"))  # graph and record


def test_wait_lineage_fails_naming_the_run_when_mlflow_is_down(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "flow.py").write_text(FLOW)
    env = {"DAGWRIGHT_TRACKING_FLUSH_TIMEOUT": "2"}
    args = ("run", "flow.py:flow", "-q", "--tracking-uri", down, "--wait-lineage")
    code, out, err = finish(cli(tmp_path, *args, env=env))
    assert code == 1, err
    run_id = out.split()[0]
    assert out.split()[1] == "succeeded"  # the run itself did
    assert f"the lineage of run {run_id} did not reach MLflow" in err
    assert "Connection" in err and "Traceback" not in err
    line, state = show(tmp_path, run_id)
    assert line.startswith(f"lineage pending upload to {down} (") and "Connection" in line
    assert state["state"] == "pending"


def test_mlflow_down_at_run_time_then_up_the_next_run_lands_both(tmp_path: Path) -> None:
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {"DAGWRIGHT_TRACKING_FLUSH_TIMEOUT": "2"}
    first, _ = run(tmp_path, "--tracking-uri", uri, env=env)
    assert wait_for_syncers(tmp_path)  # it tried, then left the run pending
    assert tracking.state(tmp_path / "store", first)["state"] == "pending"
    server_folder = tmp_path / "server"
    server_folder.mkdir()
    proc = start_server(server_folder, port)
    try:
        wait_until_up(proc, uri, server_folder)
        second, _ = run(tmp_path, "--tracking-uri", uri)
        for run_id in (first, second):
            assert wait_state(tmp_path / "store", run_id, "in_mlflow")["state"] == "in_mlflow"
            landed_once(uri, run_id, 2)
        assert tracking.pending(tmp_path / "store") == []
    finally:
        assert wait_for_syncers(tmp_path)
        stop(proc)


def test_a_syncer_killed_mid_upload_leaves_markers_a_later_sync_completes_once(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    folder = tmp_path / "store" / "lineage"
    folder.mkdir(parents=True)
    with syncer.store_lock(folder, wait=False):  # the run's own syncer finds the store busy
        run_id, _ = run(tmp_path, "--tracking-uri", mlflow_server.uri, target="flow.py:long")
    pid = syncer.start(tmp_path / "store")
    assert pid is not None
    client = mlflow.tracking.MlflowClient(mlflow_server.uri)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once some steps, not all, are in MLflow
        steps = [r for r in parents(mlflow_server.uri, run_id) if "dagwright.step" in r.data.tags]
        if len(steps) >= 20:
            break
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    assert wait_for_syncers(tmp_path)
    found = parents(mlflow_server.uri, run_id)
    assert 20 <= len(found) < 301, len(found)  # cut short...
    assert (folder / f"{run_id}.pending").exists()  # ...and still pending
    own = [r for r in found if r.data.tags.get("dagwright.kind") == "run"]
    assert len(own) == 1 and own[0].info.status == "RUNNING"

    code, out, err = finish(cli(tmp_path, "lineage", "sync", "--wait"))
    assert code == 0, err
    assert out.split() == [run_id]
    landed_once(mlflow_server.uri, run_id, 300)
    assert client.get_run(own[0].info.run_id).info.status == "FINISHED"  # completed, not new


def test_several_runs_at_once_on_one_store_all_land_each_once(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    args = ("run", "flow.py:flow", "-q", "--tracking-uri", mlflow_server.uri)
    procs = [cli(tmp_path, *args, "-p", f"x={i}") for i in range(6)]
    results = [finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    run_ids = [out.split()[0] for _, out, _ in results]
    for run_id in run_ids:
        assert wait_state(tmp_path / "store", run_id, "in_mlflow")["state"] == "in_mlflow"
        landed_once(mlflow_server.uri, run_id, 2)
    assert wait_for_syncers(tmp_path)
    assert tracking.pending(tmp_path / "store") == []
    assert syncer_pids(tmp_path) == []


def test_lineage_sync_without_wait_hands_the_runs_to_the_syncer(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    off = {"DAGWRIGHT_TRACKING": "off"}
    run_id, _ = run(tmp_path, env=off)  # tracking off: local only, no marker
    line, state = show(tmp_path, run_id)
    assert line == "lineage local only (tracking off)" and state == {"state": "local"}
    args = ("lineage", "sync", run_id, "--tracking-uri", mlflow_server.uri)
    code, out, err = finish(cli(tmp_path, *args))
    assert code == 0, err
    assert out.split() == [run_id] and "in the background" in err
    assert wait_state(tmp_path / "store", run_id, "in_mlflow")["state"] == "in_mlflow"
    landed_once(mlflow_server.uri, run_id, 2)


def test_runs_show_says_when_a_run_recorded_no_lineage(tmp_path: Path) -> None:
    run_id, _ = run(tmp_path, "--no-lineage")
    line, state = show(tmp_path, run_id)
    assert line == "lineage none (recorded with --no-lineage)" and state == {"state": "none"}
    assert syncer_pids(tmp_path) == []  # nothing to send: no syncer


def test_a_marker_written_while_the_lock_was_held_is_handed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder's last scan found nothing; a run wrote its marker just after, while the
    lock was still held (so that run started no syncer): after releasing, the holder starts
    one. Markers it gave up on are not handed on (they wait for the next run or sync)."""
    folder = tmp_path / "lineage"
    folder.mkdir()
    (folder / "given-up.pending").write_text("{}")
    started: list[Path] = []
    late = [folder / "late.pending"]

    def rounds(root: Path, *args: Any) -> dict[str, int]:
        for marker in late:
            marker.write_text("{}")  # after the last scan, the lock still held
        return {"given-up": (folder / "given-up.pending").stat().st_mtime_ns}

    monkeypatch.setattr(syncer, "_rounds", rounds)
    monkeypatch.setattr(syncer, "start", lambda root, uris=None: started.append(root))
    assert syncer.drain(tmp_path, wait=False) is not None
    assert started == [tmp_path]
    (folder / "late.pending").unlink()
    late.clear()
    started.clear()
    assert syncer.drain(tmp_path, wait=False) is not None
    assert started == []  # only the given-up marker is left: not handed on


def test_a_run_whose_uri_has_a_password_lands_when_a_syncer_was_at_work(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    """The holder of the store's lock sees the run's marker, but not the password of its URI
    (never on disk): the run's own syncer waits in line with it, and lands the run."""
    password = "s3cret-pw"
    with auth_proxy(mlflow_server.uri, "ci", password) as (proxy, answered):
        full = proxy.replace("http://", f"http://ci:{password}@")
        folder = tmp_path / "store" / "lineage"
        folder.mkdir(parents=True)
        with syncer.store_lock(folder, wait=False) as got:  # a syncer at work on the store
            assert got
            run_id, _ = run(tmp_path, "--tracking-uri", full)
            waiting = started_syncers(tmp_path, timeout=5)
            assert len(waiting) == 1  # the run's syncer, in line
            assert password.encode() not in Path(f"/proc/{waiting[0]}/cmdline").read_bytes()
            assert tracking.state(tmp_path / "store", run_id)["state"] == "pending"
        assert wait_state(tmp_path / "store", run_id, "in_mlflow")["state"] == "in_mlflow"
        landed_once(mlflow_server.uri, run_id, 2)
        assert 401 not in answered and 200 in answered  # sent with the password
        assert wait_for_syncers(tmp_path)
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


def test_a_run_that_died_between_its_graph_and_its_marker_is_still_sent(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    crash = subprocess.run(
        [sys.executable, "-c", CRASH, str(tmp_path / "store"), str(tmp_path), mlflow_server.uri],
        env={**os.environ, "PYTHONPATH": str(REPO), "DAGWRIGHT_TRACKING": "on"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crash.returncode == 9, crash.stderr
    folder = tmp_path / "store" / "lineage"
    (graph,) = folder.glob("*.json")
    run_id = graph.stem
    assert tracking.state(tmp_path / "store", run_id)["state"] == "pending"
    code, out, err = finish(cli(tmp_path, "lineage", "sync", "--wait"))
    assert code == 0, err
    assert out.split() == [run_id]
    landed_once(mlflow_server.uri, run_id, 2)  # rebuilt from the graph
    assert tracking.state(tmp_path / "store", run_id)["state"] == "in_mlflow"
