"""The Spark runtime on real local PySpark, and the SparkApplication it compiles to.

One pipeline run, shared by the module, covers what a run does with Spark steps: DataFrames
stored as parquet and read back by Spark and by pandas steps, one session for the run, a
failing step, a second Spark config refused, a timed-out step's jobs cancelled. The driver
script runs under a real ``spark-submit`` (local master), as the operator's driver pod would
run it. No Kubernetes API or Spark operator runs here: the SparkApplication is checked against
the operator's CRD schema (``dagwright.runtimes.crd``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pytest
from pyspark.sql import DataFrame

import dagwright
from dagwright import component, pipeline
from dagwright.components import serializers
from dagwright.components.types import compatible, describe_annotation
from dagwright.engine.result import RunResult
from dagwright.errors import ValidationError
from dagwright.executor import Step
from dagwright.pipelines.ir import PipelineIR
from dagwright.runtimes import PodStep, Spark, crd, runtime_for, spark_driver
from dagwright.runtimes.process import child_env
from dagwright.runtimes.spark import (
    FAILURE,
    STOPPED,
    SUCCESS,
    SparkRuntime,
    start_session,
    stop_session,
)
from dagwright.store import files

# small and quiet: two shuffle partitions, no web UI
SPARK = Spark(conf={"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"})
SESSIONS: list[Any] = []  # the `spark` each Spark step of the shared run got
SLOW: list[str] = []  # how the timed-out step's Spark job ended
SLOW_DONE = threading.Event()


@component(runtime=SPARK)
def squares(spark: Any, n: int) -> DataFrame:
    SESSIONS.append(spark)
    return spark.range(n).selectExpr("id", "id * id AS square")


@component(runtime=SPARK)
def count_big(spark: Any, frame: DataFrame) -> int:
    SESSIONS.append(spark)
    return frame.filter("square > 10").count()


@component
def pandas_total(frame: pd.DataFrame) -> int:
    return int(frame["square"].sum())


class Stats(NamedTuple):
    rows: int
    doubled: DataFrame


@component(runtime=SPARK)
def from_pandas(spark: Any, table: pd.DataFrame, frame: DataFrame) -> Stats:
    """A Spark step reading a pandas file both ways; returns a NamedTuple with a DataFrame."""
    as_spark = spark.createDataFrame(table)
    return Stats(as_spark.count() + frame.count(), frame.selectExpr("x * 2 AS x"))


@component
def pandas_table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(n))})


@component
def pandas_sum(frame: pd.DataFrame) -> int:
    return int(frame["x"].sum())


@component(runtime=SPARK)
def broken(spark: Any, n: int) -> int:
    spark.range(n).count()
    raise ValueError("broken on purpose")


@component(runtime=Spark(executors=1, conf=SPARK.conf))
def other_config(spark: Any, n: int) -> int:
    return n


@component(runtime=SPARK, timeout=2)
def slow(spark: Any) -> int:
    """Starts a job that would run for hours only after its timeout: it is cancelled anyway."""
    time.sleep(3)
    try:
        return len(spark.range(10**12).selectExpr("sum(id % 7)").collect())
    except Exception as exc:
        SLOW.append(str(exc))
        raise
    finally:
        SLOW_DONE.set()


@component
def wait_for_slow() -> bool:
    """Keeps the run (and its session) going until the timed-out step's Spark job ended."""
    return SLOW_DONE.wait(60)


@pipeline
def spark_pipeline(n: int = 6) -> None:
    frame = squares(n=n)
    big = count_big(frame=frame.output)
    pandas_total(frame=frame.output)
    table = pandas_table(n=n)
    stats = from_pandas(table=table.output, frame=table.output)
    pandas_sum(frame=stats.outputs["doubled"])
    broken(n=n)
    other_config(n=big.output)
    slow()
    wait_for_slow()


class Shared(NamedTuple):
    result: RunResult
    active_after: Any


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """The one run with the run's own Spark session (started on first use, stopped at the end)."""
    from pyspark import SparkContext

    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGWRIGHT_TRACKING", "off")
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = dagwright.run(
            spark_pipeline, root=tmp_path_factory.mktemp("store"), echo=False, keep_going=True
        )
    yield Shared(result, SparkContext._active_spark_context)


