"""Lineage in MLflow: which sink a run gets, uploading (``sync``), reading back (``load``).

The tracking URI is the argument (``--tracking-uri``, ``tracking_uri=``), else
``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db`` (absolute; MLflow 3's file store
refuses to work without ``MLFLOW_ALLOW_FILE_STORE``). Lineage stays local only
(``<root>/lineage``) when mlflow is not installed, or when ``DAGWRIGHT_TRACKING`` is ``off``
(also ``0``, ``false``, ``no``) and no URI is passed explicitly.

A run never waits for MLflow: it ends once its graph and its ``.pending`` marker are written,
and a background syncer (``syncer.py``) uploads it. ``sync(..., wait=True)`` (``dagwright
lineage sync --wait``, ``dagwright run --wait-lineage``) uploads in the foreground instead and
says what could not land; ``state`` says where a run's lineage is (``runs show``).

Other settings: ``DAGWRIGHT_TRACKING_FLUSH_TIMEOUT``, the seconds MLflow may keep failing
(retried with backoff) before an upload leaves its runs pending (default 120);
``DAGWRIGHT_TRACKING_LOCK_TIMEOUT``, the seconds a process waits for another to create or
migrate a SQLite store (default 60, ``dblock.py``); ``DAGWRIGHT_TRACKING_LOG``, a file for the
syncer's messages. A value that is not what it should be is refused before the run starts.

mlflow is imported only where an upload or ``load`` runs, never by a run or ``import
dagwright``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightError, NotFound, ValidationError
from dagwright.lineage.graph import Lineage
from dagwright.redact import redact_text

if TYPE_CHECKING:
    from dagwright.lineage.mlflow_sink import FlushStats
    from dagwright.lineage.recorder import LineageSink

OFF = ("off", "0", "false", "no")
ON = ("", "on", "1", "true", "yes")


class SyncError(DagwrightError, RuntimeError):
    """Some runs could not be uploaded; they keep their ``.pending`` marker.

    Attributes:
        synced: The runs that were uploaded.
        failed: Why each other run was not, by run id.
        result: The run whose lineage was waited for (``wait_lineage=True``), else None.
    """

    def __init__(self, synced: list[str], failed: dict[str, str]) -> None:
        self.synced = synced
        self.failed = failed
        self.result: Any = None
        reasons = "; ".join(f"{run}: {why}" for run, why in failed.items())
        super().__init__(f"could not upload the lineage of {len(failed)} run(s): {reasons}")


def resolve_uri(tracking_uri: str | None, root: Path) -> str:
    """The tracking URI for a store folder (see the module docstring)."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    return uri or f"sqlite:///{(Path(root) / 'mlflow.db').absolute().as_posix()}"


def mlflow_installed() -> bool:
    """Whether mlflow can be imported."""
    return importlib.util.find_spec("mlflow") is not None


