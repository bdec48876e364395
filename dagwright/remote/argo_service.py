"""Talking to argo-server through Hera's ``WorkflowsService``: where it is, the token, and
its refusals and failures as ``SubmitError`` with the server's own message.

hera (and requests, which it uses) are imported only inside these functions.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from dagwright.errors import ValidationError
from dagwright.remote import SubmitError

Echo = Callable[[str], None]

TOKEN_ENV = "ARGO_TOKEN"
SERVER_ENV = "ARGO_SERVER"  # host:port, as the argo CLI reads it (https unless ARGO_SECURE=false)
# the UI pages of each kind, served by argo-server itself
PAGES = {
    "Workflow": "workflows",
    "WorkflowTemplate": "workflow-templates",
    "CronWorkflow": "cron-workflows",
}


def connect(
    host: str | None,
    namespace: str | None = None,
    token: str | None = None,
    *,
    verify_ssl: bool = True,
) -> Any:
    """A ``hera.workflows.service.WorkflowsService`` for the argo-server at ``host``.

    Args:
        host: The argo-server URL, e.g. ``https://localhost:2746``; None reads
            ``$ARGO_SERVER`` (``host:port``, https unless ``$ARGO_SECURE`` is ``false``).
        namespace: The namespace calls default to.
        token: The bearer token; defaults to ``$ARGO_TOKEN``. Sent as ``Authorization: Bearer
            <token>``: Hera adds ``Bearer `` to a one-word token and keeps a token that already
            has it (what ``argo auth token`` prints).
        verify_ssl: Check the server's TLS certificate.

    Returns:
        The service.
    """
    from hera.workflows.service import WorkflowsService

    token = token or os.environ.get(TOKEN_ENV) or None
    return WorkflowsService(
        host=server_url(host), namespace=namespace, token=token, verify_ssl=verify_ssl
    )


def server_url(host: str | None) -> str:
    """The argo-server URL with a trailing ``/``, so paths join under a base path too.

    Raises:
        ValidationError: no host anywhere, or one without http:// or https://.
    """
    if not host and os.environ.get(SERVER_ENV):
        secure = os.environ.get("ARGO_SECURE", "true").lower() != "false"
        host = ("https://" if secure else "http://") + os.environ[SERVER_ENV]
    if not host:
        raise ValidationError(
            "no Argo server to send to",
            field="host",
            fix=f"pass --host https://HOST:2746 (or set ${SERVER_ENV})",
        )
    if not re.match(r"^https?://[^/]", host):
        raise ValidationError(
            f"'{host}' is not an http(s) URL", field="host", fix=f"write https://{host}"
        )
    return host.rstrip("/") + "/"


def server_lint(call: Callable[[], Any], kind: str, say: Echo) -> None:
    """Lint through the server; its refusal is a SubmitError that says it was the lint."""
    from hera.exceptions import HeraException

    try:
        call()
    except HeraException as exc:
        raise SubmitError(f"lint refused the {kind}: {message(exc)}") from exc
    say(f"lint: the server found no problem in the {kind}")


def silent(_line: str) -> None:
    """An echo that says nothing."""


def page(url: str, kind: str, namespace: str, name: str) -> str:
    """The resource's page in the Argo UI, which argo-server serves beside its API."""
    from dagwright.redact import redact_uri

    return f"{redact_uri(url)}{PAGES[kind]}/{namespace}/{name}"


def message(exc: Exception) -> str:
    """The server's own message in a hera exception (hera wraps it in a sentence)."""
    found = re.search(r"with message: `(.*)`$", str(exc), re.DOTALL)
    return found.group(1) if found else str(exc)


def status(exc: Exception) -> str:
    """The HTTP status in a hera exception (its own classes cover only a few)."""
    found = re.search(r"status code ([0-9]+)", str(exc))
    return found.group(1) if found else str(getattr(exc, "status_code", "an error"))


@contextlib.contextmanager
def remote_errors(url: str) -> Iterator[None]:
    """Server answers and network failures as SubmitError, with the server's own message."""
    import pydantic
    import requests
    from hera.exceptions import HeraException

    where = url.rstrip("/")
    try:
        with warnings.catch_warnings():
            # hera serialises requests with pydantic's deprecated .json(); not ours to fix
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    except (ValidationError, SubmitError):
        raise
    except HeraException as exc:
        raise SubmitError(f"{where} answered {status(exc)}: {message(exc)}") from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise SubmitError(f"cannot reach {where}: {exc}") from exc
    except requests.RequestException as exc:
        raise SubmitError(f"{where}: {exc}") from exc
    except pydantic.ValidationError as exc:
        raise SubmitError(f"{where} answered what hera cannot read: {exc}") from exc
