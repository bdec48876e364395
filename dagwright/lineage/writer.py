"""The MLflow writer process: ``python -m dagwright.lineage.writer``.

The engine's process (``mlflow_sink.py``, through ``writer_channel.py``) sends JSON lines on
stdin and reads JSON lines back on stdout. Keeping every MLflow call (the import, the database,
HTTP) in this process means recording never competes with steps for the engine's GIL, and
mlflow's own HTTP retries and run-URL printing can be switched off here without touching the
user's process.

Messages in; each has ``op`` and ``token`` (one upload of one run):

- ``start`` {uri, run}: create the pipeline's MLflow run.
- ``step`` {step}: record a step as a nested run (8 at a time against a server).
- ``finish`` {uri, run, steps, lineage}: record ``steps`` (those the engine could not queue),
  then log the graph and close the run; answered when all of that run's work is done.
- ``sync`` {uri, run, steps, lineage}: complete a run MLflow holds partly or not at all.
- ``abandon``: the engine stopped waiting; skip what is still queued for that run.

Messages out: ``done`` {token, ok, error, calls: {run, step}, steps, mlflow_run_id}, also
after ``abandon`` (with the steps sent until then); ``progress`` {token, steps} at most every
``PROGRESS_EVERY`` seconds while steps go in, so a waiting ``sync`` can tell slow from stuck.
The process exits when stdin closes, after finishing what it was given.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from dagwright.lineage.uploader import Calls, Parent, Uploader

HTTP_WORKERS = 8  # a server answers in ~50 ms; 8 in flight keep up with a step every 30 ms
PROGRESS_EVERY = 1.0  # seconds between progress messages of one upload
ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # the uploader retries, with a short backoff
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # also saves a get-run per terminate
}
ENV_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}  # a server that hangs costs 4 x 5 s, once


class _Upload:
    """The state of one run's upload."""

    def __init__(self, token: str, uploader: Uploader, pool: ThreadPoolExecutor) -> None:
        self.token = token
        self.uploader = uploader
        self.pool = pool
        self.calls = Calls()
        self.parent: Future[Parent | None] | None = None
        self.jobs: list[Future[None]] = []
        self.error: str | None = None
        self.abandoned = False
        self.sent = 0
        self.reported = time.monotonic()  # when progress was last sent
        self._lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        return self.error is not None or self.abandoned

    def count_sent(self) -> dict[str, Any] | None:
        """Count a step sent; the progress message to send, when one is due."""
        with self._lock:
            self.sent += 1
            now = time.monotonic()
            if now - self.reported < PROGRESS_EVERY:
                return None
            self.reported = now
            return {"op": "progress", "token": self.token, "steps": self.sent}

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            self.error = self.error or f"{type(exc).__name__}: {exc}"

    def done(self, parent: Parent | None) -> dict[str, Any]:
        return {
            "op": "done",
            "token": self.token,
            "ok": not self.stopped,
            "error": self.error or ("abandoned" if self.abandoned else None),
            "calls": dict(self.calls.counts),
            "steps": self.sent,
            "mlflow_run_id": parent.run_id if parent else None,
        }


