"""What keeps the UI's origin safe: loopback binding and the Host check against DNS
rebinding, the token a non-loopback server needs, the ``X-Dagwright`` header on every POST
(no cross-site form or simple request can set it), the Content-Security-Policy headers, and
local raw artifact files served only from inside the store's artifact folder (remote ones
only when a run recorded them: ``data.recorded_artifact``).

A pure ASGI middleware (``Guard``), so it sees every request before a route does and also
covers streamed responses (Server-Sent Events) and static files.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dagwright.errors import DagwrightError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# every page of the UI: its own files only; artifacts come into frames of this origin, sandboxed
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'"
)
# a raw artifact (user HTML, SVG...): an opaque origin, never the UI's. Its own inline
# scripts run there (an interactive chart, as the KFP UI shows HTML visualizations), with no
# network (default-src 'none': no fetch, no external script) and no reach into the UI
RAW_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "img-src data:; style-src 'unsafe-inline'"
)
# rendered Markdown: sanitized already, and no script at all
MARKDOWN_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
COOKIE = "dagwright_token"
POST_HEADER = "x-dagwright"


class Forbidden(DagwrightError, PermissionError):
    """A request the UI refuses (403): a path outside the store, a foreign Host, a POST
    without its header."""

    def __init__(self, message: str, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.fix = fix


def is_loopback(host: str) -> bool:
    """Whether a bind address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8265`` -> ``[::1]``)."""
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def json_error(status: int, error: str, field: str | None = None, fix: str | None = None) -> Any:
    """The API's error answer: ``{"error", "field", "fix"}`` with this status."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": error, "field": field, "fix": fix}, status_code=status)


class Guard:
    """The ASGI middleware that checks every request (Host, token, POST header) and adds the
    security headers to every response."""

    def __init__(self, app: App, *, token: str | None, loopback: bool) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request, or pass it on with the security headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, _with_headers(send, None))
            return
        from_query = self.token is not None and _query_token(scope) == self.token
        await self.app(scope, receive, _with_headers(send, self.token if from_query else None))

    def refusal(self, scope: Scope, headers: dict[str, str]) -> Any:
        """The error response for a request to refuse, else None."""
        # any loopback IP literal (127.0.0.2 as --host) is safe: DNS can rebind names only
        if self.loopback and not is_loopback(host_name(headers.get("host", "")).lower()):
            return json_error(
                403,
                f"Host '{headers.get('host', '')}' is not this machine's loopback name",
                field="Host",
                fix="open the UI at http://127.0.0.1:PORT/ or http://localhost:PORT/",
            )
        if self.token is not None and not self.authorized(scope, headers):
            return json_error(
                401,
                "this UI needs its token",
                field="token",
                fix="open the URL 'dagwright ui' printed (with ?token=...), or send "
                "'Authorization: Bearer TOKEN'",
            )
        if scope["method"] not in ("GET", "HEAD"):
            if headers.get(POST_HEADER) != "1":
                return json_error(
                    403,
                    f"a {scope['method']} needs the header 'X-Dagwright: 1'",
                    field="X-Dagwright",
                    fix="send the request from the UI's page (it sets the header)",
                )
            origin = headers.get("origin")
            if origin and _netloc(origin) != headers.get("host", "").lower():
                return json_error(
                    403, f"a request from origin '{origin}' is refused", field="Origin"
                )
        return None

    def authorized(self, scope: Scope, headers: dict[str, str]) -> bool:
        """Whether the request carries the token: ``?token=``, the cookie, or a bearer."""
        assert self.token is not None
        given = [_query_token(scope)]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:].strip())
        if "cookie" in headers:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed cookie header is no token
                cookie = SimpleCookie()
            if COOKIE in cookie:
                given.append(cookie[COOKIE].value)
        # as bytes: compare_digest refuses (TypeError) a str holding a non-ASCII character
        token = self.token.encode("utf-8")
        return any(g is not None and hmac.compare_digest(g.encode("utf-8"), token) for g in given)


def _netloc(url: str) -> str | None:
    """The host and port of a URL (``Origin``); None for what is no URL (``http://[``)."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return None


def _query_token(scope: Scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _with_headers(send: Send, set_token: str | None) -> Send:
    """``send`` adding the security headers (and the token cookie after ``?token=``)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            if b"content-security-policy" not in names:
                headers.append((b"content-security-policy", PAGE_CSP.encode()))
            if b"x-content-type-options" not in names:
                headers.append((b"x-content-type-options", b"nosniff"))
            headers.append((b"referrer-policy", b"no-referrer"))
            if set_token is not None:
                cookie = f"{COOKIE}={set_token}; HttpOnly; SameSite=Strict; Path=/"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
            message["headers"] = headers
        await send(message)

    return sending


def artifact_path(uri: str, artifacts: str | None) -> Path:
    """The file behind an artifact URI, when it is inside the store's artifact folder.

    The path is resolved (``..``, symlinks) before it is compared, so a symlink planted in the
    store that leads out of it is refused as well as a parent-folder step or another
    absolute path.

    Raises:
        Forbidden: the path is outside the artifact folder, or artifacts are not local.
    """
    if artifacts is None:
        raise Forbidden(
            "this store keeps its artifacts remotely; a local path is none of them",
            field="uri",
        )
    text = uri.removeprefix("file://")
    if "\x00" in text or "://" in text or not os.path.isabs(text):
        raise Forbidden(
            f"'{uri}' is not a path inside the store", field="uri", fix="give an artifact's uri"
        )
    base = os.path.realpath(artifacts)
    real = os.path.realpath(text)
    if os.path.commonpath([base, real]) != base:
        raise Forbidden(
            f"'{uri}' is outside the store's artifacts",
            field="uri",
            fix="only artifacts of the store's runs are served",
        )
    return Path(real)
