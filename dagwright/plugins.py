"""The entry points of the installed distributions, read once for every group dagwright reads
(``dagwright.targets``, ``dagwright.runtimes``).

Reading them opens every installed distribution's metadata (tens of milliseconds with a few
hundred installed), so one read serves every group and every later call, until ``sys.path``
changes (a folder put on it may hold more distributions).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.metadata import EntryPoints

# the sys.path they were read from, and the entry points of every group (an EntryPoints, or
# before Python 3.12 a SelectableGroups: both select by group)
_READ: tuple[tuple[str, ...], Any] | None = None


def entry_points(group: str) -> EntryPoints:
    """The entry points installed in ``group`` (one per distribution, as
    ``importlib.metadata.entry_points`` gives them)."""
    global _READ
    path = tuple(sys.path)
    read = _READ
    if read is None or read[0] != path:
        # imported here: `import dagwright` does not need it (~10 ms)
        from importlib import metadata

        read = _READ = (path, metadata.entry_points())
    found: EntryPoints = read[1].select(group=group)
    return found
