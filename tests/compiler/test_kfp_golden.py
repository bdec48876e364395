"""Golden files: the KFP specs of a few pipelines, byte for byte.

A change to the compiler that alters what it writes fails here and shows the diff. After
checking the new output by eye, rewrite the files with ``DAGWRIGHT_UPDATE_GOLDEN=1 pytest
tests/compiler/test_kfp_golden.py``. The kfp and dagwright versions pinned in the install line
are replaced by placeholders, so a newer SDK does not count as a change.
"""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import kfp_corpus as corpus
import pytest
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright.loader import load_pipeline

GOLDEN = Path(__file__).parent / "golden" / "kfp"
ROOT = Path(__file__).resolve().parents[2]


def normalised(text: str) -> str:
    text = text.replace(f"kfp=={metadata.version('kfp')}", "kfp==<version>")
    text = text.replace(f"dagwright=={dagwright.__version__}", "dagwright==<version>")
    return re.sub(r"dagwright-\d+\.\d+\.\d+\S*", "dagwright-<version>", text)


@pytest.mark.parametrize(
    "name", ["branches", "loop_over_output", "nested", "iris_training", "task_settings"]
)
def test_spec_matches_its_golden_file(name: str) -> None:
    pipeline = (
        load_pipeline(str(ROOT / "examples" / "iris_training.py"))
        if name == "iris_training"
        else getattr(corpus, name)
    )
    text = normalised(dagwright.compile(pipeline, target="kfp"))
    assert_runs_as_compiled(text)
    golden = GOLDEN / f"{name}.yaml"
    if os.environ.get("DAGWRIGHT_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
