"""How dagwright reaches a Kubeflow Pipelines API server: a ``kfp.Client`` (``connect``), the
server's refusals and network failures as ``SubmitError`` (``remote_errors``), and the UI's
page of a run or recurring run (``ui_url``). Used by ``kfp.py`` (submit, schedule, versions)
and ``kfp_runs.py`` (the run manager), which talk to the same server the same way; kfp is
imported only when one of these runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from dagwright.errors import ValidationError
from dagwright.remote import SubmitError
from dagwright.remote.kfp_versions import quiet

__all__ = ["TOKEN_ENV", "connect", "quiet", "remote_errors", "ui_url"]

TOKEN_ENV = "KFP_TOKEN"


def connect(host: str | None, *, namespace: str | None = None, token: str | None = None) -> Any:
    """A ``kfp.Client`` for ``host``, authenticated by a token or by credentials already there.

    Args:
        host: The KFP API endpoint, e.g. ``http://localhost:8080`` after a port-forward; None
            lets kfp find it (``$KF_PIPELINES_ENDPOINT``, in-cluster DNS or the kube config).
        namespace: The Kubernetes namespace (multi-user KFP).
        token: A bearer token; defaults to ``$KFP_TOKEN``. Without one, a projected
            service-account token (``$KF_PIPELINES_SA_TOKEN_PATH`` or kfp's default path)
            is used when that file exists, else kfp's defaults (the kube config).

    Returns:
        The client.
    """
    import kfp
    from kfp import client as kfp_client

    kwargs: dict[str, Any] = {"host": host}
    if namespace:
        kwargs["namespace"] = namespace
    token = token or os.environ.get(TOKEN_ENV) or None
    if token:
        kwargs["existing_token"] = token
    else:
        path = os.environ.get(kfp_client.KF_PIPELINES_SA_TOKEN_ENV)
        path = path or kfp_client.KF_PIPELINES_SA_TOKEN_PATH
        if os.path.isfile(path):
            kwargs["credentials"] = kfp_client.ServiceAccountTokenVolumeCredentials(path)
    with quiet():
        return kfp.Client(**kwargs)


@contextlib.contextmanager
def remote_errors(host: str | None) -> Iterator[None]:
    """Server answers and network failures as SubmitError, with the server's own message."""
    import kfp_server_api
    import urllib3

    where = host or "the KFP API server"
    try:
        yield
    except ValidationError:
        raise
    except kfp_server_api.ApiException as exc:
        raise SubmitError(f"{where} answered {exc.status} {exc.reason}: {_message(exc)}") from exc
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc  # MaxRetryError: the last failure
        raise SubmitError(f"cannot reach {where}: {reason}") from exc
    except (TimeoutError, ValueError) as exc:  # kfp's own: healthz retries, name clashes
        raise SubmitError(f"{where}: {exc}") from exc


def _message(exc: Any) -> str:
    import json

    try:
        return str(json.loads(exc.body).get("message") or exc.body)
    except (TypeError, ValueError, AttributeError):
        return str(exc.body)


def ui_url(host: str | None, page: str) -> str | None:
    """The UI's page (``#/runs/details/ID``...): ``$KF_PIPELINES_UI_ENDPOINT``, else the API
    endpoint, its password redacted; None when neither is known."""
    from dagwright.redact import redact_uri

    ui = os.environ.get("KF_PIPELINES_UI_ENDPOINT") or host
    return f"{redact_uri(ui).rstrip('/')}/#/{page}" if ui else None
