"""The ``dagwright ui`` command itself: Ctrl-C in a real terminal stops it with exit 0 and no
traceback; a port in use, a store without runs and a missing ``ui`` extra exit 2 with a
message that names the fix; ``import dagwright`` and the command line stay light."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
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
