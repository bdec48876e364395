"""Python lightweight KFP components run in-process through kfp's Executor: each test compiles
its component with kfp, builds the ComponentSpec the importer makes (``kfp_specs.py``) and runs
it through ``executor.run_step`` or ``dagwright.run``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("kfp")

import kfp_step_components as comps  # noqa: E402
from kfp_specs import pipeline_of, spec_of  # noqa: E402

import dagwright  # noqa: E402
from dagwright.errors import ValidationError  # noqa: E402
from dagwright.executor import Step, run_step  # noqa: E402
from dagwright.store import remote  # noqa: E402
from dagwright.verify.kfp_local import init


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".partial-" in p.name]


def test_parameters_of_every_type_reach_the_function_typed_as_declared(tmp_path: Path) -> None:
    spec = spec_of(comps.typed_params, tmp_path)
    step = Step(
        spec,
        "typed-params",
        parameters={
            "text": "hi",
            "count": 3,
            "ratio": 1.25,
            "flag": False,
            "items": [1, 2, [3]],
            "mapping": {"k": 1, "n": {"m": 2}},
        },
    )
    outcome = run_step(step)
    assert outcome.values["kinds"] == ["str", "int", "float", "bool", "list", "dict", "int"]
    # the default of the KFP definition (7) is used; NUMBER_INTEGER stays an int
    assert outcome.values["total"] == 10 and type(outcome.values["total"]) is int
    # integers inside lists and dicts stay integers (kfp.local makes them floats)
    assert outcome.values["echo"] == {"items": [1, 2, [3]], "mapping": {"k": 1, "n": {"m": 2}}}
    assert type(outcome.values["echo"]["items"][0]) is int
    assert outcome.values["ratio"] == 2.5 and type(outcome.values["ratio"]) is float


def test_an_integral_float_given_to_an_int_parameter_arrives_as_an_int(tmp_path: Path) -> None:
    """KFP's YAML writes int constants as 1.0; the function still gets an int."""
    spec = spec_of(comps.typed_params, tmp_path)
    params = {"text": "", "count": 2.0, "ratio": 1, "flag": True, "items": [], "mapping": {}}
    outcome = run_step(Step(spec, "t", parameters=params))
    assert outcome.values["kinds"][1] == "int" and outcome.values["kinds"][2] == "float"


def test_artifacts_in_and_out_with_metadata_are_published_atomically(tmp_path: Path) -> None:
    make, fit = spec_of(comps.make_data, tmp_path), spec_of(comps.train, tmp_path)
    data_uri = str(tmp_path / "run" / "make" / "data")
    made = run_step(
        Step(make, "make", parameters={"text": "ab", "times": 3}, outputs={"data": data_uri})
    )
    assert made.values == {"Output": 6}
    data = made.artifacts["data"]
    assert (data.uri, data.metadata, type(data).__name__) == (data_uri, {"rows": 3}, "Dataset")
    assert Path(data_uri).read_text() == "ababab" and data.digest
    given = data.to_dict()
    given["metadata"]["note"] = "from upstream"
    outs = {name: str(tmp_path / "run" / "train" / name) for name in ("model", "metrics")}
    trained = run_step(Step(fit, "train", artifacts={"data": given}, outputs=outs))
    assert trained.values == {"Output": "from upstream"}
    model, metrics = trained.artifacts["model"], trained.artifacts["metrics"]
    assert model.metadata == {"framework": "upper", "source_rows": 3}
    assert Path(outs["model"]).read_text() == "ABABAB"
    # log_metric: the metadata, and (as dagwright's Metrics) the file holds them as JSON
    assert type(metrics).__name__ == "Metrics" and metrics.metadata == {"length": 6.0}
    assert json.loads(Path(outs["metrics"]).read_text()) == {"length": 6.0}
    assert not _partials(tmp_path / "run")


def test_output_path_parameters_are_read_from_their_files_typed(tmp_path: Path) -> None:
    outcome = run_step(Step(spec_of(comps.write_paths, tmp_path), "paths"))
    assert outcome.values == {"number": 42, "words": ["a", 1, 2.5], "flag": True}
    assert type(outcome.values["number"]) is int


