"""The MLflow side of one run's upload, made in the process that uploads (the syncer, or the
foreground of ``--wait-lineage`` and ``lineage sync --wait``).

``Writer.sync_run`` completes a run in MLflow from its payloads (``payload.py``): what MLflow
holds already is looked up first (``Uploader.existing``), so an upload cut short (a killed
syncer, a server gone mid-way) is completed, never duplicated: a terminated parent run is
complete; a step run left ``RUNNING`` is deleted and made again; steps already there are left
alone; terminating the parent is the last call. A parent of another start time is an earlier
execution of a resumed run: the resumed one gets a run of its own, as before. Against a
server, steps go 8 at a time.

While a ``Writer`` is open, mlflow's own HTTP retries are off (the uploader retries with a
short backoff, and the syncer with a longer one) and its run-URL printing too.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from dagwright.lineage.uploader import Calls, Parent, Uploader

HTTP_WORKERS = 8  # a server answers in ~50 ms; 8 in flight keep up with a step every 30 ms
ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # the uploader retries, with a short backoff
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # also saves a get-run per terminate
}
ENV_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}  # a server that hangs costs 4 x 5 s, once


def worth_retrying(exc: BaseException) -> bool:
    """A failure that may pass (a server down or overloaded, a store another process holds);
    not one that will fail again the same way (a half-migrated file, a refused request)."""
    from dagwright.lineage.dblock import StoreBusy
    from dagwright.lineage.uploader import transient

    return isinstance(exc, StoreBusy) or transient(exc)


class Writer:
    """One uploader and thread pool per tracking URI; sets mlflow's settings until closed."""

    def __init__(self) -> None:
        self.targets: dict[str, tuple[Uploader, ThreadPoolExecutor]] = {}
        self._saved = {name: os.environ.get(name) for name in [*ENV, *ENV_DEFAULTS]}
        os.environ.update(ENV)
        for name, value in ENV_DEFAULTS.items():
            os.environ.setdefault(name, value)

    def sync_run(
        self, uri: str, run: dict[str, Any], steps: list[dict[str, Any]], lineage: str
    ) -> dict[str, Any]:
        """Complete one run in MLflow; never raises for MLflow's failures.

        Returns:
            ``ok``, ``error``, ``calls`` ({run, step}), ``steps`` (step runs made now) and
            ``mlflow_run_id``.
        """
        uploader, pool = self._target(uri)
        calls, parent, made = Calls(), None, 0
        try:
            parent, known = pool.submit(uploader.existing, run, calls).result()
            if parent is not None and known.get("start") != run["start"]:
                parent, known = None, {}  # an earlier execution (before a resume): a new run
            if parent is None or known["status"] == "RUNNING":
                if parent is None:
                    parent = pool.submit(uploader.start_run, run, calls).result()
                have = known.get("steps", {}) if known else {}
                jobs: list[Future[None]] = []
                for step in steps:
                    old = have.get(step["label"])
                    if old is None or old.info.status == "RUNNING":
                        jobs.append(pool.submit(self._step, uploader, parent, step, old, calls))
                wait(jobs)
                for job in jobs:
                    job.result()  # the first step's failure fails the upload
                made = len(jobs)
                pool.submit(uploader.finish_run, parent, run, lineage, calls).result()
        except Exception as exc:
            answer = self._answer(False, f"{type(exc).__name__}: {exc}", calls, made, parent)
            answer["retry"] = worth_retrying(exc)
            return answer
        return self._answer(True, None, calls, made, parent)

    def close(self) -> None:
        """Stop the pools and give mlflow's settings back."""
        for _, pool in self.targets.values():
            pool.shutdown(wait=True)
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _target(self, uri: str) -> tuple[Uploader, ThreadPoolExecutor]:
        if uri not in self.targets:
            # SQLite takes one writer at a time; a server takes several requests at once
            workers = HTTP_WORKERS if uri.startswith(("http:", "https:")) else 1
            self.targets[uri] = (Uploader(uri), ThreadPoolExecutor(workers, "mlflow-writer"))
        return self.targets[uri]

    @staticmethod
    def _step(
        uploader: Uploader, parent: Parent, step: dict[str, Any], old: Any, calls: Calls
    ) -> None:
        if old is not None:  # a step run left half-written by an interrupted upload
            uploader.delete(old.info.run_id, calls)
        uploader.log_step(parent, step, calls)

    @staticmethod
    def _answer(
        ok: bool, error: str | None, calls: Calls, steps: int, parent: Parent | None
    ) -> dict[str, Any]:
        return {
            "ok": ok,
            "error": error,
            "calls": dict(calls.counts),
            "steps": steps,
            "mlflow_run_id": parent.run_id if parent else None,
        }