def _output(result: RunResult, task: str, name: str = "output") -> Any:
    record = result.step(task)
    assert record.status == "succeeded", record.error
    assert record.outputs is not None
    return record.outputs[name]


@pytest.mark.integration
def test_dataframes_pass_between_spark_and_pandas_steps(shared: Shared) -> None:
    result = shared.result
    assert _output(result, "count-big") == 2  # squares 16 and 25 of 0..5
    assert _output(result, "pandas-total") == sum(i * i for i in range(6))
    assert _output(result, "from-pandas", "rows") == 12  # pandas file read by pandas and Spark
    assert _output(result, "pandas-sum") == 2 * sum(range(6))  # a NamedTuple's Spark DataFrame
    folder = Path(result.run_dir or "") / "squares" / "output"
    assert folder.is_dir() and (folder / "_SUCCESS").exists()
    parts = sorted(p.name for p in folder.iterdir() if p.name.startswith("part-"))
    assert parts and all(name.startswith("part-0000") and "-c000" in name for name in parts)


@pytest.mark.integration
def test_the_run_shares_one_session_and_stops_it(shared: Shared) -> None:
    assert len(SESSIONS) == 2 and SESSIONS[0] is SESSIONS[1]
    spark = SESSIONS[0]
    assert spark.sparkContext._jsc is None  # stopped: the JVM context is gone
    assert shared.active_after is None
    assert spark.sparkContext.appName == f"dagwright-{shared.result.run_id}"
    # no console progress bar in the steps' captured stderr
    assert not any("[Stage " in (step.stderr or "") for step in shared.result.steps)


@pytest.mark.integration
def test_a_failing_spark_step_is_reported_as_failed(shared: Shared) -> None:
    record = shared.result.step("broken")
    assert record.status == "failed"
    assert record.error == "ValueError: broken on purpose"
    assert shared.result.status == "failed"


@pytest.mark.integration
def test_a_second_spark_config_in_one_run_is_refused(shared: Shared) -> None:
    record = shared.result.step("other-config")
    assert record.status == "failed"
    assert record.error is not None
    assert "field 'runtime'" in record.error and "only one SparkContext" in record.error
    assert "Spark(executors=1" in record.error and "executors=2" in record.error
    assert shared.result.run_id in record.error


@pytest.mark.integration
def test_a_timed_out_spark_step_has_its_jobs_cancelled(shared: Shared) -> None:
    record = shared.result.step("slow")
    assert record.status == "failed" and "did not finish within 2 s" in (record.error or "")
    assert _output(shared.result, "wait-for-slow") is True
    assert "cancelled part of cancelled job tags dagwright-slow-" in SLOW[0]


@component
def own_session_frame(n: int) -> DataFrame:
    """Not a Spark step: it starts a session itself (left running) and returns a DataFrame."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
    return spark.getOrCreate().range(n)


@component
def stopped_frame(n: int) -> DataFrame:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
    frame = spark.getOrCreate().range(n)
    frame.sparkSession.stop()
    return frame


@component
def count_ids(frame: pd.DataFrame) -> int:
    return len(frame)


@component(runtime=SPARK)
def spark_step(spark: Any) -> int:
    return 1


@pytest.mark.integration
def test_a_non_spark_step_may_return_a_spark_dataframe(run: Any) -> None:
    from pyspark import SparkContext

    @pipeline
    def own(n: int = 4) -> int:
        return count_ids(frame=own_session_frame(n=n).output).output

    @pipeline
    def alongside() -> int:
        return spark_step().output

    try:
        assert run(own).outputs == {"output": 4}
        outside = run(alongside)  # that session still runs: a Spark step cannot get its own
        error = outside.step("spark-step").error or ""
        assert "started outside dagwright (local[1])" in error
    finally:
        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()

    @pipeline
    def stopped(n: int = 4) -> None:
        stopped_frame(n=n)

    result = run(stopped)
    error = result.step("stopped-frame").error or ""
    assert result.status == "failed" and "session that was stopped" in error


@component(runtime=SPARK)
def stopper(spark: Any) -> int:
    spark.stop()
    return 1


@component(runtime=SPARK)
def after_stop(spark: Any, n: int) -> int:
    return int(spark.range(n).count())


@pytest.mark.integration
def test_a_step_that_stops_the_session_fails_the_next_spark_step_not_the_run(run: Any) -> None:
    """Before the fix, the next step's job tag raised AttributeError out of dagwright.run."""
    from pyspark import SparkContext

    @pipeline
    def stops() -> int:
        return after_stop(n=stopper().output).output

    try:
        result = run(stops)  # returns: nothing escapes the run
    finally:
        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
    assert result.step("stopper").status == "succeeded"
    record = result.step("after-stop")
    assert record.status == "failed"
    assert record.error == STOPPED and "stopped by a step" in STOPPED


