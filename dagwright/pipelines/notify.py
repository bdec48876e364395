"""Being told how a run ended: ``@pipeline(notify=[Webhook(url), Slack(url), Email(to, smtp)],
on=["failed"])``.

The notifiers are plain, checked data carried in the IR (``PipelineIR.notify``); what sends
them is ``dagwright/notifications/``: the local engine when a run ends, an exit task on KFP and
Argo. No credential is ever part of them: an SMTP login is read, where the message is sent,
from environment variables whose *names* are given here (on a cluster, from a Kubernetes
Secret mapped to those variables).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from dagwright.errors import ValidationError

# how a run may end, as ``on=`` names it; "failed" covers Argo's Error, KFP's FAILED
EVENTS = ("succeeded", "failed", "cancelled")
DEFAULT_ON = ("failed",)
# a notifier that does not answer must not hold a finished run for long
MAX_TIMEOUT = 10.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+$")
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
LINK_FIELDS = ("run_id", "pipeline")
# hosts of Slack's incoming webhooks, whose URL path is the credential (Slack: "keep it secret")
SLACK_HOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


def _redacted(uri: str) -> str:
    """``dagwright.redact.redact_uri``, imported when a URL is shown (not by ``import
    dagwright``, which loads this module)."""
    from dagwright.redact import redact_uri

    return redact_uri(uri)


def _check_url(url: Any, field: str, example: str) -> str:
    if not isinstance(url, str) or not url:
        raise ValidationError(f"the URL is {url!r}", field=field, fix=f"give {example}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise ValidationError(
            f"'{_redacted(url)}' is not a URL ({exc})", field=field, fix=f"give {example}"
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"'{_redacted(url)}' is not an http(s) URL with a host",
            field=field,
            fix=f"give {example}",
        )
    return url


def _check_timeout(timeout: Any, field: str) -> float:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise ValidationError(
            f"timeout {timeout!r} is not a number of seconds in (0, {MAX_TIMEOUT:g}]",
            field=field,
            fix=f"give at most {MAX_TIMEOUT:g} seconds: a notifier never holds a run longer",
        )
    return float(timeout)


@dataclass(frozen=True)
class Webhook:
    """POST a JSON body describing the run's end to ``url``.

    A URL that is itself a credential (a Slack incoming webhook's, one with a password) is
    better read where the message is sent: ``url_env`` names the environment variable that
    holds it, and on KFP and Argo ``secret`` names a Kubernetes Secret whose ``url`` key the
    exit task gets as that variable. A literal URL is stored in the pipeline's spec.
    """

    url: str | None = None
    timeout: float = MAX_TIMEOUT
    url_env: str | None = None
    secret: str | None = None
    kind: ClassVar[str] = "webhook"

    def __post_init__(self) -> None:
        field = f"notify.{self.kind}.url"
        if (self.url is None) == (self.url_env is None):
            raise ValidationError(
                "a webhook needs its URL, given either as 'url' or as 'url_env'",
                field=field,
                fix=f"give {type(self).__name__}('https://...') or "
                f"{type(self).__name__}(url_env='WEBHOOK_URL'), not both",
            )
        if self.url is not None:
            _check_url(self.url, field, "an http(s) URL such as 'https://hooks.example.com/x'")
            _warn_if_secret(self.url, field, _is_slack_hook(self.url))
        else:
            _check_env_name(self.url_env, f"notify.{self.kind}.url_env")
        _check_secret(self.secret, f"notify.{self.kind}.secret", "a 'url' key")
        if self.secret is not None and self.url_env is None:
            raise ValidationError(
                "'secret' gives the URL as the variable 'url_env' names, and there is none",
                field=f"notify.{self.kind}.url_env",
                fix="name the variable the Secret's 'url' key becomes, e.g. url_env='HOOK_URL'",
            )
        object.__setattr__(self, "timeout", _check_timeout(self.timeout, "notify.timeout"))

    def address(self, environ: Mapping[str, str]) -> str:
        """The URL to post to: the literal one, or the one in ``url_env`` (checked)."""
        if self.url is not None:
            return self.url
        url = environ.get(str(self.url_env), "")
        if not url:
            raise ValidationError(
                f"the environment variable {self.url_env} holding the URL is not set",
                field=f"notify.{self.kind}.url_env",
                fix=f"set {self.url_env} where the run ends (on a cluster: give 'secret')",
            )
        return _check_url(url, f"notify.{self.kind}.url_env", "an http(s) URL")

    def to_dict(self) -> dict[str, Any]:
        """The notifier as IR data."""
        data: dict[str, Any] = {"kind": self.kind, "timeout": self.timeout}
        if self.url is not None:
            data["url"] = self.url
        else:
            data["url_env"] = self.url_env
        if self.secret is not None:
            data["secret"] = self.secret
        return data

    def shown(self) -> str:
        """What logs may say of it: its kind and its URL without credentials."""
        if self.url is None:
            return f"{self.kind} (URL in ${self.url_env})"
        if _is_slack_hook(self.url):
            parts = urlsplit(self.url)
            return f"{self.kind} {parts.scheme}://{parts.hostname}/***"
        return f"{self.kind} {_redacted(self.url)}"


def _is_slack_hook(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in SLACK_HOOK_HOSTS


def _warn_if_secret(url: str, field: str, token_in_path: bool = False) -> None:
    from dagwright.redact import SecretWarning, has_credentials

    if token_in_path:
        warnings.warn(
            f"{field}: a Slack webhook's URL is its credential, which would be stored in the "
            "pipeline's spec; give url_env (and on a cluster secret) instead",
            SecretWarning,
            stacklevel=4,
        )
    elif has_credentials(url):
        warnings.warn(
            f"{field}: '{_redacted(url)}' holds credentials, which would be stored in the "
            "pipeline's spec; give url_env (and on a cluster secret) instead",
            SecretWarning,
            stacklevel=4,
        )


def _check_env_name(name: Any, field: str) -> None:
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise ValidationError(
            f"{name!r} is not an environment variable name",
            field=field,
            fix="name the variable that holds it, e.g. 'SMTP_PASSWORD' (never the value "
            "itself: it would be stored in the pipeline's spec)",
        )


def _check_secret(secret: Any, field: str, keys: str) -> None:
    if secret is not None and not (isinstance(secret, str) and _SECRET_NAME.match(secret)):
        raise ValidationError(
            f"secret {secret!r} is not a Kubernetes Secret name",
            field=field,
            fix=f"give the name of a Secret with {keys}",
        )


@dataclass(frozen=True)
class Slack(Webhook):
    """Post the run's end to a Slack incoming webhook (``{"text": ...}``)."""

    kind: ClassVar[str] = "slack"


@dataclass(frozen=True)
class Email:
    """Mail the run's end to ``to`` through the SMTP server ``smtp`` (``host[:port]``).

    The login, when the server wants one, comes from the environment variables named by
    ``user_env`` and ``password_env`` where the message is sent (none set: no login); on KFP
    and Argo, ``secret`` names a Kubernetes Secret whose ``username`` and ``password`` keys
    the exit task gets as those variables.
    """

    to: tuple[str, ...] | list[str] | str
    smtp: str
    sender: str = "dagwright@localhost"
    starttls: bool = False
    user_env: str = "DAGWRIGHT_SMTP_USER"
    password_env: str = "DAGWRIGHT_SMTP_PASSWORD"
    secret: str | None = None
    timeout: float = MAX_TIMEOUT
    kind: ClassVar[str] = "email"

    def __post_init__(self) -> None:
        to = (self.to,) if isinstance(self.to, str) else tuple(self.to or ())
        if not to:
            raise ValidationError(
                "an Email notifier has no recipient",
                field="notify.email.to",
                fix="give at least one address, Email(to=['ops@example.com'], smtp=...)",
            )
        for address in (*to, self.sender):
            if not isinstance(address, str) or not _ADDRESS.match(address):
                raise ValidationError(
                    f"{address!r} is not an e-mail address",
                    field="notify.email.to" if address in to else "notify.email.sender",
                    fix="give addresses such as 'ops@example.com'",
                )
        object.__setattr__(self, "to", to)
        self.server()  # checked now, not when the run ends
        for name in ("user_env", "password_env"):
            _check_env_name(getattr(self, name), f"notify.email.{name}")
        _check_secret(self.secret, "notify.email.secret", "'username' and 'password' keys")
        object.__setattr__(self, "timeout", _check_timeout(self.timeout, "notify.timeout"))

    def server(self) -> tuple[str, int]:
        """The SMTP host and port (25 when none is given)."""
        text = self.smtp if isinstance(self.smtp, str) else ""
        if "://" in text or "@" in text:
            raise ValidationError(
                f"smtp '{_redacted(text)}' is not 'host[:port]'",
                field="notify.email.smtp",
                fix="give 'smtp.example.com:587'; the login comes from user_env/password_env",
            )
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "25")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValidationError(
                f"smtp {self.smtp!r} is not 'host[:port]'",
                field="notify.email.smtp",
                fix="give 'smtp.example.com:587'",
            )
        return host, int(port)

    def to_dict(self) -> dict[str, Any]:
        """The notifier as IR data (names of variables, never a credential)."""
        data: dict[str, Any] = {"kind": self.kind, "to": list(self.to), "smtp": self.smtp}
        data.update(sender=self.sender, starttls=self.starttls, timeout=self.timeout)
        data.update(user_env=self.user_env, password_env=self.password_env)
        if self.secret is not None:
            data["secret"] = self.secret
        return data

    def shown(self) -> str:
        """What logs may say of it."""
        return f"email to {', '.join(self.to)} via {self.smtp}"


