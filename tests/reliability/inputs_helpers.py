"""What the `inputs` catalogue shares: a project folder with small pipelines, the CLI run as a
real subprocess (optionally with extras made missing), and a snapshot to prove nothing was
written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PIPELINES = {
    "flow.py": """
        from dagwright import Dataset, Input, Output, component, pipeline

        @component
        def make(n: int, out: Output[Dataset]):
            with open(out.path, "w") as f:
                f.write("x" * n)

        @component
        def size(data: Input[Dataset]) -> int:
            return len(open(data.path).read())

        @pipeline
        def flow(n: int = 3, xs: list[int] = [1, 2]):
            made = make(n=n)
            size(data=made.outputs["out"])
    """,
    "apart.py": """
        from dagwright import component, pipeline
        from dagwright.runtimes import Process

        @component(runtime=Process())
        def add(a: int, b: int) -> int:
            return a + b

        @pipeline
        def apart(a: int = 1):
            add(a=a, b=2)
    """,
}

# pipeline files that are wrong in one way each, for the bad-input catalogue
BAD_FILES = {
    "bad_syntax.py": """
        from dagwright import pipeline

        @pipeline
        def broken(n: int = 1:
            pass
    """,
    "bad_import.py": """
        from dagwright import pipeline
        import surely_not_a_module_of_anyone
    """,
    "bad_raise.py": """
        SETTINGS = {}

        def threshold():
            return SETTINGS["threshold"]

        LIMIT = threshold()
    """,
    "uses_kfp.py": """
        import kfp
    """,
    "bad_packages.py": """
        from dagwright import component, pipeline

        @component(packages=["numpy; rm -rf /"])
        def step(n: int) -> int:
            return n
    """,
    "bad_url_package.py": """
        from dagwright import component, pipeline

        @component(packages=["tool @ https://example.com/$(id).whl"])
        def step(n: int) -> int:
            return n
    """,
    "bad_image.py": """
        from dagwright import component, pipeline

        @component(image="python:3.11; rm -rf /")
        def step(n: int) -> int:
            return n
    """,
    "bad_image_space.py": """
        from dagwright import component, pipeline

        @component(image="python 3.11")
        def step(n: int) -> int:
            return n
    """,
    "no_hint.py": """
        from dagwright import component, pipeline

        @component
        def step(n) -> int:
            return n
    """,
    "no_hint_pipeline.py": """
        from dagwright import pipeline

        @pipeline
        def unhinted(n=1):
            pass
    """,
}


# Run the CLI with some top-level modules missing as they are when an extra is not installed,
# so the test runs where the extras are installed: the site-packages folders on sys.path are
# replaced by a folder of links to everything in them but the blocked packages (and their
# dist-info), so Python finds nothing of them, as in an environment without that extra.
_WITHOUT = """
import atexit, os, shutil, sys, tempfile
blocked = set(sys.argv[1].split(",")) - {""}
if blocked:
    farm = tempfile.mkdtemp(prefix="dagwright-without-")
    atexit.register(shutil.rmtree, farm, True)
    sites = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    for site in sites:
        for entry in os.listdir(site):
            stem = entry.split("-")[0].split(".")[0].lower()
            link = os.path.join(farm, entry)
            if stem not in blocked and not os.path.lexists(link):
                os.symlink(os.path.join(site, entry), link)
    sys.path[:] = [p for p in sys.path if p not in sites] + [farm]
    sys.path_importer_cache.clear()
sys.argv = ["dagwright", *sys.argv[2:]]
from dagwright.cli import main
main()
"""


def project(folder: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the pipeline files (and ``extra`` ones) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**PIPELINES, **(extra or {})}.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


def dagwright(
    cwd: Path, *args: str, without: tuple[str, ...] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``dagwright ARGS`` in ``cwd`` with its store at ``cwd/home`` (no bytecode written, so
    a snapshot sees only what dagwright wrote)."""
    env = {
        **os.environ,
        "DAGWRIGHT_HOME": str(cwd / "home"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DAGWRIGHT_TRACKING": "off",
    }
    env.pop("DAGWRIGHT_ARTIFACTS", None)
    command = [sys.executable, "-c", _WITHOUT, ",".join(without), *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder``, with its size and modification time for files (a folder's
    time changes when SQLite's -wal/-shm files of a read come and go, which writes nothing)."""
    seen: dict[str, tuple[int, int]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        is_dir = path.is_dir() and not path.is_symlink()
        seen[str(path.relative_to(folder))] = (
            (-1, 0) if is_dir else (info.st_size, info.st_mtime_ns)
        )
    return seen
