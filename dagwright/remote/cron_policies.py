"""The local schedule policies on cluster targets: each target's mapping now lives beside its
client (``kfp_policies``, ``argo_policies``) and is reached through ``dagwright.targets``.

Kept only while the command line still imports them from here.
"""

from __future__ import annotations

from dagwright.remote.argo_policies import LATEST_DEADLINE, argo_policy
from dagwright.remote.kfp_policies import check_kfp_timezone, kfp_policy

__all__ = ["LATEST_DEADLINE", "argo_policy", "check_kfp_timezone", "kfp_policy"]
