"""Code delivery shared by the cluster targets: install lines, image imports, Dockerfiles."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import kfp_corpus as corpus
import pytest
from click.testing import CliRunner

import dagwright
from dagwright.cli import cli
from dagwright.compiler.delivery import CodeDelivery, distribution_name
from dagwright.compiler.dockerfile import dockerfile
from dagwright.errors import ValidationError
from dagwright.executor import Step, run_step
from dagwright.runtimes import Spark

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("requirement", "name"),
    [
        ("scikit-learn>=1.3", "scikit-learn"),
        ("pandas[parquet]==2.2", "pandas"),
        ("dagwright @ https://files.example/d.whl", "dagwright"),
        ("https://files.example/dagwright-0.1.0-py3-none-any.whl", "dagwright"),
    ],
)
def test_distribution_names_of_requirements(requirement: str, name: str) -> None:
    assert distribution_name(requirement) == name


def test_a_bad_requirement_names_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        distribution_name("  >=1.0")
    assert err.value.field == "packages"


def test_install_line_skips_pip_when_everything_is_present() -> None:
    """The line really runs: present distributions skip pip, a missing one reaches it
    (pip is replaced by a harmless command that reports it was called)."""
    spec = corpus.flaky.spec
    present = CodeDelivery(dagwright="pytest").install_command(spec)
    assert present is not None
    shell = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
    }

    def run(line: str) -> str:
        line = line.replace("python3 -m pip install", "echo PIP")
        line = line.replace("python3", sys.executable)
        return subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=shell).stdout

    assert run(present) == ""
    missing = dataclasses.replace(spec, packages=["surely-not-installed-dist"])
    line = CodeDelivery(dagwright="pytest").install_command(missing)
    assert line is not None
    assert "PIP" in run(line) and "surely-not-installed-dist" in run(line)


def test_a_stale_image_is_refused_before_the_step_runs() -> None:
    spec = dataclasses.replace(corpus.square.spec, source="")
    step = Step(spec, "square", parameters={"x": 3}, digest=corpus.square.spec.digest)
    assert run_step(step).values == {"output": 9}
    stale = Step(spec, "square", parameters={"x": 3}, digest="0" * 64)
    with pytest.raises(ValidationError, match="another version") as err:
        run_step(stale)
    assert err.value.field == "digest"
    missing = dataclasses.replace(spec, module="no_such_project_module")
    with pytest.raises(ValidationError, match="cannot import") as err:
        run_step(Step(missing, "square", parameters={"x": 3}))
    assert err.value.field == "module"


def test_dockerfile_installs_every_package_and_copies_the_project_modules() -> None:
    ir = dagwright.api.to_ir(corpus.options)
    text = dockerfile(ir, ROOT, base_image="python:3.12-slim")
    lines = text.splitlines()
    assert "FROM python:3.12-slim" in lines
    install = next(line for line in lines if line.startswith("RUN pip install"))
    assert "dagwright==" in install and "pyyaml" in install and "kfp" not in install
    # the KFP SDK only for its executor, as the SDK's own components install it
    assert f"RUN pip install --no-cache-dir --no-deps kfp=={version('kfp')}" in lines
    assert "COPY tests/compiler/kfp_corpus.py /app/kfp_corpus.py" in lines
    assert lines[-1] == "ENV PYTHONPATH=/app"
    assert not any("spark_driver" in line for line in lines)  # no Spark step, no driver


@dagwright.component(runtime=Spark())
def spark_rows(spark: object, n: int) -> int:
    return n


def test_dockerfile_installs_the_spark_driver_when_a_step_runs_on_spark() -> None:
    p = dagwright.Pipeline("sparky")
    p.add(spark_rows, n=3)
    lines = dockerfile(dagwright.api.to_ir(p), ROOT).splitlines()
    install = lines.index("RUN python -m dagwright.runtimes.spark_driver --install")
    assert lines[install - 1].startswith("RUN pip install")  # after dagwright is installed


def test_dockerfile_refuses_modules_outside_the_build_context(tmp_path: Path) -> None:
    ir = dagwright.api.to_ir(corpus.options)
    with pytest.raises(ValidationError, match="outside the build context") as err:
        dockerfile(ir, tmp_path)
    assert err.value.field == "module"


def test_dockerfile_command_writes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "Dockerfile"
    result = CliRunner().invoke(
        cli,
        [
            "dockerfile",
            "examples/iris_training.py",
            "-o",
            str(out),
            "--index-url",
            "https://i.example/simple",
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "COPY examples/iris_training.py /app/iris_training.py" in text
    assert "--index-url https://i.example/simple" in text and "scikit-learn" in text
