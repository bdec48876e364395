"""Targets that cannot be loaded, as a broken or outdated plugin would be."""

from __future__ import annotations

from dagwright.targets import Target

NOT_A_TARGET = 42
MISNAMED = Target(name="something-else", write=lambda ir, path, options: "")
