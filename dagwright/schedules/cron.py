"""Cron expressions read the way the cron daemon, Argo and KFP read them.

Five fields (minute hour day-of-month month day-of-week) as Argo and Kubernetes CronJobs take
them; six fields put seconds first, as KFP's recurring runs (robfig/cron with seconds) take
them. When both day fields are restricted a day matching either counts, as in Vixie cron,
robfig/cron and croniter. Times are read in an IANA time zone and handed out as epoch seconds;
a local time that does not exist (clocks going forward) fires not at all and one that happens
twice (clocks going back) fires twice, as robfig/cron has it for Argo, KFP and Kubernetes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagwright.errors import ValidationError

CONCURRENCY = ("allow", "forbid", "replace")
CATCHUP = ("none", "latest", "all")
LIMIT = 100_000  # slots one call of ``slots`` hands out at most


def check(
    cron: str,
    timezone: str = "UTC",
    concurrency: str = "allow",
    catchup: str = "none",
    *,
    field_prefix: str = "--",
) -> None:
    """Refuse a bad expression, time zone or policy with the field named.

    An expression that never fires (``0 0 31 2 *``: no 31 February) is a bad expression too.

    Raises:
        ValidationError: naming ``--cron``, ``--timezone``, ``--concurrency`` or ``--catchup``.
    """
    from croniter import CroniterBadDateError, croniter

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
    check_weekday(cron, field=f"{field_prefix}cron")
    zone(timezone, field=f"{field_prefix}timezone")
    try:
        next_slot(cron, timezone, datetime.now().timestamp())
    except CroniterBadDateError as exc:
        raise ValidationError(
            f"'{cron}' never fires (no date matches its day and month fields)",
            field=f"{field_prefix}cron",
            fix="name a day that the month has ('0 0 28 2 *', not '0 0 31 2 *')",
        ) from exc
    check_policies(concurrency, catchup, field_prefix)


def check_weekday(cron: str, *, field: str = "--cron") -> None:
    """Refuse a day of the week above 6 (``0 3 * * 7``, ``5-7``, ``1,7``).

    croniter, which the cron daemon reads cron with, takes 7 as Sunday; robfig/cron, which
    Argo and KFP read it with, takes days 0-6 only and refuses the schedule at the cluster. A
    7 after ``/`` is a step, not a day, and stays allowed (``*/7`` is Sundays).

    Raises:
        ValidationError: naming ``field``.
    """
    fields = cron.split()
    if len(fields) not in (5, 6):
        return  # a macro, or not a cron at all: the caller's own checks say so
    weekday = fields[-1]
    for part in weekday.split(","):
        for bound in part.partition("/")[0].split("-"):
            if bound.isdigit() and int(bound) > 6:
                raise ValidationError(
                    f"'{cron}' names day of the week {bound} ('{weekday}'); Argo and KFP read "
                    "cron with robfig/cron, whose days of the week are 0-6, and refuse it",
                    field=field,
                    fix="use 0 for Sunday ('0 3 * * 0'; '5-6,0' for Friday to Sunday), or "
                    "names (SUN, FRI-SAT)",
                )


def check_policies(concurrency: str, catchup: str, prefix: str = "--") -> None:
    """Refuse a concurrency or catch-up policy that is none of the known ones.

    Raises:
        ValidationError: naming ``<prefix>concurrency`` or ``<prefix>catchup``.
    """
    for name, value, allowed in (
        ("concurrency", concurrency, CONCURRENCY),
        ("catchup", catchup, CATCHUP),
    ):
        if value not in allowed:
            raise ValidationError(
                f"{name} '{value}' is not a policy",
                field=f"{prefix}{name}",
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


def slots(cron: str, timezone: str, after: float, until: float, limit: int = LIMIT) -> list[float]:
    """Fire times in ``(after, until]``, oldest first, as epoch seconds.

    Args:
        cron: The expression (five fields, or six with seconds first).
        timezone: The time zone it is read in.
        after: Exclusive start (epoch seconds).
        until: Inclusive end.
        limit: At most this many slots (the oldest); years of every-second slots stop here.
    """
    found: list[float] = []
    for slot in _fire_times(cron, timezone, after):
        if slot > until or len(found) >= limit:
            break
        found.append(slot)
    return found


def next_slot(cron: str, timezone: str, after: float) -> float:
    """The first fire time after ``after``."""
    return next(_fire_times(cron, timezone, after))


def last_slot(cron: str, timezone: str, after: float, until: float) -> float | None:
    """The newest fire time in ``(after, until]``, or None.

    It looks back from ``until`` over a window that doubles until it holds a fire time, so a
    long gap costs a few short searches instead of a walk over every slot since ``after``
    (years of every-second slots).
    """
    window = 1.0
    while True:
        start = max(after, until - window)
        found = slots(cron, timezone, start, until)
        while len(found) == LIMIT:  # a burst of more slots than one list holds: go on from it
            more = slots(cron, timezone, found[-1], until)
            if not more:
                break
            found = more
        if found:
            return found[-1]
        if start <= after:
            return None
        window *= 2


def _fire_times(cron: str, timezone: str, after: float) -> Iterator[float]:
    """Fire times after ``after``, as Argo's and KFP's parser (robfig/cron) has them.

    A local time that happens twice (clocks going back) fires twice. A local time that does not
    exist (clocks going forward) does not fire: croniter moves it to the end of the gap (02:30
    becomes 03:00), so a slot whose wall-clock time is not one the cron names is dropped.
    """
    from croniter import croniter

    tz = zone(timezone)
    it = croniter(
        cron,
        datetime.fromtimestamp(after, tz),
        ret_type=float,
        second_at_beginning=has_seconds(cron),
    )
    # minute and hour, and seconds when given (croniter keeps them last)
    named = [it.expanded[0], it.expanded[1], it.expanded[5] if has_seconds(cron) else [0]]
    last = after
    while True:
        slot = float(it.get_next(float))
        if slot <= last:
            continue
        local = datetime.fromtimestamp(slot, tz)
        clock = (local.minute, local.hour, local.second)
        if all(
            values == ["*"] or value in values for values, value in zip(named, clock, strict=True)
        ):
            last = slot
            yield slot


def has_seconds(cron: str) -> bool:
    """Whether ``cron`` has six fields, seconds first."""
    return len(cron.split()) == 6
