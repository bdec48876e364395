"""What a notification says: the run's name, id and status, its failed steps and a link."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

# the run's page in `dagwright ui` at its default address (ui/server.py's DEFAULT_PORT; the
# UI sits above the engine, so the number is repeated here rather than imported)
UI_RUN_PAGE = "http://127.0.0.1:8265/#/runs/{run_id}"
_LONGEST_ERROR = 300


def first_line(error: str | None) -> str:
    """An error's first non-blank line, cut to a length a chat message shows whole."""
    line = next((ln.strip() for ln in (error or "").splitlines() if ln.strip()), "")
    return line if len(line) <= _LONGEST_ERROR else line[: _LONGEST_ERROR - 3] + "..."


def ui_link(run_id: str) -> str:
    """The run's page in a local ``dagwright ui``."""
    return UI_RUN_PAGE.format(run_id=quote(run_id, safe=""))


@dataclass(frozen=True)
class FailedStep:
    """A step that failed, and the first line of its error."""

    task: str
    error: str = ""


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as every notifier tells it."""

    pipeline: str
    run_id: str
    status: str
    failed: tuple[FailedStep, ...] = field(default_factory=tuple)
    link: str | None = None

    @property
    def subject(self) -> str:
        """One line: the pipeline and how its run ended (an e-mail's subject)."""
        return f"dagwright: pipeline {self.pipeline} {self.status} (run {self.run_id})"

    def text(self) -> str:
        """The message as plain text (Slack's ``text``, an e-mail's body)."""
        lines = [self.subject]
        if self.failed:
            lines.append("Failed steps:")
            lines.extend(
                f"- {s.task}: {s.error}" if s.error else f"- {s.task}" for s in self.failed
            )
        if self.link:
            lines.append(self.link)
        return "\n".join(lines)

    def body(self) -> dict[str, Any]:
        """The message as a webhook's JSON body."""
        return {
            "pipeline": self.pipeline,
            "run_id": self.run_id,
            "status": self.status,
            "failed_steps": [{"task": s.task, "error": s.error} for s in self.failed],
            "link": self.link,
            "text": self.text(),
        }
