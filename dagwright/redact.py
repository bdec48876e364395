"""Secrets kept out of what dagwright shows and stores: credentials in URIs, parameters whose
names say they are secret, and literal values that look like credentials.

The run database keeps real parameter values (a resumed run needs them) and is private to its
owner; everything shown (``runs show``, ``logs``, progress lines) or exported (lineage, MLflow,
``.pending`` markers, compiled specs) goes through here first.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# shorter values are not masked in free text (a secret "a" would turn every "a" into the mask,
# as CI systems find); whoever reads such a value warns that it is not masked
MIN_MASKED = 4

# words that make a name secret once split on '_', '-', '.', and lower/upper-case changes
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "token",
        "secret",
        "apikey",
        "credential",
        "credentials",
        "authorization",
    }
)
# "key" is secret at the end of a name (api_key, access_key, key), unless it names data
_DATA_KEYS = frozenset(
    {"sort", "primary", "partition", "cache", "group", "join", "foreign", "lookup", "index"}
    | {"row", "column", "col", "shard", "routing", "dict", "map", "hash", "unique", "merge"}
    | {"composite", "natural", "surrogate", "id", "target", "label", "feature", "split"}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# scheme://user[:password]@ inside any text (error messages, log lines)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s@:]*):[^/\s@]*@")
# prefixes of well-known credentials: GitHub, GitLab, Slack, OpenAI-style, AWS, Google, JWT, PEM
_KNOWN = re.compile(
    r"^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[abprs]-[\w-]{10,}"
    r"|sk-[\w-]{20,}|(AKIA|ASIA)[0-9A-Z]{16}|AIza[\w-]{35}|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+)$"
)
_PEM = "-----BEGIN"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-]+$")


class SecretWarning(UserWarning):
    """A literal value in a pipeline looks like a credential; it would be stored in the spec."""


def is_secret_name(name: str) -> bool:
    """Does a parameter, output or variable name say it holds a secret (password, token,
    secret, key...)?"""
    words = [w.lower() for w in _WORD.findall(str(name))]
    if set(words) & _SECRET_WORDS or any(w.endswith(("password", "token")) for w in words):
        return True
    if words and words[-1] in ("key", "keys"):
        return len(words) == 1 or words[-2] not in _DATA_KEYS
    return False


def looks_secret(value: Any) -> bool:
    """Does a literal look like a credential: a known token prefix, a private key, a URI with
    a password, or a long random-looking string?"""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _PEM in text or _KNOWN.match(text):
        return True
    if "://" in text:
        return redact_uri(text) != text
    return _random_looking(text)


def _random_looking(text: str) -> bool:
    """At least 24 token characters mixing letters and digits, with an entropy per character
    only random strings reach (words, paths and version strings stay well below)."""
    if len(text) < 24 or not _TOKEN_CHARS.match(text):
        return False
    if not (re.search(r"[A-Za-z]", text) and re.search(r"\d", text)):
        return False
    counts = Counter(text)
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return entropy >= 4.0


def redact_uri(uri: str) -> str:
    """A URI without its password (``https://user:***@host/``) and with secret-looking query
    values masked; anything that is not a URI comes back unchanged."""
    if not isinstance(uri, str) or "://" not in uri:
        return uri
    if not _SCHEME.match(uri) or any(c.isspace() for c in uri):
        return redact_text(uri)  # text holding a URI, such as "pkg @ https://..."
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        return redact_text(uri)
    netloc = parts.netloc
    host = netloc.rpartition("@")[2]
    if password is not None:
        netloc = f"{parts.username}:{MASK}@{host}" if parts.username else f"{MASK}@{host}"
    elif parts.username and (_KNOWN.match(parts.username) or _random_looking(parts.username)):
        netloc = f"{MASK}@{host}"  # a token given as the user name (https://TOKEN@host)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            masked = [(k, MASK if is_secret_name(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return uri
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def without_credentials(uri: str) -> str:
    """A URI with no user or password at all (MLflow then reads them from its environment)."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(SplitResult(parts.scheme, host, parts.path, parts.query, parts.fragment))


def has_credentials(uri: str | None) -> bool:
    """Does a URI, or a text holding URIs (``name @ https://...``), carry credentials?"""
    if not uri:
        return False
    return redact_uri(uri) != uri or redact_text(uri) != uri


def redact_text(text: str) -> str:
    """Free text (an error, a log line) with the password of every URI in it masked."""
    if not isinstance(text, str) or "@" not in text:
        return text
    return _USERINFO.sub(
        lambda m: f"{m['scheme']}{m['user'] + ':' if m['user'] else ''}{MASK}@", text
    )


def shown(name: str, value: Any) -> Any:
    """A value as it may be shown under its name: masked when the name is secret, URIs with
    credentials redacted."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    return _uris_redacted(value)


def _uris_redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_uri(value) if "://" in value else value
    if isinstance(value, list):
        return [_uris_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _uris_redacted(v) for k, v in value.items()}
    return value


def masked(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters (or outputs) by name, with secret ones masked."""
    return {name: shown(name, value) for name, value in (values or {}).items()}


def masked_outputs(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Outputs by name, secret ones masked, and each artifact's metadata masked by key too (a
    Model's ``api_token`` metadata is as secret as a parameter of that name)."""
    return {name: _artifact_metadata_masked(shown(name, v)) for name, v in (values or {}).items()}


def _artifact_metadata_masked(value: Any) -> Any:
    if isinstance(value, list):
        return [_artifact_metadata_masked(v) for v in value]
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("uri"), str) and "type" in value:  # an artifact record
        return {**value, "metadata": masked(value.get("metadata") or {})}
    return {k: _artifact_metadata_masked(v) for k, v in value.items()}


def secret_values(values: Mapping[str, Any] | None) -> list[str]:
    """The texts of secret values (by name or by look), longest first, to cut out of logs."""
    found = {
        str(v)
        for k, v in (values or {}).items()
        if isinstance(v, (str, int))
        and not isinstance(v, bool)
        and (is_secret_name(k) or looks_secret(v))
        and len(str(v)) >= MIN_MASKED
    }
    return sorted(found, key=len, reverse=True)


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """Log text with each secret value (of ``MIN_MASKED`` characters or more) replaced by
    the mask, also as ``repr`` or JSON write it (a traceback's ``KeyError('...')``, a printed
    dict), and URI passwords redacted."""
    if not text:
        return text
    for secret in secrets:
        if len(secret) >= MIN_MASKED:
            for form in written_forms(secret):
                text = text.replace(form, MASK)
    return redact_text(text)


@functools.lru_cache(maxsize=256)
def written_forms(secret: str) -> tuple[str, ...]:
    """The value and its escaped forms: inside quotes (a backslash, a quote, a newline or a
    non-ASCII character is written otherwise), and percent-encoded as in a URL's query or path
    (a token with ``/``, ``+`` or ``=``, as base64 tokens have, is sent that way and logged by
    HTTP clients); longest first."""
    from urllib.parse import quote, quote_plus

    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),  # in a path, "/" is kept
        quote_plus(secret),
    }
    return tuple(sorted(forms, key=len, reverse=True))


def listed_run(row: dict[str, Any]) -> dict[str, Any]:
    """A run row for ``runs ls --json``: no IR, secret parameters masked."""
    shown = {k: v for k, v in row.items() if k != "ir"}
    shown["params"] = masked(row.get("params"))
    shown["artifacts"] = redact_uri(row.get("artifacts") or "")
    return shown


def shown_run(
    found: dict[str, Any], steps_of: Callable[[str], list[dict[str, Any]]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run row and its step rows as ``runs show`` and ``logs`` print them: secret parameters
    and outputs masked, secret values cut out of logs and errors, URI passwords redacted."""
    secrets = secret_values(found.get("params"))
    found = {**found, "params": masked(found.get("params"))}
    found["artifacts"] = redact_uri(found.get("artifacts") or "")
    if found.get("outputs") is not None:
        found["outputs"] = masked_outputs(found["outputs"])
    steps = []
    for row in steps_of(found["run_id"]):
        shown_row = dict(row)
        if row.get("outputs"):
            shown_row["outputs"] = masked_outputs(row["outputs"])
        for field in ("error", "traceback", "stdout", "stderr"):
            shown_row[field] = scrub(row.get(field), secrets)
        steps.append(shown_row)
    return found, steps