def test_a_list_of_artifacts_arrives_as_a_list(tmp_path: Path) -> None:
    parts = []
    for i, text in enumerate(["x", "y", "z"]):
        path = tmp_path / f"part{i}"
        path.write_text(text)
        parts.append({"type": "Dataset", "name": "data", "uri": str(path), "metadata": {}})
    outcome = run_step(Step(spec_of(comps.join_all, tmp_path), "join", artifacts={"parts": parts}))
    assert outcome.values == {"Output": "x+y+z"}


def test_a_component_that_raises_fails_with_its_own_traceback(tmp_path: Path) -> None:
    spec = spec_of(comps.fails, tmp_path)
    ir = pipeline_of("raising", [("fails", spec, {"limit": {"constant": 5}})])
    result = dagwright.run(ir, root=tmp_path / "store", echo=False)
    (step,) = result.steps
    assert step.status == "failed"
    assert step.error == "ValueError: limit 5 is too high"
    # from the component's code: neither dagwright's frames nor kfp's executor
    assert step.traceback.splitlines()[1].startswith('  File "<kfp component fails>"')
    assert "raise ValueError" in step.traceback and "kfp/dsl/executor.py" not in step.traceback


def test_a_failed_step_publishes_nothing(tmp_path: Path) -> None:
    spec = spec_of(comps.fails_after_writing, tmp_path)
    target = tmp_path / "run" / "data"
    with pytest.raises(RuntimeError, match="stopped midway"):
        run_step(Step(spec, "half", outputs={"data": str(target)}))
    assert not target.exists() and not _partials(tmp_path / "run")


def test_a_package_that_is_not_installed_fails_the_step_naming_it(tmp_path: Path) -> None:
    spec = spec_of(comps.needs_missing_package, tmp_path)
    with pytest.raises(ValidationError) as caught:
        run_step(Step(spec, "needs"))
    message = str(caught.value)
    assert "'surely-not-installed-pkg-xyz==1.0'" in message
    assert "Fix: pip install surely-not-installed-pkg-xyz==1.0" in message
    assert "kfp" not in message.split("needs", 1)[1].split("not installed")[0]  # kfp is fine


def test_installed_packages_let_the_step_run(tmp_path: Path) -> None:
    outcome = run_step(Step(spec_of(comps.needs_installed_packages, tmp_path), "ok"))
    assert outcome.values == {"Output": "a: 1"}


def test_a_kfp_pipeline_runs_through_the_engine_with_cache_and_prints(tmp_path: Path) -> None:
    make, fit = spec_of(comps.make_data, tmp_path), spec_of(comps.train, tmp_path)
    ir = pipeline_of(
        "chain",
        [
            ("make", make, {"text": {"param": "text"}, "times": {"constant": 2}}),
            ("train", fit, {"data": {"task": "make", "output": "data"}}),
        ],
        params=[{"name": "text", "type": "str"}],
        outputs={"note": {"task": "train", "output": "Output"}},
    )
    first = dagwright.run(ir, root=tmp_path / "store", echo=False, cache=True, text="q")
    assert first.succeeded and first.outputs == {"note": "none"}
    make_step = next(s for s in first.steps if s.task == "make")
    assert make_step.stdout == "made 2\n"
    model = next(s for s in first.steps if s.task == "train").outputs["model"]
    assert Path(remote.local_path(model.uri)).read_text() == "QQ"
    again = dagwright.run(ir, root=tmp_path / "store", echo=False, cache=True, text="q")
    assert [s.cached for s in again.steps] == [True, True]
    assert again.outputs == first.outputs


def test_twenty_parallel_steps_keep_their_own_inputs_and_prints(tmp_path: Path) -> None:
    spec = spec_of(comps.shout, tmp_path)
    words = [f"word{i}" for i in range(20)]
    tasks = [
        (f"shout-{i}", spec, {"word": {"constant": w}, "pause": {"constant": 0.5}})
        for i, w in enumerate(words)
    ]
    outputs = {f"o{i}": {"task": f"shout-{i}", "output": "Output"} for i in range(20)}
    result = dagwright.run(
        pipeline_of("many", tasks, outputs=outputs), root=tmp_path / "s", echo=False
    )
    assert result.succeeded
    assert result.outputs == {f"o{i}": w.upper() for i, w in enumerate(words)}
    for i, w in enumerate(words):
        step = next(s for s in result.steps if s.task == f"shout-{i}")
        assert step.stdout == f"start {w}\nend {w}\n"
        loud = step.outputs["loud"]
        assert loud.metadata == {"word": w}
        assert Path(remote.local_path(loud.uri)).read_text() == w.upper()
    starts = sorted(s.started for s in result.steps)
    assert starts[-1] < min(s.ended for s in result.steps)  # all 20 ran at the same time
    assert os.getcwd() != str(tmp_path)  # nothing changed the working folder


