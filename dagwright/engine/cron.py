"""Cron expressions read the way the scheduler, Argo and KFP read them.

Five fields (minute hour day-of-month month day-of-week) as Argo and Kubernetes CronJobs take
them; six fields put seconds first, as KFP's recurring runs (robfig/cron with seconds) take
them. When both day fields are restricted a day matching either counts, as in Vixie cron,
robfig/cron and croniter. Times are read in an IANA time zone and handed out as epoch seconds.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagwright.errors import ValidationError

CONCURRENCY = ("allow", "forbid", "replace")
CATCHUP = ("none", "latest", "all")


def check(
    cron: str,
    timezone: str = "UTC",
    concurrency: str = "allow",
    catchup: str = "none",
    *,
    field_prefix: str = "--",
) -> None:
    """Refuse a bad expression, time zone or policy with the field named.

    Raises:
        ValidationError: naming ``--cron``, ``--timezone``, ``--concurrency`` or ``--catchup``.
    """
    from croniter import croniter

    fields = cron.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(
        cron, second_at_beginning=len(fields) == 6
    ):
        raise ValidationError(
            f"'{cron}' is not a cron expression",
            field=f"{field_prefix}cron",
            fix="write five fields, minute hour day month weekday ('0 3 * * *'), or six with "
            "seconds first ('*/10 * * * * *')",
        )
    zone(timezone, field=f"{field_prefix}timezone")
    for name, value, allowed in (
        ("concurrency", concurrency, CONCURRENCY),
        ("catchup", catchup, CATCHUP),
    ):
        if value not in allowed:
            raise ValidationError(
                f"{name} '{value}' is not a policy",
                field=f"{field_prefix}{name}",
                fix=f"use one of {', '.join(allowed)}",
            )


def zone(name: str, field: str = "--timezone") -> ZoneInfo:
    """The IANA time zone ``name``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"'{name}' is not a time zone",
            field=field,
            fix="use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York'",
        ) from exc


def slots(
    cron: str, timezone: str, after: float, until: float, limit: int = 100_000
) -> list[float]:
    """Fire times in ``(after, until]``, oldest first, as epoch seconds.

    Args:
        cron: The expression (five fields, or six with seconds first).
        timezone: The time zone it is read in.
        after: Exclusive start (epoch seconds).
        until: Inclusive end.
        limit: At most this many slots (the oldest); years of every-second slots stop here.
    """
    from croniter import croniter

    start = datetime.fromtimestamp(after, zone(timezone))
    it = croniter(cron, start, ret_type=float, second_at_beginning=len(cron.split()) == 6)
    found: list[float] = []
    while len(found) < limit:
        slot = it.get_next(float)
        if slot > until:
            break
        found.append(slot)
    return found


def next_slot(cron: str, timezone: str, after: float) -> float:
    """The first fire time after ``after``."""
    from croniter import croniter

    start = datetime.fromtimestamp(after, zone(timezone))
    it = croniter(cron, start, ret_type=float, second_at_beginning=len(cron.split()) == 6)
    return float(it.get_next(float))


def has_seconds(cron: str) -> bool:
    return len(cron.split()) == 6
