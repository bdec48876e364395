"""Values that travel between steps as files: pandas and Spark DataFrames (parquet), numpy
arrays (.npy) and scikit-learn estimators (skops, or joblib when skops is not installed).

A component may take or return these types directly; the executor writes the returned value to
the step's output artifact and loads it again for the steps that take it. Classes are matched by
the names in their MRO, so nothing here imports pandas, numpy or scikit-learn until a value is
actually written or read. Formats based on pickle (joblib) run code when loaded: they load from
a non-local store only when the run allows it (``allow_pickle``).

Both kinds of DataFrame are parquet, so either may feed the other: a Spark DataFrame is written
as a folder of part files (``df.write.parquet``) that pandas reads whole, and a step that takes
a ``pyspark.sql.DataFrame`` reads a pandas file or a Spark folder with the Spark session its
runtime provides.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dagwright.errors import DagwrightError

# what skops may load without asking: the types scikit-learn models are made of
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")
SPARK_DATAFRAME = "pyspark.sql.DataFrame"
# the types stored as parquet: a step may take one where another was returned
_TABLES = frozenset({"pandas.DataFrame", SPARK_DATAFRAME})
# Spark names part files part-00000-<job uuid>-c000...; without the uuid, equal data written
# twice has equal digests, so the cache keys of the steps that read it match across runs
_PART_NAME = re.compile(r"^(part-[0-9]+)-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}(.*)$")


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
        """Whether this serializer handles ``cls`` (by the class names in its MRO)."""
        names = {f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())}
        return bool(names & set(self.classes))

    def format(self) -> str:
        """The file format this serializer writes now."""
        if self.type_name in _TABLES:
            return "parquet"
        if self.type_name != "sklearn.Estimator":
            return {"numpy.ndarray": "npy"}[self.type_name]
        wanted = os.environ.get("DAGWRIGHT_MODEL_FORMAT")
        if wanted in ("skops", "joblib"):
            return wanted
        return "skops" if importlib.util.find_spec("skops") else "joblib"

    def dump(self, value: Any, path: str) -> str:
        """Write ``value`` to ``path``; return the format used."""
        fmt = self.format()
        (_write_spark_parquet if self.type_name == SPARK_DATAFRAME else _WRITERS[fmt])(value, path)
        return fmt


def _write_parquet(value: Any, path: str) -> None:
    value.to_parquet(path)


def _read_parquet(path: str) -> Any:
    import pandas

    return pandas.read_parquet(path)


def _write_spark_parquet(value: Any, path: str) -> None:
    if _stopped(value):
        raise RuntimeError(
            "the returned Spark DataFrame belongs to a Spark session that was stopped before "
            "dagwright could write it; keep the session running until the step returns (or "
            "give the component runtime=Spark(), whose session dagwright starts and stops)"
        )
    value.write.parquet(os.path.abspath(path))  # Hadoop resolves relative paths elsewhere
    for folder, _, names in os.walk(path):
        for name in names:
            if name.endswith(".crc"):  # Hadoop's checksums of the part files, named after them
                os.remove(os.path.join(folder, name))
            elif match := _PART_NAME.match(name):
                os.rename(os.path.join(folder, name), os.path.join(folder, "".join(match.groups())))


def _stopped(frame: Any) -> bool:
    """Was a classic DataFrame's session stopped (its JVM context gone)?"""
    try:
        return frame.sparkSession.sparkContext._jsc is None
    except Exception:  # Spark Connect has no SparkContext: its server tells on write
        return False


def _read_spark_parquet(path: str, provided: Mapping[str, Any] | None) -> Any:
    spark = (provided or {}).get("spark")
    if spark is None:
        raise TypeError(
            f"an input annotated {SPARK_DATAFRAME} needs a Spark session to be read: give the "
            "component runtime=Spark(), or annotate the input pandas.DataFrame"
        )
    return spark.read.parquet(os.path.abspath(path))


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


class PickleRefused(DagwrightError, PermissionError):
    """A pickle-based artifact from a store elsewhere, and the run did not allow pickle."""


SERIALIZERS = (
    Serializer("pandas.DataFrame", "Dataset", ("pandas.DataFrame", "pandas.core.frame.DataFrame")),
    # the base of classic and Spark Connect DataFrames
    Serializer(SPARK_DATAFRAME, "Dataset", ("pyspark.sql.dataframe.DataFrame",)),
    Serializer("numpy.ndarray", "Dataset", ("numpy.ndarray",)),
    Serializer("sklearn.Estimator", "Model", ("sklearn.base.BaseEstimator",)),
)
BY_TYPE = {s.type_name: s for s in SERIALIZERS}


def for_class(cls: Any) -> Serializer | None:
    """The serializer for values of ``cls``, or None when it is not a value type."""
    if not isinstance(cls, type):
        return None
    return next((s for s in SERIALIZERS if s.matches(cls)), None)


def interchangeable(source: str, target: str) -> bool:
    """May a value returned as ``source`` feed an input of type ``target`` (both parquet)?"""
    return source in _TABLES and target in _TABLES


def load(
    path: str,
    fmt: str,
    *,
    local: bool,
    allow_pickle: bool,
    into: str | None = None,
    provided: Mapping[str, Any] | None = None,
) -> Any:
    """Read a value written in ``fmt``.

    Args:
        path: The file or folder.
        fmt: The format it was written in (the artifact's ``format`` metadata).
        local: It comes from a local store.
        allow_pickle: Load pickle-based formats from a non-local store.
        into: The type the reader declared; ``pyspark.sql.DataFrame`` reads parquet with Spark.
        provided: What the step's runtime provides; a Spark read uses its ``spark`` session.

    Raises:
        PickleRefused: for a pickle-based format from a non-local store without opt-in.
        TypeError: for a Spark DataFrame input without a Spark session.
    """
    if fmt in PICKLE_FORMATS and not local and not allow_pickle:
        raise PickleRefused(
            f"refusing to unpickle a {fmt} artifact from a remote store: loading it runs code "
            "from that store; allow it with allow_pickle=True (--allow-pickle on run, compile "
            "or submit) if you trust it, or install skops where models are written (the "
            "'values' extra) so they are stored without pickle"
        )
    if fmt not in _READERS:
        raise ValueError(f"unknown value format {fmt!r}")
    if into == SPARK_DATAFRAME and fmt == "parquet":
        return _read_spark_parquet(path, provided)
    return _READERS[fmt](path)
