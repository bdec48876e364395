"""Shared by the tests of what KFP's backend does: a compiled spec that passes both KFP checks,
and runs of a spec on kfp.local (a stand-in for the backend's outputs where it can run them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kfp_backend_checks import assert_runs_as_compiled
from kfp_checks import problems as consistency_problems

import dagwright


def checked_spec(p: Any, **options: Any) -> dict[str, Any]:
    """``p`` compiled for KFP, after both checks: the backend's reading and every reference
    resolving in its own DAG."""
    text = dagwright.compile(p, target="kfp", **options)
    assert_runs_as_compiled(text)
    spec = yaml.safe_load(text)
    assert consistency_problems(spec) == []
    return spec


def on_kfp_local(p: Any, tmp_path: Path, **arguments: Any) -> Any:
    """The outputs of ``p``'s compiled spec run on kfp.local (the ``local_runner`` fixture
    of ``conftest.py`` sets it up)."""
    from kfp import components

    spec = tmp_path / "spec.yaml"
    dagwright.compile(p, target="kfp", path=spec)
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    return components.load_component_from_file(str(spec))(**arguments).outputs
