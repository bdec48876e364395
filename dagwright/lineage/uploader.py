"""The MLflow calls that put one run's lineage into a tracking store, retried when transient.

A pipeline run is an MLflow run named after the dagwright run id, in an experiment named
after the pipeline; each step is a nested run (tag ``mlflow.parentRunId``). Calls per run:
the experiment (once per writer process and pipeline), create the run; per step: create (with
its tags), one ``log_batch`` (params and metrics; left out when there are none), terminate;
at the end: one ``log_batch`` (params and tags), the graph as ``lineage.json``, terminate.

Used through ``dagwright.lineage.writer`` only, which turns mlflow's own HTTP retries off, so
these retries (connection errors, timeouts, 429 and 5xx, a locked SQLite
file; 0.2 s, 0.4 s, 0.8 s) are the only ones.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote, urlparse

RETRIES = 3
BACKOFF = 0.2  # seconds before the first retry, doubled for each next one
DOWN_FOR = 60.0  # after a server failed every retry, later calls fail at once for this long
T = TypeVar("T")


class Calls:
    """MLflow calls made for one run, by kind: "run" (run level) or "step"; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = {"run": 0, "step": 0}

    def add(self, kind: str) -> None:
        """Count one more call of a kind."""
        with self._lock:
            self.counts[kind] += 1


class Parent(NamedTuple):
    """The MLflow run of a pipeline run."""

    run_id: str
    experiment_id: str
    artifact_uri: str


