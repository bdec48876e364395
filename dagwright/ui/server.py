"""The UI's Starlette app (``make_app``) and the uvicorn server that serves it (``serve``).

Routes: the JSON API (``api.py``), the event stream (``events.py``), ``/`` (the page) and
``/static/*`` (package files only). ``security.Guard`` wraps all of them.
"""

from __future__ import annotations

import secrets
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dagwright.ui import api, events
from dagwright.ui.data import UiStore
from dagwright.ui.security import Guard, is_loopback, json_error

STATIC = Path(__file__).parent / "static"
DEFAULT_PORT = 8265
# what `/` shows while the page's files are not installed: the API still answers
_NO_PAGE = (
    "<!doctype html><meta charset=utf-8><title>dagwright</title>"
    "<p>The dagwright UI's page is not installed; its JSON API is at /api/runs.</p>"
)


def make_app(
    root: str | Path,
    token: str | None = None,
    *,
    loopback: bool = True,
    stopping: threading.Event | None = None,
) -> Any:
    """The ASGI app showing the store at ``root``.

    Args:
        root: The store folder (holding ``runs.db``).
        token: Required on every request when given (``?token=``, cookie, or bearer).
        loopback: The server listens on loopback only: requests must name it in ``Host``.
        stopping: Set when the server shuts down: open event streams end.
    """
    ui = UiStore(Path(root))
    stopping = stopping or threading.Event()

    def index(request: Request) -> Response:
        page = STATIC / "index.html"
        return FileResponse(page) if page.is_file() else HTMLResponse(_NO_PAGE)

    def event_stream(request: Request) -> Response:
        return events.stream(ui.database_path, request, stopping)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        what = "no such page" if status == 404 else str(getattr(exc, "detail", "")) or "refused"
        return json_error(status, f"{what}: {request.method} {request.url.path}")

    routes = [
        *api.routes(ui),
        Route("/api/events", event_stream, methods=["GET"]),
        Route("/", index, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    return Guard(app, token=token, loopback=loopback)


def token_for(host: str, given: str | None) -> str | None:
    """The token a server on ``host`` requires: the one given, else a new one when ``host``
    is not loopback (anyone on the network could reach it), else none."""
    if given:
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(24)


def url_of(host: str, port: int, token: str | None) -> str:
    """The URL to open, with the token when one applies (an IPv6 address bracketed)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def listening(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn (bound here, so a port in use is an
    ``OSError`` the command reports, where uvicorn would log it and exit)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)  # connections made before uvicorn accepts them wait, not fail
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    root: str | Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    token: str | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve the UI until the process is interrupted (uvicorn, log level warning): prints the
    URL to open, with ``?token=`` when a token applies.

    Raises:
        OSError: ``host:port`` cannot be bound (when no bound ``sock`` is given).
        KeyboardInterrupt: once stopped by Ctrl-C, after the server has shut down.
    """
    token = token_for(host, token)
    sock = sock if sock is not None else listening(host, port)
    stopping = threading.Event()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            stopping.set()  # event streams end at their next poll, before shutdown waits
            super().handle_exit(sig, frame)

    app = make_app(root, token, loopback=is_loopback(host), stopping=stopping)
    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=1,  # event streams never end by themselves
        lifespan="off",
    )
    server = Server(config)
    url = url_of(host, port, token)
    print(f"dagwright ui: serving {Path(root).absolute()} at {url}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[sock])
