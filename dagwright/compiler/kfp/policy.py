"""A task's retry policy and timeout on the KFP target, as KFP's backend reads them.

What kfp.local does with a ``retryPolicy`` is not what a cluster does. KFP's backend
(``backend/src/v2/compiler/argocompiler/container.go``) turns the policy into Argo retry
parameters: each duration as its whole ``Seconds`` (the fraction dropped), the factor as text
put into Argo's ``backoff.factor`` (an int-or-string Argo parses as an integer), and a
missing ``backoffMaxDuration`` as the parameter's default ``"0"``, which Argo reads as a retry
window of zero seconds: no retry ever happens. So every policy written here carries:

- ``backoffMaxDuration``: the window in which KFP retries, an hour (``RETRY_WINDOW``, the KFP
  SDK's default for ``set_retry``) plus every wait the policy asks for, so that the waits alone
  never close it. Argo measures it from the first attempt's start, so a step that keeps
  failing after running longer than that is not retried again.
- ``backoffDuration`` in whole seconds, rounded up (the backend would drop the fraction).
- an integer ``backoffFactor``: a fractional one is refused (rounding it would change every
  wait from what the local run and the Argo target do, silently; the fix is one character).

``max_backoff`` (a cap on each wait) has no KFP field (the backend passes no ``cap``): the
waits grow uncapped on KFP, which a warning says.

KFP's PipelineTaskSpec has no timeout either, but kfp-kubernetes' executor config has
``activeDeadlineSeconds`` (``kubernetes.set_timeout``), which the backend's driver sets on
the pod (``backend/src/v2/driver``: ``podSpec.ActiveDeadlineSeconds``). It counts the whole
pod, image pull and the code's install included, so the pod's entry enforces the timeout
around the step itself and ``timeout_config`` writes the timeout plus the bootstrap's
allowance (``compiler/deadline.py``) as the pod's deadline.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from dagwright.compiler.deadline import pod_deadline
from dagwright.components.spec import ComponentSpec, Retry
from dagwright.errors import ValidationError

RETRY_WINDOW = 3600  # seconds of retrying on top of the waits; the KFP SDK's default window


class KfpPolicyWarning(UserWarning):
    """A task setting KFP's backend carries differently from a dagwright run."""


def fill_retry(policy: Any, retry: Retry, task: str, fail: Callable[..., ValidationError]) -> None:
    """Write ``retry`` into ``policy`` (a PipelineTaskSpec.RetryPolicy message).

    Raises:
        ValidationError: for a fractional backoff factor, which the backend cannot pass.
    """
    if retry.factor != int(retry.factor):
        raise fail(
            f"task '{task}' retries with backoff factor {retry.factor:g}; KFP's backend "
            "passes it to Argo's backoff.factor, which takes an integer only",
            fix=f"give an integer factor (e.g. Retry(factor={math.ceil(retry.factor)})), or "
            "compile for Argo (--target argo)",
            task=task,
            field="retries.factor",
        )
    backoff = math.ceil(retry.backoff)
    factor = int(retry.factor)
    policy.max_retry_count = retry.limit
    policy.backoff_duration.FromSeconds(backoff)
    policy.backoff_factor = factor
    waits = sum(backoff * factor**n for n in range(retry.limit))
    policy.backoff_max_duration.FromSeconds(RETRY_WINDOW + waits)
    longest = backoff * factor ** (retry.limit - 1)
    if retry.max_backoff is not None and longest > retry.max_backoff:
        warnings.warn(
            f"task '{task}': KFP has no cap on each retry's wait, so max_backoff="
            f"{retry.max_backoff:g} does not apply there and the waits grow "
            f"{backoff}s x {factor}^n; give factor=1 to wait {backoff}s each time, or compile "
            "for Argo (--target argo), which caps the wait",
            KfpPolicyWarning,
            stacklevel=2,
        )


def timeout_config(spec: ComponentSpec, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (a KubernetesExecutorConfig as JSON) with the pod's deadline for the
    component's timeout as ``activeDeadlineSeconds`` (the smaller one if a runtime set it
    too); the step's own timeout is enforced inside the pod."""
    if not spec.timeout:
        return config
    seconds = pod_deadline(spec.timeout)
    if "activeDeadlineSeconds" in config:
        seconds = min(seconds, int(config["activeDeadlineSeconds"]))
    return {**config, "activeDeadlineSeconds": str(seconds)}  # int64: a string in proto JSON
