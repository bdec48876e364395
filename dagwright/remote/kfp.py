"""Runs and recurring runs on Kubeflow Pipelines, through ``kfp.Client``.

``submit`` sends a compiled KFP package (the YAML ``dagwright compile --target kfp`` writes)
as a run, either directly (the spec travels inside the run) or after uploading it as a
pipeline version; ``schedule`` makes a KFP recurring run of it. Every request goes through
``kfp.Client``; kfp is imported only when one of these functions runs. What is checked
before anything is sent (cron, package, arguments) is in ``kfp_checks``; what comes back
(``Submission``, ``Schedule``) in ``kfp_results``.

No KFP backend can run where dagwright is tested: the tests talk to a local HTTP stand-in
that checks every request against the upstream KFP v2beta1 swagger
(``tests/schemas/kfp-api-v2beta1.swagger.json.gz``) and answers per its response schemas.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.remote.kfp_checks import check_arguments, kfp_cron, read_package, spec_name
from dagwright.remote.kfp_results import FINAL_STATES, Schedule, Submission, task_states
from dagwright.remote.kfp_service import connect
from dagwright.remote.kfp_service import remote_errors as _remote
from dagwright.remote.kfp_service import ui_url as _url
from dagwright.remote.kfp_versions import PipelineVersion
from dagwright.remote.kfp_versions import quiet as _quiet
from dagwright.remote.kfp_versions import upload as _upload

__all__ = ["Schedule", "Submission", "connect", "kfp_cron", "schedule", "submit", "versions"]

Echo = Callable[[str], None]

DEFAULT_EXPERIMENT = "Default"


def submit(
    package: str | Path,
    *,
    host: str | None = None,
    namespace: str | None = None,
    experiment: str | None = None,
    arguments: dict[str, Any] | None = None,
    run_name: str | None = None,
    upload: bool = False,
    pipeline_name: str | None = None,
    version_name: str | None = None,
    token: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    poll_interval: float = 5.0,
    echo: Echo | None = print,
) -> Submission:
    """Start a run of a compiled KFP package and, with ``wait=True``, follow it to its end.

    Args:
        package: The KFP pipeline YAML (``dagwright compile FILE.py --target kfp -o ...``).
        host: The KFP API endpoint (see ``connect``).
        namespace: The Kubernetes namespace (multi-user KFP).
        experiment: The experiment's name; created when missing (default ``Default``).
        arguments: Pipeline parameter values (JSON values), checked against the package.
        run_name: The run's display name (default: pipeline name and time).
        upload: Upload the package as a version of the pipeline (created when missing) and
            run that version; an unchanged package is not uploaded again (see
            ``kfp_versions.upload``). Else the spec travels inside the run, unless
            ``version_name`` picks an uploaded version.
        pipeline_name: The pipeline's name for ``upload`` or ``version_name`` (default: the
            package's own).
        version_name: With ``upload``, the version's name (default: the package's digest,
            ``sha256-`` and 16 hex digits); without, an uploaded version to run as it is.
        token: A bearer token (default ``$KFP_TOKEN``; see ``connect``).
        wait: Poll the run (``get_run``) until it ends or ``timeout`` passes.
        timeout: Seconds to wait at most; None waits as long as the run goes on.
        poll_interval: Seconds between polls.
        echo: Takes each line of progress and the final summary; None prints nothing.

    Returns:
        The ``Submission``; ``succeeded`` tells how a waited run ended.

    Raises:
        ValidationError: a missing package or wrong arguments; nothing was sent.
        SubmitError: the server refused a request or could not be reached.
    """
    path, spec = read_package(package)
    name = pipeline_name or spec_name(spec) or path.stem
    args = dict(arguments or {})
    if upload or version_name is None:  # else the chosen version's own, once found
        check_arguments(spec, args)
    if poll_interval <= 0 or (timeout is not None and timeout <= 0):
        raise ValidationError("poll_interval and timeout must be > 0", field="timeout")
    say = echo or _silent
    started = time.monotonic()
    with _remote(host):
        client = connect(host, namespace=namespace, token=token)
        experiment_id = _experiment(client, experiment, namespace)
        pipeline_id, version_id = _version_of(
            client, path, name, upload, version_name, namespace, args, say
        )
        with _quiet():
            run = client.run_pipeline(
                experiment_id=experiment_id,
                job_name=run_name or f"{name} {datetime.now():%Y-%m-%d %H-%M-%S}",
                pipeline_package_path=None if version_id else str(path),
                params=args,
                pipeline_id=pipeline_id,
                version_id=version_id,
            )
        result = Submission(
            run_id=run.run_id,
            state=run.state,
            url=_url(host, f"runs/details/{run.run_id}"),
            experiment_id=experiment_id,
            pipeline_id=pipeline_id,
            pipeline_version_id=version_id,
        )
        say(f"submitted run {result.run_id}" + (f": {result.url}" if result.url else ""))
        if wait:
            last = _wait(client, result.run_id, timeout, poll_interval, say)
            result.ended(last, time.monotonic() - started)
            for line in result.summary(timeout):
                say(line)
    return result


def schedule(
    package: str | Path,
    *,
    cron: str,
    host: str | None = None,
    namespace: str | None = None,
    experiment: str | None = None,
    arguments: dict[str, Any] | None = None,
    name: str | None = None,
    upload: bool = False,
    pipeline_name: str | None = None,
    version_name: str | None = None,
    token: str | None = None,
    max_concurrency: int = 1,
    catchup: bool = False,
    enabled: bool = True,
    timezone: str = "UTC",
    echo: Echo | None = print,
) -> Schedule:
    """Create a KFP recurring run of a compiled package on a cron schedule.

    Args:
        package: The KFP pipeline YAML.
        cron: Five fields (converted to KFP's six, seconds first: see ``kfp_cron``) or six.
            KFP reads it in its scheduled-workflow controller's time zone, mostly UTC.
        host: The KFP API endpoint (see ``connect``).
        namespace: The Kubernetes namespace (multi-user KFP).
        experiment: The experiment's name; created when missing (default ``Default``).
        arguments: Pipeline parameter values for every run, checked against the package.
        name: The recurring run's display name (default: the pipeline's name).
        upload: Upload the package as a pipeline version and schedule that version (see
            ``submit``).
        pipeline_name: The pipeline's name for ``upload`` or ``version_name`` (default: the
            package's own).
        version_name: With ``upload``, the version's name; without, an uploaded version to
            schedule (see ``submit``).
        token: A bearer token (default ``$KFP_TOKEN``; see ``connect``).
        max_concurrency: Runs of it that may run at once; KFP accepts 1 to 10.
        catchup: Start the runs missed while KFP was behind or the schedule paused.
        enabled: Create it enabled (else disabled, to enable later in KFP).
        timezone: The zone ``cron`` is meant in. KFP has no time zone per schedule, so only
            UTC is taken, or a cron that fires at the same instants in that zone (every hour
            of every day); see ``kfp_policies.check_kfp_timezone``.
        echo: Takes each line of progress; None prints nothing.

    Returns:
        The ``Schedule``.

    Raises:
        ValidationError: a bad cron, time zone, concurrency, package or arguments; nothing
            was sent.
        SubmitError: the server refused a request or could not be reached.
    """
    six = _checked_cron(cron, timezone, max_concurrency)
    path, spec = read_package(package)
    pname = pipeline_name or spec_name(spec) or path.stem
    args = dict(arguments or {})
    if upload or version_name is None:  # else the chosen version's own, once found
        check_arguments(spec, args)
    say = echo or _silent
    with _remote(host):
        client = connect(host, namespace=namespace, token=token)
        result = Schedule(
            recurring_run_id="",  # the server's, as are its status and page
            name=name or pname,
            cron=six,
            url=None,
            experiment_id=_experiment(client, experiment, namespace),
            max_concurrency=max_concurrency,
            catchup=catchup,
            status=None,
        )
        ids = _version_of(client, path, pname, upload, version_name, namespace, args, say)
        result.pipeline_id, result.pipeline_version_id = ids
        source = None if result.pipeline_version_id else path
        _create_recurring_run(client, result, args, source, enabled)
    result.url = _url(host, f"recurringrun/details/{result.recurring_run_id}")
    _say_scheduled(result, cron, say)
    return result


def versions(
    pipeline: str,
    *,
    host: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
) -> list[PipelineVersion]:
    """The versions of the KFP pipeline named ``pipeline``, oldest first.

    Args:
        pipeline: The pipeline's name.
        host: The KFP API endpoint (see ``connect``).
        namespace: The Kubernetes namespace (multi-user KFP).
        token: A bearer token (default ``$KFP_TOKEN``; see ``connect``).

    Raises:
        ValidationError: there is no such pipeline.
        SubmitError: the server refused a request or could not be reached.
    """
    from dagwright.remote.kfp_versions import pipeline_versions

    with _remote(host):
        client = connect(host, namespace=namespace, token=token)
        return pipeline_versions(client, pipeline, namespace)


def _checked_cron(cron: str, timezone: str, max_concurrency: int) -> str:
    """KFP's six-field cron for ``cron``, after checking the time zone and the concurrency."""
    from dagwright.remote.kfp_policies import check_kfp_timezone

    six = kfp_cron(cron)
    check_kfp_timezone(timezone, six, field="timezone")
    if not 1 <= max_concurrency <= 10:
        raise ValidationError(
            f"max_concurrency {max_concurrency} is out of range",
            field="max_concurrency",
            fix="KFP accepts 1 to 10",
        )
    return six