Notifier = Webhook | Email  # a Slack is a Webhook
_KINDS: dict[str, type[Webhook] | type[Email]] = {
    "webhook": Webhook,
    "slack": Slack,
    "email": Email,
}


@dataclass
class Notification:
    """What a pipeline's run sends when it ends with one of the ``on`` statuses."""

    notifiers: list[Notifier] = field(default_factory=list)
    on: tuple[str, ...] = DEFAULT_ON
    link: str | None = None  # the run's page; {run_id} and {pipeline} filled in

    def wants(self, status: str) -> bool:
        """Is a run ending ``status`` notified?"""
        return status in self.on

    def link_for(self, pipeline: str, run_id: str) -> str | None:
        """The link given, filled in for this run."""
        return None if self.link is None else self.link.format(run_id=run_id, pipeline=pipeline)

    def secret_env(self) -> list[tuple[str, str, str]]:
        """``(variable, Secret, key)``: what a cluster's exit task reads from Secrets (each
        Email's ``username`` and ``password`` keys as its ``user_env`` and ``password_env``)."""
        found: list[tuple[str, str, str]] = []
        for notifier in self.notifiers:
            if isinstance(notifier, Email) and notifier.secret is not None:
                for variable, key in (
                    (notifier.user_env, "username"),
                    (notifier.password_env, "password"),
                ):
                    if (variable, notifier.secret, key) not in found:
                        found.append((variable, notifier.secret, key))
            elif isinstance(notifier, Webhook) and notifier.secret and notifier.url_env:
                found.append((notifier.url_env, notifier.secret, "url"))
        return found

    def to_dict(self) -> dict[str, Any]:
        """The notification as IR data."""
        data: dict[str, Any] = {"on": list(self.on)}
        data["notifiers"] = [n.to_dict() for n in self.notifiers]
        if self.link is not None:
            data["link"] = self.link
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Notification:
        """The notification from IR data, checked as when it was declared."""
        if not isinstance(data, dict) or not isinstance(data.get("notifiers"), list):
            raise ValidationError(
                "'notify' is not a mapping with a 'notifiers' list",
                field="notify",
                fix="recompile the pipeline with 'dagwright compile --target ir'",
            )
        notifiers: list[Notifier] = []
        for i, item in enumerate(data["notifiers"]):
            kind = _KINDS.get(str(item.get("kind"))) if isinstance(item, dict) else None
            if kind is None:
                raise ValidationError(
                    f"notifier {i} is not one of {', '.join(_KINDS)}",
                    field=f"notify.notifiers[{i}].kind",
                    fix="recompile the pipeline with 'dagwright compile --target ir'",
                )
            fields = {k: v for k, v in item.items() if k != "kind"}
            try:
                notifiers.append(kind(**fields))
            except TypeError as exc:
                raise ValidationError(
                    f"notifier {i}: {exc}",
                    field=f"notify.notifiers[{i}]",
                    fix="recompile the pipeline with 'dagwright compile --target ir'",
                ) from exc
        found = checked_notification(notifiers, data.get("on", list(DEFAULT_ON)), data.get("link"))
        if found is None:
            raise ValidationError(
                "'notify' has no notifiers",
                field="notify.notifiers",
                fix="leave 'notify' out, or give at least one notifier",
            )
        return found


