"""The target registry: dagwright's own targets, and one installed from a real dist-info.

``tests/targets/toy`` is a folder as pip leaves an installed distribution: a module and its
``toy_target-1.0.dist-info`` declaring ``[dagwright.targets] toy = toy_target:TARGET``. Put on
the path (of this process, or of a ``dagwright`` subprocess), the toy target compiles, submits
and schedules to a folder standing in for its cluster, and is listed with the others.
``toy_twin-1.0.dist-info`` beside it adds a second target declaring a flag of the first
(``--folder``). ``tests/targets/broken`` holds entry points that cannot be loaded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dagwright
from dagwright import Pipeline, component, targets
from dagwright.errors import ValidationError

HERE = Path(__file__).resolve().parent
TOY = HERE / "toy"
BROKEN = HERE / "broken"
FIXTURE = HERE.parent / "fixtures" / "pipelines.py"


@component
def double(x: int) -> int:
    return 2 * x


def _pipeline() -> Pipeline:
    p = Pipeline("toy-pipe")
    first = p.add(double, x=p.param("x", int, 1))
    p.output("out", p.add(double, x=first.output).output)
    return p


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The toy distribution installed in this process: its folder on ``sys.path``."""
    monkeypatch.syspath_prepend(str(TOY))
    return TOY


def cli(tmp_path: Path, *args: str, path: Path | None = TOY) -> subprocess.CompletedProcess[str]:
    """``python -m dagwright.cli ARGS`` with ``path`` (a distribution's folder) importable."""
    paths = [str(path)] if path else []
    env = {
        **os.environ,
        "DAGWRIGHT_HOME": str(tmp_path / "home"),
        "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
        "TOY_CLUSTER": str(tmp_path / "cluster"),
    }
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- dagwright's own --------------------------------------------------------------------------


def test_the_built_in_targets_are_registered_in_order() -> None:
    assert targets.names()[:3] == ["ir", "kfp", "argo"]
    assert [targets.get(n).name for n in ("ir", "kfp", "argo")] == ["ir", "kfp", "argo"]
    assert targets.get("ir").client is None and targets.get("ir").cron_policy is None
    sending = targets.sending()
    assert sending[:2] == ["kfp", "argo"] and "ir" not in sending


