"""Sending a ``RunEnd`` through each notifier: HTTP for webhooks and Slack, SMTP for e-mail.

Every notifier is tried once, with its timeout; whatever goes wrong (refused, timed out, an
HTTP error, a login refused) is logged as a warning and returned, never raised: a run that
ended is not changed by whether anyone could be told.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import smtplib
import ssl
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from dagwright.notifications.message import RunEnd
from dagwright.pipelines.notify import Email, Notification, Notifier, Slack
from dagwright.redact import redact_text, without_credentials

log = logging.getLogger("dagwright.notifications")


def send_all(
    notification: Notification, end: RunEnd, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Send ``end`` through every notifier; the problems, each also logged as a warning."""
    problems = []
    for notifier in notification.notifiers:
        try:
            send(notifier, end, os.environ if environ is None else environ)
        except Exception as exc:  # any failure of a notifier is reported, never the run's
            problem = f"notifier {notifier.shown()} failed: {redact_text(_reason(exc))}"
            log.warning(problem)
            problems.append(problem)
    return problems


def send(notifier: Notifier, end: RunEnd, environ: Mapping[str, str]) -> None:
    """Send ``end`` through one notifier; raises what went wrong."""
    if isinstance(notifier, Email):
        return _mail(notifier, end, environ)
    body = {"text": end.text()} if isinstance(notifier, Slack) else end.body()
    _post(notifier.address(environ), body, notifier.timeout)


def _post(url: str, body: dict[str, Any], timeout: float) -> None:
    headers = {"Content-Type": "application/json", "User-Agent": "dagwright"}
    parts = urlsplit(url)
    if parts.username is not None:  # urllib sends no userinfo: as HTTP basic auth instead
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    request = urllib.request.Request(
        without_credentials(url),
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    # an HTTP error status raises HTTPError; the answer's body is not needed
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        answer.read(4096)


def _mail(notifier: Email, end: RunEnd, environ: Mapping[str, str]) -> None:
    message = EmailMessage()
    message["Subject"] = end.subject
    message["From"] = notifier.sender
    message["To"] = ", ".join(notifier.to)
    message.set_content(end.text())
    host, port = notifier.server()
    user, password = environ.get(notifier.user_env), environ.get(notifier.password_env)
    with smtplib.SMTP(host, port, timeout=notifier.timeout) as smtp:
        if notifier.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if password:
            smtp.login(user or notifier.sender, password)
        smtp.send_message(message)


def _reason(exc: Exception) -> str:
    """What went wrong, in words (a timeout says so; urllib wraps it in a URLError)."""
    reason = getattr(exc, "reason", None)
    cause: BaseException = reason if isinstance(reason, BaseException) else exc
    text = str(cause) or type(cause).__name__
    if isinstance(cause, TimeoutError) and "timed out" not in text:
        text = f"timed out ({text})"
    return text
