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


# every dagwright module `import dagwright` loads: what a pipeline file needs (a module added
# here makes every run and every import slower: load it where it is used instead)
ROOT_MODULES = {
    "dagwright",
    "dagwright._version",
    "dagwright.components",
    "dagwright.components._ports",
    "dagwright.components.artifacts",
    "dagwright.components.decorator",
    "dagwright.components.docstrings",
    "dagwright.components.final_status",  # dagwright.PipelineTaskFinalStatus, an annotation
    "dagwright.components.options",
    "dagwright.components.serializers",
    "dagwright.components.source",
    "dagwright.components.spec",
    "dagwright.components.types",
    "dagwright.errors",
    "dagwright.names",
    "dagwright.pipelines",
    "dagwright.pipelines.builder",
    "dagwright.pipelines.context",
    "dagwright.pipelines.control",
    "dagwright.pipelines.decorator",
    "dagwright.pipelines.handles",
    "dagwright.pipelines.ir",
    "dagwright.pipelines.refs",
    "dagwright.pipelines.task_pod",  # a task handle's pod methods (task.mount_pvc...)
    "dagwright.runtimes",
    "dagwright.runtimes.registry",
    "dagwright.tracebacks",
}
# what a pipeline file does not need, though dagwright uses it elsewhere: YAML (IR files),
# the command line, logging, SQLite and subprocesses (runs), entry points (plugins)
NOT_ON_IMPORT = (
    "yaml",
    "click",
    "logging",
    "sqlite3",
    "subprocess",
    "importlib.metadata",
    "dagwright.runtimes.scale_out",
    "dagwright.runtimes.session",
)


def test_import_loads_only_the_modules_a_pipeline_file_needs() -> None:
    code = (
        f"import sys\nbefore = set(sys.modules)\nimport dagwright\n"
        f"new = set(sys.modules) - before\n"
        f"print(' '.join(sorted(m for m in new if m.split('.')[0] == 'dagwright')))\n"
        f"print(' '.join(m for m in {NOT_ON_IMPORT!r} if m in new))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ours, others = out.stdout.split("\n")[:2]
    assert set(ours.split()) == ROOT_MODULES
    assert others.split() == []


# the layers that run, compile or send a pipeline: loaded by the first use, not by the import
LAYERS = ("engine", "store", "remote", "compiler", "lineage")


def _layers_loaded(code: str) -> list[str]:
    script = (
        "import sys\n"
        f"{code}\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[1:2] and "
        f"m.split('.')[0] == 'dagwright' and m.split('.')[1] in {LAYERS!r})))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_loads_no_engine_store_remote_compiler_or_lineage_until_used() -> None:
    assert _layers_loaded("import dagwright") == []
    loaded = _layers_loaded("import dagwright\ndagwright.run")
    assert {m.split(".")[1] for m in loaded} >= {"engine", "store"}
    assert "dagwright.api" not in _layers_loaded("from dagwright import component, pipeline")


def test_every_public_name_is_reachable_and_listed() -> None:
    code = (
        "import dagwright\n"
        "from dagwright import *\n"
        "names = dagwright.__all__\n"
        "assert all(n in dir(dagwright) for n in names), 'dir'\n"
        "assert all(getattr(dagwright, n) is globals()[n] for n in names), 'star'\n"
        "from dagwright import run, resume, compile, submit, schedule\n"
        "from dagwright.api import run as api_run\n"
        "from dagwright.remote.api import submit as remote_submit\n"
        "assert run is api_run and submit is remote_submit and dagwright.run is run\n"
        "assert dagwright.engine.__name__ == 'dagwright.engine'\n"
        "try:\n"
        "    dagwright.no_such_name\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "module 'dagwright' has no attribute 'no_such_name'"


def test_dir_lists_the_api_not_what_the_package_imports_for_itself() -> None:
    """``dir(dagwright)`` (a REPL's completion) offers dagwright's names, not ``importlib`` or
    ``TYPE_CHECKING``: each name it lists is public API, a loaded subpackage or a dunder."""
    code = (
        "import types, dagwright\n"
        "odd = [n for n in dir(dagwright) if not n.startswith('__') and n not in dagwright.__all__"
        " and not isinstance(getattr(dagwright, n), types.ModuleType)]\n"
        "print(odd)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_compiler_still_offers_its_writers_by_target_name() -> None:
    """``dagwright.compiler.TARGETS`` (before the target registry, a dict of writers) still
    maps every registered target to its compiler."""
    from dagwright import compiler, targets

    writers = compiler.TARGETS
    assert list(writers) == list(targets.names())
    assert writers["ir"] is targets.get("ir").write
