"""A tracking server that needs HTTP basic auth: a proxy on 127.0.0.1 in front of the test
``mlflow server`` that answers 401 to a request without the right credentials."""

from __future__ import annotations

import base64
import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_DROPPED = {"connection", "keep-alive", "transfer-encoding", "authorization", "host"}


@contextmanager
def auth_proxy(upstream: str, user: str, password: str) -> Iterator[tuple[str, list[int]]]:
    """Serve ``upstream`` behind basic auth; yields its URI (without credentials) and the
    statuses it answered, in order."""
    target = urlsplit(upstream)
    wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != wanted:
                self._answer(401, {"WWW-Authenticate": 'Basic realm="mlflow"'}, b"")
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROPPED}
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                kept = {k: v for k, v in response.getheaders() if k.lower() not in _DROPPED}
                kept.pop("Content-Length", None)
                self._answer(response.status, kept, data)
            finally:
                conn.close()

        def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
            answered.append(status)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
