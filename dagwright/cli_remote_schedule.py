"""The cluster side of ``dagwright schedule add --target kfp|argo``: compile the pipeline and
make it a KFP recurring run or an Argo CronWorkflow, with the local policies (``--concurrency``,
``--catchup``, ``--timezone``) in the target's own form (``dagwright.remote.cron_policies``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from dagwright.cli_common import given_flag, load_target
from dagwright.cli_remote import (
    _ARGO_KEYS,
    _KFP_KEYS,
    _REMOTE_KEYS,
    _argo_remote,
    _check_target,
    _compiled,
    _remote_errors,
)
from dagwright.errors import ValidationError


def send_schedule(
    target: str,
    to: str,
    params: tuple[str, ...],
    cron: str | None,
    name: str | None,
    *,
    concurrency: str | None,
    catchup: str | None,
    max_concurrency: int | None,
    options: dict[str, Any],
) -> None:
    """Compile TARGET and make it a KFP recurring run or an Argo CronWorkflow (created, or
    updated when one of that name exists): ``dagwright schedule add --target kfp|argo``.

    The local policies become the target's own (``dagwright.remote.cron_policies``); what a
    target cannot do is refused. Given none of them, each target keeps its defaults: KFP one
    run at a time and only the newest missed run, Argo its CronWorkflow defaults. Given one,
    Argo takes the local default for the other (``allow``, ``none``); KFP, which has neither
    ``none`` nor a way to skip, keeps its own (one at a time, the newest missed run).

    Args:
        target: ``FILE.py[:PIPELINE]`` or an IR file.
        to: ``kfp`` or ``argo``.
        params: ``-p name=value`` pairs.
        cron: The expression; None takes the pipeline's own schedule.
        name: The recurring run's or CronWorkflow's name (default: the pipeline's).
        concurrency: ``allow``, ``forbid`` or ``replace``, or None.
        catchup: ``none``, ``latest`` or ``all``, or None.
        max_concurrency: KFP: runs of it that may run at once (instead of ``concurrency``).
        options: The command's remote, KFP, Argo and compile options, by parameter name.

    Raises:
        ValidationError: bad input; nothing was sent.
    """
    remote = {k: options.pop(k) for k in _REMOTE_KEYS}
    kfp_only = {k: options.pop(k) for k in _KFP_KEYS}
    argo_flags = {k: options.pop(k) for k in _ARGO_KEYS}
    with _remote_errors():
        _check_target(to)
        _one_of("concurrency", "max_concurrency")
        _one_of("concurrency", "concurrency_policy")
        _one_of("catchup", "starting_deadline_seconds")
        from dagwright.remote import argo, kfp

        check: Callable[..., str] = argo.argo_cron if to == "argo" else kfp.kfp_cron
        if cron is not None:
            check(cron, field="--cron")  # a bad --cron fails before anything is loaded
        ir = load_target(target)
        cron = cron or ir.schedule
        if not cron:
            raise ValidationError(
                f"pipeline '{ir.name}' has no schedule",
                field="--cron",
                fix="pass --cron '0 3 * * *', or write @pipeline(schedule='0 3 * * *')",
            )
        check(cron, field="--cron")
        runs: dict[str, Any] = {}
        if to == "argo":
            _argo_policy(cron, concurrency, catchup, options)
            options.update(argo_kind="cron", schedule=cron)
        else:
            runs = _kfp_policy(cron, concurrency, catchup, max_concurrency, options)
        with _compiled(ir, to, params, options) as (package, arguments):
            if to == "argo":
                argo.apply_cron(
                    package, arguments=arguments, name=name, **_argo_remote(remote, argo_flags)
                )
                return
            kfp.schedule(
                package,
                cron=cron,
                arguments=arguments,
                name=name,
                echo=click.echo,
                **runs,
                **remote,
                **kfp_only,
            )


def _one_of(new: str, old: str) -> None:
    """Refuse a local policy option given with the target's own option for the same thing."""
    first, second = given_flag(new), given_flag(old)
    if first and second:
        raise ValidationError(
            f"{first} and {second} both say it", field=second, fix="give one of them"
        )


def _kfp_policy(
    cron: str,
    concurrency: str | None,
    catchup: str | None,
    max_concurrency: int | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """``max_concurrency`` and ``catchup`` of ``kfp.schedule``."""
    timezone = options.pop("timezone", None)  # KFP has none: cron_policies checks it
    if concurrency is None and catchup is None and timezone is None:
        return {"max_concurrency": max_concurrency or 1, "catchup": False}
    from dagwright.remote.cron_policies import kfp_policy

    # what is not given stays as KFP did before: one at a time, only the newest missed run
    policy = kfp_policy(concurrency or "forbid", catchup or "latest", timezone or "UTC", cron=cron)
    return {
        "max_concurrency": max_concurrency or policy["max_concurrency"],
        "catchup": not policy["no_catchup"],
    }


def _argo_policy(
    cron: str, concurrency: str | None, catchup: str | None, options: dict[str, Any]
) -> None:
    """Argo's concurrencyPolicy, startingDeadlineSeconds and timezone, into ``options``."""
    if concurrency is None and catchup is None:
        return  # Argo's own options (or their defaults) as given
    from dagwright.remote.cron_policies import argo_policy

    # the one not given is the local default, so a schedule means the same here and on Argo
    policy = argo_policy(
        concurrency or "allow", catchup or "none", options.get("timezone"), cron=cron
    )
    for key, value in policy.items():
        if options.get(key) is None:
            options[key] = value