def transient(exc: BaseException) -> bool:
    """Worth retrying: the server was unreachable, slow, overloaded or failing for a moment."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    import requests

    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return True
    response = getattr(exc, "response", None)
    if isinstance(exc, requests.HTTPError) and response is not None:
        return bool(response.status_code >= 500 or response.status_code == 429)
    status = getattr(exc, "get_http_status_code", None)
    if callable(status):  # MlflowException; a transport failure is reported as a 500
        code = status()
        return bool(code >= 500 or code == 429)
    return "database is locked" in str(exc)


class Uploader:
    """MLflow calls for lineage against one tracking URI.

    Args:
        tracking_uri: Where runs go.
        retries: Attempts after the first for a call failing with a transient error.
        backoff: Seconds before the first retry; doubled each time, with jitter.
    """

    def __init__(self, tracking_uri: str, retries: int = RETRIES, backoff: float = BACKOFF):
        self.uri = tracking_uri
        self.retries = retries
        self.backoff = backoff
        self.experiments: dict[str, str] = {}
        self._lock = threading.Lock()
        self._opening = threading.Lock()
        self._client: Any = None
        self.down_until = 0.0

    @property
    def client(self) -> Any:
        """The ``MlflowClient``, made on first use: on a pool thread, so waiting for a SQLite
        store another process is migrating (``dblock.py``) holds up none of the writer's
        other work. ``StoreBusy`` when that took too long (the run is left to ``sync``)."""
        if self._client is not None:
            return self._client
        with self._opening:
            if self._client is None:
                from dagwright.lineage.dblock import open_client

                self._client = open_client(self.uri)
            return self._client

    def call(self, calls: Calls, kind: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """One MLflow call, counted once per attempt (each attempt is a request).

        Raises:
            ConnectionError: at once while the server is known to be down, so later runs do
                not each wait through every retry (they are marked for ``sync``).
        """
        if time.monotonic() < self.down_until:
            from dagwright.redact import redact_uri

            raise ConnectionError(f"{redact_uri(self.uri)} did not answer; not retried for a while")
        delay = self.backoff
        for attempt in range(self.retries + 1):
            calls.add(kind)
            try:
                return fn(*args, **kw)
            except Exception as exc:
                if attempt == self.retries or not transient(exc):
                    if transient(exc):
                        self.down_until = time.monotonic() + DOWN_FOR
                    raise
            time.sleep(delay * random.uniform(1.0, 1.5))  # jitter: writers do not retry in step
            delay *= 2
        raise AssertionError("unreachable")

    def experiment(self, name: str, calls: Calls) -> str:
        """The id of the pipeline's experiment, created when missing."""
        with self._lock:
            if name in self.experiments:
                return self.experiments[name]
        found = self.call(calls, "run", self.client.get_experiment_by_name, name)
        if found is not None and found.lifecycle_stage == "deleted":
            # MLflow keeps a deleted experiment's name; runs cannot go into it until restored
            self.call(calls, "run", self.client.restore_experiment, found.experiment_id)
        if found is not None:
            experiment_id: str = found.experiment_id
        else:
            try:
                experiment_id = self.call(
                    calls, "run", self.client.create_experiment, name, self._artifact_location()
                )
            except Exception as exc:  # another writer made it first
                if "RESOURCE_ALREADY_EXISTS" not in str(getattr(exc, "error_code", exc)):
                    raise
                again = self.call(calls, "run", self.client.get_experiment_by_name, name)
                if again is None:
                    raise
                experiment_id = again.experiment_id
        with self._lock:
            self.experiments[name] = experiment_id
        return experiment_id

    def start_run(self, run: dict[str, Any], calls: Calls) -> Parent:
        """Create the pipeline's MLflow run in its experiment (made again if deleted meanwhile)."""
        for last in (False, True):
            experiment_id = self.experiment(run["pipeline"], calls)
            try:
                made = self.call(
                    calls,
                    "run",
                    self.client.create_run,
                    experiment_id,
                    start_time=run["start"],
                    tags=self._tags(run["tags"]),
                    run_name=run["run_id"],
                )
                return Parent(made.info.run_id, experiment_id, made.info.artifact_uri)
            except Exception as exc:
                with self._lock:  # deleted since it was looked up: look again (and restore)
                    self.experiments.pop(run["pipeline"], None)
                if last or "active' state" not in str(exc):
                    raise
        raise AssertionError("unreachable")

    def log_step(self, parent: Parent, step: dict[str, Any], calls: Calls) -> str:
        """A step as a nested run: create (with tags), params and metrics, terminate."""
        from mlflow.entities import Metric, Param

        made = self.call(
            calls,
            "step",
            self.client.create_run,
            parent.experiment_id,
            start_time=step["start"],
            tags=self._tags({**step["tags"], "mlflow.parentRunId": parent.run_id}),
            run_name=step["label"],
        )
        run_id = made.info.run_id
        params = [Param(k, self._cut(v, _PARAM_LENGTH)) for k, v in step["params"].items()]
        metrics = [Metric(k, v, step["end"], 0) for k, v in step["metrics"].items()]
        for start in range(0, max(len(params), len(metrics)), 100):  # MLflow's batch limits
            batch = {"params": params[start : start + 100], "metrics": metrics[start : start + 100]}
            self.call(calls, "step", self.client.log_batch, run_id, **batch)
        self.call(calls, "step", self.client.set_terminated, run_id, step["status"], step["end"])
        return run_id

    def finish_run(self, parent: Parent, run: dict[str, Any], lineage: str, calls: Calls) -> None:
        """Params and closing tags, the graph as ``lineage.json``, then terminate (last, so a
        terminated run is a complete one)."""
        from mlflow.entities import Param, RunTag

        params = [Param(k, self._cut(v, _PARAM_LENGTH)) for k, v in run["params"].items()]
        tags = [RunTag(k, v) for k, v in self._tags(run.get("end_tags", {})).items()]
        entries = params + tags
        for start in range(0, len(entries), 100):
            batch = entries[start : start + 100]
            self.call(
                calls,
                "run",
                self.client.log_batch,
                parent.run_id,
                params=[e for e in batch if isinstance(e, Param)],
                tags=[e for e in batch if isinstance(e, RunTag)],
            )
        self._log_lineage(parent, lineage, calls)
        self.call(
            calls, "run", self.client.set_terminated, parent.run_id, run["status"], run["end"]
        )

    def existing(self, run: dict[str, Any], calls: Calls) -> tuple[Parent | None, dict[str, Any]]:
        """What MLflow already holds of a run: its latest parent and that parent's step runs
        by label (an MLflow ``Run``)."""
        experiment_id = self.experiment(run["pipeline"], calls)
        quoted = run["run_id"].replace("'", "\\'")
        found: list[Any] = []
        token = None
        while True:
            page = self.call(
                calls,
                "run",
                self.client.search_runs,
                [experiment_id],
                filter_string=f"tags.`dagwright.run_id` = '{quoted}'",
                order_by=["attributes.start_time DESC"],
                page_token=token,
            )
            found.extend(page)
            token = page.token
            if not token:
                break
        parents = [r for r in found if "dagwright.step" not in r.data.tags]
        if not parents:
            return None, {}
        latest = parents[0]
        steps = {
            r.data.tags["dagwright.step"]: r
            for r in found
            if r.data.tags.get("mlflow.parentRunId") == latest.info.run_id
        }
        parent = Parent(latest.info.run_id, experiment_id, latest.info.artifact_uri)
        return parent, {
            "status": latest.info.status,
            "start": latest.info.start_time,
            "steps": steps,
        }

    def delete(self, run_id: str, calls: Calls) -> None:
        """Delete an MLflow run."""
        self.call(calls, "run", self.client.delete_run, run_id)

    # helpers

    def _log_lineage(self, parent: Parent, lineage: str, calls: Calls) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "lineage.json"
            path.write_text(lineage, encoding="utf-8")
            try:  # the run's own artifact store, from the URI create_run gave: no extra lookup
                from mlflow.store.artifact.artifact_repository_registry import (
                    get_artifact_repository,
                )

                repo = get_artifact_repository(parent.artifact_uri, tracking_uri=self.uri)
            except TypeError:  # mlflow 2 takes no tracking_uri: let the client find the store
                self.call(calls, "run", self.client.log_artifact, parent.run_id, str(path))
                return
            self.call(calls, "run", repo.log_artifact, str(path))

    def _artifact_location(self) -> str | None:
        """Next to the database for a SQLite store (mlflow's default is ./mlruns in the working
        folder); the server's choice otherwise."""
        if urlparse(self.uri).scheme != "sqlite":
            return None
        database = Path(unquote(self.uri[len("sqlite:///") :].split("?")[0]))
        return (database.parent / "mlartifacts").absolute().as_uri()

    def _tags(self, tags: dict[str, str]) -> dict[str, str]:
        return {k: self._cut(str(v), _TAG_LENGTH) for k, v in tags.items()}

    @staticmethod
    def _cut(value: str, limit: int) -> str:
        return value if len(value) <= limit else value[: limit - 3] + "..."


# MLflow's value limits (mlflow.utils.validation), fixed here so they cost no import.
_PARAM_LENGTH = 6000
_TAG_LENGTH = 8000
