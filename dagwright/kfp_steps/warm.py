"""What a KFP step imports, imported once into the ``Process()`` fork server (the runtime
names this module for steps of KFP components), so each forked step starts with kfp loaded
instead of importing it (about half a second) itself."""

from __future__ import annotations

import kfp.dsl.executor  # noqa: F401
import kfp.local.executor_output_utils  # noqa: F401
import kfp.local.placeholder_utils  # noqa: F401

import dagwright.kfp_steps.python_step  # noqa: F401
import dagwright.kfp_steps.step  # noqa: F401
