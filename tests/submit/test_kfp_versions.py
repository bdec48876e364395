"""Pipeline versions on Kubeflow Pipelines: ``submit --upload [--version]``, ``submit
--version`` of an uploaded version, ``dagwright pipelines versions``, and
``dagwright.remote.kfp_versions``.

Against the KFP API stand-in (``kfp_api_server.py``), which holds every request kfp.Client
sends to the upstream v2beta1 swagger; each test asserts it found no violation.
"""

from __future__ import annotations

import itertools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from kfp_api_server import KfpApiServer

from dagwright.cli import cli
from dagwright.errors import ValidationError
from dagwright.remote import kfp as kfp_submit
from dagwright.remote import kfp_versions
from dagwright.remote.kfp_versions import default_version, package_digest

NIGHTLY = str(Path(__file__).with_name("nightly.py")) + ":nightly"


def dagwright(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def version_refs(server: KfpApiServer) -> list[Any]:
    return [c.body.get("pipeline_version_reference") for c in server.calls("RunService_CreateRun")]


def changed(package: Path, folder: Path) -> Path:
    """The package with another default for ``times``: another spec, another digest."""
    spec = yaml.safe_load(package.read_text())
    spec["root"]["inputDefinitions"]["parameters"]["times"]["defaultValue"] = 7
    out = folder / "tiny-changed.yaml"
    out.write_text(yaml.safe_dump(spec))
    return out


def test_an_unchanged_pipeline_is_uploaded_once_and_its_version_run_again(
    kfp_server: KfpApiServer,
) -> None:
    """Each submit compiles afresh; the second finds the version named after the same digest
    and runs it without uploading."""
    first = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--upload")
    second = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--upload")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert kfp_server.violations == []
    assert len(kfp_server.calls("UploadPipelineVersion")) == 1
    assert len(kfp_server.calls("PipelineService_CreatePipeline")) == 1
    (pipeline_id,) = kfp_server.pipelines
    (version_id,) = kfp_server.versions
    ref = {"pipeline_id": pipeline_id, "pipeline_version_id": version_id}
    assert version_refs(kfp_server) == [ref, ref]
    name = kfp_server.versions[version_id]["name"]
    assert f"version '{name}' of pipeline 'nightly' holds this package already" in second.output
    # the lookup asked the server for that one name (EQUALS filter), not every version
    lookup = kfp_server.calls("PipelineService_ListPipelineVersions")[-1]
    predicates = json.loads(lookup.query["filter"])["predicates"]
    assert [(p["key"], p.get("stringValue", p.get("string_value"))) for p in predicates] == [
        ("name", name)
    ]


def test_the_default_version_is_the_digest_and_a_changed_package_gets_a_new_one(
    kfp_server: KfpApiServer, sdk_package: Path, tmp_path: Path
) -> None:
    """The digest is of the documents, not the text: the same spec written another way (key
    order, flow style) is the same version."""
    relaid = tmp_path / "tiny-relaid.yaml"
    relaid.write_text(yaml.safe_dump(yaml.safe_load(sdk_package.read_text()), sort_keys=False))
    assert package_digest(relaid) == package_digest(sdk_package)
    other = changed(sdk_package, tmp_path)
    assert package_digest(other) != package_digest(sdk_package)

    results = [
        kfp_submit.submit(p, host=kfp_server.url, upload=True, echo=None)
        for p in (sdk_package, relaid, other)
    ]
    assert kfp_server.violations == []
    uploads = kfp_server.calls("UploadPipelineVersion")
    assert [u.query["name"] for u in uploads] == [
        default_version(package_digest(sdk_package)),
        default_version(package_digest(other)),
    ]
    assert (
        uploads[0].query["description"] == f"dagwright package sha256:{package_digest(sdk_package)}"
    )
    ids = [r.pipeline_version_id for r in results]
    assert ids[0] == ids[1] != ids[2]
    assert {r.pipeline_id for r in results} == set(kfp_server.pipelines)


def test_a_version_name_taken_by_another_package_is_refused_before_any_run(
    kfp_server: KfpApiServer, sdk_package: Path, tmp_path: Path
) -> None:
    kfp_submit.submit(sdk_package, host=kfp_server.url, upload=True, version_name="v1", echo=None)
    with pytest.raises(ValidationError) as refused:
        kfp_submit.submit(
            changed(sdk_package, tmp_path),
            host=kfp_server.url,
            upload=True,
            version_name="v1",
            echo=None,
        )
    assert refused.value.field == "--version"
    assert "has a version 'v1' already, of another package" in refused.value.problem
    assert "new --version" in refused.value.fix
    assert kfp_server.violations == []
    assert len(kfp_server.calls("UploadPipelineVersion")) == 1
    assert len(kfp_server.calls("RunService_CreateRun")) == 1
    # the same package under that name is run from it
    again = kfp_submit.submit(
        sdk_package, host=kfp_server.url, upload=True, version_name="v1", echo=None
    )
    assert again.pipeline_version_id == next(iter(kfp_server.versions))


def test_submit_version_runs_a_chosen_uploaded_version_without_uploading(
    kfp_server: KfpApiServer,
) -> None:
    for name in ("v1", "v2"):
        made = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--upload", "--version", name)
        assert made.exit_code == 0, made.output
    v1 = next(k for k, v in kfp_server.versions.items() if v["name"] == "v1")
    out = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--version", "v1", "-p", "rows=3")
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    assert len(kfp_server.calls("UploadPipelineVersion")) == 2
    run = kfp_server.calls("RunService_CreateRun")[-1].body
    assert run["pipeline_version_reference"]["pipeline_version_id"] == v1
    assert "pipeline_spec" not in run
    assert run["runtime_config"]["parameters"] == {"rows": 3}
    assert f"using version 'v1' of pipeline 'nightly' ({v1})" in out.output

    missing = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--version", "v9")
    assert missing.exit_code == 2, missing.output
    assert "field '--version'" in missing.output and "has no version 'v9'" in missing.output
    assert "dagwright pipelines versions nightly --target kfp" in missing.output
    assert len(kfp_server.calls("RunService_CreateRun")) == 3


def test_schedule_version_uses_a_chosen_uploaded_version(kfp_server: KfpApiServer) -> None:
    made = dagwright("submit", NIGHTLY, "--host", kfp_server.url, "--upload", "--version", "v1")
    assert made.exit_code == 0, made.output
    (pipeline_id,) = kfp_server.pipelines
    (version_id,) = kfp_server.versions
    out = dagwright(
        "schedule", "add", NIGHTLY, "--target", "kfp", "--host", kfp_server.url, "--version", "v1"
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    (recurring,) = [c.body for c in kfp_server.calls("RecurringRunService_CreateRecurringRun")]
    assert recurring["pipeline_version_reference"] == {
        "pipeline_id": pipeline_id,
        "pipeline_version_id": version_id,
    }
    assert "pipeline_spec" not in recurring


def test_pipelines_versions_lists_oldest_first_across_pages(
    kfp_server: KfpApiServer, sdk_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages = [sdk_package, changed(sdk_package, tmp_path)]
    for package in packages:
        kfp_submit.submit(package, host=kfp_server.url, upload=True, echo=None)
    # a version uploaded by other means (the KFP UI): no digest recorded
    foreign = kfp_server._version(next(iter(kfp_server.pipelines)), "by-hand", {})
    monkeypatch.setattr(kfp_versions, "PAGE_SIZE", 2)
    before = len(kfp_server.calls("PipelineService_ListPipelineVersions"))

    out = dagwright("pipelines", "versions", "tiny", "--target", "kfp", "--host", kfp_server.url)
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    tokens = [
        c.query.get("page_token", "")
        for c in kfp_server.calls("PipelineService_ListPipelineVersions")[before:]
    ]
    assert tokens == ["", "2"]
    lines = out.output.splitlines()
    assert lines[0].split() == ["VERSION", "CREATED", "DIGEST", "ID"]
    digests = [package_digest(p) for p in packages]
    assert [line.split()[0] for line in lines[1:]] == [
        default_version(digests[0]),
        default_version(digests[1]),
        "by-hand",
    ]
    assert lines[1].split()[3] == digests[0][:16] and lines[3].split()[3] == "-"
    assert lines[3].split()[-1] == foreign["pipeline_version_id"]

    as_json = dagwright("pipelines", "versions", "tiny", "--host", kfp_server.url, "--json")
    listed = json.loads(as_json.output)
    assert [v["digest"] for v in listed] == [*digests, None]
    assert python_names(kfp_server) == [v["name"] for v in listed]


def python_names(server: KfpApiServer) -> list[str]:
    return [v.name for v in kfp_submit.versions("tiny", host=server.url)]


def test_pipelines_versions_refuses_an_unknown_pipeline_and_other_targets(
    kfp_server: KfpApiServer,
) -> None:
    unknown = dagwright("pipelines", "versions", "nope", "--host", kfp_server.url)
    assert unknown.exit_code == 2, unknown.output
    assert "KFP has no pipeline named 'nope'" in unknown.output and "--upload" in unknown.output
    argo = dagwright("pipelines", "versions", "tiny", "--target", "argo")
    assert argo.exit_code == 2 and "field '--target'" in argo.output
    assert kfp_server.violations == []
    assert len(kfp_server.requests) == len(kfp_server.calls("HealthzService_GetHealthz")) + 1


def test_arguments_of_a_chosen_version_are_checked_against_its_own_spec(
    kfp_server: KfpApiServer, sdk_package: Path, tmp_path: Path
) -> None:
    """The package at hand may have moved on since the version was uploaded: here it lost the
    parameter ``word``, which version v1 still takes."""
    kfp_submit.submit(sdk_package, host=kfp_server.url, upload=True, version_name="v1", echo=None)
    spec = yaml.safe_load(sdk_package.read_text())
    del spec["root"]["inputDefinitions"]["parameters"]["word"]
    newer = tmp_path / "tiny-newer.yaml"
    newer.write_text(yaml.safe_dump(spec))

    ran = kfp_submit.submit(
        newer, host=kfp_server.url, version_name="v1", arguments={"word": "yo"}, echo=None
    )
    assert ran.pipeline_version_id == next(iter(kfp_server.versions))
    with pytest.raises(ValidationError) as refused:
        kfp_submit.submit(
            newer, host=kfp_server.url, version_name="v1", arguments={"wrod": "yo"}, echo=None
        )
    assert refused.value.field == "wrod" and "times" in refused.value.fix
    assert kfp_server.violations == []
    assert len(kfp_server.calls("RunService_CreateRun")) == 2


def test_two_submits_racing_on_the_same_package_make_one_pipeline_and_one_version(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    """Both look before either makes anything (the stand-in holds each answer until the other
    client has asked too): one create and one upload win, the other gets KFP's 409 and takes
    what the winner made."""

    def both_ask_first() -> Any:
        barrier, calls = threading.Barrier(2), itertools.count()

        def hold() -> None:
            if next(calls) < 2:
                barrier.wait(timeout=20)

        return hold

    kfp_server.hold_answers["PipelineService_GetPipelineByName"] = both_ask_first()
    kfp_server.hold_answers["PipelineService_ListPipelineVersions"] = both_ask_first()
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda _: kfp_submit.submit(
                    sdk_package, host=kfp_server.url, upload=True, echo=None
                ),
                range(2),
            )
        )
    (pipeline_id,) = kfp_server.pipelines
    (version_id,) = kfp_server.versions
    assert [(r.pipeline_id, r.pipeline_version_id) for r in results] == [
        (pipeline_id, version_id)
    ] * 2
    assert [c.status for c in kfp_server.calls("PipelineService_CreatePipeline")] == [200, 409]
    assert sorted(c.status for c in kfp_server.calls("UploadPipelineVersion")) == [200, 409]
    # the only refusals are the two the race makes
    assert len(kfp_server.violations) == 2
    assert all("already" in v for v in kfp_server.violations), kfp_server.violations


def test_submit_from_an_editable_install_is_refused_unless_an_index_is_named(
    kfp_server: KfpApiServer, tmp_path: Path
) -> None:
    """A real ``dagwright submit`` process with an editable dagwright found first: refused
    before any request (every pod would fail installing it), ``--strict`` or not; with
    ``--index-url`` (an index said to hold the version) the warning on stderr, and the run
    sent with the pin it names."""
    import os
    import subprocess
    import sys

    import dagwright

    version = dagwright.__version__
    info = tmp_path / "site" / f"dagwright-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: dagwright\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    editable = {"url": "file:///src/dagwright", "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(editable))
    paths = [str(info.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}

    def submit(*more: str) -> subprocess.CompletedProcess[str]:
        args = ["submit", NIGHTLY, "--target", "kfp", "--host", kfp_server.url, *more]
        code = "from dagwright.cli import main; main()"
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for strict in ((), ("--strict",)):
        refused = submit(*strict)
        assert refused.returncode == 2, refused.stderr
        assert "field '--dagwright'" in refused.stderr and "Traceback" not in refused.stderr
        assert "editable install" in refused.stderr and "--code image" in refused.stderr
        assert kfp_server.requests == []  # refused before connecting

    warned = submit("--index-url", "https://pypi.example.com/simple")
    assert warned.returncode == 0, warned.stderr
    assert f"warning: pods would install dagwright=={version} from the package index" in (
        warned.stderr
    )
    (run,) = [c.body for c in kfp_server.calls("RunService_CreateRun")]
    executors = run["pipeline_spec"]["deploymentSpec"]["executors"].values()
    assert all(f"dagwright=={version}" in str(e["container"]["command"]) for e in executors)
    assert kfp_server.violations == []
