"""A plugin module whose own import fails: it needs a package that is not installed."""

from __future__ import annotations

import dagwright_toy_dependency_that_is_not_installed  # noqa: F401

TARGET = None
