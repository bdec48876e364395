"""A real ``dagwright ui`` server for the server tests: started as a subprocess on a free
port against a store made by real runs, answered over HTTP with the standard library."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SECRET = "tok-8f3Kq92xLmZ7wPq4"  # the api_token value: never in any answer

PIPELINES = {
    "demo": """
        from dagwright import HTML, Markdown, Metrics, Output, component, pipeline

        @component
        def make(
            n: int,
            api_token: str,
            scores: Output[Metrics],
            page: Output[HTML],
            notes: Output[Markdown],
        ) -> int:
            print("using", api_token, "for", n)
            scores.log_metric("accuracy", 0.5 + n / 10)
            scores.log_metric("loss", float("nan"))  # JSON.parse takes no bare NaN
            with open(page.path, "w") as f:
                f.write("<script>parent.document.title = 'owned'</script>")
            with open(notes.path, "w") as f:
                f.write("# Notes\\n\\n<script>alert(1)</script>\\n\\n*fine*\\n")
            return n * 2

        @component
        def add(x: int) -> int:
            return x + 1

        @pipeline
        def demo(n: int = 2, api_token: str = "{secret}"):
            made = make(n=n, api_token=api_token)
            add(x=made.outputs["output"])
    """,
    "broken": """
        import os
        from dagwright import component, pipeline

        @component
        def check(flag: str) -> str:
            if not os.path.exists(flag):
                raise RuntimeError("no flag file yet")
            return "ok"

        @pipeline
        def broken(flag: str = "missing"):
            check(flag=flag)
    """,
    "chatty": """
        import sys, time
        from dagwright import component, pipeline

        @component
        def talk(lines: int, api_token: str) -> int:
            for i in range(lines):
                print(f"line {i} with {api_token}", flush=True)
                print(f"warning {i}", file=sys.stderr, flush=True)
                time.sleep(0.1)
            time.sleep(60)  # until cancelled
            return lines

        @component
        def after(x: int) -> int:
            return x

        @pipeline
        def chatty(lines: int = 5, api_token: str = "{secret}"):
            after(x=talk(lines=lines, api_token=api_token).output)
    """,
    "looped": """
        from dagwright import Collected, ParallelFor, component, pipeline

        @component
        def square(x: int, api_token: str) -> int:
            print("square of", x, "with", api_token)
            return x * x

        @component
        def total(xs: list[int]) -> int:
            return sum(xs)

        @pipeline
        def looped(api_token: str = "{secret}"):
            with ParallelFor([1, 2, 3]) as item:
                squared = square(x=item, api_token=api_token)
            total(xs=Collected(squared.output))
    """,
    "slow": """
        import time
        from dagwright import component, pipeline

        @component
        def nap(seconds: float) -> float:
            time.sleep(seconds)
            return seconds

        @pipeline
        def slow(seconds: float = 1.0):
            nap(seconds=nap(seconds=seconds).output)
    """,
}


def env(home: Path) -> dict[str, str]:
    """The environment of every command: this checkout's package, lineage kept local."""
    found = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    found.update(PYTHONPATH=str(REPO), DAGWRIGHT_TRACKING="off", DAGWRIGHT_HOME=str(home))
    found.pop("MLFLOW_TRACKING_URI", None)
    return found


def write_pipelines(folder: Path) -> dict[str, Path]:
    """The pipeline files, by name."""
    paths = {}
    for name, body in PIPELINES.items():
        path = folder / f"{name}.py"
        path.write_text(textwrap.dedent(body).replace("{secret}", SECRET), encoding="utf-8")
        paths[name] = path
    return paths


def dagwright(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m dagwright.cli ARGS`` against the store at ``home``."""
    done = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args, "--root", str(home)],
        env=env(home),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def free_port() -> int:
    """A port nothing listens on now (the CLI takes no port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``dagwright ui`` and what it printed first."""

    process: subprocess.Popen[str]
    port: int
    banner: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Ctrl-C to its process group, then SIGKILL if it lingers: nothing is left behind."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start(home: Path, *args: str, **extra_env: str) -> Server:
    """``dagwright ui --root HOME --port FREE ARGS`` once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "ui", "--root", str(home), "--port", str(port)]
        + list(args),
        env={**env(home), **extra_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = Server(process, port, "")
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            server.stop()
            raise AssertionError(f"dagwright ui ended: {server.banner}")
        server.banner += line
        if "Ctrl-C" in line:
            return server
    server.stop()
    raise AssertionError(f"dagwright ui did not start: {server.banner}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        # strictly, as a browser's JSON.parse reads it: no bare NaN or Infinity
        return json.loads(self.body, parse_constant=_no_constant)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
    data: bytes | None = None,
) -> Answer:
    """One HTTP request (a POST sends ``data``, empty when not given); an error status is an
    answer too, not an exception."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    if method == "POST":
        request.data = b"" if data is None else data
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers.items()), exc.read())


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON a browser can parse")


def lower_headers(answer: Answer) -> dict[str, str]:
    return {k.lower(): v for k, v in answer.headers.items()}
