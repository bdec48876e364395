"""The ``argo`` target: Argo Workflows. Glue over ``dagwright.compiler.argo`` (a Workflow,
WorkflowTemplate or CronWorkflow), ``dagwright.remote.argo`` (sent through Hera's
``WorkflowsService``) and ``dagwright.remote.argo_policies`` (the local schedule policies as a
CronWorkflow's)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import ValidationError
from dagwright.extras import require
from dagwright.targets.base import (
    DELIVERY_OPTIONS,
    Client,
    CliOptions,
    Target,
    not_blank,
    one_of,
    split_options,
)

if TYPE_CHECKING:
    from dagwright.pipelines.ir import PipelineIR
    from dagwright.remote.run_records import RunManager

# ``ArgoOptions``' fields but ``delivery``, written out so that listing them imports nothing
# (tests/targets/test_target_registry.py checks they agree)
COMPILE_OPTIONS = (
    "kind",
    "namespace",
    "service_account",
    "labels",
    "artifact_repository",
    "artifact_repository_ref",
    "artifact_endpoint",
    "artifact_secret",
    "schedule",
    "timezone",
    "concurrency_policy",
    "starting_deadline_seconds",
    "ttl_success",
    "ttl_failure",
    "strict",
    "validate",
    "tracking_uri",
    "allow_pickle",
    "cache_config_map",
    "cache_max_age",
)
# submit and schedule options only Argo reads (the command's parameter names)
REMOTE_OPTIONS = ("lint", "insecure_skip_verify")
# schedule keywords that are fields of the CronWorkflow, so compile options
_CRON_OPTIONS = ("timezone", "concurrency_policy", "starting_deadline_seconds")
_RUN_ONLY = ("wait", "timeout", "poll_interval")
# what --kind makes, and what of it the server keeps (so ``delete`` removes)
KINDS = ("workflow", "template", "cron")
KEPT = ("template", "cron")


def write(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """An Argo Workflow, WorkflowTemplate or CronWorkflow (``kind``)."""
    require("hera", field="target", needed_for="the argo target")
    from dagwright.compiler import argo

    known = {f.name for f in dataclasses.fields(argo.ArgoOptions)} - {"delivery"}
    delivery, rest = split_options("argo", options, known)
    return argo.write(ir, argo.ArgoOptions(delivery=delivery, **rest))


def submit_options(options: dict[str, Any], remote: dict[str, Any]) -> None:
    """The ``kind`` to send (default a Workflow) is also the kind to compile."""
    from dagwright.remote.argo_checks import check_kind

    kind = remote.pop("kind", "workflow")
    check_kind(kind)
    options["kind"] = remote["kind"] = kind


def submit(
    spec: Path, *, arguments: dict[str, Any] | None = None, kind: str = "workflow", **remote: Any
) -> Any:
    """Create the Workflow, or create or update the WorkflowTemplate or CronWorkflow."""
    from dagwright.remote import argo

    return argo.send(spec, kind, arguments=arguments, **remote)


def schedule_options(cron: str, options: dict[str, Any], remote: dict[str, Any]) -> None:
    """A schedule is a CronWorkflow carrying the cron and the CronWorkflow's fields."""
    from dagwright.remote.argo_checks import argo_cron

    argo_cron(cron)
    cron_fields = {k: remote.pop(k) for k in _CRON_OPTIONS if k in remote}
    options.update(cron_fields, kind="cron", schedule=cron)


def schedule(
    spec: Path, *, cron: str, arguments: dict[str, Any] | None = None, **remote: Any
) -> Any:
    """Create or update the CronWorkflow (the cron is in it already)."""
    from dagwright.remote import argo

    return argo.apply_cron(spec, arguments=arguments, **remote)


def check_cron(cron: str, *, field: str = "cron") -> str:
    """The cron as Argo takes it: five fields, whole minutes."""
    from dagwright.remote.argo_checks import argo_cron

    return argo_cron(cron, field=field)


def cron_policy(
    cron: str,
    concurrency: str | None,
    catchup: str | None,
    options: dict[str, Any],
    remote: dict[str, Any],
) -> None:
    """The CronWorkflow's concurrencyPolicy, startingDeadlineSeconds and timezone, into
    ``options`` where not given there. Given neither policy, Argo's own options (or their
    defaults) stay as given; given one, the other is the local default (``allow``, ``none``),
    so a schedule means the same here and on Argo."""
    if concurrency is None and catchup is None:
        return
    from dagwright.remote.argo_policies import argo_policy

    policy = argo_policy(
        concurrency or "allow", catchup or "none", options.get("timezone"), cron=cron
    )
    for key, value in policy.items():
        if options.get(key) is None:
            options[key] = value


