"""The ``dagwright`` command in a real pseudo-terminal (pexpect), as a user at a terminal runs it.

Everything the command prints is kept (ANSI sequences stripped in ``text``); while it runs, its
resident memory is sampled from ``/proc`` so a runaway loop shows as a number, not a hang.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parents[1]
ROWS, COLUMNS = 40, 160
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def plain(raw: str) -> str:
    """Terminal output as text: no escape sequences, no carriage returns."""
    return _ANSI.sub("", raw).replace("\r", "")


def write_pipeline(folder: Path, name: str, body: str) -> Path:
    """A pipeline file ``folder/name.py`` with the usual imports above ``body``."""
    path = folder / f"{name}.py"
    header = (
        "import os, subprocess, sys, time\n"
        "from dagwright import Metrics, Output, ParallelFor, component, pipeline\n"
        "from dagwright.runtimes import Local, Process\n\n"
    )
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return path


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in ("NO_COLOR", "COLUMNS", "LINES"):  # the terminal's own size counts
        env.pop(name, None)
    env.update(PYTHONPATH=str(REPO), TERM="xterm-256color", DAGWRIGHT_HOME=str(home))
    env.update(extra)
    return env


@dataclass
class Session:
    child: pexpect.spawn
    raw: str = ""
    peak_rss_kb: int = 0
    seconds: float = 0.0
    exit_code: int | None = None
    signal: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return plain(self.raw)

    def _sample(self) -> None:
        try:
            status = Path(f"/proc/{self.child.pid}/status").read_text()
        except OSError:
            return
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        if found:
            self.peak_rss_kb = max(self.peak_rss_kb, int(found.group(1)))

    def _read(self) -> bool:
        """Read what the command printed in the next half second; False at its end."""
        self._sample()
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=0.5)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def expect(self, pattern: str, timeout: float = 60) -> None:
        """Read until ``pattern`` (a regex over the raw output since this call) shows up."""
        start, deadline = len(self.raw), time.monotonic() + timeout
        while not re.search(pattern, self.raw[start:]):
            if not self._read() or time.monotonic() > deadline:
                raise AssertionError(
                    f"{pattern!r} not seen within {timeout} s; output so far:\n{self.text[-3000:]}"
                )

    def finish(self, timeout: float = 120) -> Session:
        """Read to the end (the command must exit within ``timeout``) and collect its status."""
        deadline = time.monotonic() + timeout
        while self._read():
            if time.monotonic() > deadline:
                self.child.kill(9)
                self.child.close(force=True)
                raise AssertionError(
                    f"the command did not finish within {timeout} s (peak memory "
                    f"{self.peak_rss_kb // 1024} MiB); last output:\n{self.text[-3000:]}"
                )
        self.child.close()
        self.seconds = time.monotonic() - self.started
        self.exit_code, self.signal = self.child.exitstatus, self.child.signalstatus
        return self


def spawn(args: list[str], cwd: Path, home: Path, **env: str) -> Session:
    """``python -m dagwright.cli ARGS`` in a pseudo-terminal of ``ROWS`` x ``COLUMNS``."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "dagwright.cli", *args],
        cwd=str(cwd),
        env=env_for(home, **env),
        dimensions=(ROWS, COLUMNS),
        encoding="utf-8",
        codec_errors="replace",
        timeout=None,
        maxread=65536,
    )
    return Session(child)


def run_in_terminal(args: list[str], cwd: Path, home: Path, timeout: float = 120) -> Session:
    return spawn(args, cwd, home).finish(timeout)


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def read_pids(path: Path, seconds: float = 60) -> list[int]:
    """The pids a step wrote into ``path``, waiting for the file to appear."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)
    return [int(p) for p in path.read_text().split()]
