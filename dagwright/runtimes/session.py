"""What runtimes share across the steps of one run: clusters, sessions, servers.

A Dask LocalCluster or a Spark session takes seconds to start, so a run starts each at most
once, on first use, and stops them all when it ends. ``dagwright serve`` keeps them (Nuclio
functions) until it is stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Session:
    """Resources started for one run, each once, stopped in reverse order by ``close``.

    ``max_body``: the largest request body, in bytes, a function served here accepts (None:
    the runtime's default).
    """

    def __init__(self, run_id: str = "", *, max_body: int | None = None) -> None:
        self.run_id = run_id
        self.max_body = max_body
        self._lock = threading.Lock()
        self._starting: dict[Hashable, threading.Lock] = {}
        self._resources: dict[Hashable, Any] = {}
        self._stops: list[tuple[Hashable, Callable[[], None]]] = []
        self._closed = False

    def resource(self, key: Hashable, start: Callable[[], T], stop: Callable[[T], None]) -> T:
        """The resource under ``key``, started by ``start()`` the first time it is asked for.

        Steps running in parallel wait for one start rather than each starting their own.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the run's runtime session is closed")
            if key in self._resources:
                return self._resources[key]
            gate = self._starting.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._resources:
                    return self._resources[key]
            value = start()
            with self._lock:
                self._resources[key] = value
                self._stops.append((key, lambda: stop(value)))
            return value

    def find(self, key: Hashable) -> Any | None:
        """A resource already started, or None."""
        with self._lock:
            return self._resources.get(key)

    def close(self) -> None:
        """Stop every resource, newest first; a stop that fails is logged, not raised."""
        with self._lock:
            self._closed = True
            stops, self._stops = self._stops[::-1], []
            self._resources.clear()
        for key, stop in stops:
            try:
                stop()
            except Exception:  # one failed stop must not leave the others running
                log.exception("stopping runtime resource %r failed", key)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
