"""The option blocks more than one ``dagwright`` command takes, each defined once, and the
target names the commands offer.

An option here is a click decorator; a block (``target_options``, ``argo_options``,
``remote_options``) is one decorator that adds several, in the order ``--help`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def target_names() -> tuple[str, ...]:
    """The targets ``dagwright compile`` writes: the IR itself and each cluster target."""
    return ("ir", "kfp", "argo")


def sends_to() -> tuple[str, ...]:
    """The cluster targets ``submit`` and ``schedule add`` send a pipeline to."""
    return ("kfp", "argo")


def listed(words: Sequence[str]) -> str:
    """Words as a sentence lists them: ``ir, kfp or argo``."""
    return " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else list(words))


def option_block(*options: Decorator) -> Decorator:
    """One decorator that adds ``options`` to a command, the first one first in ``--help``."""

    def add(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            command = option(command)
        return command

    return add


def not_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: an option given as "" is refused, not read as "not given" (an empty
    --cron would otherwise take the pipeline's own schedule, an empty --timezone UTC)."""
    if value is not None and not value.strip():
        raise click.BadParameter("is empty; give a value or leave the option out")
    return value


# the store folder, the same option on every command that reads or writes a store
ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Store folder (default: $DAGWRIGHT_HOME or ./.dagwright).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
PARAMS = click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A pipeline parameter; repeat for several.",
)


def output(help_text: str = "File to write; standard output when left out.") -> Decorator:
    """``-o/--output FILE``: where a command writes what it would print."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


# options of cluster targets, shared by compile, submit and schedule
target_options = option_block(
    click.option(
        "--code",
        type=click.Choice(["inline", "image"]),
        default=None,
        help="How steps get their code: the source inside the spec (inline, default) or "
        "an image that holds the project (image).",
    ),
    click.option("--image", default=None, help="Image for steps that name none."),
    click.option("--index-url", default=None, help="pip index that pods install from."),
    click.option(
        "--dagwright",
        "dagwright_requirement",
        default=None,
        help="Requirement pods install dagwright from (a pin, a wheel URL). Default: "
        "dagwright==<this version>, allowed only for a release installed from an index.",
    ),
    click.option("--pipeline-root", default=None, help="KFP: where runs keep artifacts."),
    click.option(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI the pods record lineage to (default: none).",
    ),
    click.option(
        "--strict", is_flag=True, help="Fail instead of warning when the spec is too large."
    ),
    click.option(
        "--allow-pickle",
        is_flag=True,
        help="Let pods unpickle (joblib) artifacts; that runs code from the artifact store.",
    ),
)

# options only the Argo target takes
argo_options = option_block(
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
    click.option("--timezone", default=None, callback=not_blank, help="Argo cron: IANA timezone."),
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
)


def compile_options(values: dict[str, Any]) -> dict[str, Any]:
    """The target options given on the command line, as ``compile_ir`` takes them."""
    renamed = {"dagwright_requirement": "dagwright", "argo_kind": "kind"}
    return {renamed.get(k, k): v for k, v in values.items() if v not in (None, False)}


def remote_options(default: str = "kfp", where: str = listed(sends_to())) -> Decorator:
    """Options shared by submit and schedule add: where to send, as whom, with what arguments,
    and the cluster targets' compile options.

    Args:
        default: The ``--target`` when none is given.
        where: The targets the command takes, for ``--target``'s help.
    """
    return option_block(
        argo_options,
        target_options,
        click.option(
            "-t",
            "--target",
            "to",
            default=default,
            show_default=True,
            help=f"Where to send it: {where}.",
        ),
        click.option(
            "--host",
            default=None,
            help="KFP API endpoint, e.g. http://localhost:8080 (default: "
            "$KF_PIPELINES_ENDPOINT, else found through the kube config); or argo-server URL, "
            "e.g. https://localhost:2746 (default: $ARGO_SERVER).",
        ),
        click.option(
            "--namespace",
            default=None,
            help="Kubernetes namespace (multi-user KFP; Argo: default the manifest's, else "
            "$ARGO_NAMESPACE).",
        ),
        click.option(
            "--token",
            default=None,
            help="Bearer token (default: $KFP_TOKEN or $ARGO_TOKEN); without one, KFP uses "
            "existing kube credentials.",
        ),
        click.option(
            "--experiment",
            default=None,
            help="KFP: experiment name; created when missing (Default).",
        ),
        click.option(
            "--upload",
            is_flag=True,
            help="KFP: upload as a pipeline (a new version if it exists) and run that version.",
        ),
        click.option("--pipeline-name", default=None, help="KFP: pipeline name for --upload."),
        click.option(
            "--version-name", default=None, help="KFP: version name for --upload (default: time)."
        ),
        click.option(
            "--lint", is_flag=True, help="Argo: have the server lint it first; stop on problems."
        ),
        click.option(
            "-k",
            "--insecure-skip-verify",
            is_flag=True,
            help="Argo: do not check the server's TLS certificate.",
        ),
        PARAMS,
    )
