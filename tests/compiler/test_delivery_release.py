"""Inline delivery pins ``dagwright==<version>`` only for a release installed from an index.

Each case is a distribution as an installer leaves it (a ``.dist-info`` folder with its
``METADATA`` and, for a direct install, PEP 610's ``direct_url.json``), made in tmp_path and
read through ``importlib.metadata``: the real install of this machine is never touched. The
CLI cases run ``dagwright`` in a subprocess with such a folder first on ``PYTHONPATH``, where
``importlib.metadata`` finds it before any other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import kfp_corpus as corpus
import pytest
import yaml

import dagwright
from dagwright.compiler.delivery import CodeDelivery
from dagwright.compiler.release import UnreleasedWarning, check_release
from dagwright.errors import ValidationError

VERSION = dagwright.__version__
WHEEL = f"dagwright @ https://files.example/dagwright-{VERSION}-py3-none-any.whl"

PIPELINE = """
import dagwright

@dagwright.component
def double(x: int) -> int:
    return 2 * x

@dagwright.pipeline
def demo(x: int = 2) -> int:
    return double(x=x).output
"""


def installed(
    folder: Path, version: str = VERSION, direct_url: dict[str, object] | str | None = None
) -> metadata.Distribution:
    """A dagwright distribution as pip leaves one in ``folder``."""
    info = folder / f"dagwright-{version}.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: dagwright\nVersion: {version}\n"
    (info / "METADATA").write_text(meta)
    (info / "INSTALLER").write_text("pip\n")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (info / "direct_url.json").write_text(text)
    return metadata.Distribution.at(info)


def test_a_release_from_an_index_is_pinned(tmp_path: Path) -> None:
    assert check_release(installed(tmp_path, "0.3.0"), "0.3.0") == "dagwright==0.3.0"
    assert check_release(installed(tmp_path / "rc", "1.0rc1"), "1.0rc1") == "dagwright==1.0rc1"


@pytest.mark.parametrize(
    ("distribution", "running"),
    [("1.0", "1.0.0"), ("1.0.0", "1.0"), ("1.0.0-rc1", "1.0.0rc1"), ("1.0.0RC1", "1.0.0rc1")],
)
def test_versions_are_compared_as_versions_not_strings(
    tmp_path: Path, distribution: str, running: str
) -> None:
    # the same release written two ways (PEP 440 normalizes both): pip's == matches either
    assert check_release(installed(tmp_path, distribution), running) == f"dagwright=={running}"


def test_a_release_from_a_wheel_file_is_told_of_the_index(tmp_path: Path) -> None:
    where = {"url": "file:///dl/dagwright-0.3.0-py3-none-any.whl", "archive_info": {}}
    with pytest.raises(ValidationError) as err:
        check_release(installed(tmp_path, "0.3.0", where), "0.3.0")
    assert err.value.fix is not None
    assert "--index-url URL of an index holding dagwright==0.3.0" in err.value.fix
    assert "downloaded wheel file or a conda build" in err.value.fix


@pytest.mark.parametrize(
    ("direct_url", "version", "running", "says"),
    [
        (
            {"url": "file:///src/dagwright", "dir_info": {"editable": True}},
            "0.3.0",
            "0.3.0",
            "is an editable install",
        ),
        ({"url": "file:///src/dagwright", "dir_info": {}}, "0.3.0", "0.3.0", "from a folder"),
        (
            {"url": "file:///dist/dagwright-0.3.0-py3-none-any.whl", "archive_info": {}},
            "0.3.0",
            "0.3.0",
            "from a wheel or archive",
        ),
        (
            {"url": "https://git.example/d.git", "vcs_info": {"vcs": "git", "commit_id": "ab"}},
            "0.3.0",
            "0.3.0",
            "from version control",
        ),
        ("{not json", "0.3.0", "0.3.0", "from a direct reference"),
        (None, "0.3.0.dev4", "0.3.0.dev4", "development version"),
        (None, "0.3.0+local.7", "0.3.0+local.7", "local version"),
        (None, "0.2.0", "0.3.0", "(0.3.0) is not the installed distribution (0.2.0)"),
    ],
)
def test_bad_dagwright_that_is_no_release_from_an_index_is_refused(
    tmp_path: Path,
    direct_url: dict[str, object] | str | None,
    version: str,
    running: str,
    says: str,
) -> None:
    with pytest.raises(ValidationError) as err:
        check_release(installed(tmp_path, version, direct_url), running)
    assert err.value.field == "--dagwright"
    assert says in err.value.problem
    assert f"dagwright=={running}" in err.value.problem
    assert "--dagwright" in err.value.fix and "--code image" in err.value.fix


@pytest.mark.parametrize(
    ("direct_url", "suggested"),
    [
        (
            {"url": "https://git.example/d.git", "vcs_info": {"vcs": "git", "commit_id": "ab12"}},
            "dagwright @ git+https://git.example/d.git@ab12",
        ),
        (
            {"url": "https://files.example/dagwright-0.3.0-py3-none-any.whl", "archive_info": {}},
            "dagwright @ https://files.example/dagwright-0.3.0-py3-none-any.whl",
        ),
        ({"url": "file:///dist/dagwright-0.3.0-py3-none-any.whl", "archive_info": {}}, None),
        ({"url": "file:///src/dagwright", "dir_info": {"editable": True}}, None),
        (
            {"url": "https://bot:s3cr3t@git.example/d.git", "vcs_info": {"vcs": "git"}},
            None,
        ),
        ({"url": "https://files.example/d.whl?X-Amz-Signature=s3cr3t", "archive_info": {}}, None),
    ],
    ids=["vcs", "wheel-url", "wheel-file", "editable", "credentials", "signed-url"],
)
def test_the_fix_names_the_source_pods_can_fetch_and_never_a_secret(
    tmp_path: Path, direct_url: dict[str, object], suggested: str | None
) -> None:
    """A VCS or http(s) install is one pods can repeat: the fix names it exactly. A local
    source, or a URL with credentials or a signature, gets the general fix only."""
    with pytest.raises(ValidationError) as err:
        check_release(installed(tmp_path, "0.3.0", direct_url), "0.3.0")
    if suggested is None:
        assert err.value.fix.startswith("give --dagwright with a requirement")
    else:
        assert err.value.fix.startswith(f"give --dagwright '{suggested}'")
        assert "--code image" in err.value.fix
    assert "s3cr3t" not in str(err.value)


def test_bad_dagwright_from_a_source_trees_egg_info_is_refused(tmp_path: Path) -> None:
    """A source tree's ``dagwright.egg-info`` (left by a build) is found on the path like an
    installed distribution, but no installer recorded it."""
    info = tmp_path / "dagwright.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: dagwright\nVersion: {VERSION}\n")
    with pytest.raises(ValidationError, match="no installer record") as err:
        check_release(metadata.Distribution.at(info), VERSION)
    assert err.value.field == "--dagwright"


def test_bad_dagwright_not_installed_at_all_is_refused() -> None:
    with pytest.raises(ValidationError, match="source folder") as err:
        check_release(None, VERSION)
    assert err.value.field == "--dagwright"


def test_given_requirements_and_image_delivery_need_no_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an editable install first on the path, only the default pin is refused."""
    editable = {"url": "file:///src", "dir_info": {"editable": True}}
    installed(tmp_path, direct_url=editable)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValidationError, match="editable") as err:
        CodeDelivery()
    assert err.value.field == "--dagwright"
    assert CodeDelivery(dagwright=WHEEL).requirements(corpus.square.spec)[0] == WHEEL
    assert CodeDelivery(mode="image").dagwright is None
    with pytest.warns(UnreleasedWarning, match="editable install") as caught:
        pinned = CodeDelivery(refuse_unreleased=False)
    assert pinned.dagwright == f"dagwright=={VERSION}"
    assert "--code image" in str(caught[0].message)


