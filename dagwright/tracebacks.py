"""Tracebacks that start at the user's code: dagwright's own frames (and importlib's) are
what ran the user's code, not where its error is."""

from __future__ import annotations

import os
import traceback

# dagwright's own files, as frames show them
PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _ours(filename: str) -> bool:
    return filename.startswith(PACKAGE) or filename.startswith("<frozen importlib")


def step_traceback(exc: BaseException) -> str:
    """A failed step's traceback, starting at the step's function.

    An error dagwright raised itself about the step (a value JSON cannot hold, an output never
    written, ``os._exit`` called in the step) is shown from the user's frames without the
    dagwright frames that found it; with no user frame at all, as its one line.
    """
    found = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = list(found.stack)
    start = next((i for i, f in enumerate(frames) if not _ours(f.filename)), None)
    if start is None and frames:
        return "".join(found.format_exception_only())
    frames = frames[start or 0 :]
    if type(exc).__module__.startswith("dagwright."):
        while frames and _ours(frames[-1].filename):
            frames.pop()
    found.stack = traceback.StackSummary.from_list(frames)
    return "".join(found.format())


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
