"""``--install-packages``: a KFP lightweight component's packages this environment lacks are
pip-installed once per requirement set into the store, never into this environment, and its
steps run in a process of their own with them. Real ``dagwright run`` processes and a real pip
reaching PyPI (skipped when it cannot)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kfp")
from kfp import compiler, dsl  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "pyjokes==0.8.3"  # small, pure Python, and not a dependency of anything here


@dsl.component(base_image="python:3.11", packages_to_install=[PACKAGE])
def joke(lines: int) -> int:
    import importlib.metadata

    import kfp
    import pyjokes

    assert importlib.metadata.version("pyjokes") == "0.8.3"
    assert "kfp-packages" not in kfp.__file__  # the installed kfp runs the step
    return lines + len(pyjokes.get_joke().splitlines())


@dsl.pipeline(name="jokes")
def jokes(lines: int = 1) -> int:
    return joke(lines=lines).output


@dsl.component(base_image="python:3.11", packages_to_install=["surely-not-on-pypi-xyz-17==1.0"])
def impossible() -> int:
    return 1


@dsl.pipeline(name="impossible")
def impossibles() -> int:
    return impossible().output


def _env(log: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if log is not None:
        env["PIP_LOG"] = str(log)  # pip appends what it did: how many installs ran
    return env


def _cli(folder: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=folder,
        env=_env(log),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def reachable(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip when pip cannot fetch the package (no PyPI here)."""
    folder = tmp_path_factory.mktemp("download")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), PACKAGE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"pip cannot fetch {PACKAGE} here: {done.stderr.strip()[-200:]}")


def _importable_here() -> bool:
    return (
        subprocess.run([sys.executable, "-c", "import pyjokes"], capture_output=True).returncode
        == 0
    )


def _freeze() -> str:
    return subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout


def _installs(log: Path) -> int:
    text = log.read_text() if log.exists() else ""
    return text.count("Successfully installed pyjokes")


def _spec(tmp_path: Path, pipeline: object = jokes) -> Path:
    spec = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(spec))
    return spec


def test_without_the_flag_the_run_fails_naming_both_fixes(tmp_path: Path) -> None:
    assert not _importable_here()  # else the test proves nothing
    refused = _cli(tmp_path, "run", str(_spec(tmp_path)), "--root", "store")
    said = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "component 'joke' needs 'pyjokes==0.8.3'" in said, said
    assert "Fix: pip install pyjokes==0.8.3; or run with --install-packages" in said
    assert not (tmp_path / "store" / "kfp-packages").exists()  # nothing installed


def test_packages_install_once_into_the_store_and_not_this_environment(
    tmp_path: Path, reachable: None
) -> None:
    before = _freeze()
    spec, log = _spec(tmp_path), tmp_path / "pip.log"
    for _ in range(2):
        done = _cli(tmp_path, "run", str(spec), "--root", "store", "--install-packages", log=log)
        assert done.returncode == 0, done.stderr
    assert _installs(log) == 1  # the second run found the folder
    (folder,) = (p for p in (tmp_path / "store" / "kfp-packages").iterdir() if p.is_dir())
    assert len(folder.name) == 64 and (folder / "pyjokes").is_dir()
    assert not list(folder.glob("kfp*"))  # never kfp itself
    assert not _importable_here() and _freeze() == before  # this environment is untouched


def test_two_concurrent_runs_install_once(tmp_path: Path, reachable: None) -> None:
    spec, log = _spec(tmp_path), tmp_path / "pip.log"
    command = [sys.executable, "-m", "dagwright.cli", "run", str(spec), "--install-packages"]
    runs = [
        subprocess.Popen(
            [*command, "--root", "store", "-q"],
            cwd=tmp_path,
            env=_env(log),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    assert _installs(log) == 1
    folders = [p for p in (tmp_path / "store" / "kfp-packages").iterdir() if p.is_dir()]
    assert len(folders) == 1 and not folders[0].name.startswith(".")


def test_a_failed_install_leaves_no_half_folder(tmp_path: Path, reachable: None) -> None:
    spec = _spec(tmp_path, impossibles)
    done = _cli(tmp_path, "run", str(spec), "--root", "store", "--install-packages", "-q")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "surely-not-on-pypi-xyz-17" in done.stderr and "install_packages" in done.stderr
    assert not [p for p in (tmp_path / "store" / "kfp-packages").iterdir() if p.is_dir()]


def test_a_run_refused_for_its_packages_resumes_with_the_flag(
    tmp_path: Path, reachable: None
) -> None:
    import dagwright

    spec = _spec(tmp_path)
    failed = dagwright.run(str(spec), root=tmp_path / "store", echo=False)
    assert not failed.succeeded and "--install-packages" in failed.steps[0].error
    resumed = dagwright.resume(
        failed.run_id, root=tmp_path / "store", echo=False, install_packages=True
    )
    assert resumed.succeeded, resumed.steps[0].error
    assert resumed.outputs["Output"] > 1  # 1 + the joke's lines, from the installed pyjokes
    assert not _importable_here()  # the test's own interpreter did not get it either


def _wheel(folder: Path, name: str, version: str, requires: list[str]) -> None:
    """A minimal pure-Python wheel of one empty package, written by hand (pip reads it)."""
    import zipfile

    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "",
        f"{info}/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def test_kfp_brought_along_as_a_dependency_and_stale_halves_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.kfp_steps.packages import ensure, folder_of

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "needs_kfp_xyz", "1.0", ["kfp>=99"])
    _wheel(wheels, "kfp", "99.0", [])  # a kfp that would shadow the installed one
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: only these wheels
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    stale = tmp_path / "kfp-packages" / f".{folder_of(['needs_kfp_xyz==1.0'], '').name}.x1"
    (stale / "half").mkdir(parents=True)  # what an install killed midway left
    folder = ensure(["needs_kfp_xyz==1.0"], tmp_path / "kfp-packages")
    assert not stale.exists()
    assert (folder / "needs_kfp_xyz" / "__init__.py").is_file()
    assert not list(folder.glob("kfp*"))  # pip installed it; it was removed
    assert ensure(["needs_kfp_xyz==1.0"], tmp_path / "kfp-packages") == folder
