"""``dagwright verify``: a pipeline run here and under kfp.local from its compiled KFP spec, and
a table of every output (``dagwright.verify``).

Exit codes: 0 every output the same (``same`` or ``same (...)``: ``verify/uris.py``), 1 one
differs (or a task failed on one side only, or names a run-local path), 2 bad
input: kfp not installed (naming the extra), a wrong parameter, or a pipeline kfp.local cannot
run (``not run under kfp.local: <reason>``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dagwright.cli.common import EXIT_FAILED, EXIT_INVALID, load_target, parse_params, reported
from dagwright.cli.options import JSON, PARAMS

HEADERS = ("task", "output", "local", "kfp.local", "verdict")


@click.command()
@click.argument("target")
@PARAMS
@click.option(
    "--workdir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep both runs in this folder: the local store in store/, the compiled spec and "
    "kfp.local's pipeline root in kfp-local/ (default: a temporary folder, removed).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds kfp.local's run may take before it is stopped.",
)
@JSON
def verify(
    target: str, params: tuple[str, ...], root: Path | None, timeout: float, as_json: bool
) -> None:
    """Run TARGET (FILE.py[:PIPELINE]) here and its compiled KFP spec under kfp.local.

    Every output is compared, the pipeline's and each task's (by task, loop iteration and
    name): parameters by value (numbers within a relative 1e-9, as KFP carries them as
    doubles), Metrics by the values logged, other artifacts by the sha256 of their file or
    folder; a string naming an artifact its run made (model.uri) by that artifact's content,
    "same (artifact at the URI)". Exits 1 when one differs, 2 when kfp.local cannot run the
    pipeline. kfp.local
    runs each step as a subprocess of this Python with this dagwright (SubprocessRunner, no
    venv), so kfp and dagwright must be installed.
    """
    from dagwright.verify import verify as run_both

    with reported():
        found = run_both(
            load_target(target), parse_params(params), root=root, timeout=timeout, as_text=True
        )
    if found.not_run is not None:
        if as_json:
            _print_json(found, "not run")
        else:
            reason = _scrubbed(found.not_run, found.secrets)
            click.echo(f"{found.pipeline}: not run under kfp.local: {reason}")
            _log_tail(found.kfp_local.log, found.secrets)
        sys.exit(EXIT_INVALID)
    differs = found.differs
    if as_json:
        _print_json(found, "differs" if differs else "same")
    else:
        click.echo(_table(found.rows, found.secrets))
        total = len(found.rows)
        if differs:
            click.echo(
                f"\n{len(differs)} of {total} outputs differ between dagwright run and kfp.local"
            )
            if found.kfp_local.reason:
                click.echo(f"kfp.local: {_scrubbed(found.kfp_local.reason, found.secrets)}")
                _log_tail(found.kfp_local.log, found.secrets)
        else:
            both = " (the pipeline failed under both)" if _failed_alike(found.rows) else ""
            click.echo(f"\nall {total} outputs the same under dagwright run and kfp.local{both}")
        if found.root is not None:
            click.echo(f"runs kept in {found.root} (local run {found.run_id})", err=True)
    if differs:
        sys.exit(EXIT_FAILED)


def _failed_alike(rows: list[Any]) -> bool:
    """Did the pipeline fail on both sides (its status row the same, and not succeeded)?"""
    from dagwright.verify.compare import PIPELINE, STATUS

    return any(r.task == PIPELINE and r.output == STATUS and r.local != "succeeded" for r in rows)


def _table(rows: list[Any], secrets: list[str]) -> str:
    from dagwright.verify.values import shown

    cells = [HEADERS] + [
        (
            r.task,
            r.output,
            *(
                _cell(_hidden(v, r.output, secrets), r.output, shown)
                for v in (r.local, r.kfp_local)
            ),
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in cells
    )


def _hidden(value: Any, output: str, secrets: list[str]) -> Any:
    """A value as ``runs show`` would show it: masked under a secret name, URI passwords and
    secret parameters' values cut out (digests, metrics and statuses are left as they are)."""
    from dagwright.redact import scrub, shown

    def cut(item: Any) -> Any:
        if isinstance(item, str):
            return scrub(item, secrets)
        if isinstance(item, list):
            return [cut(i) for i in item]
        if isinstance(item, dict):
            return {k: cut(v) for k, v in item.items()}
        return item

    from dagwright.verify.compare import MISSING, STATUS

    if output == STATUS or value is MISSING or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return shown(output, value)
    if not isinstance(value, (str, list, dict)):
        return value  # an artifact's digest or metrics (Content): no secret in either
    return cut(shown(output, value))


def _json_row(row: Any, secrets: list[str]) -> dict[str, Any]:
    from dagwright.verify.values import as_json

    sides = {"local": row.local, "kfp_local": row.kfp_local}
    hidden = {k: as_json(_hidden(v, row.output, secrets)) for k, v in sides.items()}
    return {**row.to_dict(), **hidden}


def _cell(value: Any, output: str, shown: Any) -> str:
    """A status (``succeeded``) and a missing value (``-``) as they are, a value as JSON."""
    from dagwright.verify.compare import MISSING, STATUS

    return value if output == STATUS or value is MISSING else shown(value)


def _print_json(found: Any, status: str) -> None:
    click.echo(
        json.dumps(
            {
                "pipeline": found.pipeline,
                "status": status,
                "reason": _scrubbed(found.kfp_local.reason, found.secrets),
                "run_id": found.run_id,
                "root": str(found.root) if found.root else None,
                "rows": [_json_row(r, found.secrets) for r in found.rows],
            },
            indent=2,
        )
    )


def _scrubbed(text: str | None, secrets: list[str]) -> str | None:
    from dagwright.redact import scrub

    return scrub(text, secrets)


def _log_tail(log: str, secrets: list[str]) -> None:
    if log.strip():
        click.echo("kfp.local's last lines:\n" + (_scrubbed(log, secrets) or "").rstrip(), err=True)
