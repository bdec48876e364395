"""Sending compiled pipelines to clusters: ``dagwright.remote.kfp`` for Kubeflow Pipelines,
``dagwright.remote.argo`` for Argo Workflows.

Each target module imports its client library (kfp, hera) only when called, so ``import
dagwright`` stays light.
"""

from __future__ import annotations

from dagwright.errors import DagwrightError


class SubmitError(DagwrightError, RuntimeError):
    """The cluster refused a request or could not be reached (the CLI exits 1)."""
