"""The kfp target imports KFP's PipelineSpec messages without the SDK's DSL and client
(``dagwright/compiler/kfp/proto.py``), and leaves the whole SDK usable afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLOW = """
from dagwright import component, pipeline

@component
def add(a: int, b: int = 1) -> int:
    return a + b

@pipeline
def flow(x: int = 2) -> int:
    return add(a=add(a=x).output).output
"""


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("_KFP_RUNTIME", None)
    script = cwd / "script.py"  # a file: kfp.dsl reads a component's source
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_compile_loads_no_sdk_client_and_the_sdk_works_after(tmp_path: Path) -> None:
    """A fresh process compiles to KFP without importing ``kfp.client``, ``kfp.dsl`` or the
    Kubernetes client; ``_KFP_RUNTIME`` is as before; then ``kfp.Client``, ``from kfp import
    dsl, client`` and a kfp.dsl component work as in a process that imported kfp first."""
    (tmp_path / "flow.py").write_text(FLOW)
    done = _python(
        """
        import os, sys
        import dagwright
        from flow import flow
        text = dagwright.compile(flow, target="kfp", dagwright="dagwright==1.0")
        assert "pipelineInfo" in text
        loaded = sorted(m for m in sys.modules if m.startswith(("kfp.client", "kfp.dsl",
                                                                "kubernetes")))
        print("loaded", loaded)
        print("env", os.environ.get("_KFP_RUNTIME"))
        import kfp
        from kfp import dsl, client
        assert kfp.Client is client.Client

        @dsl.component(base_image="python:3.11")
        def double(x: int) -> int:
            return 2 * x

        print("component", double.component_spec.name)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "loaded []" in done.stdout
    assert "env None" in done.stdout
    assert "component double" in done.stdout


def test_a_kfp_imported_first_is_left_alone(tmp_path: Path) -> None:
    """When the user's code imported kfp already, compiling changes nothing of it."""
    (tmp_path / "flow.py").write_text(FLOW)
    done = _python(
        """
        import kfp
        import dagwright
        from flow import flow
        dagwright.compile(flow, target="kfp", dagwright="dagwright==1.0")
        print("getattr" , "__getattr__" in vars(kfp), "client", "Client" in vars(kfp))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "getattr False client True" in done.stdout


def test_the_same_spec_either_way(tmp_path: Path) -> None:
    """The spec compiled with kfp in its runtime mode is the one compiled after ``import
    kfp`` (every byte)."""
    (tmp_path / "flow.py").write_text(FLOW)
    code = """
        {first}
        import dagwright
        from flow import flow
        print(dagwright.compile(flow, target="kfp", dagwright="dagwright==1.0"))
        """
    lean = _python(code.format(first=""), tmp_path)
    full = _python(code.format(first="import kfp"), tmp_path)
    assert lean.returncode == 0 and full.returncode == 0, lean.stderr + full.stderr
    assert lean.stdout == full.stdout