def remote_keywords(command: str, flags: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The command's flags as ``dagwright.remote.argo``'s keywords: ``--insecure-skip-verify``
    is ``verify_ssl=False``; a submit's run name is the resource's ``name``, its ``--kind`` the
    kind sent, and only a Workflow is waited for.

    Raises:
        ValidationError: naming ``--wait`` for ``--wait`` or ``--timeout`` with a kind that
            makes no run.
    """
    remote = dict(flags)
    if "insecure_skip_verify" in remote:
        remote["verify_ssl"] = not remote.pop("insecure_skip_verify")
    if command == "submit":
        kind = options.get("kind") or "workflow"
        waits = {k: remote.pop(k) for k in _RUN_ONLY if k in remote}
        if kind != "workflow" and (waits.get("wait") or waits.get("timeout") is not None):
            raise ValidationError(
                f"--kind {kind} makes no run to wait for", field="--wait", fix="leave it out"
            )
        remote.update(waits if kind == "workflow" else {}, kind=kind)
        remote["name"] = remote.pop("run_name", None)
    return remote


def delete(name: str, kind: str, **remote: Any) -> None:
    """Delete the WorkflowTemplate (``kind="template"``) or CronWorkflow (``"cron"``) ``name``."""
    from dagwright.remote import argo

    remove = argo.delete_template if kind == "template" else argo.delete_cron
    remove(name, **remote)


def runs(**remote: Any) -> RunManager:
    """The namespace's Workflows (see ``dagwright.remote.argo_runs.ArgoRuns``)."""
    from dagwright.remote.argo_runs import ArgoRuns

    return ArgoRuns(**remote)


def flags(where: str) -> list[Any]:
    """The command-line options only Argo reads (see ``CliOptions.flags``)."""
    made = {
        "send": _send_flags,
        "compile-command": _compile_command_flags,
        "submit": _submit_flags,
        "compile": _compile_flags,
        "delete": _delete_flags,
    }.get(where)
    return made() if made is not None else []


def _send_flags() -> list[Any]:
    """The remote options of ``submit`` and ``schedule add``: the server's lint, its TLS check."""
    import click

    return [
        click.option(
            "--lint",
            is_flag=True,
            help="Argo: have the server lint it first; stop on problems.",
        ),
        _insecure_flag("Argo: do not check the server's TLS certificate."),
    ]


def _insecure_flag(help_text: str) -> Any:
    """``-k/--insecure-skip-verify``, on every command that talks to argo-server."""
    import click

    return click.option("-k", "--insecure-skip-verify", is_flag=True, help=help_text)


def _delete_flags() -> list[Any]:
    """The options of ``delete``: what to delete, and where and as whom."""
    import click

    return [
        click.option(
            "--kind",
            type=click.Choice(KEPT),
            required=True,
            help="Delete a WorkflowTemplate or a CronWorkflow.",
        ),
        click.option("--host", default=None, help="argo-server URL (default: $ARGO_SERVER)."),
        click.option("--namespace", default=None, help="Its namespace (default: $ARGO_NAMESPACE)."),
        click.option("--token", default=None, help="Bearer token (default: $ARGO_TOKEN)."),
        _insecure_flag("Do not check the TLS certificate."),
    ]


def _compile_command_flags() -> list[Any]:
    """Options ``compile`` alone has: the kind of manifest, its cron and namespace."""
    import click

    return [
        click.option(
            "--kind",
            "argo_kind",
            type=click.Choice(KINDS),
            default=None,
            help="Argo: a Workflow (default), a WorkflowTemplate or a CronWorkflow.",
        ),
        click.option(
            "--cron",
            "schedule",
            default=None,
            callback=not_blank,
            help="Argo cron: five-field schedule.",
        ),
        click.option(
            "--concurrency",
            type=click.Choice(["allow", "forbid", "replace"], case_sensitive=False),
            default=None,
            help="Argo cron: when a run is due while the previous one still runs: start "
            "another (allow), skip it (forbid, the default) or stop that run first (replace).",
        ),
        click.option("--namespace", default=None, help="Argo: metadata.namespace."),
    ]


def _submit_flags() -> list[Any]:
    """Options ``submit`` alone has: the kind of resource it creates."""
    import click

    return [
        click.option(
            "--kind",
            "argo_kind",
            type=click.Choice(KINDS),
            default=None,
            help="Argo: create a Workflow (default), or create or update a WorkflowTemplate "
            "or a CronWorkflow (on the pipeline's own schedule).",
        )
    ]


def _compile_flags() -> list[Any]:
    """The compile options of ``compile``, ``submit`` and ``schedule add``: the service
    account, the artifact repository and the CronWorkflow's fields."""
    import click

    return [
        click.option("--service-account", default=None, help="Argo: the pods' service account."),
        click.option(
            "--artifact-repository",
            default=None,
            help="Argo: s3 or gcs (the cluster's default repository of that kind), or "
            "s3://bucket/prefix, gs://bucket/prefix.",
        ),
        click.option(
            "--artifact-repository-ref",
            default=None,
            help="Argo: CONFIGMAP[:KEY] naming the artifact repository to use.",
        ),
        click.option(
            "--artifact-endpoint",
            default=None,
            help="Argo: endpoint of an s3:// bucket: host[:port] or https://host[:port] (TLS), "
            "http://host[:port] (no TLS); s3.amazonaws.com for AWS.",
        ),
        click.option(
            "--artifact-secret", default=None, help="Argo: Secret with the store's credentials."
        ),
        click.option(
            "--timezone", default=None, callback=not_blank, help="Argo cron: IANA timezone."
        ),
        # Argo's own spelling, kept working but hidden: --concurrency (allow|forbid|replace)
        # is the one option for this on every command, as the local scheduler reads it
        click.option(
            "--concurrency-policy",
            type=click.Choice(["Allow", "Forbid", "Replace"]),
            default=None,
            hidden=True,
            help="Argo cron: what to do when a run is due while one runs (default Forbid).",
        ),
        click.option(
            "--starting-deadline-seconds",
            type=click.IntRange(min=0),
            default=None,
            help="Argo cron: how late a missed run may still start.",
        ),
        click.option(
            "--cache-config-map",
            default=None,
            callback=not_blank,
            help="Argo: the ConfigMap memoized steps (cache=True) keep their entries in "
            "(default dagwright-cache).",
        ),
        click.option(
            "--cache-max-age",
            default=None,
            help="Argo: how old a memoized step's entry may be and still be used (24h, 90m); "
            "default any age.",
        ),
    ]


def compile_keywords(options: dict[str, Any]) -> None:
    """``--kind`` (``argo_kind``) is the ``kind`` to compile, and ``dagwright compile
    --concurrency`` (the local policy's name) the CronWorkflow's ``concurrency_policy`` in
    Argo's spelling.

    Raises:
        ValidationError: naming ``--concurrency-policy`` when that is given too.
    """
    if "argo_kind" in options:  # named so beside compile's -t/--target (``kind``)
        options["kind"] = options.pop("argo_kind")
    concurrency = options.pop("concurrency", None)
    if concurrency is None:
        return
    if options.get("concurrency_policy") is not None:
        raise ValidationError(
            "--concurrency and --concurrency-policy both say it",
            field="--concurrency-policy",
            fix="give --concurrency only",
        )
    options["concurrency_policy"] = concurrency.capitalize()


def check_schedule(concurrency: str | None, catchup: str | None, options: dict[str, Any]) -> None:
    """``--concurrency`` and ``--concurrency-policy``, ``--catchup`` and
    ``--starting-deadline-seconds`` say the same thing: one of each pair is taken.

    Raises:
        ValidationError: naming Argo's flag.
    """
    one_of(options, ("--concurrency", concurrency), "concurrency_policy")
    one_of(options, ("--catchup", catchup), "starting_deadline_seconds")


TARGET = Target(
    name="argo",
    write=write,
    description="Argo Workflows (a Workflow, WorkflowTemplate or CronWorkflow)",
    client=Client(
        submit=submit,
        schedule=schedule,
        check_cron=check_cron,
        submit_options=submit_options,
        schedule_options=schedule_options,
        delete=delete,
        kept=KEPT,
        runs=runs,
    ),
    cron_policy=cron_policy,
    cli=CliOptions(
        compile=(*DELIVERY_OPTIONS, *COMPILE_OPTIONS),
        remote=REMOTE_OPTIONS,
        remote_keywords=remote_keywords,
        flags=flags,
        compile_keywords=compile_keywords,
        check_schedule=check_schedule,
    ),
)
