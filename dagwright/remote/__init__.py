"""Sending compiled pipelines to clusters: ``dagwright.remote.kfp`` for Kubeflow Pipelines.

Argo Workflows joins later. Each target module imports its client library only when called,
so ``import dagwright`` stays light.
"""

from __future__ import annotations


class SubmitError(RuntimeError):
    """The cluster refused a request or could not be reached (the CLI exits 1)."""
