"""Tracebacks that start at the user's code: dagwright's own frames (and importlib's) are
what ran the user's code, not where its error is."""

from __future__ import annotations

import os
import traceback
from types import TracebackType

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _ours(filename: str) -> bool:
    return filename.startswith(_PACKAGE) or filename.startswith("<frozen importlib")


def _from_user_code(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from its first frame outside dagwright; the whole one when it has none
    (then the error is dagwright's own, and its frames are the story)."""
    start = tb
    while start is not None and _ours(start.tb_frame.f_code.co_filename):
        start = start.tb_next
    return start if start is not None else tb


def step_traceback(exc: BaseException) -> str:
    """A failed step's traceback, starting at the step's function."""
    return "".join(traceback.format_exception(type(exc), exc, _from_user_code(exc.__traceback__)))


def user_frames(exc: BaseException) -> str:
    """The frames of ``exc`` outside dagwright and importlib, and the error, without the
    'Traceback' header: what a user needs to fix a file that failed to import. A SyntaxError
    shows its file, line and caret."""
    summary = [
        frame for frame in traceback.extract_tb(exc.__traceback__) if not _ours(frame.filename)
    ]
    lines = traceback.format_list(summary)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip("\n")
