"""The step KFP runs instead of a loop whose items turned out empty (see ``guards``).

A component of its own module so that, delivered by image, the pod imports it by name like
any other component.
"""

from __future__ import annotations

from dagwright.components.decorator import component


@component(name="dagwright-empty-list")
def empty_list() -> list:
    """The Collected list of a loop that had no iteration."""
    return []
