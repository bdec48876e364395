"""Every KFP pipeline of ``kfp_pipelines``, compiled by kfp into a YAML file, imported with
``dagwright.sources.kfp.import_pipeline`` and run by ``dagwright.run``, gives the outputs and
leaves the journal a correct run gives (worked out by hand in ``kfp_pipelines``), kfp.local's
bug shapes included. Container components run on the host (``host_containers=True``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")

from kfp_pipelines import SHAPES, Shape, strict  # noqa: E402
from kfp_runs import on_dagwright  # noqa: E402


def params(shapes: list[Shape]) -> list[Any]:
    """The shapes as test parameters, named after their pipelines."""
    return [pytest.param(shape, id=shape.name) for shape in shapes]


@pytest.mark.parametrize("shape", params(SHAPES))
def test_imported_pipeline_gives_the_expected_outputs(shape: Shape, tmp_path: Path) -> None:
    got, result = on_dagwright(shape, tmp_path)
    assert result.succeeded is shape.succeeds, got.error
    if shape.succeeds:
        assert strict(got.outputs) == strict(shape.outputs)
    assert got.journal == shape.journal
