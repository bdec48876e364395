"""``import dagwright`` stays light: no heavy optional dependency is imported."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "kfp",
    "hera",
    "mlflow",
    "pyspark",
    "dask",
    "distributed",
    "kubernetes",
    "pandas",
    "sklearn",
    "networkx",
    "numpy",
)


def test_import_pulls_in_no_heavy_dependency() -> None:
    code = f"import sys, dagwright\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