def _create_recurring_run(
    client: Any, asked: Schedule, args: dict[str, Any], path: Path | None, enabled: bool
) -> None:
    """Create the recurring run ``asked`` describes, of the package at ``path`` or else of its
    uploaded pipeline version; fill in its id and status as the server gives them."""
    with _quiet():
        made = client.create_recurring_run(
            experiment_id=asked.experiment_id,
            job_name=asked.name,
            cron_expression=asked.cron,
            # the swagger types int64 fields as JSON strings
            max_concurrency=str(asked.max_concurrency),
            no_catchup=not asked.catchup,
            params=args,
            pipeline_package_path=None if path is None else str(path),
            pipeline_id=asked.pipeline_id,
            version_id=asked.pipeline_version_id,
            enabled=enabled,
        )
    asked.recurring_run_id, asked.status = made.recurring_run_id, made.status


def _say_scheduled(result: Schedule, cron: str, say: Echo) -> None:
    """Tell what was scheduled, with KFP's six fields beside the cron given when they differ."""
    six = result.cron
    said = f"cron '{six}'" + (
        "" if six == " ".join(cron.split()) else f" (KFP's six fields, seconds first, for '{cron}')"
    )
    say(f"scheduled recurring run {result.recurring_run_id} '{result.name}': {said}")
    say(f"  max concurrency {result.max_concurrency}, catch-up {'on' if result.catchup else 'off'}")
    if result.url:
        say(f"  {result.url}")


