"""Real receivers for the notifiers: an HTTP server and an SMTP server on 127.0.0.1, each in a
thread of the test process, started and stopped by their fixture (imported by the conftest of
the test folders that use them)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Received:
    """One request the HTTP receiver took."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpReceiver:
    """Answers POSTs with ``status`` (after ``delay`` seconds) and keeps what it was sent."""

    url: str
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            receiver.received.append(
                Received(self.path, dict(self.headers.items()), json.loads(raw or b"null"))
            )
            time.sleep(receiver.delay)
            try:
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # a client that gave up waiting (the timeout test) closed the connection

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class SmtpReceiver:
    """The messages an SMTP server took, and the logins it was given."""

    address: str
    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """An SMTP server taking logins without TLS (the login itself is what is tested)."""
    yield from _smtp_server(None)


@pytest.fixture
def tls_smtp_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpReceiver]:
    """An SMTP server that wants STARTTLS before anything, and a login only over TLS, with a
    certificate for 127.0.0.1 that this process trusts (``SSL_CERT_FILE``, which OpenSSL's
    default verify paths read)."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    yield from _smtp_server(context)


def _smtp_server(tls: Any) -> Iterator[SmtpReceiver]:
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    port = free_port()
    receiver = SmtpReceiver(f"127.0.0.1:{port}")

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            receiver.messages.append((list(envelope.rcpt_tos), message))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = (data.login.decode(), data.password.decode())
        receiver.logins.append(login)
        if login == ("ops", "s3cret-pw"):
            return AuthResult(success=True)
        # aiosmtpd 1.4 answers a refusal only given handled=False and a message
        message = "535 5.7.8 Authentication credentials invalid"
        return AuthResult(success=False, handled=False, message=message)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=tls is not None,
        tls_context=tls,
        require_starttls=tls is not None,
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
