"""dagwright against kfp.local on the same compiled YAML, in the same session.

kfp.local (KFP 2.17's own local runner, ``SubprocessRunner(use_venv=False)``) runs a few small
shapes once per module (a step costs it about half a second): where it is right, dagwright
gives the same outputs and journal; on the shapes it gets wrong (an outer task output inside a
loop, Collected ``list[int]`` reaching a consumer as floats, a container component), dagwright
gives the correct values where kfp.local does not. ``kfp_local_evidence.py`` runs every shape
on kfp.local, by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("kfp.local")

from kfp_pipelines import BY_NAME, SAME, Shape, strict  # noqa: E402
from kfp_runs import Finished, kfp_local, on_dagwright, on_kfp_local  # noqa: E402

# small on purpose: kfp.local takes about half a second a step
RIGHT = [
    "plain-chain",
    "nested-pipelines",
    "if-elif-else",
    "loop-over-dicts",
    "resources-and-env",
    "importer-step",
    "exit-handler-fails",  # fails as designed, its exit task told FAILED
]
WRONG = ["outer-output-in-static-loop", "collected-ints", "container-component"]


@pytest.fixture(scope="module")
def theirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """kfp.local's run of each shape above, once for the module."""
    folder = tmp_path_factory.mktemp("kfp-local")
    kfp_local(folder / "root")
    return {name: on_kfp_local(BY_NAME[name], folder / name) for name in RIGHT + WRONG}


@pytest.mark.parametrize("name", RIGHT)
def test_same_outputs_as_kfp_local(name: str, theirs: dict[str, Finished], tmp_path: Path) -> None:
    shape: Shape = BY_NAME[name]
    assert shape.kfp_local == SAME
    ours, result = on_dagwright(shape, tmp_path)
    kfp = theirs[name]
    assert result.succeeded is (kfp.error is None) is shape.succeeds, (ours.error, kfp.error)
    assert strict(ours.outputs) == strict(kfp.outputs) == strict(shape.outputs)
    assert ours.journal == kfp.journal == shape.journal


@pytest.mark.parametrize("name", WRONG)
def test_right_where_kfp_local_is_wrong(
    name: str, theirs: dict[str, Finished], tmp_path: Path
) -> None:
    shape = BY_NAME[name]
    assert shape.kfp_local != SAME
    ours, result = on_dagwright(shape, tmp_path)
    assert result.succeeded, ours.error
    assert strict(ours.outputs) == strict(shape.outputs)
    kfp = theirs[name]
    # kfp.local fails the run (a container component) or gives other values
    assert kfp.error is not None or strict(kfp.outputs) != strict(shape.outputs), kfp