def seconds_setting(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name``.

    Raises:
        ValidationError: naming the variable, when it is set to anything else.
    """
    from dagwright.errors import ValidationError

    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValidationError(
            f"{name}={text!r} is not a positive number of seconds",
            field=name,
            fix=f"set it to a number of seconds, e.g. {name}={default:g}, or unset it",
        )
    return value


def check_settings(tracking_uri: str | None = None) -> tuple[bool, float]:
    """Whether ``DAGWRIGHT_TRACKING`` turns MLflow off, and the flush limit, checked before
    anything of a run is written.

    Raises:
        ValidationError: when a ``DAGWRIGHT_TRACKING*`` setting has a value it cannot have, or
            a tracking URI is given by name and mlflow is not installed.
    """
    from dagwright.errors import ValidationError
    from dagwright.lineage.dblock import LOCK_TIMEOUT
    from dagwright.lineage.mlflow_sink import FLUSH_TIMEOUT

    switch = os.environ.get("DAGWRIGHT_TRACKING", "").strip().lower()
    if switch not in OFF + ON:
        raise ValidationError(
            f"DAGWRIGHT_TRACKING={switch!r} is neither on nor off",
            field="DAGWRIGHT_TRACKING",
            fix="set DAGWRIGHT_TRACKING=off to keep lineage local, or on (the default)",
        )
    flush = seconds_setting("DAGWRIGHT_TRACKING_FLUSH_TIMEOUT", FLUSH_TIMEOUT)
    seconds_setting("DAGWRIGHT_TRACKING_LOCK_TIMEOUT", LOCK_TIMEOUT)  # read by uploads
    if tracking_uri is not None and not mlflow_installed():  # asked for: not silently dropped
        from dagwright.extras import missing

        raise missing("mlflow", field="--tracking-uri", needed_for="lineage in MLflow")
    return switch in OFF, flush


def check_wait(lineage: bool, tracking_uri: str | None, field: str) -> None:
    """Waiting for MLflow (``--wait-lineage``, ``wait_lineage=True``) when nothing would go
    there: refused before the run, rather than returning at once as if it had landed.

    Raises:
        ValidationError: naming ``field`` and the fix.
    """
    if not lineage:
        raise ValidationError(
            "there is no lineage to wait for: the run records none",
            field=field,
            fix=f"record lineage (drop --no-lineage / lineage=False), or drop {field}",
        )
    off, _ = check_settings(tracking_uri)
    if not mlflow_installed():
        from dagwright.extras import install_hint

        raise ValidationError(
            "waiting for MLflow needs the Python package 'mlflow', which is not installed",
            field=field,
            fix=f"{install_hint('mlflow')}, or drop {field}",
        )
    if off and tracking_uri is None:
        raise ValidationError(
            "DAGWRIGHT_TRACKING=off keeps lineage local: nothing goes to MLflow to wait for",
            field=field,
            fix=f"unset DAGWRIGHT_TRACKING (or give a tracking URI), or drop {field}",
        )


def sink_for(tracking_uri: str | None, root: Path, background: bool = True) -> LineageSink | None:
    """The sink for a run, or None to keep lineage only in ``<root>/lineage``.

    Args:
        tracking_uri: As given (``--tracking-uri``), or None.
        root: The store folder.
        background: Start a syncer when the run ends (False: the caller calls ``sync``).

    Raises:
        ValidationError: when a ``DAGWRIGHT_TRACKING*`` setting has a value it cannot have.
    """
    off, _ = check_settings(tracking_uri)
    if (tracking_uri is None and off) or not mlflow_installed():
        return None
    from dagwright.lineage.mlflow_sink import MlflowSink

    uri = resolve_uri(tracking_uri, root)
    _private_sqlite(uri)
    return MlflowSink(uri, root, background=background)


def _private_sqlite(uri: str) -> None:
    """Create a new SQLite tracking database 0600 (and its artifact folder 0700) before MLflow
    makes them world-readable: they hold every run's parameters."""
    from urllib.parse import unquote, urlsplit

    from dagwright.writes import make_dir, private_file

    if urlsplit(uri).scheme != "sqlite" or not uri.startswith("sqlite:///"):
        return
    database = Path(unquote(uri[len("sqlite:///") :].split("?")[0]))
    if database.name and not database.exists():
        private_file(database)
        make_dir(database.parent / "mlartifacts", private=True)


def sync_uri(
    kept: str | None, given: str | None, root: Path, known: list[str] | None = None
) -> str:
    """Where an upload sends a run: the URI given, else the marker's (kept without its
    password), completed from ``known`` URIs (the run's own, handed to its syncer) or
    ``$MLFLOW_TRACKING_URI`` when one is the same place, else without credentials (MLflow
    reads ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``)."""
    from dagwright.redact import MASK, redact_uri, without_credentials

    if given:
        return given
    if not kept:
        return resolve_uri(None, root)
    if MASK not in kept:
        return kept
    for full in [*(known or []), os.environ.get("MLFLOW_TRACKING_URI") or ""]:
        if full and redact_uri(full) == kept:
            return full
    return without_credentials(kept)


def stats(run_id: str) -> FlushStats | None:
    """How a run of this process reached MLflow: calls, time waited, pending or not."""
    from dagwright.lineage.mlflow_sink import STATS

    return STATS.get(run_id)


def pending(root: Path) -> list[str]:
    """The runs under a store folder whose lineage awaits an upload."""
    from dagwright.lineage.syncer import markers

    return sorted(markers(Path(root) / "lineage"))


def sync(
    root: Path,
    tracking_uri: str | None = None,
    run_id: str | None = None,
    *,
    wait: bool = True,
    runs: list[str] | None = None,
) -> list[str]:
    """Upload lineage kept locally to MLflow, completing what is there already.

    Args:
        root: The store folder.
        tracking_uri: Where to; default: where each run was going (its marker), else as for
            a run (``resolve_uri``).
        run_id: One run (with or without a marker, say one recorded with tracking off); by
            default every run with a ``.pending`` marker.
        wait: Upload here and now (waiting for a background syncer at work on the store);
            False hands the runs to a background syncer and returns at once.
        runs: Several runs by id, each with a marker (``--wait-lineage``).

    Returns:
        The runs now complete in MLflow (with ``wait``), or handed to the syncer.

    Raises:
        SyncError: when some runs could not be uploaded (they keep their markers).
        ValidationError: when mlflow is not installed (naming the extra), or when ``run_id``
            has no local lineage (naming RUN).
    """
    from dagwright.lineage import syncer

    if not mlflow_installed():
        from dagwright.extras import missing

        raise missing("mlflow", field="extras", needed_for="lineage sync")
    check_settings()
    root = Path(root)
    wanted = list(runs) if runs is not None else None
    if run_id is not None:
        _mark(root, run_id, tracking_uri)
        wanted = [run_id]
    elif tracking_uri is not None and runs is None:  # everything pending goes there
        for run in pending(root):
            _mark(root, run, tracking_uri)
    uris = [tracking_uri] if tracking_uri else []
    if not wait:
        handed = wanted if wanted is not None else pending(root)
        for run in handed:  # new again to a syncer at work that gave up on it: tried again
            with contextlib.suppress(FileNotFoundError):
                os.utime(root / "lineage" / f"{run}.pending")
        if handed:
            syncer.start(root, uris)
        return handed
    # MLflow says at INFO that it creates and migrates its tables: uploading in the foreground
    # (`run --wait-lineage`, `lineage sync --wait`) that would land on the user's terminal; a
    # background syncer keeps it in its log
    for name in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    began = time.perf_counter()
    drained = syncer.drain(root, wanted, given=tracking_uri, uris=uris)
    assert drained is not None  # waited for the lock
    _record(drained, time.perf_counter() - began)
    if drained.failed:
        synced = [run for run in drained.landed if run not in drained.failed]
        raise SyncError(synced, {r: redact_text(e) for r, e in drained.failed.items()})
    return sorted(drained.landed) if wanted is None else [r for r in wanted if r in drained.landed]


def _mark(root: Path, run: str, tracking_uri: str | None) -> None:
    """Give a run a marker (one recorded with tracking off has none) pointing at the URI."""
    from dagwright.lineage.mlflow_sink import marker_lock, write_marker

    folder = root / "lineage"
    if not (folder / f"{run}.json").exists():
        # a user's mistake (a run id that recorded no lineage here): exit 2, no traceback
        raise ValidationError(
            f"no local lineage for run {run} in {folder}",
            field="RUN",
            fix="give the id of a run recorded in this store (see 'dagwright runs ls'), "
            "or leave RUN out to send every run not sent yet",
        )
    marker = folder / f"{run}.pending"
    with marker_lock(folder):  # read and rewritten whole: a syncer settling it waits
        kept = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else {}
        uri = tracking_uri or kept.get("tracking_uri") or resolve_uri(None, root)
        if not marker.exists() or tracking_uri:
            write_marker(marker, uri, kept.get("reason"), kept.get("run"), kept.get("steps"))


def _record(drained: Any, seconds: float) -> None:
    """What an upload of this process did, for ``stats``."""
    from dagwright.lineage.mlflow_sink import STATS

    for run, answer in drained.landed.items():
        found = STATS.get(run)
        if found is None:
            continue
        found.pending, found.error, found.flush_seconds = False, None, seconds
        if not answer:  # landed by the background syncer we waited for
            continue
        calls = answer.get("calls") or {}
        found.calls = calls.get("run", 0) + calls.get("step", 0)
        found.step_calls = calls.get("step", 0)
        found.steps = answer.get("steps", 0)
        found.mlflow_run_id = answer.get("mlflow_run_id")
    for run, error in drained.failed.items():
        if run in STATS:
            STATS[run].pending, STATS[run].error = True, redact_text(error)


def state(root: Path, run_id: str) -> dict[str, Any]:
    """Where a run's lineage is: ``in_mlflow`` (``tracking_uri`` without its password,
    ``mlflow_run_id``), ``pending`` (``error``: why the last upload failed, None when not
    tried yet), ``local`` (tracking was off) or ``none`` (recorded without lineage)."""
    folder = Path(root) / "lineage"
    for suffix, name in ((".pending", "pending"), (".mlflow", "in_mlflow")):
        try:
            kept = json.loads((folder / f"{run_id}{suffix}").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found = {"state": name, "tracking_uri": kept.get("tracking_uri")}
        if name == "pending":
            found["error"] = kept.get("reason")
        else:
            found["mlflow_run_id"] = kept.get("mlflow_run_id")
        return found
    return {"state": "local" if (folder / f"{run_id}.json").exists() else "none"}


def load(run_id: str, tracking_uri: str | None = None, *, root: Path | None = None) -> Lineage:
    """A run's graph read back from its ``lineage.json`` artifact in MLflow.

    Args:
        run_id: The dagwright run id (the latest complete upload of it), or an MLflow run id.
        tracking_uri: As for a run; ``root`` (default: the default store folder) picks the
            SQLite file when neither it nor ``$MLFLOW_TRACKING_URI`` is set.

    Raises:
        LookupError: when MLflow has no complete run of that id.
    """
    from dagwright.lineage.dblock import open_client
    from dagwright.lineage.pod import STEPS
    from dagwright.store.local import default_root

    client = open_client(resolve_uri(tracking_uri, root or default_root()))
    found = _parent_run(client, run_id)
    names = {a.path for a in client.list_artifacts(found.info.run_id)}
    with tempfile.TemporaryDirectory() as folder:
        if "lineage.json" in names:
            path = client.download_artifacts(found.info.run_id, "lineage.json", folder)
            return Lineage.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        # a run on KFP or Argo: each pod stored its own piece of the graph
        merged = Lineage()
        pieces = Path(client.download_artifacts(found.info.run_id, STEPS, folder))
        for piece in sorted(pieces.glob("*.json")):
            merged.merge(Lineage.from_json(json.loads(piece.read_text(encoding="utf-8"))))
        return merged


def _parent_run(client: Any, run_id: str) -> Any:
    """The newest terminated MLflow run of a pipeline run (terminating is its last call)."""
    if re.fullmatch(r"[0-9a-f]{32}", run_id):
        return client.get_run(run_id)
    quoted = run_id.replace("'", "\\'")
    query = f"tags.`dagwright.run_id` = '{quoted}' and tags.`dagwright.kind` = 'run'"
    # a run id is <pipeline>-<date>-<time>-<hex>: look in the pipeline's experiment first
    named = client.get_experiment_by_name(run_id.rsplit("-", 3)[0])
    groups = [[named.experiment_id]] if named is not None else []
    ids = [e.experiment_id for e in client.search_experiments()]
    groups += [ids[i : i + 100] for i in range(0, len(ids), 100)]
    for group in groups:
        runs = client.search_runs(group, query, order_by=["attributes.start_time DESC"])
        done = [r for r in runs if r.info.status != "RUNNING"]
        if done:
            return done[0]
    from dagwright.redact import redact_uri

    raise NotFound(f"MLflow at {redact_uri(client.tracking_uri)} has no complete run {run_id}")
