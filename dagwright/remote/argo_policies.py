"""The local schedule policies (``--concurrency``, ``--catchup``, ``--timezone``) on Argo.

An Argo CronWorkflow (robfig/cron v3 ``ParseStandard``: five fields, minute resolution, no
seconds): ``concurrencyPolicy`` Allow, Forbid and Replace are the local policies one to one.
Runs missed while the controller was down are looked at once, on restart: only the newest
missed slot can start, and only while ``startingDeadlineSeconds`` has not passed since it
(unset or 0: none starts). So ``--catchup none`` is a deadline of 0, ``latest`` a deadline
longer than any gap between two fire times, and ``all`` cannot be expressed. ``timezone`` is an
IANA name the schedule is read in (``CRON_TZ=``); without it the controller's own zone is used,
so it is always written.

Argo reads a local time that does not exist (the hour skipped when clocks go forward) as no fire
time, and one that happens twice (clocks go back) as two; so does the local scheduler
(``dagwright.schedules.cron``).
"""

from __future__ import annotations

from typing import Any

from dagwright.errors import ValidationError
from dagwright.schedules.cron import check_policies, zone

# robfig/cron gives up looking for a fire time five years ahead, so no two fire times Argo
# computes are further apart; a deadline this long always covers the newest missed slot
LATEST_DEADLINE = 5 * 366 * 24 * 3600
_ARGO_CONCURRENCY = {"allow": "Allow", "forbid": "Forbid", "replace": "Replace"}


def argo_policy(
    concurrency: str, catchup: str, timezone: str | None = "UTC", *, cron: str | None = None
) -> dict[str, Any]:
    """An Argo CronWorkflow's ``concurrencyPolicy``, ``startingDeadlineSeconds`` and ``timezone``.

    Args:
        concurrency: ``allow``, ``forbid`` or ``replace``: Argo's Allow, Forbid, Replace.
        catchup: ``none`` (deadline 0) or ``latest`` (a deadline longer than any gap between
            fire times: the newest missed slot always starts).
        timezone: An IANA zone (None: UTC). Always returned, as Argo would otherwise read the
            cron in its controller's own zone.
        cron: The expression, checked as Argo's parser reads it (five fields, no seconds).

    Returns:
        ``{"concurrency_policy": str, "starting_deadline_seconds": int, "timezone": str}``,
        the keyword names of ``ArgoOptions``.

    Raises:
        ValidationError: naming ``--concurrency``, ``--catchup``, ``--timezone`` or ``--cron``.
    """
    check_policies(concurrency, catchup)
    if catchup == "all":
        raise ValidationError(
            "Argo starts at most one missed slot of a CronWorkflow (the newest): it cannot "
            "catch up on all of them",
            field="--catchup",
            fix="use --catchup latest or none, or --target kfp|local to start every missed slot",
        )
    name = timezone or "UTC"
    zone(name, field="--timezone")
    if cron is not None:
        _argo_cron(cron)
    return {
        "concurrency_policy": _ARGO_CONCURRENCY[concurrency],
        "starting_deadline_seconds": LATEST_DEADLINE if catchup == "latest" else 0,
        "timezone": name,
    }


def _argo_cron(cron: str) -> None:
    from dagwright.remote.argo_checks import argo_cron

    if len(cron.split()) == 6:
        raise ValidationError(
            f"'{cron}' has a seconds field; Argo reads five fields and fires on whole minutes",
            field="--cron",
            fix="drop the seconds field ('0 3 * * *'), or use --target local|kfp for seconds",
        )
    argo_cron(cron, field="--cron")
