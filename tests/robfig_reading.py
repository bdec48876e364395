"""robfig/cron's reading of a cron, written out: what Argo's and KFP's controllers fire.

Stated from robfig/cron's rules (its spec_test.go and docs) rather than ported from its code,
and independent of croniter, which the local scheduler uses; ``test_cron_targets.py`` checks it
against upstream's own examples before comparing anything with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MONTH_NAMES = {
    m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())
}
DAY_NAMES = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
# second, minute, hour, day of month, month, day of week (robfig: 0-6, Sunday 0)
BOUNDS: list[tuple[int, int, dict[str, int]]] = [
    (0, 59, {}),
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, MONTH_NAMES),
    (0, 6, DAY_NAMES),
]


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ValueError(f"'{text}' is not a number")
    return int(text)


def _field(
    text: str, low: int, high: int, names: dict[str, int], day: bool
) -> tuple[set[int], bool]:
    """The values of one field, and whether it holds a ``*`` or ``?`` (robfig's star bit)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        span, slash, step_text = part.partition("/")
        step = int(step_text) if slash else 1
        if span in ("*", "?"):
            if slash and day:
                # robfig versions disagree on whether '*/n' in a day field still counts as '*'
                raise NotImplementedError(f"'{part}' in a day field")
            start, end, star = low, high, True
        else:
            first, dash, last = span.partition("-")
            start = _number(first, names)
            # 'n/step' means 'n-max/step'
            end = _number(last, names) if dash else (high if slash else start)
        if not low <= start <= end <= high or step < 1:
            raise ValueError(f"'{part}' is out of range")
        values.update(range(start, end + 1, step))
    return values, star


def _instants(wall: datetime, tz: ZoneInfo) -> list[float]:
    """The instants at which clocks in ``tz`` show ``wall``: none, one, or two."""
    found: list[float] = []
    for fold in (0, 1):
        stamp = wall.replace(tzinfo=tz, fold=fold).timestamp()
        if datetime.fromtimestamp(stamp, tz).replace(tzinfo=None) == wall and stamp not in found:
            found.append(stamp)
    return found


@dataclass(frozen=True)
class Robfig:
    """A cron as robfig/cron fires it: at every instant whose wall-clock time in the zone matches.

    So a wall-clock time skipped when clocks go forward never fires and one repeated when they
    go back fires twice (robfig/cron's spec_test.go; Argo's docs, "Daylight Saving"). When
    both day fields are restricted a day matching either is enough; a ``*`` or ``?`` in one
    of them makes both count (spec_test.go, "interaction of DOW and DOM").
    """

    fields: tuple[frozenset[int], ...]
    dom_star: bool
    dow_star: bool
    tz: ZoneInfo

    @classmethod
    def parse(cls, spec: str, tz: str, *, seconds: bool) -> Robfig:
        """Argo's ``ParseStandard`` (five fields) or KFP's ``Parse`` (six, seconds first)."""
        parts = spec.split()
        if len(parts) != (6 if seconds else 5):
            raise ValueError(f"'{spec}' has {len(parts)} fields")
        parts = parts if seconds else ["0", *parts]
        parsed = [
            _field(text, low, high, names, day=i in (3, 5))
            for i, (text, (low, high, names)) in enumerate(zip(parts, BOUNDS, strict=True))
        ]
        return cls(
            tuple(frozenset(values) for values, _ in parsed),
            parsed[3][1],
            parsed[5][1],
            ZoneInfo(tz),
        )

    def day_matches(self, day: date) -> bool:
        dom = day.day in self.fields[3]
        dow = day.isoweekday() % 7 in self.fields[5]
        return dom and dow if self.dom_star or self.dow_star else dom or dow

    def fire_times(self, after: float, until: float) -> list[float]:
        """Fire times in ``(after, until]``, oldest first."""
        second, minute, hour, _, month, _ = (sorted(f) for f in self.fields)
        day = datetime.fromtimestamp(after, self.tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(until, self.tz).date() + timedelta(days=1)
        found: set[float] = set()
        while day <= last:
            if day.month in month and self.day_matches(day):
                for h in hour:
                    for m in minute:
                        for s in second:
                            wall = datetime(day.year, day.month, day.day, h, m, s)
                            found.update(t for t in _instants(wall, self.tz) if after < t <= until)
            day += timedelta(days=1)
        return sorted(found)
