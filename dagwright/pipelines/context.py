"""The pipeline being traced right now, if any."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from dagwright.errors import OutsidePipeline

if TYPE_CHECKING:
    from dagwright.pipelines.builder import PipelineBuilder

_CURRENT: ContextVar[PipelineBuilder | None] = ContextVar("dagwright_pipeline", default=None)


def current_builder() -> PipelineBuilder | None:
    """The builder of the pipeline being traced, or None outside one."""
    return _CURRENT.get()


def require_builder(what: str) -> PipelineBuilder:
    """The builder of the pipeline being traced; a RuntimeError naming ``what`` outside one."""
    builder = _CURRENT.get()
    if builder is None:
        raise OutsidePipeline(
            f"{what} can only be used inside a @pipeline function or `with Pipeline(...)`"
        )
    return builder


def activate(builder: PipelineBuilder | None) -> object:
    """Make ``builder`` the current one; the token ``deactivate`` takes."""
    return _CURRENT.set(builder)


def deactivate(token: object) -> None:
    """Restore the builder that was current before ``activate``."""
    _CURRENT.reset(token)  # type: ignore[arg-type]
