"""The ``dagwright ui`` command itself: Ctrl-C in a real terminal stops it with exit 0 and no
traceback; a port in use, a store without runs and a missing ``ui`` extra exit 2 with a
message that names the fix; ``import dagwright`` and the command line stay light."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from ui_server_helpers import REPO, call, dagwright, env, free_port, write_pipelines

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ui-cli")
    found = folder / "store"
    dagwright(found, "run", str(write_pipelines(folder)["demo"]))
    return found


def ui(home: Path, *args: str, code: str = "") -> subprocess.CompletedProcess[str]:
    """``dagwright ui`` in a process that first runs ``code``; it must end by itself."""
    program = code + "\nfrom dagwright.cli import main\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", program, "ui", "--root", str(home), *args],
        env=env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ctrl_c_in_a_terminal_stops_it_cleanly(home: Path) -> None:
    port = free_port()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "dagwright.cli", "ui", "--root", str(home), "--port", str(port)],
        env=env(home),
        cwd=str(REPO),
        encoding="utf-8",
        timeout=60,
    )
    try:
        child.expect("Ctrl-C")
        assert f"http://127.0.0.1:{port}/" in (child.before or "")
        assert call(f"http://127.0.0.1:{port}/api/runs").json["total"] == 1
        # an event stream open: the server still stops (it does not wait for the stream)
        stream = socket.create_connection(("127.0.0.1", port), timeout=10)
        stream.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert b"200" in stream.recv(1024)
        child.sendintr()
        child.expect(pexpect.EOF, timeout=30)
        stream.close()
    finally:
        child.close(force=True)
    output = (child.before or "").replace("\r", "")
    assert child.exitstatus == 0, output
    assert child.signalstatus is None
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "stopped" in output


def test_a_port_in_use_is_exit_2_naming_port(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = ui(home, "--port", str(taken.getsockname()[1]))
    assert done.returncode == 2, done.stderr
    assert "--port" in done.stderr and "Traceback" not in done.stderr


def test_an_address_not_of_this_machine_is_exit_2_naming_host(home: Path) -> None:
    done = ui(home, "--host", "192.0.2.1", "--port", str(free_port()))
    assert done.returncode == 2, done.stderr
    assert "--host" in done.stderr and "Traceback" not in done.stderr


def test_a_store_without_runs_is_exit_2(tmp_path: Path) -> None:
    done = ui(tmp_path / "empty", "--port", str(free_port()))
    assert done.returncode == 2
    assert "--root" in done.stderr and "run a pipeline first" in done.stderr
    assert not (tmp_path / "empty").exists()  # a mistyped --root creates nothing
    (tmp_path / "odd" / "runs.db").mkdir(parents=True)  # a folder where the database goes
    odd = ui(tmp_path / "odd", "--port", str(free_port()))
    assert odd.returncode == 2 and "is not a run database" in odd.stderr, odd.stderr
    assert "Traceback" not in odd.stderr


@pytest.mark.parametrize("package", ["starlette", "uvicorn"])
def test_without_the_extra_it_names_the_install(home: Path, package: str) -> None:
    blocked = f"import sys\nsys.modules[{package!r}] = None\n"
    done = ui(home, "--port", str(free_port()), code=blocked)
    assert done.returncode == 2, done.stderr
    assert "pip install 'dagwright[ui]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_importing_dagwright_or_listing_commands_loads_no_server(home: Path) -> None:
    probe = (
        "import json, sys\n"
        "import dagwright\n"
        "from click.testing import CliRunner\n"
        "from dagwright.cli import cli\n"
        "CliRunner().invoke(cli, ['--help'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn') or m.startswith('dagwright.ui'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env(home), capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout) == []


def test_an_unexpected_failure_is_500_json_without_a_traceback(home: Path, tmp_path: Path) -> None:
    """A run row this version cannot read (its parameters are not JSON): the client gets a
    short JSON error, the server's terminal the traceback, and the server goes on."""
    import shutil
    import sqlite3

    from ui_server_helpers import start

    broken = tmp_path / "store"
    shutil.copytree(home, broken)
    with sqlite3.connect(broken / "runs.db") as db:
        db.execute("UPDATE runs SET params = 'not json'")
    server = start(broken)
    try:
        answer = call(server.base + "/api/runs")
        assert answer.status == 500
        assert answer.json == {
            "error": "the server failed on this request; its terminal says why",
            "field": None,
            "fix": None,
        }
        assert call(server.base + "/api/schedules").status == 200  # it still serves
        os.killpg(server.process.pid, signal.SIGINT)
        printed = server.process.communicate(timeout=30)[0]
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert "Traceback" in printed and "JSONDecodeError" in printed  # on the server's side


