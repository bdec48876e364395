"""Local artifact files: publish atomically, and digest their content."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

_CHUNK = 1 << 20


def partial_path(final: str) -> str:
    """A sibling path to write to before the result is published at ``final``."""
    return f"{final}.partial-{secrets.token_hex(4)}"


def publish(partial: str, final: str) -> bool:
    """Move a finished file or folder into place in one rename; False when nothing was written.

    Readers see the old artifact or the new one, never a half-written one.
    """
    if not os.path.lexists(partial):
        return False
    if os.path.isdir(final) and not os.path.islink(final):
        shutil.rmtree(final)
    os.replace(partial, final)
    return True


def discard(partial: str) -> None:
    """Remove a partly written file or folder, if there is one."""
    if os.path.isdir(partial) and not os.path.islink(partial):
        shutil.rmtree(partial, ignore_errors=True)
    elif os.path.lexists(partial):
        os.remove(partial)


def sha256_of(path: str) -> str | None:
    """Digest of a file, or of a folder as its sorted relative paths and file digests."""
    root = Path(path)
    if root.is_file():
        return _file_digest(root)
    if not root.is_dir():
        return None
    digest = hashlib.sha256()
    for item in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(item.relative_to(root).as_posix().encode() + b"\0")
        digest.update(_file_digest(item).encode() + b"\n")
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discard_partials(folder: str | Path) -> None:
    """Remove what steps interrupted mid-write left behind (never published)."""
    root = Path(folder)
    if root.is_dir():
        for leftover in sorted(root.rglob("*.partial-*"), reverse=True):
            discard(str(leftover))
