"""What runs are listed by, shared by ``dagwright runs ls|gc`` and the web UI's ``/api/runs``:
a point in time typed by a person (``2h``, ``2026-11-30``) and the pipeline names a
``--pipeline`` may mean."""

from __future__ import annotations

import datetime
import re
import time

from dagwright.errors import ValidationError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, field: str, now: float | None = None) -> float:
    """A point in time as a POSIX stamp: a duration before now (``2h``, ``7d``, ``30m``,
    ``1w``) or an ISO date or date-time (local time unless it names its offset).

    Raises:
        ValidationError: naming ``field`` when it is neither.
    """
    now = time.time() if now is None else now
    match = _DURATION.match(text)
    if match:
        return now - float(match.group(1)) * _SECONDS[match.group(2)]
    try:
        return datetime.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValidationError(
            f"'{text}' is neither a duration nor a date",
            field=field,
            fix="write a duration such as 2h, 7d or 30m, or a date such as 2026-11-30 or "
            "2026-11-30T08:00",
        ) from None


def pipeline_names(given: str | None) -> list[str]:
    """The pipeline names ``--pipeline`` may mean: as given, and the name a @pipeline function
    of that name gets by default (``iris_training`` runs as ``iris-training``)."""
    if not given:
        return []
    from dagwright.names import to_k8s_name

    return sorted({given, to_k8s_name(given)} - {""})