def test_a_resume_refused_at_once_is_409_with_its_reason(home: Path, tmp_path: Path) -> None:
    """A run whose recorded IR this dagwright refuses (a component changed after its digest
    was taken): ``dagwright resume`` exits 2 before anything runs, and the API says why."""
    import shutil
    import sqlite3

    from ui_server_helpers import start

    changed = tmp_path / "store"
    shutil.copytree(home, changed)
    with sqlite3.connect(changed / "runs.db") as db:
        (text,) = db.execute("SELECT ir FROM runs").fetchone()
        ir = json.loads(text)
        ir["components"]["add"]["source"] = ir["components"]["add"]["source"].replace("+ 1", "+ 2")
        db.execute("UPDATE runs SET ir = ?, status = 'failed'", (json.dumps(ir),))
    server = start(changed)
    try:
        (run,) = call(server.base + "/api/runs").json["runs"]
        answer = call(
            server.base + f"/api/runs/{run['run_id']}/resume",
            method="POST",
            headers={"X-Dagwright": "1"},
        )
        assert answer.status == 409, answer.text
        assert "component 'add' was changed" in answer.json["error"]
        assert answer.json["field"] == "run_id"
        assert call(server.base + f"/api/runs/{run['run_id']}").json["status"] == "failed"
    finally:
        server.stop()


def test_open_hands_the_url_with_its_token_to_the_browser(home: Path, tmp_path: Path) -> None:
    """``--open`` runs the user's browser (``$BROWSER``, as Python's webbrowser reads it)."""
    from ui_server_helpers import start

    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(0o755)
    server = start(home, "--open", "--token", "t0ken-for-the-browser", BROWSER=str(browser))
    try:
        deadline = time.monotonic() + 30
        while not (opened.exists() and opened.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        url = opened.read_text()
        assert url == f"http://127.0.0.1:{server.port}/?token=t0ken-for-the-browser"
        assert call(url).status == 200
    finally:
        server.stop()


RESUMED_LATE = """
import sys
import time
from pathlib import Path

from dagwright import component, pipeline


@component
def held(flag: str, gate: str) -> int:
    if not Path(flag).exists():
        raise RuntimeError("no flag yet")
    while not Path(gate).exists():
        time.sleep(0.05)
    print("through the gate", file=sys.stderr, flush=True)
    return 1


@component
def after(x: int) -> int:
    return x + 1


@pipeline
def late(flag: str, gate: str):
    after(x=held(flag=flag, gate=gate).output)
"""


def test_a_resume_from_the_page_outlives_the_server(tmp_path: Path) -> None:
    """The resume the page starts runs on after the server stops (Ctrl-C of ``dagwright
    ui``): what it prints later (its progress lines, on stderr) has somewhere to go."""
    from ui_server_helpers import start

    home, flag, gate = tmp_path / "store", tmp_path / "flag", tmp_path / "gate"
    (tmp_path / "late.py").write_text(RESUMED_LATE)
    first = dagwright(home, "run", str(tmp_path / "late.py"), "-p", f"flag={flag}",
                      "-p", f"gate={gate}", check=False)  # fmt: skip
    assert first.returncode == 1, first.stderr
    (run_id,) = [r["run_id"] for r in json.loads(dagwright(home, "runs", "ls", "--json").stdout)]
    flag.touch()
    server = start(home)
    try:
        answer = call(
            server.base + f"/api/runs/{run_id}/resume", method="POST", headers={"X-Dagwright": "1"}
        )
        assert answer.status == 202, answer.text
        deadline = time.monotonic() + 60
        while call(server.base + f"/api/runs/{run_id}/steps/held").json["status"] != "running":
            assert time.monotonic() < deadline, "the resume never ran the step"
            time.sleep(0.05)
    finally:
        server.stop()  # the server is gone; the resumed run is not
    gate.touch()
    deadline = time.monotonic() + 60
    while (status := _status(home, run_id)) == "running":
        assert time.monotonic() < deadline, "the resumed run never ended"
        time.sleep(0.1)
    assert status == "succeeded", dagwright(home, "runs", "show", run_id).stdout


def _status(home: Path, run_id: str) -> str:
    shown = json.loads(dagwright(home, "runs", "show", run_id, "--json").stdout)
    return str(shown["status"])
