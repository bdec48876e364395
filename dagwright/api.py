"""The Python entry points: ``dagwright.run``, ``resume``, ``cancel`` and ``compile``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagwright._run_checks import (
    check_kfp,
    check_new_run_id,
    check_run_id,
    check_store,
    check_tracking,
    install_kfp_packages,
    pod_values,
)
from dagwright.engine.progress import Observer
from dagwright.engine.result import RunResult
from dagwright.errors import RunFailed
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import to_ir as _validated
from dagwright.runtimes.session import Session
from dagwright.store.local import LocalStore


def run(
    pipeline: Any,
    arguments: dict[str, Any] | None = None,
    /,
    *,
    raise_on_error: bool = False,
    root: str | Path | None = None,
    echo: bool | Callable[[str], None] | Observer = True,
    keep_going: bool = False,
    parallelism: int | None = None,
    cache: bool | None = None,
    artifacts: str | None = None,
    allow_pickle: bool = False,
    host_containers: bool = False,
    install_packages: bool = False,
    lineage: bool = True,
    tracking_uri: str | None = None,
    wait_lineage: bool = False,
    session: Session | None = None,
    run_id: str | None = None,
    secrets_file: str | Path | None = None,
    **params: Any,
) -> RunResult:
    """Run a pipeline here, in this process.

    Args:
        pipeline: A @pipeline, a Pipeline builder, a PipelineIR, a path to an IR file or to a
            KFP pipeline YAML, or a ``@kfp.dsl.pipeline``.
        arguments: Parameter values as a dict (for names that clash with the options here).
        raise_on_error: Raise RunFailed when a step fails (the result is on the exception).
        root: Store folder; defaults to ``$DAGWRIGHT_HOME`` or ``./.dagwright``.
        echo: Print each step's outcome (to stderr); or a callable that takes each line; or an
            observer such as ``dagwright.engine.progress.LiveView()``.
        keep_going: After a failure, finish the branches that do not depend on it (by default
            the first failure stops new steps; exit handlers still run).
        parallelism: How many steps may run at once (default 64).
        cache: None lets each component decide (``cache=True`` opts in); True or False
            turns caching on or off for every step of this run.
        artifacts: Where artifacts go: a folder or an fsspec URL such as ``s3://bucket/prefix``
            (default: ``$DAGWRIGHT_ARTIFACTS``, else ``artifacts/`` under ``root``).
        allow_pickle: Let steps unpickle values (joblib models) read from a non-local store.
        host_containers: Run the commands of container components imported from KFP on this
            machine when neither Docker nor Podman answers (else such a run is refused).
        install_packages: Before the run starts, pip-install the packages of lightweight
            components imported from KFP that this environment lacks, into
            ``<root>/kfp-packages/`` (once per requirement set), never into this environment;
            their steps run in processes of their own with them. Without it such a step fails
            naming them.
        lineage: Record the run's provenance graph (``<root>/lineage/<run_id>.json``, and
            MLflow when it is installed; see ``dagwright.lineage``).
        tracking_uri: The MLflow tracking URI (default: ``$MLFLOW_TRACKING_URI``, else a
            SQLite file under ``root``).
        wait_lineage: Return only once MLflow has the run's lineage (for CI); by default
            the run returns when its lineage is saved locally and a background syncer
            uploads it.
        session: Where runtimes keep what the run's steps share (clusters, served
            functions); by default one closed when the run ends. Pass your own and close it
            yourself to keep served functions up after the run (``dagwright serve``).
        run_id: The new run's id (the cron daemon names runs after their slot); refused when
            the store has a run of that id already (``resume`` continues one).
        secrets_file: A ``.env``-style file holding the values of the components' Secrets
            and ConfigMaps (``NAME=value``; default ``$DAGWRIGHT_SECRETS_FILE``; else this
            environment's variables); Secret values are masked in everything kept.
        **params: Parameter values.

    Returns:
        The RunResult with ``run_id``, ``status`` and ``outputs``.

    Raises:
        ValidationError: when the pipeline or the arguments are wrong, or ``wait_lineage``
            is asked while no lineage goes to MLflow (mlflow not installed, tracking off,
            ``lineage=False``); nothing runs.
        SyncError: with ``wait_lineage``, when the lineage could not reach MLflow (the run
            is on the exception as ``result``; its lineage stays pending).
    """
    from dagwright.pipelines.arguments import bind_arguments

    ir = to_ir(pipeline)
    bound = bind_arguments(ir, {**(arguments or {}), **params})
    options: dict[str, Any] = {
        "keep_going": keep_going,
        "parallelism": parallelism,
        "cache": cache,
        "allow_pickle": allow_pickle,
        "host_containers": host_containers,
    }
    tracking = {"lineage": lineage, "tracking_uri": tracking_uri, "wait": wait_lineage}
    check_kfp(ir, host_containers)
    options["pod_env"] = pod_values(ir, secrets_file)
    store = LocalStore(root, artifacts)
    check_tracking(tracking)
    if run_id is not None:
        check_run_id(run_id)
        store.check()  # before the database is made
        check_new_run_id(store, run_id)
    options["kfp_packages"] = install_kfp_packages(ir, store) if install_packages else ""
    return _execute(
        ir, bound, store, echo, raise_on_error, options, tracking, session=session, run_id=run_id
    )


def resume(
    run_id: str,
    *,
    root: str | Path | None = None,
    echo: bool | Callable[[str], None] | Observer = True,
    raise_on_error: bool = False,
    keep_going: bool = False,
    parallelism: int | None = None,
    cache: bool | None = None,
    allow_pickle: bool = False,
    host_containers: bool = False,
    install_packages: bool = False,
    lineage: bool = True,
    tracking_uri: str | None = None,
    wait_lineage: bool = False,
    secrets_file: str | Path | None = None,
) -> RunResult:
    """Finish an earlier run: every step that did not succeed runs again, the rest is reused.

    Works after the engine was killed mid-run: a step that was running then is run again, and
    no partly written artifact of it is ever used. A run still going in a live process is
    refused; of two resumes started at once, one runs and the other is refused.

    Args:
        run_id: The run (or an unambiguous prefix of its id).
        root: Store folder of the run.
        echo, raise_on_error, keep_going, parallelism, cache, allow_pickle, host_containers,
            install_packages, lineage, tracking_uri, wait_lineage, secrets_file: As for
            ``run``.

    Raises:
        ValidationError: when there is no such run, or it is still going.
    """
    import json

    from dagwright.engine.result import SUCCEEDED
    from dagwright.store import files

    check_tracking({"lineage": lineage, "tracking_uri": tracking_uri, "wait": wait_lineage})
    db = LocalStore(root).existing_database(run_id)
    try:
        found = db.find_run(run_id)
        ir = to_ir(PipelineIR.from_dict(json.loads(found["ir"])))
        check_kfp(ir, host_containers)  # before the run is claimed
        pod_env = pod_values(ir, secrets_file)
        store = LocalStore(root, found["artifacts"].rsplit("/", 1)[0])  # where the run wrote
        check_store(ir, store)
        packages = install_kfp_packages(ir, store) if install_packages else ""
        found = db.claim_run(found["run_id"])  # refused while it runs; this process's from now
        reuse = {
            (row["task"], _iteration(row["iteration"])): row["outputs"] or {}
            for row in db.steps(found["run_id"])
            if row["status"] == SUCCEEDED
        }
        db.forget_unfinished(found["run_id"])
    finally:
        db.close()
    if store.local:
        files.discard_partials(store.run_dir(found["run_id"]))
    options = {
        "keep_going": keep_going,
        "parallelism": parallelism,
        "cache": cache,
        "allow_pickle": allow_pickle,
        "host_containers": host_containers,
        "kfp_packages": packages,
        "pod_env": pod_env,
    }
    return _execute(
        ir,
        found["params"],
        store,
        echo,
        raise_on_error,
        options,
        {"lineage": lineage, "tracking_uri": tracking_uri, "wait": wait_lineage},
        run_id=found["run_id"],
        reuse=reuse,
    )


def cancel(run_id: str, *, root: str | Path | None = None) -> str:
    """Ask the engine running a run, in this process or another, to cancel it.

    The engine sees the request within a fraction of a second: steps not started yet are
    cancelled, running ones stopped (as on a timeout), exit handlers still run, and the run
    ends ``cancelled``; ``resume`` continues it later.

    Args:
        run_id: The run (or an unambiguous prefix of its id).
        root: Store folder of the run.

    Returns:
        The run's full id.

    Raises:
        ValidationError: when there is no such run, or it is not running.
    """
    db = LocalStore(root).existing_database(run_id)
    try:
        return db.request_cancel(run_id)
    finally:
        db.close()


def _iteration(text: str) -> tuple[int, ...]:
    return tuple(int(i) for i in text.split(".")) if text else ()


def _execute(
    ir: PipelineIR,
    arguments: dict[str, Any],
    store: LocalStore,
    echo: bool | Callable[[str], None] | Observer,
    raise_on_error: bool,
    options: dict[str, Any],
    tracking: dict[str, Any] | None = None,
    **run_options: Any,
) -> RunResult:
    from dagwright.engine.local import LocalEngine

    check_store(ir, store)  # tracking settings were checked by run() / resume()
    observer = _observer(echo)
    tracking = tracking or {"lineage": True, "tracking_uri": None}
    sink = None
    if tracking["lineage"]:
        from dagwright.engine.progress import Observers
        from dagwright.lineage.recorder import LineageRecorder
        from dagwright.lineage.tracking import sink_for

        waits = bool(tracking.get("wait"))
        sink = sink_for(tracking["tracking_uri"], store.root, background=not waits)
        recorder = LineageRecorder(ir, store.root / "lineage", sink)
        observer = Observers(*(o for o in (observer, recorder) if o is not None))
    result = LocalEngine(ir, store, observer, **options).run(arguments, **run_options)
    result.ir = ir  # for the graph a notebook shows (RunResult._repr_html_)
    if sink is not None and tracking.get("wait"):
        _wait_lineage(store, tracking["tracking_uri"], result, raise_on_error)
    if raise_on_error and not result.succeeded:
        failed = next((s for s in result.steps if s.status == "failed"), None)
        if failed is None:  # every step went well, but a pipeline output was not made
            raise RunFailed(f"run {result.run_id} failed: {result.reason}", result)
        raise RunFailed(
            f"run {result.run_id} failed at step '{failed.label}': {failed.error}", result
        )
    return result


def _wait_lineage(
    store: LocalStore, tracking_uri: str | None, result: RunResult, raise_on_error: bool
) -> None:
    """Upload the run's lineage here and now; a failure raises ``SyncError`` carrying the
    result (``RunFailed`` wins when the run failed and the caller asked for it)."""
    from dagwright.lineage.tracking import SyncError, sync

    try:
        sync(store.root, tracking_uri, runs=[result.run_id])
    except SyncError as exc:
        exc.result = result
        if not (raise_on_error and not result.succeeded):
            raise


def compile(
    pipeline: Any, target: str = "ir", path: str | Path | None = None, **options: Any
) -> str:
    """Render a pipeline for a target (``ir``, ``kfp``, ``argo``) and write it to ``path``.

    Args:
        pipeline: A pipeline, a builder, an IR, an IR file, a KFP pipeline YAML or a
            ``@kfp.dsl.pipeline``.
        target: A target's name: "ir", "kfp" or "argo".
        path: Where to write; nothing is written when None.
        **options: Target options; see ``dagwright.compiler.compile_ir``.

    Returns:
        The rendered text.
    """
    from dagwright.compiler import compile_ir

    return compile_ir(to_ir(pipeline), target, path, validated=True, **options)


def to_ir(pipeline: Any) -> PipelineIR:
    """The validated IR of a @pipeline, a Pipeline builder, an IR, an IR file, a KFP pipeline
    YAML or a ``@kfp.dsl.pipeline`` (compiled by kfp in this process, then imported)."""
    if isinstance(pipeline, (str, Path)) and Path(pipeline).suffix in (".yaml", ".yml", ".json"):
        from dagwright.loader import read_spec_file

        if Path(pipeline).is_file():
            pipeline = read_spec_file(pipeline)
    else:
        from dagwright.loader import is_kfp_component

        if is_kfp_component(pipeline):
            from dagwright.sources.kfp import import_pipeline

            pipeline = import_pipeline(pipeline)
    return _validated(pipeline)


def _observer(echo: bool | Callable[[str], None] | Observer) -> Observer | None:
    from dagwright.engine.progress import LinePrinter

    if echo is True:
        return LinePrinter(lambda line: print(line, file=sys.stderr))
    if not echo:
        return None
    if callable(echo) and not hasattr(echo, "step_finished"):
        return LinePrinter(echo)
    return echo  # type: ignore[return-value]