def test_listing_and_getting_a_target_imports_no_client_library() -> None:
    code = (
        "import sys\nfrom dagwright import targets\n"
        "targets.names(); targets.sending(); targets.get('kfp'); targets.get('argo')\n"
        "heavy = ('kfp', 'hera', 'dagwright.compiler.kfp', 'dagwright.compiler.argo',"
        " 'dagwright.remote.kfp', 'dagwright.remote.argo')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_cli_options_a_target_declares_are_the_ones_its_compiler_takes() -> None:
    from dagwright.compiler.argo import ArgoOptions
    from dagwright.compiler.kfp import KfpOptions

    delivery = set(targets.DELIVERY_OPTIONS)
    for name, options in (("kfp", KfpOptions), ("argo", ArgoOptions)):
        fields = {f.name for f in dataclasses.fields(options)} - {"delivery"}
        assert set(targets.get(name).cli.compile) == fields | delivery, name


def test_an_unknown_target_is_refused_naming_the_field_and_the_registered_ones() -> None:
    with pytest.raises(ValidationError, match="unknown target 'nomad'") as info:
        dagwright.compile(_pipeline(), target="nomad")
    assert info.value.field == "target" and info.value.pipeline == "toy-pipe"
    assert "['argo', 'ir', 'kfp'" in str(info.value)
    with pytest.raises(ValidationError, match="cannot send to 'ir'") as sent:
        dagwright.submit(_pipeline(), target="ir")
    assert sent.value.field == "target" and "use one of kfp, argo" in str(sent.value)


def test_a_target_registered_from_python_cannot_take_a_built_in_name() -> None:
    with pytest.raises(ValidationError, match="one of dagwright's own") as info:
        targets.register(targets.Target(name="kfp", write=lambda ir, path, options: ""))
    assert info.value.field == "target"


# --- the toy target, installed from its dist-info ----------------------------------------------


def test_the_toy_target_is_found_through_its_entry_point_and_listed(toy: Path) -> None:
    assert "toy" in targets.names() and "toy-quiet" in targets.names()
    found = targets.get("toy")
    assert found.write.__module__ == "toy_target"  # loaded from the installed module
    assert targets.get("toy-quiet").name == "toy-quiet"  # the factory form
    assert "toy" in targets.sending() and "toy-quiet" not in targets.sending()
    with pytest.raises(ValidationError) as info:
        dagwright.compile(_pipeline(), target="nomad")
    assert "'toy'" in str(info.value) and info.value.field == "target"


def test_the_toy_target_compiles_a_pipeline(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "spec.json"
    text = dagwright.compile(_pipeline(), target="toy", path=out, greeting="hello")
    assert json.loads(text) == {
        "toy": "toy-pipe",
        "tasks": ["double", "double-2"],
        "greeting": "hello",
    }
    assert out.read_text() == text
    with pytest.raises(ValidationError, match="the toy target takes no option 'image'") as info:
        dagwright.compile(_pipeline(), target="toy", image="python:3.11")
    assert info.value.field == "image"


def test_the_toy_target_submits_and_schedules_to_its_stand_in(toy: Path, tmp_path: Path) -> None:
    cluster = tmp_path / "cluster"
    sent = dagwright.submit(
        _pipeline(),
        target="toy",
        arguments={"x": 3},
        compile_options={"greeting": "hi"},
        folder=cluster,
        run_name="first",
    )
    record = json.loads(sent.path.read_text())
    assert sent.path == cluster / "first.json"
    assert record["kind"] == "run" and record["arguments"] == {"x": 3}
    assert record["spec"] == {"toy": "toy-pipe", "tasks": ["double", "double-2"], "greeting": "hi"}
    scheduled = dagwright.schedule(_pipeline(), target="toy", cron="0 3 * * *", folder=cluster)
    record = json.loads(scheduled.path.read_text())
    assert record["kind"] == "schedule" and record["cron"] == "0 3 * * *"
    with pytest.raises(ValidationError, match="cannot send to 'toy-quiet'") as info:
        dagwright.submit(_pipeline(), target="toy-quiet", folder=cluster)
    assert "toy" in str(info.value).split("use one of")[1]


def test_the_cli_compiles_for_the_toy_target_and_lists_it(tmp_path: Path) -> None:
    proc = cli(tmp_path, "compile", f"{FIXTURE}:greet", "--target", "toy", "-o", "greet.json")
    assert proc.returncode == 0, proc.stderr
    spec = json.loads((tmp_path / "greet.json").read_text())
    assert spec["toy"] == "greet" and spec["tasks"] == ["shout", "shout-2"]
    refused = cli(tmp_path, "compile", f"{FIXTURE}:greet", "--target", "nomad")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "unknown target 'nomad'" in refused.stderr and "'toy'" in refused.stderr
    # without the distribution on the path, there is no toy target
    gone = cli(tmp_path, "compile", f"{FIXTURE}:greet", "--target", "toy", path=None)
    assert gone.returncode == 2 and "unknown target 'toy'" in gone.stderr


def test_the_cli_offers_the_toy_target_and_its_own_options(tmp_path: Path) -> None:
    helped = cli(tmp_path, "compile", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "ir, kfp, argo, toy" in " ".join(helped.stdout.split())
    assert "--greeting" in helped.stdout
    proc = cli(tmp_path, "compile", f"{FIXTURE}:greet", "--target", "toy", "--greeting", "hey")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["greeting"] == "hey"
    sent = cli(tmp_path, "submit", "--help")
    assert "--folder" in sent.stdout and "toy" in " ".join(sent.stdout.split())


def test_the_cli_submits_and_schedules_to_the_toy_target(tmp_path: Path) -> None:
    cluster = tmp_path / "elsewhere"
    proc = cli(
        tmp_path,
        "submit",
        f"{FIXTURE}:greet",
        "--target",
        "toy",
        "--folder",
        str(cluster),
        "--run-name",
        "first",
        "-p",
        "word=yo",
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads((cluster / "first.json").read_text())
    assert record["kind"] == "run" and record["arguments"] == {"word": "yo"}
    assert record["spec"]["tasks"] == ["shout", "shout-2"]
    proc = cli(
        tmp_path, "schedule", "add", f"{FIXTURE}:greet", "--target", "toy", "--cron", "0 3 * * *"
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "cluster" / "greet.json").read_text())  # $TOY_CLUSTER
    assert record["kind"] == "schedule" and record["cron"] == "0 3 * * *"


def test_two_installed_targets_that_declare_the_same_flag_both_take_it(tmp_path: Path) -> None:
    # toy_twin-1.0.dist-info declares --folder too: one option, read by either target
    helped = cli(tmp_path, "submit", "--help")
    assert helped.stdout.count("--folder") == 1, helped.stdout
    twin, toy = tmp_path / "twin", tmp_path / "toy"
    for target, folder in (("toy-twin", twin), ("toy", toy)):
        proc = cli(
            tmp_path,
            "submit",
            f"{FIXTURE}:greet",
            "--target",
            target,
            "--folder",
            str(folder),
            "--run-name",
            "first",
        )
        assert proc.returncode == 0, proc.stderr
    assert json.loads((twin / "first.json").read_text())["kind"] == "twin-run"
    assert json.loads((toy / "first.json").read_text())["kind"] == "run"
    proc = cli(
        tmp_path,
        "schedule",
        "add",
        f"{FIXTURE}:greet",
        "--target",
        "toy-twin",
        "--cron",
        "0 3 * * *",
        "--folder",
        str(twin),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((twin / "greet.json").read_text())["kind"] == "twin-schedule"
    # a target that reads neither is still refused, naming both that do
    refused = cli(tmp_path, "submit", f"{FIXTURE}:greet", "--target", "kfp", "--folder", "x")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--folder is for --target toy or --target toy-twin" in refused.stderr


@pytest.mark.parametrize(
    "args, field, said",
    [
        (
            ("submit", "--target", "kfp", "--folder", "x"),
            "--folder",
            "--folder is for --target toy",
        ),
        (("submit", "--target", "toy", "--lint"), "--lint", "--lint is for --target argo"),
        (
            (
                "schedule",
                "add",
                "--target",
                "toy",
                "--cron",
                "0 3 * * *",
                "--concurrency",
                "forbid",
            ),
            "--concurrency",
            "the toy target takes no schedule policies",
        ),
        (
            ("schedule", "add", "--target", "toy", "--cron", "0 3 * * * *"),
            "--cron",
            "not five fields",
        ),
        (("submit", "--target", "ir"), "--target", "cannot send to 'ir'"),
    ],
)
def test_the_cli_refuses_what_the_toy_target_does_not_take(
    tmp_path: Path, args: tuple[str, ...], field: str, said: str
) -> None:
    command = list(args)
    at = 2 if command[0] == "schedule" else 1
    command[at:at] = [f"{FIXTURE}:greet"]
    proc = cli(tmp_path, *command)
    assert proc.returncode == 2, proc.stderr
    assert f"field '{field}'" in proc.stderr and said in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "cluster").exists()


# --- entry points that cannot be loaded ---------------------------------------------------------


@pytest.mark.parametrize(
    "name, said",
    [
        (
            "broken-import",
            "entry point 'broken-import = broken_missing:TARGET' (from broken-targets 1.0): "
            "ModuleNotFoundError",
        ),
        ("broken-type", "gives a int, not a dagwright.targets.Target"),
        ("broken-name", "gives a target called 'something-else'"),
    ],
)
def test_a_broken_entry_point_is_a_clear_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, said: str
) -> None:
    monkeypatch.syspath_prepend(str(BROKEN))
    assert name in targets.names()  # listed without being imported
    with pytest.raises(ValidationError) as info:
        dagwright.compile(_pipeline(), target=name)
    assert info.value.field == "target" and said in str(info.value)
    assert "broken-targets" in str(info.value) or "broken_targets" in str(info.value)
    assert "kfp" in targets.sending()  # the others still work


def test_the_cli_names_a_broken_entry_point_without_a_traceback(tmp_path: Path) -> None:
    proc = cli(tmp_path, "compile", f"{FIXTURE}:greet", "--target", "broken-import", path=BROKEN)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "entry point 'broken-import = broken_missing:TARGET'" in proc.stderr
    assert "dagwright_toy_dependency_that_is_not_installed" in proc.stderr
