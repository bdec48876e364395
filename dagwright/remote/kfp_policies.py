"""The local schedule policies (``--concurrency``, ``--catchup``, ``--timezone``) on KFP.

A KFP recurring run (ScheduledWorkflow controller, robfig/cron with seconds first):
``no_catchup=False`` starts every missed slot one by one (``all``); ``no_catchup=True`` starts
the newest missed slot and skips the rest (``latest``); nothing starts none of them (``none``
cannot be expressed). ``max_concurrency`` (1 to 10) holds a due slot back while that many
runs are active and starts it when one ends, where the local ``forbid`` skips it: ``forbid``
is ``1`` and ``allow`` is KFP's maximum, 10; KFP never stops a run (no ``replace``). Every
schedule is read in one time zone, the controller's (``CRON_SCHEDULE_TIMEZONE``, UTC unless
the cluster sets it): a schedule has none of its own.

KFP reads a local time that does not exist (the hour skipped when clocks go forward) as no fire
time, and one that happens twice (clocks go back) as two; so does the local scheduler
(``dagwright.schedules.cron``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dagwright.errors import ValidationError
from dagwright.schedules.cron import check_policies, zone

KFP_MAX_CONCURRENCY = 10


def kfp_policy(
    concurrency: str, catchup: str, timezone: str = "UTC", *, cron: str | None = None
) -> dict[str, Any]:
    """KFP's ``max_concurrency`` and ``no_catchup`` for the local policies.

    Args:
        concurrency: ``allow`` (KFP's most, 10 at once) or ``forbid`` (one at a time; KFP
            holds a slot back until the active run ends instead of skipping it).
        catchup: ``latest`` (``no_catchup``) or ``all``.
        timezone: The zone the cron is meant in. KFP reads every schedule in its controller's
            zone (UTC), so only UTC, or a cron that fires at the same instants in any zone
            (every hour of every day, at minutes the zone's offsets keep), is taken.
        cron: The expression, to tell whether it is the same in ``timezone`` and in UTC.

    Returns:
        ``{"max_concurrency": int, "no_catchup": bool}``.

    Raises:
        ValidationError: naming ``--concurrency``, ``--catchup`` or ``--timezone``.
    """
    check_policies(concurrency, catchup)
    if concurrency == "replace":
        raise ValidationError(
            "KFP never stops a running run for a new one: it has no 'replace'",
            field="--concurrency",
            fix="use --concurrency forbid (max_concurrency 1) or allow, or --target argo|local",
        )
    if catchup == "none":
        raise ValidationError(
            "KFP always starts a missed slot: no_catchup starts the newest one, so 'none' "
            "cannot be expressed",
            field="--catchup",
            fix="use --catchup latest (KFP's no_catchup) or all, or --target argo|local",
        )
    check_kfp_timezone(timezone, cron)
    return {
        "max_concurrency": KFP_MAX_CONCURRENCY if concurrency == "allow" else 1,
        "no_catchup": catchup == "latest",
    }


def check_kfp_timezone(name: str, cron: str | None, *, field: str = "--timezone") -> None:
    """Refuse a time zone KFP cannot read ``cron`` in (all but UTC, mostly).

    Raises:
        ValidationError: naming ``field``, unless ``name`` is always UTC or ``cron`` fires
            at the same instants in ``name`` as in UTC.
    """
    offsets = _offsets(zone(name, field=field))
    if offsets == {0} or (cron is not None and _same_in_every_offset(cron, offsets)):
        return
    raise ValidationError(
        f"KFP reads every schedule in its controller's time zone (UTC), not in '{name}'",
        field=field,
        fix="write the cron in UTC and pass --timezone UTC (mind daylight saving: a UTC cron "
        "keeps UTC time all year), or use --target argo|local, which read time zones",
    )


def _offsets(tz: Any) -> set[int]:
    """The UTC offsets (seconds) ``tz`` uses over the coming three years, sampled daily."""
    start = dt.datetime.now(dt.timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    found = set()
    for day in range(3 * 366):
        offset = (start + dt.timedelta(days=day)).astimezone(tz).utcoffset()
        found.add(int(offset.total_seconds()) if offset is not None else 0)
    return found


def _same_in_every_offset(cron: str, offsets: set[int]) -> bool:
    """Whether ``cron`` fires at the same instants in UTC as in a zone with these offsets.

    True when it fires at every hour of every day and its minutes map onto themselves under
    each offset (whole hours always do; '*/15' also under a half-hour offset).
    """
    from croniter import croniter

    fields = cron.split()
    if len(fields) not in (5, 6):
        return False
    _, hour, dom, month, dow = fields[-5:]
    if any(f not in ("*", "?") for f in (hour, dom, month, dow)):
        return False
    if any(offset % 60 for offset in offsets):
        return False
    try:
        minutes = croniter(" ".join(fields[-5:])).expanded[0]
    except (ValueError, KeyError):
        return False
    if minutes == ["*"]:
        return True
    allowed = {int(m) for m in minutes}
    return all({(m + offset // 60) % 60 for m in allowed} == allowed for offset in offsets)