def test_a_kfp_step_runs_under_the_process_runtime(tmp_path: Path) -> None:
    from dagwright.runtimes.registry import Process

    make = spec_of(comps.make_data, tmp_path)
    make.runtime = Process()
    ir = pipeline_of(
        "apart", [("make", make, {"text": {"constant": "z"}, "times": {"constant": 4}})]
    )
    result = dagwright.run(ir, root=tmp_path / "store", echo=False)
    (step,) = result.steps
    assert step.status == "succeeded", step.traceback
    assert step.outputs["Output"] == 4 and step.stdout == "made 4\n"
    assert step.outputs["data"].metadata == {"rows": 4}
    assert Path(remote.local_path(step.outputs["data"].uri)).read_text() == "zzzz"


def test_outputs_match_kfp_local_for_the_same_component(tmp_path: Path) -> None:
    """kfp.local (SubprocessRunner without a venv: the YAML pins the installed kfp, so its pip
    step installs nothing new) and dagwright give the same outputs and artifact metadata."""
    init(tmp_path / "kl")
    task = comps.make_data(text="ab", times=3)
    theirs = task.outputs
    ours = run_step(
        Step(
            spec_of(comps.make_data, tmp_path),
            "make",
            parameters={"text": "ab", "times": 3},
            outputs={"data": str(tmp_path / "ours" / "data")},
        )
    )
    assert ours.values["Output"] == theirs["Output"]
    assert ours.artifacts["data"].metadata == theirs["data"].metadata
    assert Path(ours.artifacts["data"].uri).read_text() == Path(theirs["data"].path).read_text()


