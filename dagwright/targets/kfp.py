"""The ``kfp`` target: Kubeflow Pipelines v2. Glue over ``dagwright.compiler.kfp`` (the
PipelineSpec), ``dagwright.remote.kfp`` (runs and recurring runs through ``kfp.Client``) and
``dagwright.remote.kfp_policies`` (the local schedule policies as KFP's)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.extras import missing
from dagwright.targets.base import (
    DELIVERY_OPTIONS,
    Client,
    CliOptions,
    Target,
    one_of,
    split_options,
)

if TYPE_CHECKING:
    from dagwright.pipelines.ir import PipelineIR
    from dagwright.remote.run_records import RunManager

COMPILE_OPTIONS = ("pipeline_root", "strict", "tracking_uri", "allow_pickle")
# submit and schedule options only KFP reads (the command's parameter names)
REMOTE_OPTIONS = ("experiment", "upload", "pipeline_name", "version_name", "max_concurrency")


def write(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """KFP v2 IR YAML (a PipelineSpec; the platform spec follows when a step needs it)."""
    from dagwright.compiler import kfp
    from dagwright.compiler.kfp.proto import messages

    try:
        messages()  # kfp's messages only, not its SDK (see proto.py)
    except ImportError as exc:
        raise missing("kfp", field="target", needed_for="the kfp target") from exc

    delivery, rest = split_options("kfp", options, set(COMPILE_OPTIONS))
    return kfp.write(ir, kfp.KfpOptions(delivery=delivery, **rest))


def submit(spec: Path, *, arguments: dict[str, Any] | None = None, **remote: Any) -> Any:
    """Start a run of the package (see ``dagwright.remote.kfp.submit``)."""
    from dagwright.remote import kfp

    return kfp.submit(spec, arguments=arguments, **remote)


def schedule(
    spec: Path, *, cron: str, arguments: dict[str, Any] | None = None, **remote: Any
) -> Any:
    """Make the package a recurring run (see ``dagwright.remote.kfp.schedule``)."""
    from dagwright.remote import kfp

    return kfp.schedule(spec, cron=cron, arguments=arguments, **remote)


def runs(**remote: Any) -> RunManager:
    """The server's runs (see ``dagwright.remote.kfp_runs.KfpRuns``)."""
    from dagwright.remote.kfp_runs import KfpRuns

    return KfpRuns(**remote)


def check_cron(cron: str, *, field: str = "cron") -> str:
    """The cron as KFP takes it: six fields, seconds first."""
    from dagwright.remote.kfp_checks import kfp_cron

    return kfp_cron(cron, field=field)


def cron_policy(
    cron: str,
    concurrency: str | None,
    catchup: str | None,
    options: dict[str, Any],
    remote: dict[str, Any],
) -> None:
    """``max_concurrency`` and ``catchup`` of ``kfp.schedule`` for the local policies.

    KFP has no time zone per schedule, so ``timezone`` leaves the compile options here (to be
    checked). Given none of the policies, KFP keeps one run at a time and only the newest
    missed run; what is not given stays so too.
    """
    timezone = options.pop("timezone", None)
    max_concurrency = remote.pop("max_concurrency", None)
    if concurrency is None and catchup is None and timezone is None:
        remote.update(max_concurrency=max_concurrency or 1, catchup=False)
        return
    from dagwright.remote.kfp_policies import kfp_policy

    policy = kfp_policy(concurrency or "forbid", catchup or "latest", timezone or "UTC", cron=cron)
    remote.update(
        max_concurrency=max_concurrency or policy["max_concurrency"],
        catchup=not policy["no_catchup"],
    )


def check_schedule(concurrency: str | None, catchup: str | None, options: dict[str, Any]) -> None:
    """``--concurrency`` and ``--max-concurrency`` say the same thing: one of them is taken.

    Raises:
        ValidationError: naming ``--max-concurrency``.
    """
    one_of(options, ("--concurrency", concurrency), "max_concurrency")


def flags(where: str) -> list[Any]:
    """The command-line options only KFP reads (see ``CliOptions.flags``)."""
    import click

    if where == "delivery":
        return [
            click.option("--pipeline-root", default=None, help="KFP: where runs keep artifacts.")
        ]
    if where == "schedule":
        return [
            click.option(
                "--max-concurrency",
                type=click.IntRange(1, 10),
                default=None,
                help="KFP: runs of it that may run at once (default 1).",
            )
        ]
    if where != "send":
        return []
    return [
        click.option(
            "--experiment",
            default=None,
            help="KFP: experiment name; created when missing (Default).",
        ),
        click.option(
            "--upload",
            is_flag=True,
            help="KFP: upload as a version of the pipeline (created when missing) and run "
            "that version; an unchanged pipeline is not uploaded again.",
        ),
        click.option(
            "--pipeline-name", default=None, help="KFP: pipeline name for --upload or --version."
        ),
        click.option(
            "--version",
            "--version-name",
            "version_name",
            default=None,
            help="KFP: with --upload, the version's name (default: the spec's digest); "
            "without, an uploaded version to run (see 'dagwright pipelines versions').",
        ),
    ]


TARGET = Target(
    name="kfp",
    write=write,
    description="Kubeflow Pipelines v2 (a PipelineSpec)",
    client=Client(submit=submit, schedule=schedule, check_cron=check_cron, runs=runs),
    cron_policy=cron_policy,
    cli=CliOptions(
        compile=(*DELIVERY_OPTIONS, *COMPILE_OPTIONS),
        remote=REMOTE_OPTIONS,
        flags=flags,
        check_schedule=check_schedule,
    ),
)
