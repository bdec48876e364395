"""Artifacts behind an fsspec URL (``s3://``, ``gs://``, ``memory://``, ``file://``...).

A step always works on local files. Inputs on another filesystem are copied to a local folder
first; outputs are written locally, then uploaded next to their final key and moved into place,
so a reader never sees half an upload under the final key. fsspec (and s3fs or gcsfs for their
schemes) is imported only when a non-local URI is met.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from typing import Any
from urllib.parse import urlsplit

from dagwright.errors import StoreUnreachable

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

# seconds to open a connection to a store before calling it unreachable: s3fs and gcsfs retry
# a refused or unresolvable endpoint with backoff for minutes, so one plain connect is tried
# first and a store that answered once in this process is not asked again
CONNECT_TIMEOUT = 5.0
_ANSWERED: set[tuple[str, int]] = set()


def is_local(uri: str) -> bool:
    """A plain path or a file:// URL."""
    return not _SCHEME.match(uri) or uri.startswith("file://")


def local_path(uri: str) -> str:
    """The path of a ``file://`` URI; any other text as it is."""
    return uri[len("file://") :] if uri.startswith("file://") else uri


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem of a URI and the path within it."""
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(uri)
    return fs, path


def _endpoint(fs: Any, uri: str) -> str | None:
    """The URL a filesystem talks to for ``uri``; None for one without a network endpoint
    (``memory://``...)."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("s3", "s3a"):
        return str(
            getattr(fs, "endpoint_url", None)
            or (getattr(fs, "client_kwargs", None) or {}).get("endpoint_url")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
            or "https://s3.amazonaws.com"
        )
    if protocol in ("gs", "gcs"):
        return str(getattr(fs, "base", "") or "https://storage.googleapis.com")
    if protocol in ("http", "https"):
        return uri
    return None


def reachable(fs: Any, uri: str) -> None:
    """Check that the store behind ``uri`` accepts a connection, within CONNECT_TIMEOUT.

    Raises:
        StoreUnreachable: naming the URI, the endpoint and the cause (the name does not
            resolve, the connection is refused or times out).
    """
    endpoint = _endpoint(fs, uri)
    if not endpoint:
        return
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if (host, port) in _ANSWERED or _proxied(parts.scheme, host):
        return
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        cause = "the name does not resolve" if isinstance(error, socket.gaierror) else error
        raise StoreUnreachable(
            f"cannot reach the store of {uri} at {host}:{port} ({cause}); check the network, "
            "or the endpoint (AWS_ENDPOINT_URL for S3, STORAGE_EMULATOR_HOST for GCS)"
        ) from error
    _ANSWERED.add((host, port))


def _proxied(scheme: str, host: str) -> bool:
    """Whether the environment sends this host through a proxy (HTTPS_PROXY...): a direct
    connect would then say nothing about what the store's client can reach."""
    from urllib.request import getproxies, proxy_bypass

    proxies = getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) and not proxy_bypass(host)


def _connected(uri: str) -> tuple[Any, str]:
    """``filesystem(uri)``, once its store has answered (see ``reachable``)."""
    fs, path = filesystem(uri)
    reachable(fs, uri)
    return fs, path


def fetch(uri: str, folder: str) -> str:
    """Copy a file or folder artifact into ``folder``; return the local path.

    Raises:
        StoreUnreachable: when the store does not answer.
    """
    fs, path = _connected(uri)
    fs.invalidate_cache()  # listings cached before another step wrote here are stale
    target = os.path.join(folder, os.path.basename(path.rstrip("/")) or "artifact")
    if fs.isdir(path):
        fs.get(path.rstrip("/") + "/", target, recursive=True)
    else:
        fs.get(path, target)
    return target


def upload(local: str, uri: str) -> None:
    """Put a local file or folder at ``uri``: upload beside it, then move into place.

    A file appears under its key in one step. A folder's files are moved one by one: object
    stores have no folders to rename, so a reader should trust the run database, which records
    the artifact only after the move.

    Raises:
        StoreUnreachable: when the store does not answer.
    """
    fs, path = _connected(uri)
    partial = f"{path}.partial-{secrets.token_hex(4)}"
    if fs.exists(path):
        fs.rm(path, recursive=True)
    if not os.path.isdir(local):
        fs.put(local, partial)
        _move(fs, partial, path)
    else:
        fs.put(local.rstrip("/") + "/", partial, recursive=True)
        for source in fs.find(partial):
            _move(fs, source, path + source[len(partial) :])
        if fs.exists(partial):
            fs.rm(partial, recursive=True)
    fs.invalidate_cache()


def _move(fs: Any, source: str, target: str) -> None:
    """Copy then delete: every object store does both, while native moves vary (and some
    emulators answer a move with 'not implemented' only after retries)."""
    fs.copy(source, target)
    fs.rm(source)


def exists(uri: str) -> bool:
    """Whether something exists at ``uri`` (asked afresh of a remote store).

    Raises:
        StoreUnreachable: when the store does not answer.
    """
    if is_local(uri):
        return os.path.exists(local_path(uri))
    fs, path = _connected(uri)
    fs.invalidate_cache()
    return bool(fs.exists(path))
