"""Optional dependencies (setup.cfg's extras): import one, or say which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from dagwright.errors import ValidationError

# the top-level module each extra brings, and the extra that brings it
EXTRA_OF = {
    "kfp": "kfp",
    "kfp_server_api": "kfp",
    "hera": "argo",
    "kubernetes": "argo",
    "s3fs": "s3",
    "gcsfs": "gcs",
    "mlflow": "mlflow",
    "dask": "dask",
    "distributed": "dask",
    "pyspark": "spark",
    "torch": "horovod",
    "nuclio_sdk": "nuclio",
    "starlette": "ui",
    "uvicorn": "ui",
    "markdown_it": "ui",
    "nh3": "ui",
}


def install_hint(module: str) -> str:
    """``pip install "dagwright[EXTRA]"`` for the extra that brings ``module``."""
    extra = EXTRA_OF.get(module.split(".")[0])
    return f'pip install "dagwright[{extra}]"' if extra else f"pip install {module}"


def missing(module: str, *, field: str, needed_for: str) -> ValidationError:
    """The error for an optional module that is not installed."""
    return ValidationError(
        f"{needed_for} needs the Python package '{module.split('.')[0]}', which is not installed",
        field=field,
        fix=install_hint(module),
    )


def require(module: str, *, field: str, needed_for: str) -> ModuleType:
    """Import ``module``, or raise a ValidationError naming the extra that installs it.

    Imported rather than looked up, so a broken install is caught as well as a missing one.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing(module, field=field, needed_for=needed_for) from exc


def extra_missing(exc: BaseException) -> str | None:
    """The top-level module of an extra whose absence raised ``exc``, else None."""
    name = getattr(exc, "name", None)
    if isinstance(exc, ImportError) and name and name.split(".")[0] in EXTRA_OF:
        return str(name).split(".")[0]
    return None