class Writer:
    """Dispatches messages to one uploader and thread pool per tracking URI."""

    def __init__(self, send: Callable[[dict[str, Any]], None]) -> None:
        self.send = send
        self.targets: dict[str, tuple[Uploader, ThreadPoolExecutor]] = {}
        self.uploads: dict[str, _Upload] = {}
        self.threads: list[threading.Thread] = []

    def handle(self, msg: dict[str, Any]) -> None:
        """Handle one message; a failed finish or sync is answered at once."""
        try:
            self._handle(msg)
        except Exception as exc:  # say so at once: the engine is waiting for this answer
            if msg.get("op") in ("finish", "sync"):
                error = f"{type(exc).__name__}: {exc}"
                self.send({"op": "done", "token": msg.get("token"), "ok": False, "error": error})
            raise

    def _handle(self, msg: dict[str, Any]) -> None:
        op, token = msg["op"], msg["token"]
        if op == "start":
            upload = self._upload(token, msg["uri"])
            upload.parent = upload.pool.submit(self._start, upload, msg["run"])
        elif op == "step" and token in self.uploads:
            upload = self.uploads[token]
            upload.jobs.append(upload.pool.submit(self._step, upload, msg["step"]))
        elif op in ("finish", "sync"):
            upload = self.uploads.get(token) or self._upload(token, msg["uri"])
            work = self._finish if op == "finish" else self._sync
            thread = threading.Thread(target=work, args=(upload, msg), daemon=True)
            thread.start()
            self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        elif op == "abandon" and token in self.uploads:
            self.uploads[token].abandoned = True

    def close(self) -> None:
        """Wait for the work in progress and stop the pools."""
        for thread in self.threads:
            thread.join()
        for _, pool in self.targets.values():
            pool.shutdown(wait=True)

    # work, on the pools and finishing threads

    def _upload(self, token: str, uri: str) -> _Upload:
        if uri not in self.targets:
            # SQLite takes one writer at a time; a server takes several requests at once
            workers = HTTP_WORKERS if uri.startswith(("http:", "https:")) else 1
            self.targets[uri] = (Uploader(uri), ThreadPoolExecutor(workers, "mlflow-writer"))
        upload = _Upload(token, *self.targets[uri])
        self.uploads[token] = upload
        return upload

    def _start(self, upload: _Upload, run: dict[str, Any]) -> Parent | None:
        try:
            return upload.uploader.start_run(run, upload.calls)
        except Exception as exc:
            upload.fail(exc)
            return None

    def _step(self, upload: _Upload, step: dict[str, Any], old: Any = None) -> None:
        parent = upload.parent.result() if upload.parent else None
        if parent is None or upload.stopped:
            return
        try:
            if old is not None:  # a step run left half-written by an interrupted upload
                upload.uploader.delete(old.info.run_id, upload.calls)
            upload.uploader.log_step(parent, step, upload.calls)
            progress = upload.count_sent()
            if progress is not None:
                self.send(progress)
        except Exception as exc:
            upload.fail(exc)

    def _finish(self, upload: _Upload, msg: dict[str, Any]) -> None:
        if upload.parent is None:  # the engine could not queue the start either
            upload.parent = upload.pool.submit(self._start, upload, msg["run"])
        upload.jobs += [upload.pool.submit(self._step, upload, s) for s in msg["steps"]]
        wait(upload.jobs)
        parent = upload.parent.result()
        self._close(upload, parent, msg)

    def _sync(self, upload: _Upload, msg: dict[str, Any]) -> None:
        run, parent = msg["run"], None
        try:
            parent, known = upload.pool.submit(upload.uploader.existing, run, upload.calls).result()
            if parent is not None and known["status"] != "RUNNING":
                self.send(upload.done(parent))  # complete already: terminating is the last call
                return
            if parent is None:
                parent = upload.pool.submit(upload.uploader.start_run, run, upload.calls).result()
        except Exception as exc:
            upload.fail(exc)
            self.send(upload.done(parent))
            return
        upload.parent = Future()
        upload.parent.set_result(parent)
        steps = known.get("steps", {}) if known else {}
        for step in msg["steps"]:
            old = steps.get(step["label"])
            if old is None or old.info.status == "RUNNING":
                upload.jobs.append(upload.pool.submit(self._step, upload, step, old))
        wait(upload.jobs)
        self._close(upload, parent, msg)

    def _close(self, upload: _Upload, parent: Parent | None, msg: dict[str, Any]) -> None:
        if parent is not None and not upload.stopped:
            finish = upload.uploader.finish_run
            try:
                upload.pool.submit(
                    finish, parent, msg["run"], msg["lineage"], upload.calls
                ).result()
            except Exception as exc:
                upload.fail(exc)
        self.uploads.pop(upload.token, None)
        self.send(upload.done(parent))


def main() -> None:
    """The writer process: read messages on stdin, answer on stdout until stdin closes."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever else gets printed must not mix with the protocol
    os.environ.update(ENV)
    for name, value in ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    import mlflow.tracking  # noqa: F401  the slow part, while the engine runs its first steps

    lock = threading.Lock()

    def send(msg: dict[str, Any]) -> None:
        with lock:
            protocol.write(json.dumps(msg) + "\n")
            protocol.flush()

    writer = Writer(send)
    for line in iter(sys.stdin.readline, ""):
        try:
            writer.handle(json.loads(line))
        except Exception as exc:  # a bad message must not stop the uploads of other runs
            from dagwright.redact import redact_text

            error = redact_text(f"{type(exc).__name__}: {exc}")
            print(f"dagwright lineage writer: {error}", file=sys.stderr)
    writer.close()


if __name__ == "__main__":
    main()
