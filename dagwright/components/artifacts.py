"""Artifact types, and the ``Input[T]`` / ``Output[T]`` markers used in component signatures.

``Input[Dataset]`` is ``Annotated[Dataset, <input marker>]``, so type checkers see a plain
``Dataset`` inside the function while dagwright reads the marker.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, ClassVar, TypeVar


class Artifact:
    """A file (or directory) produced by one step and consumed by others.

    Attributes:
        name: The output name that produced it.
        uri: Where it is stored; for the local store, a file path.
        metadata: JSON-compatible facts about it; consumers receive them, and the run record
            keeps them with the step's outputs.
    """

    type_name: ClassVar[str] = "Artifact"

    def __init__(
        self, name: str = "", uri: str = "", metadata: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.uri = uri
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.digest: str | None = None  # sha256 of the content, set once it is written
        self._path: str | None = None

    @property
    def path(self) -> str:
        """A local path to read or write; equal to the URI for the local store."""
        return self._path if self._path is not None else self.uri

    @path.setter
    def path(self, value: str) -> None:
        self._path = value

    def to_dict(self) -> dict[str, Any]:
        """The artifact as plain data (type, name, URI, metadata, digest)."""
        data = {
            "type": self.type_name,
            "name": self.name,
            "uri": self.uri,
            "metadata": self.metadata,
        }
        if self.digest:
            data["digest"] = self.digest
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Artifact:
        """The artifact of the right class from ``to_dict``'s data."""
        cls = ARTIFACT_TYPES.get(data.get("type", "Artifact"), Artifact)
        artifact = cls(name=data.get("name", ""), uri=data["uri"], metadata=data.get("metadata"))
        artifact.digest = data.get("digest")
        return artifact

    def _finish(self) -> None:
        """Called by the executor after the step wrote this output."""

    def load(self, allow_pickle: bool = False) -> Any:
        """The value a step returned into this artifact (a DataFrame, array or model).

        Args:
            allow_pickle: Also unpickle (joblib) from a non-local store; that runs its code.

        Raises:
            ValidationError: when the artifact holds a file a step wrote, not a returned value.
        """
        import tempfile

        from dagwright.components import serializers
        from dagwright.store import remote

        fmt = self.metadata.get("format")
        if fmt is None:
            from dagwright.errors import ValidationError

            raise ValidationError(f"{self!r} holds a file, not a value a step returned")
        if remote.is_local(self.uri):
            return serializers.load(
                remote.local_path(self.uri), fmt, local=True, allow_pickle=allow_pickle
            )
        with tempfile.TemporaryDirectory() as folder:
            path = remote.fetch(self.uri, folder)
            return serializers.load(path, fmt, local=False, allow_pickle=allow_pickle)

    def __repr__(self) -> str:
        from dagwright.redact import redact_uri

        return f"{type(self).__name__}(name={self.name!r}, uri={redact_uri(self.uri)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Artifact)
            and type(other) is type(self)
            and (self.name, self.uri, self.metadata) == (other.name, other.uri, other.metadata)
        )

    __hash__ = object.__hash__


class Dataset(Artifact):
    """A table or any data set (a file or a folder)."""

    type_name = "Dataset"


class Model(Artifact):
    """A trained model."""

    type_name = "Model"


class Metrics(Artifact):
    """Scalar metrics; ``log_metric`` records them in metadata and in the file as JSON."""

    type_name = "Metrics"

    def log_metric(self, name: str, value: float) -> None:
        """Record one scalar metric."""
        self.metadata[name] = float(value)

    def _finish(self) -> None:
        if not os.path.exists(self.path):
            with open(self.path, "w", encoding="utf-8") as out:
                json.dump(self.metadata, out, sort_keys=True)


class HTML(Artifact):
    """An HTML page, for people to read."""

    type_name = "HTML"


class Markdown(Artifact):
    """A Markdown document, for people to read."""

    type_name = "Markdown"


class ClassificationMetrics(Artifact):
    """Classification metrics (a confusion matrix, an ROC curve), as KFP's type of that name."""

    type_name = "ClassificationMetrics"


class SlicedClassificationMetrics(Artifact):
    """Classification metrics per slice of the data, as KFP's type of that name."""

    type_name = "SlicedClassificationMetrics"


ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    cls.type_name: cls
    for cls in (
        Artifact,
        Dataset,
        Model,
        Metrics,
        HTML,
        Markdown,
        ClassificationMetrics,
        SlicedClassificationMetrics,
    )
}


class _InputMarker:
    def __repr__(self) -> str:
        return "Input"


class _OutputMarker:
    def __repr__(self) -> str:
        return "Output"


INPUT_MARKER = _InputMarker()
OUTPUT_MARKER = _OutputMarker()

T = TypeVar("T", bound=Artifact)
Input = Annotated[T, INPUT_MARKER]
Output = Annotated[T, OUTPUT_MARKER]
