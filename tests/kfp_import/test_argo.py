"""KFP -> Argo: every imported KFP pipeline compiled with ``dagwright.compile(ir,
target="argo")`` and run under the test stand-in for the Argo controller
(``tests/compiler/argo_controller.py``; no Argo controller runs here: it walks the Workflow as
the controller does and runs each container template's command as a local subprocess) gives
the same outputs and journal as a correct run, which is what ``dagwright.run`` gives too
(``test_runs.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("kfp")
pytest.importorskip("hera")

from kfp_pipelines import SHAPES, Shape, strict  # noqa: E402
from kfp_runs import on_argo  # noqa: E402
from test_runs import params  # noqa: E402


@pytest.mark.integration
@pytest.mark.parametrize("shape", params(SHAPES))
def test_imported_pipeline_runs_on_argo_with_the_same_outputs(shape: Shape, tmp_path: Path) -> None:
    got, node = on_argo(shape, tmp_path)
    assert (node.phase == "Succeeded") is shape.succeeds, got.error
    if shape.succeeds:
        assert strict(got.outputs) == strict(shape.outputs)
    assert got.journal == shape.journal
