"""A pipeline imported from KFP is refused before its run starts when kfp cannot be imported,
naming the extra that installs it (kfp is made unimportable in the CLI's own process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kfp")
from kfp import compiler, dsl  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# ``python -m dagwright.cli`` with kfp unimportable, as where it is not installed
WITHOUT_KFP = (
    "import runpy, sys; sys.modules['kfp'] = None; "
    "sys.argv = ['dagwright', *sys.argv[1:]]; "
    "runpy.run_module('dagwright.cli', run_name='__main__')"
)


@dsl.component(base_image="python:3.11")
def double(x: int) -> int:
    return 2 * x


@dsl.pipeline(name="doubles")
def doubles(x: int = 1) -> int:
    return double(x=double(x=x).output).output


def _cli(folder: Path, *args: str, kfp: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = (
        [sys.executable, "-m", "dagwright.cli"] if kfp else [sys.executable, "-c", WITHOUT_KFP]
    )
    return subprocess.run(
        [*command, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_kfp_pipeline_is_refused_before_it_runs_when_kfp_is_not_installed(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "doubles.yaml"
    compiler.Compiler().compile(doubles, str(spec))
    refused = _cli(tmp_path, "run", str(spec), "--root", "store", "-q", kfp=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "field 'kfp'" in refused.stderr and "task 'double'" in refused.stderr
    assert 'pip install "dagwright[kfp]"' in refused.stderr
    assert not (tmp_path / "store").exists()  # refused before the run was claimed
    ran = _cli(tmp_path, "run", str(spec), "--root", "store", "-q", kfp=True)
    assert ran.returncode == 0, ran.stderr
