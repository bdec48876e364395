"""Lineage in MLflow: which sink a run gets, uploading later (``sync``), reading back (``load``).

The tracking URI is the argument (``--tracking-uri``, ``tracking_uri=``), else
``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db`` (absolute; MLflow 3's file store
refuses to work without ``MLFLOW_ALLOW_FILE_STORE``). Lineage stays local only
(``<root>/lineage``) when mlflow is not installed, or when ``DAGWRIGHT_TRACKING`` is ``off``
(also ``0``, ``false``, ``no``) and no URI is passed explicitly.

Other settings: ``DAGWRIGHT_TRACKING_FLUSH_TIMEOUT``, the seconds a run waits at its end for
its lineage to reach MLflow (default 120; what did not arrive is left to ``sync``, and the run
says how many MLflow runs are pending); ``DAGWRIGHT_TRACKING_LOCK_TIMEOUT``, the seconds a
process waits for another to create or migrate a SQLite store (default 60, ``dblock.py``);
``DAGWRIGHT_TRACKING_LOG``, a file for the writer process's messages. A value that is not
what it should be is refused before the run starts.

mlflow is imported only by the writer process and by ``load``, never by ``import dagwright``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import tempfile
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
    """

    def __init__(self, synced: list[str], failed: dict[str, str]) -> None:
        self.synced = synced
        self.failed = failed
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
    seconds_setting("DAGWRIGHT_TRACKING_LOCK_TIMEOUT", LOCK_TIMEOUT)  # read by the writer
    if tracking_uri is not None and not mlflow_installed():  # asked for: not silently dropped
        from dagwright.extras import missing

        raise missing("mlflow", field="--tracking-uri", needed_for="lineage in MLflow")
    return switch in OFF, flush


def sink_for(tracking_uri: str | None, root: Path) -> LineageSink | None:
    """The sink for a run, or None to keep lineage only in ``<root>/lineage``.

    Raises:
        ValidationError: when a ``DAGWRIGHT_TRACKING*`` setting has a value it cannot have.
    """
    off, flush = check_settings(tracking_uri)
    if (tracking_uri is None and off) or not mlflow_installed():
        return None
    from dagwright.lineage.mlflow_sink import MlflowSink

    uri = resolve_uri(tracking_uri, root)
    _private_sqlite(uri)
    return MlflowSink(uri, root, flush_timeout=flush)


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


def sync_uri(kept: str | None, given: str | None, root: Path) -> str:
    """Where ``sync`` sends a run: the URI given, else the marker's (kept without its
    password), completed from ``$MLFLOW_TRACKING_URI`` when that is the same place, else
    without credentials (MLflow reads ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``)."""
    from dagwright.redact import MASK, redact_uri, without_credentials

    if given:
        return given
    if not kept:
        return resolve_uri(None, root)
    if MASK not in kept:
        return kept
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env and redact_uri(env) == kept:
        return env
    return without_credentials(kept)


def stats(run_id: str) -> FlushStats | None:
    """How a run of this process reached MLflow: calls, flush time, pending or not."""
    from dagwright.lineage.mlflow_sink import STATS

    return STATS.get(run_id)


def pending(root: Path) -> list[str]:
    """The runs under a store folder whose lineage awaits ``sync``."""
    return sorted(p.name[: -len(".pending")] for p in (Path(root) / "lineage").glob("*.pending"))


def sync(root: Path, tracking_uri: str | None = None, run_id: str | None = None) -> list[str]:
    """Upload lineage kept locally to MLflow, completing what is there already.

    Args:
        root: The store folder.
        tracking_uri: Where to; default: where each run was going (its marker), else as for
            a run (``resolve_uri``).
        run_id: One run (with or without a marker, say one recorded with tracking off); by
            default every run with a ``.pending`` marker.

    Returns:
        The runs now complete in MLflow (their markers are removed).

    Raises:
        SyncError: when some runs could not be uploaded (they keep their markers).
        ValidationError: when mlflow is not installed (naming the extra), or when ``run_id``
            has no local lineage (naming RUN).
    """
    from dagwright.lineage import payload
    from dagwright.lineage.mlflow_sink import FLUSH_TIMEOUT, write_marker
    from dagwright.lineage.writer_channel import channel

    if not mlflow_installed():
        from dagwright.extras import missing

        raise missing("mlflow", field="extras", needed_for="lineage sync")
    folder = Path(root) / "lineage"
    synced: list[str] = []
    failed: dict[str, str] = {}
    for run in [run_id] if run_id else pending(root):
        graph_file, marker = folder / f"{run}.json", folder / f"{run}.pending"
        if not graph_file.exists():
            # a user's mistake (a run id that recorded no lineage here): exit 2, no traceback
            raise ValidationError(
                f"no local lineage for run {run} in {folder}",
                field="RUN" if run_id else None,
                fix="give the id of a run recorded in this store (see 'dagwright runs ls'), "
                "or leave RUN out to send every run not sent yet",
            )
        text = graph_file.read_text(encoding="utf-8")
        kept = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else {}
        if kept.get("run") and kept.get("steps") is not None:
            final, steps = kept["run"], kept["steps"]
        else:
            final, steps = payload.graph_payloads(Lineage.from_json(json.loads(text)), run)
        uri = sync_uri(kept.get("tracking_uri"), tracking_uri, root)
        token = f"sync/{run}/{secrets.token_hex(4)}"
        writer = channel()
        reply = writer.expect(token)
        message = {"op": "sync", "token": token, "uri": uri, "run": final, "steps": steps}
        message["lineage"] = text
        # no deadline while steps keep going in: a run of 10,000 steps takes minutes
        if writer.post(message, timeout=FLUSH_TIMEOUT) and reply.wait_while_moving(FLUSH_TIMEOUT):
            answer = reply.message
        else:
            answer = {"ok": False, "error": f"MLflow got no further in {FLUSH_TIMEOUT:g}s"}
        if answer.get("ok"):
            marker.unlink(missing_ok=True)
            synced.append(run)
        else:
            failed[run] = redact_text(str(answer.get("error")))
            write_marker(marker, uri, failed[run], final, steps)
    if failed:
        raise SyncError(synced, failed)
    return synced


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