@pytest.mark.integration
def test_spark_parquet_has_stable_names_and_reads_back_both_ways(tmp_path: Path) -> None:
    spark = start_session(SPARK)
    try:
        serializer = serializers.BY_TYPE["pyspark.sql.DataFrame"]
        frame = spark.range(5).selectExpr("id AS x")
        assert serializer.matches(type(frame))
        assert serializer.dump(frame, str(tmp_path / "a")) == "parquet"
        serializer.dump(frame, str(tmp_path / "b"))
        assert not list(tmp_path.rglob("*.crc"))
        assert files.sha256_of(str(tmp_path / "a")) == files.sha256_of(str(tmp_path / "b"))
        back = serializers.load(
            str(tmp_path / "a"),
            "parquet",
            local=True,
            allow_pickle=False,
            into="pyspark.sql.DataFrame",
            provided={"spark": spark},
        )
        assert sorted(r.x for r in back.collect()) == [0, 1, 2, 3, 4]
        table = serializers.load(str(tmp_path / "a"), "parquet", local=True, allow_pickle=False)
        assert sorted(table["x"]) == [0, 1, 2, 3, 4]
        with pytest.raises(TypeError, match="needs a Spark session"):
            serializers.load(
                str(tmp_path / "a"),
                "parquet",
                local=True,
                allow_pickle=False,
                into="pyspark.sql.DataFrame",
            )
    finally:
        stop_session(spark)


@component(runtime=SPARK)
def in_driver(spark: Any, n: int) -> int:
    return spark.range(n).count() * int(spark.conf.get("spark.sql.shuffle.partitions"))


