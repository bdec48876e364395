"""Values that travel between steps as files: pandas DataFrames (parquet), numpy arrays (.npy)
and scikit-learn estimators (skops, or joblib when skops is not installed).

A component may take or return these types directly; the executor writes the returned value to
the step's output artifact and loads it again for the steps that take it. Classes are matched by
the names in their MRO, so nothing here imports pandas, numpy or scikit-learn until a value is
actually written or read. Formats based on pickle (joblib) run code when loaded: they load from
a non-local store only when the run allows it (``allow_pickle``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# what skops may load without asking: the types scikit-learn models are made of
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


@dataclass(frozen=True)
class Serializer:
    """How one kind of value becomes a file and back.

    Attributes:
        type_name: The type string in the IR, e.g. ``pandas.DataFrame``.
        kind: The artifact type it counts as when fed to an ``Input[...]`` (Dataset or Model).
        classes: Qualified class names; a value whose MRO holds one of them matches.
    """

    type_name: str
    kind: str
    classes: tuple[str, ...]

    def matches(self, cls: type) -> bool:
        names = {f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())}
        return bool(names & set(self.classes))

    def format(self) -> str:
        """The file format this serializer writes now."""
        if self.type_name != "sklearn.Estimator":
            return {"pandas.DataFrame": "parquet", "numpy.ndarray": "npy"}[self.type_name]
        wanted = os.environ.get("DAGWRIGHT_MODEL_FORMAT")
        if wanted in ("skops", "joblib"):
            return wanted
        return "skops" if importlib.util.find_spec("skops") else "joblib"

    def dump(self, value: Any, path: str) -> str:
        """Write ``value`` to ``path``; return the format used."""
        fmt = self.format()
        _WRITERS[fmt](value, path)
        return fmt


def _write_parquet(value: Any, path: str) -> None:
    value.to_parquet(path)


def _read_parquet(path: str) -> Any:
    import pandas

    return pandas.read_parquet(path)


def _write_npy(value: Any, path: str) -> None:
    import numpy

    with open(path, "wb") as f:  # a file object: numpy would append .npy to a name
        numpy.save(f, value, allow_pickle=False)


def _read_npy(path: str) -> Any:
    import numpy

    return numpy.load(path, allow_pickle=False)


def _write_skops(value: Any, path: str) -> None:
    import skops.io

    skops.io.dump(value, path)


def _read_skops(path: str) -> Any:
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    unknown = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if unknown:
        raise ValueError(
            f"the model at {path} holds types skops does not trust: {', '.join(unknown)}"
        )
    return skops.io.load(path, trusted=untrusted)


def _write_joblib(value: Any, path: str) -> None:
    import joblib

    with open(path, "wb") as f:
        joblib.dump(value, f)


def _read_joblib(path: str) -> Any:
    import joblib

    return joblib.load(path)


_WRITERS: dict[str, Callable[[Any, str], None]] = {
    "parquet": _write_parquet,
    "npy": _write_npy,
    "skops": _write_skops,
    "joblib": _write_joblib,
}
_READERS: dict[str, Callable[[str], Any]] = {
    "parquet": _read_parquet,
    "npy": _read_npy,
    "skops": _read_skops,
    "joblib": _read_joblib,
}
PICKLE_FORMATS = frozenset({"joblib"})

SERIALIZERS = (
    Serializer("pandas.DataFrame", "Dataset", ("pandas.DataFrame", "pandas.core.frame.DataFrame")),
    Serializer("numpy.ndarray", "Dataset", ("numpy.ndarray",)),
    Serializer("sklearn.Estimator", "Model", ("sklearn.base.BaseEstimator",)),
)
BY_TYPE = {s.type_name: s for s in SERIALIZERS}


def for_class(cls: Any) -> Serializer | None:
    if not isinstance(cls, type):
        return None
    return next((s for s in SERIALIZERS if s.matches(cls)), None)


def load(path: str, fmt: str, *, local: bool, allow_pickle: bool) -> Any:
    """Read a value written in ``fmt``.

    Raises:
        PermissionError: for a pickle-based format from a non-local store without opt-in.
    """
    if fmt in PICKLE_FORMATS and not local and not allow_pickle:
        raise PermissionError(
            f"refusing to unpickle a {fmt} artifact from a remote store: loading it runs code "
            "from that store; allow it with allow_pickle=True (--allow-pickle) if you trust it"
        )
    if fmt not in _READERS:
        raise ValueError(f"unknown value format {fmt!r}")
    return _READERS[fmt](path)
