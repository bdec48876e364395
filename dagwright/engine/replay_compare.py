"""A replayed step's outputs against those its run recorded: artifacts by sha256 digest,
parameters by value (both JSON, as the executor hands them on)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.executor import StepOutcome
from dagwright.redact import scrub, shown

SAME = "same"
DIFFERS = "differs"
NEW = "new"  # nothing recorded to compare with: the recorded execution failed
MISSING = "-"


@dataclass(frozen=True)
class Compared:
    """One output: what was recorded, what the replay made, and the verdict."""

    name: str
    recorded: str
    replayed: str
    verdict: str


def compare(
    spec: ComponentSpec,
    recorded: dict[str, Any] | None,
    outcome: StepOutcome,
    secrets: list[str] | None = None,
) -> list[Compared]:
    """Every output of the component, in declared order, recorded against replayed; values
    shown masked (secret names, secret values, URI passwords)."""
    rows = []
    for out in spec.outputs:
        before = _NOTHING if recorded is None else recorded.get(out.name, _NOTHING)
        if out.artifact:
            made = outcome.artifacts.get(out.name)
            old = _digest(before)
            new = made.digest if made is not None else None
            same = old is not None and old == new
            texts = (_digest_text(old), _digest_text(new))
        else:
            after = outcome.values.get(out.name, _NOTHING)
            same = before is not _NOTHING and before is not None and before == after
            same = same or (before is None and after is None)
            texts = (_value_text(out.name, before), _value_text(out.name, after))
        if recorded is None:
            verdict = NEW
        else:
            verdict = SAME if same else DIFFERS
        shown_texts = [scrub(text, secrets or []) or "" for text in texts]
        rows.append(Compared(out.name, shown_texts[0], shown_texts[1], verdict))
    return rows


_NOTHING: Any = object()


def _digest(recorded: Any) -> str | None:
    return recorded.get("digest") if isinstance(recorded, dict) else None


def _digest_text(digest: str | None) -> str:
    return f"sha256:{digest[:12]}" if digest else MISSING


def _value_text(name: str, value: Any, width: int = 40) -> str:
    if value is _NOTHING:
        return MISSING
    text = json.dumps(shown(name, value), default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def table(rows: list[Compared]) -> str:
    """The comparison as aligned text: a header and one line per output."""
    header = Compared("OUTPUT", "RECORDED", "REPLAYED", "")
    every = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in every) for f in ("name", "recorded", "replayed")]
    lines = [
        f"{r.name:<{widths[0]}}  {r.recorded:<{widths[1]}}  {r.replayed:<{widths[2]}}  {r.verdict}"
        for r in every
    ]
    return "\n".join(line.rstrip() for line in lines)
