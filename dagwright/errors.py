"""Errors that dagwright raises on purpose: all of them are ``DagwrightError``s, so a user can
catch "any dagwright error" in one clause. Each also keeps the built-in base it had
(``ValueError``, ``RuntimeError``...), so code catching those still does."""

from __future__ import annotations


class DagwrightError(Exception):
    """The base of every error dagwright raises on purpose."""


class ValidationError(DagwrightError, ValueError):
    """A pipeline, component or argument is wrong; nothing has run.

    The message names where the problem is (pipeline, task, field) and how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        pipeline: str | None = None,
        task: str | None = None,
        block: str | None = None,
        field: str | None = None,
        fix: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.detail = detail
        self.pipeline = pipeline
        self.task = task
        self.block = block
        self.field = field
        self.problem = message
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.pipeline:
            where.append(f"pipeline '{self.pipeline}'")
        if self.task:
            where.append(f"task '{self.task}'")
        if self.block:
            where.append(f"block '{self.block}'")
        if self.field:
            where.append(f"field '{self.field}'")
        text = (", ".join(where) + ": " if where else "") + self.problem
        if self.fix:
            text += f". Fix: {self.fix}"
        if self.detail:  # e.g. the user's frames of an error, on the lines after
            text += "\n" + self.detail
        return text

    def within(self, pipeline: str | None = None, task: str | None = None) -> ValidationError:
        """Return a copy that also names the pipeline (and task) it was found in."""
        return ValidationError(
            self.problem,
            pipeline=self.pipeline or pipeline,
            task=self.task or task,
            block=self.block,
            field=self.field,
            fix=self.fix,
            detail=self.detail,
        )


class UsageError(DagwrightError, TypeError):
    """dagwright's API was called the wrong way: a pipeline called directly, a step or a
    condition passed where a value goes, an object that is no pipeline given to ``run``."""


class OutsidePipeline(DagwrightError, RuntimeError):
    """A call that builds a pipeline (``If``, ``ParallelFor``, ...) made outside one."""


class NotFound(DagwrightError, LookupError):
    """What was asked for does not exist: a runtime for a config, a run in MLflow."""


class UnknownKey(NotFound, KeyError):
    """A name looked up like a dict's key (a task, a block, a step) that is not there."""


class ToolFailed(DagwrightError, RuntimeError):
    """A program dagwright runs for the user (Graphviz's ``dot``) failed."""


class RunFailed(DagwrightError, RuntimeError):
    """A pipeline run ended with a failed step (raised only when asked for)."""

    def __init__(self, message: str, result: object | None = None) -> None:
        super().__init__(message)
        self.result = result


class StoreUnreachable(DagwrightError, ConnectionError):
    """A remote artifact store (S3, GCS, HTTP) did not answer: no network, a name that does
    not resolve, a refused connection."""
