"""An artifact's bytes as ``/api/artifacts/raw`` serves them: a local file from inside the
store, or a remote one (``s3://``, ``gs://``) streamed through ``reading.ArtifactFile``, each
with the sandboxing headers and a media type from its name, its artifact type or its first
bytes, never a JavaScript one.

A script type would let a page load the file as a script of the UI's origin (``<script
src=/api/artifacts/raw?uri=...>``: the page's CSP allows its own origin's scripts), so a ``.js``
or ``.mjs`` file in a folder artifact, or WebAssembly, is served as plain text. A remote file
is streamed in chunks, at most ``MAX_REMOTE_BYTES`` (413 beyond); a store that does not
answer is a 502 naming it, after one bounded connect (``store.remote.reachable``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from starlette.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from dagwright.redact import redact_text
from dagwright.ui.reading import ArtifactFile, Unreadable, locate
from dagwright.ui.security import MARKDOWN_CSP, RAW_CSP, json_error

MAX_REMOTE_BYTES = 50 << 20
CHUNK = 1 << 16
SNIFF_BYTES = 4096
HEADERS = {"Content-Security-Policy": RAW_CSP, "X-Content-Type-Options": "nosniff"}
# what a file of an artifact type is served as, when its name says nothing
_TYPES = {"HTML": "text/html", "Markdown": "text/markdown; charset=utf-8"}
# media types a browser runs as a script or module (WHATWG's JavaScript MIME types) or code
_SCRIPTS = {
    "application/ecmascript",
    "application/javascript",
    "application/x-ecmascript",
    "application/x-javascript",
    "text/ecmascript",
    "text/javascript",
    "text/jscript",
    "text/livescript",
    "text/x-ecmascript",
    "text/x-javascript",
    "application/wasm",
}
PLAIN = "text/plain; charset=utf-8"


class Unreachable(Unreadable):
    """A remote artifact whose store did not answer (502)."""


def safe_media(media: str) -> str:
    """``media``, or plain text when a browser would run it as a script or module."""
    essence = media.split(";", 1)[0].strip().lower()
    if essence in _SCRIPTS or "javascript" in essence or "ecmascript" in essence:
        return PLAIN
    return media


def media_type(name: str, kind: str | None, head: bytes) -> str:
    """What a file is served as: by its name, else its artifact type, else its first bytes."""
    media = mimetypes.guess_type(name)[0] or _TYPES.get(kind or "") or sniffed(head)
    return safe_media(media)


def sniffed(head: bytes) -> str:
    """The media type of a file whose name says nothing, from its first bytes."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    if "<svg" in text[:1024]:  # dagwright's artifact files have no extension to say so
        return "image/svg+xml"
    return PLAIN


def markdown(text: str) -> Response:
    """A Markdown file rendered, sanitized, in a sandbox that runs no script."""
    from dagwright.ui.markdown import render

    return HTMLResponse(render(text), headers={**HEADERS, "Content-Security-Policy": MARKDOWN_CSP})


def local(path: Path, kind: str | None, render_md: bool) -> Response:
    """A file inside the store's artifact folder (``security.artifact_path`` checked it)."""
    if render_md:
        return markdown(path.read_text("utf-8", errors="replace"))
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    media = media_type(path.name, kind, head)
    return FileResponse(path, media_type=media, headers=HEADERS, content_disposition_type="inline")


def remote(uri: str, root: Path, location: str, kind: str | None, render_md: bool) -> Response:
    """A remote artifact a run recorded under its artifact ``location``, streamed."""
    try:
        file = _opened_file(uri, root, location)
        if file.is_dir():
            return json_error(404, f"'{uri}' is a folder, not a file", "uri")
        size = file.size()
        if size > MAX_REMOTE_BYTES:
            return json_error(
                413,
                f"'{uri}' is {size} bytes; the UI serves remote files of at most "
                f"{MAX_REMOTE_BYTES} bytes",
                "uri",
                "read it with the store's own client (aws s3 cp, gsutil cp)",
            )
        stream = file.open()
        try:
            head = stream.read(SNIFF_BYTES if not render_md else size)
        except BaseException:
            stream.close()
            raise
    except FileNotFoundError:  # recorded, then removed from the bucket
        return json_error(404, f"no artifact file at '{uri}'", "uri")
    except Unreachable as exc:
        return json_error(502, str(exc), "uri", "check that the artifact store answers")
    except Unreadable as exc:
        return json_error(403, str(exc), "uri", "give the uri of an artifact of a run")
    except Exception as exc:  # noqa: BLE001  # the store's client failing (a dropped endpoint)
        reason = redact_text(f"{type(exc).__name__}: {exc}")
        return json_error(502, f"cannot read '{uri}' from its store ({reason})", "uri")
    if render_md:
        stream.close()
        return markdown(head.decode("utf-8", errors="replace"))
    media = media_type(uri.rsplit("/", 1)[-1], kind, head)
    return StreamingResponse(_chunks(head, stream), media_type=media, headers=HEADERS)


def _opened_file(uri: str, root: Path, location: str) -> ArtifactFile:
    """``locate`` the URI, a store that does not answer told apart (``Unreachable``)."""
    try:
        found = locate(uri, root, [location])
    except Unreadable as exc:
        if isinstance(exc.__cause__, ConnectionError):
            raise Unreachable(str(exc)) from exc
        raise
    # asked afresh: a listing cached by an earlier request predates a resume's rewrite
    found.fs.invalidate_cache(found.path)
    return found


def _chunks(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """The bytes already read, then the rest in chunks; the file closed at the end."""
    try:
        yield head
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()


__all__ = ["MAX_REMOTE_BYTES", "local", "media_type", "remote", "safe_media", "sniffed"]
