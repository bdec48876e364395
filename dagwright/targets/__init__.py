"""Targets as plugins: what ``compile``, ``submit`` and ``schedule`` write and send to.

A target (``Target``) brings its compiler, its submit and schedule client, its cron-policy
mapping and its command-line options. dagwright's own are ``ir``, ``kfp`` and ``argo``
(``dagwright/targets/ir.py``, ``kfp.py``, ``argo.py``: thin glue over ``dagwright.compiler``
and ``dagwright.remote``); other packages add theirs through the ``dagwright.targets``
entry-point group (see ``registry``).
"""

from __future__ import annotations

from dagwright.targets.base import (
    DELIVERY_OPTIONS,
    Client,
    CliOptions,
    CronPolicy,
    Target,
    Writer,
    refuse_options,
    split_options,
)
from dagwright.targets.registry import ENTRY_POINT_GROUP, get, names, register, sending

__all__ = [
    "DELIVERY_OPTIONS",
    "ENTRY_POINT_GROUP",
    "CliOptions",
    "Client",
    "CronPolicy",
    "Target",
    "Writer",
    "get",
    "names",
    "refuse_options",
    "register",
    "sending",
    "split_options",
]