def test_a_component_with_environment_variables_runs_in_a_process_with_them(
    tmp_path: Path,
) -> None:
    """Threads share one environment: such a step runs as in its pod, kfp's executor_main in a
    Python process of its own with the container's env (no pip)."""
    spec = spec_of(comps.read_env, tmp_path)
    spec.kfp["executor"]["container"]["env"] = [{"name": "KFP_STEP_VAR", "value": "set here"}]
    ir = pipeline_of(
        "env",
        [("read", spec, {"name": {"constant": "KFP_STEP_VAR"}})],
        outputs={"value": {"task": "read", "output": "Output"}},
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    assert result.outputs == {"value": "set here"}
    assert "KFP_STEP_VAR=set here\n" in result.steps[0].stdout
    assert "KFP_STEP_VAR" not in os.environ
    spec.kfp["executor"]["container"]["env"] = [{"name": "KFP_STEP_VAR", "value": "boom"}]
    failed = dagwright.run(
        pipeline_of("env-fails", [("read", spec, {"name": {"constant": "KFP_STEP_VAR"}})]),
        root=tmp_path / "s",
        echo=False,
    )
    assert failed.steps[0].error.startswith("ComponentFailed: ValueError: told to fail")
    assert 'raise ValueError("told to fail")' in failed.steps[0].stderr


def test_a_component_run_apart_keeps_its_parameters_off_command_lines(tmp_path: Path) -> None:
    """Any local user reads /proc/<pid>/cmdline: while the step runs apart (it sets env), the
    parameter values are on no process's command line, nor on the step's output."""
    secret = "s3cr3t-" + os.urandom(8).hex()  # built here: in no command line but the step's
    spec = spec_of(comps.scan_cmdlines, tmp_path)
    spec.kfp["executor"]["container"]["env"] = [{"name": "KFP_STEP_VAR", "value": "apart"}]
    ir = pipeline_of(
        "cmdline",
        [("scan", spec, {"secret": {"constant": secret}})],
        outputs={"seen": {"task": "scan", "output": "Output"}},
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    assert result.outputs == {"seen": "read own=True hits=[] env=apart"}
    assert secret not in result.steps[0].stdout + result.steps[0].stderr
    assert not list(tmp_path.rglob("executor_input.json"))  # removed once the step ended


def test_an_exit_task_gets_the_final_status_kfp_passes(tmp_path: Path) -> None:
    spec = spec_of(comps.final_status, tmp_path)
    status = {
        "state": "FAILED",
        "pipelineJobResourceName": "run-1",
        "pipelineTaskName": "exit-handler-1",
        "error": {"code": 9, "message": "a step failed"},
    }
    outcome = run_step(Step(spec, "exit", parameters={"status": status}))
    assert outcome.values == {"Output": "FAILED/exit-handler-1/9/a step failed"}


def test_artifacts_on_a_remote_store_are_fetched_and_uploaded(tmp_path: Path) -> None:
    make, fit = spec_of(comps.make_data, tmp_path), spec_of(comps.train, tmp_path)
    ir = pipeline_of(
        "remote",
        [
            ("make", make, {"text": {"constant": "r"}, "times": {"constant": 3}}),
            ("train", fit, {"data": {"task": "make", "output": "data"}}),
        ],
    )
    result = dagwright.run(ir, root=tmp_path / "s", artifacts="memory://kfp-steps", echo=False)
    assert result.succeeded, [s.traceback for s in result.steps]
    model = next(s for s in result.steps if s.task == "train").outputs["model"]
    assert model.uri.startswith("memory://kfp-steps/") and model.metadata["source_rows"] == 3
    import fsspec

    with fsspec.open(model.uri, "r") as f:
        assert f.read() == "RRR"


def test_a_version_other_than_the_pinned_one_runs_and_says_so(tmp_path: Path) -> None:
    spec = spec_of(comps.needs_installed_packages, tmp_path)
    container = spec.kfp["executor"]["container"]
    container["command"] = [
        c.replace("'pyyaml>=5'", "'pyyaml==0.0.1'") for c in container["command"]
    ]
    ir = pipeline_of("pinned", [("pinned", spec, {})])
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    (step,) = result.steps
    assert step.status == "succeeded"
    assert "'pyyaml==0.0.1' asked for, pyyaml " in step.stderr


def test_a_failed_attempt_is_retried_by_the_engine(tmp_path: Path) -> None:
    from dagwright.components.spec import Retry

    spec = spec_of(comps.flaky, tmp_path)
    spec.retry = Retry(limit=2)
    marker = str(tmp_path / "tried")
    ir = pipeline_of("flaky", [("flaky", spec, {"marker": {"constant": marker}})])
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    (step,) = result.steps
    assert (step.status, step.attempts, step.outputs) == (
        "succeeded",
        2,
        {"Output": "second attempt"},
    )


def test_a_step_past_its_timeout_publishes_nothing_when_it_ends_later(tmp_path: Path) -> None:
    import time

    spec = spec_of(comps.slow_writer, tmp_path)
    spec.timeout = 0.3
    done = tmp_path / "done"
    ir = pipeline_of(
        "late", [("slow", spec, {"seconds": {"constant": 1.5}, "done": {"constant": str(done)}})]
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    (step,) = result.steps
    assert step.status == "failed" and "did not finish within 0.3 s" in step.error

    def written() -> list[Path]:
        return [p for p in (tmp_path / "s").rglob("*") if p.is_file() and p.parent.name == "slow"]

    # the abandoned thread ends later and discards what it wrote (a published file would stay)
    deadline = time.monotonic() + 30
    while (not done.exists() or written()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.exists() and written() == []


def test_kfp_job_and_task_name_placeholders_are_the_run_and_the_task(tmp_path: Path) -> None:
    spec = spec_of(comps.job_names, tmp_path)
    ir = pipeline_of(
        "names",
        [("job-names", spec, {})],
        outputs={"names": {"task": "job-names", "output": "Output"}},
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    assert result.outputs == {"names": f"{result.run_id}|job-names"}


def test_what_one_step_wrote_in_its_folder_is_not_read_by_the_next(tmp_path: Path) -> None:
    """Step folders are reused (kfp_steps/scratch.py): each starts empty."""
    spec = spec_of(comps.maybe_writes, tmp_path)
    assert run_step(Step(spec, "w", parameters={"write": True})).values == {"number": 5}
    assert run_step(Step(spec, "w", parameters={"write": False})).values == {}