def _silent(_line: str) -> None:
    pass


def _experiment(client: Any, name: str | None, namespace: str | None) -> str:
    """The experiment's id; kfp's create_experiment finds it by name or creates it."""
    with _quiet():
        found = client.create_experiment(name=name or DEFAULT_EXPERIMENT, namespace=namespace)
    return str(found.experiment_id)


def _version_of(
    client: Any,
    path: Path,
    name: str,
    upload: bool,
    version: str | None,
    namespace: str | None,
    args: dict[str, Any],
    say: Echo,
) -> tuple[str | None, str | None]:
    """The pipeline and version a run uses: the package uploaded (``upload``), an uploaded
    version picked by name (``args`` checked against its own spec, which may differ from the
    package's), or neither (the spec travels inside the run)."""
    if upload:
        return _upload(client, path, name, version, namespace, say)
    if version is None:
        return None, None
    from dagwright.remote.kfp_versions import chosen_version

    chosen = chosen_version(client, name, version, namespace)
    check_arguments(chosen.spec, args)
    say(f"using version '{version}' of pipeline '{name}' ({chosen.version_id})")
    return chosen.pipeline_id, chosen.version_id


def _wait(client: Any, run_id: str, timeout: float | None, interval: float, say: Echo) -> Any:
    """Poll ``get_run`` until a final state or the timeout, saying each change of state."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: tuple[Any, list[tuple[str, str]]] = (None, [])
    while True:
        run = client.get_run(run_id)
        tasks = task_states(run)
        if run.state != seen[0]:
            say(f"run {run_id}: {run.state}")
        for task, state in tasks:
            if (task, state) not in seen[1]:
                say(f"  {task}: {state}")
        seen = (run.state, tasks)
        if run.state in FINAL_STATES or (deadline is not None and time.monotonic() >= deadline):
            return run
        pause = interval if deadline is None else min(interval, deadline - time.monotonic())
        time.sleep(max(pause, 0.0))