def _cli(cwd: Path, dist_folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``dagwright ARGS`` with ``dist_folder``'s distribution found first."""
    paths = [str(dist_folder), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env["DAGWRIGHT_HOME"] = str(cwd / "home")
    return subprocess.run(
        [sys.executable, "-c", "from dagwright.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


EDITABLE = {"url": "file:///src/dagwright", "dir_info": {"editable": True}}
DIRECT = {"url": f"https://files.example/dagwright-{VERSION}-py3-none-any.whl", "archive_info": {}}


@pytest.mark.parametrize("target", ["kfp", "argo"])
@pytest.mark.parametrize(
    ("direct_url", "says"),
    [(EDITABLE, "is an editable install"), (DIRECT, "from a wheel or archive")],
    ids=["editable", "direct-url"],
)
def test_a_dagwright_that_is_no_release_compiles_with_a_warning_saying_what_pods_install(
    tmp_path: Path, target: str, direct_url: dict[str, object], says: str
) -> None:
    """Not a release from an index: the spec is written (the pods' index may hold that
    version, which an offline check cannot see), and stderr says what the pods will install,
    why that is not this code, and the fix; ``--strict`` refuses and writes nothing."""
    (tmp_path / "flow.py").write_text(PIPELINE)
    dists = tmp_path / "site"
    installed(dists, direct_url=direct_url)
    warned = _cli(tmp_path, dists, "compile", "flow.py", "-t", target, "-o", "spec.yaml")
    assert warned.returncode == 0, warned.stderr
    assert f"warning: pods would install dagwright=={VERSION} from the package index" in (
        warned.stderr
    )
    assert says in warned.stderr and "would fail at start" in warned.stderr
    if direct_url is DIRECT:  # a wheel at a URL pods can fetch: the fix names it
        assert f"Fix: give --dagwright 'dagwright @ {DIRECT['url']}'" in warned.stderr
    assert "Fix: give --dagwright" in warned.stderr and "--code image" in warned.stderr
    assert "Traceback" not in warned.stderr
    text = (tmp_path / "spec.yaml").read_text()
    assert f"dagwright=={VERSION}" in "\n".join(str(c) for c in _commands(text, target))

    strict = _cli(tmp_path, dists, "compile", "flow.py", "-t", target, "-o", "s.yaml", "--strict")
    assert strict.returncode == 2, strict.stderr
    assert "field '--dagwright'" in strict.stderr and says in strict.stderr
    assert "Fix: give --dagwright" in strict.stderr and "--code image" in strict.stderr
    assert "Traceback" not in strict.stderr
    assert not (tmp_path / "s.yaml").exists()

    given = _cli(tmp_path, dists, "compile", "flow.py", "-t", target, "--dagwright", WHEEL)
    assert given.returncode == 0, given.stderr
    assert "warning" not in given.stderr
    text = "\n".join(str(c) for c in _commands(given.stdout, target))
    assert "'dagwright @ https://files.example/" in text and "dagwright==" not in text

    image = ("--code", "image", "--image", "registry.example/flow:1")
    by_image = _cli(tmp_path, dists, "compile", "flow.py", "-t", target, *image, "--strict")
    assert by_image.returncode == 0, by_image.stderr
    assert "warning" not in by_image.stderr
    assert "pip" not in "\n".join(str(c) for c in _commands(by_image.stdout, target))


@pytest.mark.parametrize("target", ["kfp", "argo"])
def test_a_release_from_an_index_compiles_without_a_warning(tmp_path: Path, target: str) -> None:
    (tmp_path / "flow.py").write_text(PIPELINE)
    dists = tmp_path / "site"
    installed(dists)
    done = _cli(tmp_path, dists, "compile", "flow.py", "-t", target, "--strict")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert f"dagwright=={VERSION}" in "\n".join(str(c) for c in _commands(done.stdout, target))


def test_the_dockerfile_of_an_editable_install_needs_dagwright(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(PIPELINE)
    dists = tmp_path / "site"
    installed(dists, direct_url={"url": "file:///src/dagwright", "dir_info": {"editable": True}})
    refused = _cli(tmp_path, dists, "dockerfile", "flow.py", "-o", "Dockerfile")
    assert refused.returncode == 2, refused.stderr
    assert "field '--dagwright'" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "Dockerfile").exists()
    given = _cli(tmp_path, dists, "dockerfile", "flow.py", "--dagwright", WHEEL)
    assert given.returncode == 0, given.stderr
    assert "'dagwright @ https://files.example/" in given.stdout


def _commands(text: str, target: str) -> list[list[str]]:
    """Every container's command and args in a compiled spec."""
    docs = [d for d in yaml.safe_load_all(text) if d]
    if target == "kfp":
        executors = docs[0]["deploymentSpec"]["executors"].values()
        return [e["container"]["command"] + e["container"]["args"] for e in executors]
    templates = docs[0]["spec"]["templates"]
    return [
        t["container"]["command"] + t["container"]["args"] for t in templates if "container" in t
    ]


def _with_record(folder: Path) -> metadata.Distribution:
    """A release from an index whose RECORD lists the package's ``__init__.py``."""
    installed(folder)
    info = folder / f"dagwright-{VERSION}.dist-info"
    (info / "RECORD").write_text(
        f"dagwright/__init__.py,,\ndagwright-{VERSION}.dist-info/METADATA,,\n"
    )
    return metadata.Distribution.at(info)


def test_bad_code_run_from_a_folder_over_an_installed_release_is_refused(tmp_path: Path) -> None:
    """The release's files are elsewhere (its RECORD names ``dagwright/__init__.py`` under its
    own folder) than the code running here: pods would run the release, not this code."""
    (tmp_path / "dagwright").mkdir()
    (tmp_path / "dagwright" / "__init__.py").write_text("")
    with pytest.raises(ValidationError) as caught:
        check_release(_with_record(tmp_path), VERSION)
    assert caught.value.field == "--dagwright"
    assert "not from the files the installed release holds" in str(caught.value)


def test_the_release_whose_files_run_here_is_pinned(tmp_path: Path) -> None:
    """Its RECORD's ``dagwright/__init__.py`` is the running module (a link to it here)."""
    (tmp_path / "dagwright").symlink_to(Path(dagwright.__file__).parent, target_is_directory=True)
    assert check_release(_with_record(tmp_path), VERSION) == f"dagwright=={VERSION}"
