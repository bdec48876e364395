"""The entry points of a KFP pipeline: a KFP YAML where an IR file is taken, a ``@dsl.pipeline``
in a ``.py`` file or given to ``dagwright.run``/``compile``, and the command line (real
subprocesses) for ``run``, ``compile --target ir|argo`` and ``inspect``.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")
import yaml  # noqa: E402
from kfp import dsl  # noqa: E402

import dagwright  # noqa: E402
from dagwright.errors import ValidationError  # noqa: E402
from dagwright.loader import load_pipeline  # noqa: E402
from dagwright.pipelines.ir import PipelineIR  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

PIPELINE_FILE = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component(base_image="python:3.11")
    def square(x: int) -> int:
        return x * x

    @dsl.pipeline(name="squares")
    def squares(x: int = 3) -> int:
        return square(x=square(x=x).output).output

    @dsl.pipeline(name="other")
    def other(y: int = 1):
        square(x=y)
    """
)


@dsl.component(base_image="python:3.11")
def inc(n: int) -> int:
    return n + 1


@dsl.pipeline(name="chain")
def chain(n: int = 1, note: str = "") -> int:
    with dsl.If(n > 0):
        inc(n=n)
    return inc(n=inc(n=n).output).output


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DAGWRIGHT_TRACKING": "off"}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_the_loader_tells_a_kfp_yaml_from_an_ir(
    compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    path = compiled(chain)
    ir = load_pipeline(str(path))
    assert isinstance(ir, PipelineIR) and ir.name == "chain"
    assert sorted(t.name for t in ir.tasks) == ["inc", "inc-2", "inc-3"]
    # the IR of it, saved, is read back as an IR (not taken for KFP)
    saved = ir.save(tmp_path / "chain.ir.yaml")
    assert load_pipeline(str(saved)).to_dict() == ir.to_dict()
    as_json = ir.save(tmp_path / "chain.ir.json")
    assert load_pipeline(str(as_json)).to_dict() == ir.to_dict()
    # a PipelineJob in JSON (what a KFP client submits) is a KFP pipeline too
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"pipelineSpec": yaml.safe_load(path.read_text())}, indent=2))
    assert load_pipeline(str(job)).to_dict() == ir.to_dict()


def test_a_py_file_with_dsl_pipelines_is_compiled_and_imported(tmp_path: Path) -> None:
    source = tmp_path / "flows.py"
    source.write_text(PIPELINE_FILE)
    with pytest.raises(ValidationError) as several:
        load_pipeline(str(source))
    assert "several pipelines" in str(several.value) and "other" in str(several.value)
    ir = load_pipeline(f"{source}:squares")
    assert isinstance(ir, PipelineIR) and ir.name == "squares"
    assert ir.outputs == {"Output": {"task": "square-2", "output": "Output"}}
    assert load_pipeline(f"{source}:other").name == "other"


def test_the_python_entry_points_take_a_dsl_pipeline_or_its_yaml(
    compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    from dagwright.api import to_ir

    path = compiled(chain)
    assert to_ir(chain).to_dict() == to_ir(path).to_dict() == to_ir(str(path)).to_dict()
    text = dagwright.compile(chain, "ir")
    assert PipelineIR.from_yaml(text).to_dict() == to_ir(chain).to_dict()
    # dagwright.run binds its arguments against the imported parameters before anything runs
    with pytest.raises(ValidationError) as wrong:
        dagwright.run(chain, n="not a number", root=tmp_path / "store")
    assert wrong.value.field == "n"
    with pytest.raises(ValidationError) as unknown:
        dagwright.run(str(path), m=1, root=tmp_path / "store")
    assert unknown.value.field == "m" and "['n', 'note']" in str(unknown.value)
    assert not (tmp_path / "store").exists()


def test_compile_and_inspect_a_kfp_yaml_from_the_command_line(
    compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    path = compiled(chain)
    done = _cli("compile", str(path), "--target", "ir", "-o", "chain.ir.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = PipelineIR.load(tmp_path / "chain.ir.yaml")
    assert written.to_dict() == load_pipeline(str(path)).to_dict()
    assert written.component_of("inc").kfp is not None
    done = _cli(
        "compile",
        str(path),
        "--target",
        "argo",
        "--dagwright",
        "dagwright @ https://example.invalid/dagwright-0.1.0-py3-none-any.whl",
        "-o",
        "chain.argo.yaml",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    workflow = yaml.safe_load((tmp_path / "chain.argo.yaml").read_text())
    assert workflow["kind"] == "Workflow"
    templates = {t["name"] for t in workflow["spec"]["templates"]}
    assert {"inc", "inc-2", "inc-3"} <= {n for n in templates} | {
        task["name"]
        for t in workflow["spec"]["templates"]
        for task in (t.get("dag") or {}).get("tasks", [])
    }
    done = _cli("inspect", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pipeline chain" in done.stdout
    assert "condition-1: if n > 0" in done.stdout
    assert "inc-3 (inc)" in done.stdout


def test_run_a_py_file_names_a_wrong_parameter_of_a_dsl_pipeline(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(PIPELINE_FILE)
    done = _cli("run", "flows.py:squares", "-p", "x=abc", "--root", "store", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "cannot read 'abc' as int" in done.stderr and "Traceback" not in done.stderr
    done = _cli("run", "flows.py:nothere", cwd=tmp_path)
    assert done.returncode == 2
    assert "has no pipeline 'nothere'" in done.stderr and "squares" in done.stderr


def test_a_dsl_pipeline_in_a_py_file_runs_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(PIPELINE_FILE)
    done = _cli("run", "flows.py:squares", "-p", "x=2", "--root", "store", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[0]
    shown = _cli("runs", "show", run_id, "--root", "store", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["outputs"] == {"Output": 16}


def test_dagwright_run_takes_a_dsl_pipeline_and_its_yaml(
    compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    from_func = dagwright.run(chain, n=2, root=tmp_path / "store", echo=False)
    from_yaml = dagwright.run(str(compiled(chain)), n=2, root=tmp_path / "store", echo=False)
    assert from_func.succeeded and from_yaml.succeeded
    assert from_func.outputs == from_yaml.outputs == {"Output": 4}


def test_the_command_line_says_what_an_import_did_not_keep(
    compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    path = compiled(chain)
    platform = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-inc": {"tolerations": [{"key": "pool", "operator": "Exists"}]}
    }}}}}  # fmt: skip
    path.write_text(path.read_text() + "---\n" + yaml.safe_dump(platform))
    done = _cli("inspect", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("warning: task '")
    assert "tolerations only place its pod on a cluster" in done.stderr
    assert "KfpImportWarning" not in done.stderr and ".py:" not in done.stderr