@pytest.mark.integration
def test_the_driver_script_runs_the_step_under_spark_submit(tmp_path: Path) -> None:
    """What the operator's driver pod does: spark-submit runs the driver script, which becomes
    the step's command; the executor's session (``in_pod``) joins spark-submit's JVM, so it
    has the submitted settings."""
    import pyspark

    ir = PipelineIR(name="x", components={"c": in_driver.spec})
    spec = PipelineIR.from_yaml(ir.to_yaml()).components["c"]
    (tmp_path / "step.json").write_text(
        json.dumps(Step(component=spec, task="in-driver", parameters={"n": 4}).to_dict())
    )
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    step_command = [sys.executable, "-m", "dagwright.executor", "--step", "step.json"]
    env = {**child_env(), "PYSPARK_PYTHON": sys.executable}
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    proc = subprocess.run(
        [str(submit), "--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=3"]
        + ["--conf", "spark.ui.enabled=false", spark_driver.__file__]
        + [*step_command, "--result", "result.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "result.json").read_text())["values"] == {"output": 12}


def test_the_driver_script_installs_itself_and_needs_a_command(tmp_path: Path) -> None:
    target = tmp_path / "opt" / "spark_driver.py"
    assert spark_driver.main(["--install", str(target)]) == 0
    assert target.read_text() == Path(spark_driver.__file__).read_text()
    assert spark_driver.main([]) == 2
    proc = subprocess.run(
        [sys.executable, str(target), sys.executable, "-c", "import sys; sys.exit(7)"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 7  # the command's exit code is the driver's


POD = PodStep(
    name="featurize",
    image="registry.example/project:1",
    command=["python3", "-m", "dagwright.compiler.argo.entry", "--n", "{{inputs.parameters.n}}"],
    env={"MLFLOW_TRACKING_URI": "http://mlflow:5000"},
    resources={"requests": {"cpu": "500m"}, "limits": {"cpu": "2", "memory": "3Gi"}},
)


def _manifest() -> dict[str, Any]:
    config = Spark(
        executors=3,
        conf={"spark.sql.shuffle.partitions": "8"},
        executor_cores=2,
        executor_memory="2g",
        driver_memory="512m",
        service_account="spark-driver",
    )
    fragments = runtime_for(config).fragments(config, POD)
    assert fragments.success_condition == SUCCESS
    assert fragments.failure_condition == FAILURE
    assert fragments.resource is not None
    return fragments.resource


def test_the_spark_application_matches_the_operator_crd() -> None:
    """fragments() validates against the operator's CRD schema before returning; this checks
    what it put where."""
    manifest = _manifest()
    crd.validate(manifest, crd.SPARK)
    assert manifest["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
    assert manifest["metadata"] == {"name": "featurize"}
    spec = manifest["spec"]
    assert (spec["type"], spec["mode"], spec["image"]) == ("Python", "cluster", POD.image)
    assert spec["mainApplicationFile"] == f"local://{spark_driver.DRIVER_FILE}"
    assert spec["arguments"] == POD.command
    assert spec["restartPolicy"] == {"type": "Never"}
    assert spec["sparkConf"] == {"spark.sql.shuffle.partitions": "8"}
    assert spec["sparkVersion"] == "3.5.3"
    env = [{"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow:5000"}]
    assert spec["driver"] == {
        "cores": 1,
        "memory": "512m",
        "serviceAccount": "spark-driver",
        "coreRequest": "500m",
        "coreLimit": "2",
        "memoryLimit": "3Gi",
        "env": env,
    }
    assert spec["executor"] == {"instances": 3, "cores": 2, "memory": "2g", "env": env}


def test_the_conditions_use_argo_selector_syntax_and_operator_states() -> None:
    """Argo parses resource conditions with Kubernetes' label-selector parser over the
    resource's JSON; the operator's terminal states are COMPLETED, FAILED, SUBMISSION_FAILED."""
    assert SUCCESS == "status.applicationState.state == COMPLETED"
    assert FAILURE == "status.applicationState.state in (FAILED, SUBMISSION_FAILED)"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("spec", "executor", "instances"), 0, "spec.executor.instances"),
        (("spec", "driver", "serviceAcount"), "spark", "spec.driver.serviceAcount"),
        (("spec", "mode"), "local", "spec.mode"),
    ],
)
def test_crd_validate_refuses_a_bad_manifest(path: tuple[str, ...], value: Any, field: str) -> None:
    manifest = _manifest()
    node = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as caught:
        crd.validate(manifest, crd.SPARK)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"executors": 0}, "executors"),
        ({"executor_cores": 0}, "executor_cores"),
        ({"conf": {"shuffle.partitions": "2"}}, "conf"),
        ({"conf": {"spark.sql.shuffle.partitions": 2}}, "conf"),
        ({"conf": ["spark.x"]}, "conf"),
        ({"executor_memory": "2Gi"}, "executor_memory"),
        ({"driver_memory": 1024}, "driver_memory"),
        ({"spark_version": "latest"}, "spark_version"),
        ({"service_account": "Spark_Driver"}, "service_account"),
    ],
)
def test_bad_spark_configs_are_refused(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Spark(**settings)
    assert caught.value.field == field and caught.value.fix


def test_spark_dataframes_are_typed_as_parquet_values() -> None:
    info = describe_annotation(DataFrame)
    assert (info.type, info.artifact) == ("pyspark.sql.DataFrame", True)
    assert compatible("pyspark.sql.DataFrame", "pandas.DataFrame")
    assert compatible("pandas.DataFrame", "pyspark.sql.DataFrame")
    assert compatible("pyspark.sql.DataFrame", "Dataset")
    assert not compatible("pyspark.sql.DataFrame", "numpy.ndarray")
    assert not compatible("pyspark.sql.DataFrame", "Model")
    assert isinstance(runtime_for(SPARK), SparkRuntime)


def test_the_runtime_refuses_other_configs() -> None:
    with pytest.raises(TypeError, match="'job' runtime config"):
        SparkRuntime().fragments(dagwright.runtimes.Job(), POD)


def test_importing_dagwright_does_not_import_pyspark() -> None:
    code = "import sys, dagwright, dagwright.runtimes.spark; print('pyspark' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert proc.stdout.strip() == "False", proc.stderr