def checked_notification(notify: Any, on: Any, link: Any) -> Notification | None:
    """``@pipeline``'s ``notify``, ``on`` and ``link``, checked; None when nothing is sent.

    Raises:
        ValidationError: naming the field and the fix.
    """
    if notify is None or notify == []:
        if on is not None or link is not None:
            raise ValidationError(
                "'on' and 'link' say when and how notifiers are told, and there are none",
                field="notify",
                fix="give notify=[Webhook(url), Slack(url) or Email(to, smtp)]",
            )
        return None
    items = [notify] if isinstance(notify, (Webhook, Email)) else notify
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(n, (Webhook, Email)) for n in items
    ):
        raise ValidationError(
            f"notify={notify!r} is not a list of notifiers",
            field="notify",
            fix="give notify=[Webhook(url), Slack(url), Email(to, smtp)]",
        )
    events = DEFAULT_ON if on is None else ((on,) if isinstance(on, str) else tuple(on))
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise ValidationError(
            f"on={list(events)!r} names no status a run ends with"
            if not unknown
            else f"{unknown[0]!r} is not a status a run ends with",
            field="on",
            fix=f"give some of {', '.join(repr(e) for e in EVENTS)}",
        )
    if link is not None:
        _check_url(link, "link", "an http(s) URL such as 'https://dash.example.com/runs/{run_id}'")
        for name in _PLACEHOLDER.findall(link):
            if name not in LINK_FIELDS:
                raise ValidationError(
                    f"link names {{{name}}}, which is not filled in",
                    field="link",
                    fix="use {run_id} and {pipeline} only (double a brace to keep it: {{)",
                )
    return Notification(list(items), tuple(dict.fromkeys(events)), link)
