"""Live updates: ``GET /api/events``, a Server-Sent Events stream that says which runs changed.

Each stream has its own connection to the run database (``store/changes.py``) and asks it every
200 ms which runs changed; the page refetches what it shows.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.requests import Request
from starlette.responses import StreamingResponse

from dagwright.store.changes import ChangeWatcher

POLL = 0.2
KEEPALIVE = 15.0


def stream(path: Path, request: Request, stopping: threading.Event) -> StreamingResponse:
    """The ``text/event-stream`` response for one client; it ends when ``stopping`` is set
    (the server shutting down would otherwise wait for it, then cancel it)."""

    async def events() -> AsyncIterator[str]:
        watcher = await asyncio.to_thread(ChangeWatcher, path)
        try:
            yield "retry: 1000\n: connected\n\n"
            quiet = 0.0
            while not stopping.is_set() and not await request.is_disconnected():
                await asyncio.sleep(POLL)
                runs = await asyncio.to_thread(watcher.changed)
                if runs is not None:
                    quiet = 0.0
                    yield f"event: change\ndata: {json.dumps({'runs': runs})}\n\n"
                else:
                    quiet += POLL
                    if quiet >= KEEPALIVE:  # proxies and browsers drop silent streams
                        quiet = 0.0
                        yield ": keepalive\n\n"
        finally:
            watcher.close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
