"""``dagwright pipelines versions NAME --target kfp``: the versions of a pipeline uploaded to a
cluster, to pick one for ``dagwright submit --version``.

Exit codes: 0 success, 1 the server refused or could not be reached, 2 bad input (no such
pipeline, a target without pipeline versions).
"""

from __future__ import annotations

import json
from typing import Any

import click

from dagwright.cli.common import remote_errors, reported
from dagwright.cli.options import JSON
from dagwright.errors import ValidationError

# the targets that keep uploaded pipelines in versions (Argo has templates, not versions)
_VERSIONED = ("kfp",)


@click.group()
def pipelines() -> None:
    """Pipelines uploaded to a cluster: their versions."""


@pipelines.command()
@click.argument("name")
@click.option("-t", "--target", "to", default="kfp", show_default=True, help="Where: kfp (only).")
@click.option(
    "--host",
    default=None,
    help="KFP API endpoint, e.g. http://localhost:8080 (default: $KF_PIPELINES_ENDPOINT, else "
    "found through the kube config).",
)
@click.option("--namespace", default=None, help="Kubernetes namespace (multi-user KFP).")
@click.option(
    "--token",
    default=None,
    help="Bearer token (default: $KFP_TOKEN); without one, KFP uses existing kube credentials.",
)
@JSON
def versions(
    name: str, to: str, host: str | None, namespace: str | None, token: str | None, as_json: bool
) -> None:
    """List the versions of the pipeline NAME, oldest first, with the digest of the spec each
    holds when dagwright uploaded it (``submit --upload``)."""
    with reported(), remote_errors():
        if to not in _VERSIONED:
            raise ValidationError(
                f"the {to} target keeps no pipeline versions",
                field="--target",
                fix="use --target kfp",
            )
        from dagwright.remote import kfp

        found = kfp.versions(name, host=host, namespace=namespace, token=token)
        if as_json:
            click.echo(json.dumps([v.as_dict() for v in found], indent=2))
            return
        if not found:
            click.echo(f"pipeline '{name}' has no versions")
            return
        _table([["VERSION", "CREATED", "DIGEST", "ID"], *(_row(v) for v in found)])


def _row(version: Any) -> list[str]:
    created = version.created_at.strftime("%Y-%m-%d %H:%M:%S") if version.created_at else "-"
    return [version.name, created, (version.digest or "-")[:16], version.version_id]


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
