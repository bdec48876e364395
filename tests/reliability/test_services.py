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
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from services_helpers import first_line, stop

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
